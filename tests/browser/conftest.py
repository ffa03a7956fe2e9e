"""Fixtures for the browser tests: Debian's Chromium driven by Playwright, against the live server.

- No browser is ever downloaded: Playwright (from pytest-playwright's dependency) launches the
  system's /usr/bin/chromium. Without it the tests skip, unless REQUIRE_BROWSER=1 (CI) makes that
  a failure.
- The browser lives for one test module, not the session: Playwright's sync API keeps an asyncio
  loop running in the main thread while it is open, and Django refuses ORM calls beside a running
  loop. DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly that long, so the database tests that run
  after these are checked as usual. (pytest-playwright's own `browser`/`page` fixtures are
  session-wide, which is why they are not used here.)
- Each step's screenshot goes to var/screenshots/<test>/ (git-ignored): the run's artifacts; a
  failed test also leaves there the page each of its users had open.
  With UPDATE_DOCS_SCREENSHOTS=1 the few that document the admin are also written to
  docs/screenshots/ at fixed names, for the lead to commit.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.utils import translation
from playwright.sync_api import Browser, expect, sync_playwright

from tests.conftest import PROJECT_ROOT, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
#: --no-sandbox: CI runs as root. The background-networking flags stop Chromium's own calls home:
#: this machine reaches only localhost, and each refused connection costs time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS_DIR = PROJECT_ROOT / "var" / "screenshots"
DOCS_SCREENSHOTS_DIR = PROJECT_ROOT / "docs" / "screenshots"
PASSWORD = "a-browser-test-password"
#: Generous: CI's machine has two cores, and other test runs may share it.
ACTION_TIMEOUT_MS = 15_000
EXPECT_TIMEOUT_MS = 10_000
_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Note whether the test itself failed, for log_in's screenshots of the pages left open."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium)",
            required_by="REQUIRE_BROWSER",
        )
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium(chromium_path: Path, pytestconfig: pytest.Config) -> Iterator[Browser]:
    """The browser, for one module. `--headed` and `--slowmo` (pytest-playwright's options) apply."""
    headed = bool(_option(pytestconfig, "--headed", False))
    slow_mo = float(_option(pytestconfig, "--slowmo", 0) or 0)
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=not headed, slow_mo=slow_mo
            )
            yield browser
            browser.close()


def _option(config: pytest.Config, name: str, default):
    try:
        return config.getoption(name)
    except ValueError:  # pytest-playwright not installed as a plugin
        return default


@pytest.fixture(autouse=True)
def _english_like_the_browser():
    """The test's own side (format_cents, gettext in expected texts) in English, as the browser's
    pages (locale en-US): a request made by an earlier test through LocaleMiddleware (tests/i18n's
    pt-BR pages) leaves its language active in this thread, and "R$ 64,73" would be expected where
    the page rightly shows "R$64.73"."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """No django-q2 cluster here: the tests send the outbox themselves (outbox_send_due) after
    each step, so each VTEX call happens where the test can count it."""


@pytest.fixture
def staff_groups(transactional_db) -> None:
    """The two staff groups as migration 0003 defines them.

    Transactional tests empty every table afterwards, data migrations' rows included, so the
    groups are put back from the migration's own definition.
    """
    from importlib import import_module

    groups = import_module("integration.migrations.0002_staff_groups").GROUPS
    for name, wanted in groups.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in wanted.items():
            permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            assert permissions.count() == len(codenames), f"permissions missing for {name!r}"
            group.permissions.add(*permissions)


@pytest.fixture
def make_staff(django_user_model, staff_groups):
    """make_staff("ana", groups=["Back office"], permissions=["view_order"]): a staff user."""

    def make(username: str, *, groups=(), permissions=()):
        user = django_user_model.objects.create_user(
            username, password=PASSWORD, is_staff=True, first_name=username.title()
        )
        user.groups.add(*Group.objects.filter(name__in=groups))
        assert user.groups.count() == len(groups)
        if permissions:
            user.user_permissions.add(*Permission.objects.filter(codename__in=permissions))
        return user

    return make


@dataclass
class Screenshots:
    """Numbered screenshots of one test's steps, in var/screenshots/<test>/."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page, name: str, *, full_page: bool = True) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path

    def for_docs(self, page, name: str) -> Path:
        """A viewport-sized screenshot for docs/screenshots/<name>.png (written there only with
        UPDATE_DOCS_SCREENSHOTS=1; always kept with the run's other screenshots)."""
        path = self.take(page, f"docs-{name}", full_page=False)
        if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS_DIR / f"{name}.png")
        return path


@pytest.fixture
def screenshots(request) -> Screenshots:
    folder = SCREENSHOTS_DIR / re.sub(r"[^\w.-]+", "-", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    # The previous run's pictures go; not the folder, which another run at the same time may be using.
    for old in folder.glob("*.png"):
        old.unlink(missing_ok=True)
    return Screenshots(folder)


@pytest.fixture
def log_in(chromium, live_server, screenshots, request):
    """log_in(user) → a page of a new browser context (its own cookies), logged in through the
    admin's login form."""
    contexts = []

    def open_as(user):
        context = chromium.new_context(viewport=VIEWPORT, base_url=live_server.url, locale="en-US")
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        contexts.append((user.get_username(), context))
        page = context.new_page()
        page.goto("/admin/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="VTEX orders back office")).to_be_visible()
        return page

    yield open_as
    failed = request.node.stash.get(_CALL_FAILED, False)
    for username, context in contexts:
        if failed:
            for page in context.pages:
                screenshots.take(page, f"FAILED-as-{username}")
        context.close()


# ---- accessibility: axe-core, run in the page ----------------------------------------------------------------

#: Where each run writes what axe found, page by page (git-ignored, like the screenshots).
AXE_RESULTS_DIR = PROJECT_ROOT / "var" / "axe"
#: The WCAG 2.0, 2.1 and 2.2 rules of levels A and AA (axe's tags). axe's other rules ("best
#: practice") are run too and recorded, but do not fail a test.
WCAG_TAGS = frozenset({"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"})
#: The impacts that fail a test: what stops or seriously hinders someone from using the page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@dataclass
class AxeFinding:
    rule: str
    impact: str
    wcag: bool
    help: str
    targets: list[str]

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}{', WCAG' if self.wcag else ''}): {self.help} at {', '.join(self.targets)}"


@dataclass
class AxeReport:
    """What axe found on one page."""

    page: str
    url: str
    findings: list[AxeFinding]

    @property
    def blocking(self) -> list[AxeFinding]:
        return [finding for finding in self.findings if finding.wcag and finding.impact in BLOCKING_IMPACTS]


@pytest.fixture(scope="module")
def axe_script() -> str:
    """axe-core's JS as the axe-playwright-python wheel ships it: nothing is fetched from a CDN."""
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


@pytest.fixture
def run_axe(axe_script, request):
    """run_axe(page, "order-list") → AxeReport of the page as it is now; written to
    var/axe/<test>/<name>.json, and every report of the test to its summary.txt."""
    folder = AXE_RESULTS_DIR / re.sub(r"[^\w.-]+", "-", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    reports: list[AxeReport] = []

    def run(page, name: str) -> AxeReport:
        page.evaluate(axe_script)
        results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        findings = [
            AxeFinding(
                rule=violation["id"],
                impact=violation.get("impact") or "minor",
                wcag=bool(WCAG_TAGS & set(violation.get("tags", []))),
                help=violation["help"],
                targets=[" ".join(map(str, node["target"])) for node in violation["nodes"]],
            )
            for violation in results["violations"]
        ]
        report = AxeReport(page=name, url=page.url, findings=findings)
        reports.append(report)
        (folder / f"{name}.json").write_text(
            json.dumps(
                {"url": report.url, "axe": results["testEngine"]["version"], "violations": results["violations"]},
                indent=2,
            )
        )
        return report

    yield run
    lines = []
    for report in reports:
        lines.append(f"{report.page} ({report.url}): {len(report.findings)} violation(s)")
        lines += [f"  {finding}" for finding in report.findings]
    (folder / "summary.txt").write_text("\n".join(lines) + "\n")
