"""Fixtures of the reliability matrices (fault, crash, scale-out, rate budget under load).

All of them are marked `heavy` (minutes, not seconds: `make test` leaves them out). The ones
marked `postgres` need PostgreSQL: on SQLite they are deselected with the reason printed at the
end of the run, unless REQUIRE_POSTGRES=1 (CI's PostgreSQL run), which makes them fail instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import (
    PROJECT_ROOT,
    SANDBOX_APP_KEY,
    SANDBOX_APP_TOKEN,
    MovableClock,
    database_url_for_children,
    point_settings_at_sandbox,
    skip_or_fail,
    start_sandbox,
)

REPORT_DIR = PROJECT_ROOT / "var" / "reports"
_deselected_for_sqlite: list[str] = []


def _database_is_sqlite() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


@pytest.hookimpl(trylast=True)  # after -m/-k: only what would otherwise run is reported
def pytest_collection_modifyitems(config, items):
    needs_postgres = [item for item in items if item.get_closest_marker("postgres")]
    if not needs_postgres or not _database_is_sqlite() or os.environ.get("REQUIRE_POSTGRES") == "1":
        return
    keep = [item for item in items if not item.get_closest_marker("postgres")]
    _deselected_for_sqlite.extend(item.nodeid for item in needs_postgres)
    config.hook.pytest_deselected(items=needs_postgres)
    items[:] = keep


def pytest_terminal_summary(terminalreporter):
    if _deselected_for_sqlite:
        terminalreporter.write_sep("-", "PostgreSQL-only tests deselected")
        terminalreporter.write_line(
            f"{len(_deselected_for_sqlite)} tests need PostgreSQL and this run is on SQLite "
            "(run them with DATABASE_URL=postgres://...; REQUIRE_POSTGRES=1 makes this a failure):"
        )
        for nodeid in _deselected_for_sqlite:
            terminalreporter.write_line(f"  {nodeid}")


@pytest.fixture
def require_postgres(db_vendor):
    if db_vendor != "postgresql":
        skip_or_fail("this test needs PostgreSQL (DATABASE_URL=postgres://...)", required_by="REQUIRE_POSTGRES")


@pytest.fixture
def db_vendor() -> str:
    from django.db import connection

    return connection.vendor


# ---- the sandbox, with a clock the test can move (feed visibility, cancellation delay) -------------


@pytest.fixture
def sandbox(settings):
    """sandbox(orders=..., faults=FaultConfig(...), rate_limit_rpm=...) -> server, on a real port.

    Like tests/conftest.py's make_sandbox, plus a movable store clock (server.clock) and short
    client timeouts, so that slow answers time out quickly and the matrices stay fast.
    """
    servers = []

    def start(*, orders: int = 0, seed: int = 1, **server_options):
        clock = MovableClock()
        server = start_sandbox(orders=orders, seed=seed, clock=clock, **server_options)
        server.clock = clock
        servers.append(server)
        settings.VTEX_FEED_VISIBILITY_TIMEOUT_S = 10
        settings.VTEX_START_HANDLING = "on_import"
        point_settings_at_sandbox(settings, server)
        return server

    yield start
    for server in servers:
        server.stop()


# ---- child processes on the test's database -----------------------------------------------------


def child_env(server, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ERP_BRIDGE_CRASH", "VTEX_", "Q_")) and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        DATABASE_URL=database_url_for_children(),
        VTEX_OMS_URL=server.url,
        VTEX_PAYMENTS_URL=server.url,
        VTEX_APP_KEY=SANDBOX_APP_KEY,
        VTEX_APP_TOKEN=SANDBOX_APP_TOKEN,
        VTEX_RATE_LIMIT_RPM="600000",
        VTEX_READ_TIMEOUT_S="1",
        VTEX_CONNECT_TIMEOUT_S="1",
        VTEX_FEED_VISIBILITY_TIMEOUT_S="10",
        VTEX_START_HANDLING="on_import",
        VTEX_FETCH_PAYMENTS="0",
        ERP_BRIDGE_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class ChildRun:
    command: list[str]
    returncode: int
    output: str

    @property
    def killed(self) -> bool:
        return self.returncode == -9


def run_manage(args: list[str], env: dict[str, str], *, timeout: float = 180) -> ChildRun:
    command = [sys.executable, str(PROJECT_ROOT / "manage.py"), *args]
    completed = subprocess.run(
        command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
    )
    return ChildRun(command, completed.returncode, completed.stdout)


# ---- reports ----------------------------------------------------------------------------------------


@dataclass
class MatrixReport:
    """var/reports/<matrix>-<vendor>.txt: cases, outcome per case, counts, duration, vendor."""

    matrix: str
    vendor: str
    title: str
    started: float = field(default_factory=time.monotonic)
    lines: list[str] = field(default_factory=list)
    failures: int = 0

    def case(self, name: str, ok: bool, detail: str, seconds: float) -> None:
        self.failures += 0 if ok else 1
        self.lines.append(f"{'ok  ' if ok else 'FAIL'} {name:<40} {seconds:6.1f}s  {detail}")
        self.write()

    def note(self, text: str) -> None:
        self.lines.append(f"     {text}")
        self.write()

    @property
    def path(self) -> Path:
        return REPORT_DIR / f"{self.matrix}-{self.vendor}.txt"

    def write(self) -> None:
        REPORT_DIR.mkdir(parents=True, exist_ok=True)
        total = time.monotonic() - self.started
        cases = sum(1 for line in self.lines if line[:4] in ("ok  ", "FAIL"))
        head = (
            f"== {self.title} ({self.matrix}, database: {self.vendor})\n"
            f"   {cases} cases, {cases - self.failures} ok, {self.failures} failed, {total:.0f}s\n"
        )
        self.path.write_text(head + "\n".join(self.lines) + "\n")


_reports: dict[tuple[str, str], MatrixReport] = {}


@pytest.fixture
def matrix_report(db_vendor):
    """matrix_report("fault-matrix", "title") -> the run's report of that matrix (parametrized
    cases of one matrix add to one file; a new test run starts the file again)."""

    def get(matrix: str, title: str) -> MatrixReport:
        key = (matrix, db_vendor)
        if key not in _reports:
            _reports[key] = MatrixReport(matrix=matrix, vendor=db_vendor, title=title)
            _reports[key].write()
        return _reports[key]

    return get
