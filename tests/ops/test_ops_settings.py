"""The operations settings: read from the environment, refused when wrong, and all documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import PROJECT_ROOT


def settings_value(expression: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VTEX_", "ERP_BRIDGE_"))}
    environment.update(env)
    code = f"from django.conf import settings as s; print(repr({expression}))"
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), "shell", "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_intake_threshold_follows_the_pull_interval():
    assert settings_value("s.READY_INTAKE_MAX_AGE_S").stdout.strip().splitlines()[-1] == "600"
    assert settings_value("s.READY_INTAKE_MAX_AGE_S", VTEX_PULL_EVERY_S="900").stdout.strip().splitlines()[-1] == "2700"
    given = settings_value("s.READY_INTAKE_MAX_AGE_S", VTEX_PULL_EVERY_S="900", ERP_BRIDGE_READY_INTAKE_MAX_AGE_S="120")
    assert given.stdout.strip().splitlines()[-1] == "120"


def test_the_allow_list_is_parsed_and_a_wrong_network_refused():
    result = settings_value("[str(n) for n in s.METRICS_ALLOW]", ERP_BRIDGE_METRICS_ALLOW="10.0.0.0/8, 192.168.1.7")
    assert result.stdout.strip().splitlines()[-1] == "['10.0.0.0/8', '192.168.1.7/32']", result.stderr
    wrong = settings_value("s.METRICS_ALLOW", ERP_BRIDGE_METRICS_ALLOW="10.0.0.0/33")
    assert wrong.returncode != 0
    assert "ERP_BRIDGE_METRICS_ALLOW must list networks like 10.0.0.0/8" in wrong.stderr


def test_every_variable_the_settings_read_is_documented():
    settings_source = (PROJECT_ROOT / "erp_bridge" / "settings.py").read_text()
    documented = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    names = set(re.findall(r'"((?:ERP_BRIDGE|DJANGO|VTEX|Q|SENTRY)_[A-Z0-9_]+)"', settings_source))
    assert {"ERP_BRIDGE_METRICS_TOKEN", "ERP_BRIDGE_READY_OUTBOX_MAX", "SENTRY_DSN"} <= names
    assert sorted(name for name in names if f"`{name}`" not in documented) == []
