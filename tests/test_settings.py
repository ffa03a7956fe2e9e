"""Production settings: `check --deploy` is clean, and unsafe configurations refuse to start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from erp_bridge import env
from tests.conftest import PROJECT_ROOT

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-production-secret-key-0123456789-abcdefghij",
    "DJANGO_ALLOWED_HOSTS": "erp.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VTEX_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy_without_a_warning(tmp_path):
    # A database of its own: the project's (a demo's, say) may hold the demo login, which the
    # check rightly reports.
    database = f"sqlite:///{tmp_path / 'production.sqlite3'}"
    result = manage("check", "--deploy", "--fail-level", "WARNING", DATABASE_URL=database, **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = dict(PRODUCTION)
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_wrong_setting_is_refused_with_its_name_and_rule():
    result = manage("check", VTEX_RATE_LIMIT_RPM="fast")
    assert result.returncode != 0
    assert "VTEX_RATE_LIMIT_RPM must be a whole number" in result.stderr


def test_debug_pages_are_off_and_cookies_secure_in_production():
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.ALLOWED_HOSTS)"
    )
    result = manage("shell", "-c", code, **PRODUCTION)
    assert result.stdout.strip().splitlines()[-1] == "False True True True ['erp.example.com']"


# ---- renamed variables: the old name is read for one release, the new one wins ----------------------


def test_a_renamed_variable_is_read_under_both_names_and_the_new_one_wins(monkeypatch, caplog):
    monkeypatch.setattr(env, "_warned", set())
    monkeypatch.delenv("ERP_BRIDGE_TEST_NEW", raising=False)
    monkeypatch.delenv("TEST_OLD", raising=False)
    read = lambda: env.env_int("ERP_BRIDGE_TEST_NEW", 7, minimum=1, old="TEST_OLD")  # noqa: E731

    assert read() == 7 and not caplog.records  # neither set: the default, no warning

    monkeypatch.setenv("TEST_OLD", "3")
    caplog.clear()
    assert read() == 3 and read() == 3  # the old name still works...
    warnings = [r.getMessage() for r in caplog.records if r.name == "erp_bridge.env"]
    assert len(warnings) == 1 and "TEST_OLD is deprecated" in warnings[0] and "ERP_BRIDGE_TEST_NEW" in warnings[0]

    monkeypatch.setenv("ERP_BRIDGE_TEST_NEW", "5")
    assert read() == 5  # ...and the new name wins when both are set, with a word that the old is ignored
    monkeypatch.setattr(env, "_warned", set())
    caplog.clear()
    assert read() == 5
    assert ["TEST_OLD is ignored" in r.getMessage() for r in caplog.records if r.name == "erp_bridge.env"] == [True]

    monkeypatch.delenv("TEST_OLD")
    assert read() == 5  # the new name alone
    monkeypatch.setenv("TEST_OLD", "0")
    monkeypatch.delenv("ERP_BRIDGE_TEST_NEW")
    with pytest.raises(ImproperlyConfigured, match="TEST_OLD must be at least 1"):  # names the variable set
        read()


def test_every_reader_takes_the_old_name(monkeypatch):
    monkeypatch.setattr(env, "_warned", set())
    for name in ("NEW_X", "OLD_X"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLD_X", "on_erp_ack")
    assert env.env_str("NEW_X", "d", old="OLD_X") == "on_erp_ack"
    assert env.env_choice("NEW_X", "on_import", ("on_import", "on_erp_ack"), old="OLD_X") == "on_erp_ack"
    monkeypatch.setenv("OLD_X", "a, b")
    assert env.env_list("NEW_X", [], old="OLD_X") == ["a", "b"]
    monkeypatch.setenv("OLD_X", "yes")
    assert env.env_bool("NEW_X", False, old="OLD_X") is True
    monkeypatch.setenv("OLD_X", "2.5")
    assert env.env_float("NEW_X", 1.0, old="OLD_X") == 2.5
    monkeypatch.setenv("NEW_X", " ")  # a blank new name counts as unset: the old one is read
    assert env.env_float("NEW_X", 1.0, old="OLD_X") == 2.5


def test_durations_are_in_seconds_and_the_old_names_in_their_own_unit():
    code = "from django.conf import settings as s; print(s.VTEX_PULL_EVERY_MINUTES, s.STUCK_NO_TRACKING_DAYS)"

    old = manage("shell", "-c", code, VTEX_PULL_EVERY_MINUTES="5", STUCK_NO_TRACKING_DAYS="2")
    assert old.stdout.strip().splitlines()[-1] == "5 2", old.stdout + old.stderr
    assert "VTEX_PULL_EVERY_MINUTES is deprecated" in old.stderr and "rename it VTEX_PULL_EVERY_S" in old.stderr
    assert "STUCK_NO_TRACKING_DAYS is deprecated" in old.stderr

    new = {"VTEX_PULL_EVERY_S": "600", "ERP_BRIDGE_STUCK_NO_TRACKING_S": "86400"}
    both = manage("shell", "-c", code, VTEX_PULL_EVERY_MINUTES="5", **new)
    assert both.stdout.strip().splitlines()[-1] == "10 1", both.stdout + both.stderr
    assert "VTEX_PULL_EVERY_MINUTES is ignored" in both.stderr

    uneven = manage("check", VTEX_PULL_EVERY_S="90")
    assert uneven.returncode != 0
    assert "VTEX_PULL_EVERY_S must be a whole number of minutes (a multiple of 60 seconds); got 90." in uneven.stderr
