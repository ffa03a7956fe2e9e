"""Shared fixtures. A test that needs something this machine lacks may skip, unless CI's
REQUIRE_* variable says the thing must be there, which turns the skip into a failure."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import translation

from integration.infra.vtex_client import reset_vtex_client

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = PROJECT_ROOT.parent / "shared" / "vtex-openapi"
SANDBOX_APP_KEY = "vtexappkey-sandbox"
SANDBOX_APP_TOKEN = "sandbox-token-for-tests"


def skip_or_fail(reason: str, *, required_by: str) -> None:
    """Skip on a laptop that lacks something; fail where CI requires it."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{reason} ({required_by}=1 makes this a failure)")
    pytest.skip(reason)


class FakeClock:
    """Time that only moves when someone sleeps (or a test advances it): pass it as a budget's
    clock and its .sleep as the budget's sleep; .sleeps lists every wait asked for."""

    START = 1_700_000_000.0

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "a budget must never busy-loop with zero sleeps"
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


class MovableClock:
    """time.monotonic plus an offset, for the sandbox store: "wait for the feed's visibility
    timeout" without sleeping (clock.advance(seconds))."""

    def __init__(self) -> None:
        self.offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += seconds


def wait_until(condition: Callable[[], object], *, what: str, timeout_s: float = 10.0) -> None:
    """Wait for something another thread or process does (a sandbox finishing a slow answer),
    polling; fail after `timeout_s`. The timeout is a bound on a hang, not a measurement."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {timeout_s:.0f} s for {what}")
        time.sleep(0.01)


@pytest.fixture
def vtex_spec_dir() -> Path:
    if not SPEC_DIR.is_dir():
        skip_or_fail(f"VTEX OpenAPI files not found at {SPEC_DIR}", required_by="REQUIRE_VTEX_SPEC")
    return SPEC_DIR


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher():
    """One fast hasher for the whole run: admin_client, the browser's and the security tests' users
    each hash a password, and the default hasher would spend most of the run on it."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _default_language():
    """A test that renders in pt-BR leaves that language active in this thread; the next test must
    start in the default one (English), as a new request does."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_vtex_client():
    """Every test starts with a client built from its own settings."""
    reset_vtex_client()
    yield
    reset_vtex_client()


@pytest.fixture
def vtex_settings(settings):
    """Settings pointing at a fake VTEX on example hosts (for `responses`)."""
    settings.VTEX_OMS_URL = "https://teststore.vtexcommercestable.com.br"
    settings.VTEX_PAYMENTS_URL = "https://teststore.vtexpayments.com.br"
    settings.VTEX_APP_KEY = "vtexappkey-teststore-ABCDEF"
    settings.VTEX_APP_TOKEN = "SECRET-app-token-never-logged"
    settings.VTEX_RATE_LIMIT_RPM = 600000
    reset_vtex_client()
    return settings


@pytest.fixture
def no_task_queue(monkeypatch):
    """Tests send the outbox explicitly (as push_pending does) instead of through a django-q2 cluster."""
    monkeypatch.setattr("integration.services.outbox._queue_send", lambda message_id: None)


def database_url_for_children() -> str:
    """DATABASE_URL of the test's database, for child processes (manage.py commands)."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_sandbox(*, orders: int, **server_options):
    from vtex_sandbox import SandboxServer, SandboxStore

    store_options = {
        key: server_options.pop(key)
        for key in (
            "seed",
            "cancel_delay_s",
            "feed_duplicate_rate",
            "feed_shuffle",
            "clock",
            "shapes",
            "currency",
            "hostile_rate",
        )
        if key in server_options
    }
    store = SandboxStore(
        orders=orders, app_key=SANDBOX_APP_KEY, app_token=SANDBOX_APP_TOKEN, **{"seed": 1, **store_options}
    )
    server = SandboxServer(store, host="127.0.0.1", port=0, **server_options)
    server.start()
    return server


def point_settings_at_sandbox(settings, server, *, fetch_payments: bool = False) -> None:
    settings.VTEX_OMS_URL = server.url
    settings.VTEX_PAYMENTS_URL = server.url
    settings.VTEX_APP_KEY = SANDBOX_APP_KEY
    settings.VTEX_APP_TOKEN = SANDBOX_APP_TOKEN
    settings.VTEX_FETCH_PAYMENTS = fetch_payments
    settings.VTEX_RATE_LIMIT_RPM = 600000
    # Short timeouts keep fault tests quick; the sandbox's slow answers exceed them.
    settings.VTEX_READ_TIMEOUT_S = 1.0
    settings.VTEX_CONNECT_TIMEOUT_S = 1.0
    reset_vtex_client()


@pytest.fixture
def make_sandbox(settings):
    """Start a sandbox store on a real port and point the settings at it: make_sandbox(orders=150, ...)."""
    servers = []

    def start(*, orders: int = 10, fetch_payments: bool = False, **options):
        server = start_sandbox(orders=orders, **options)
        servers.append(server)
        point_settings_at_sandbox(settings, server, fetch_payments=fetch_payments)
        return server

    yield start
    for server in servers:
        server.stop()
