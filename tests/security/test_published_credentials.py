"""Production refuses the credentials this repository publishes (issue 16, defect 2): the
development secret key, a host wildcard, and the demo's admin / admin."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from integration.auth import DEMO_PASSWORD, DEMO_USERNAME
from integration.checks import PUBLISHED_SECRET_KEYS, refuse_published_credentials
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.django_db

PUBLISHED_KEY = next(iter(PUBLISHED_SECRET_KEYS))
PROPER = {"DJANGO_SECRET_KEY": "a-proper-production-key-" + "x" * 40, "DJANGO_ALLOWED_HOSTS": "erp.example.com"}


def production(settings, **overrides):
    settings.DEBUG = False
    settings.SECRET_KEY = overrides.get("key", PROPER["DJANGO_SECRET_KEY"])
    settings.ALLOWED_HOSTS = overrides.get("hosts", ["erp.example.com"])


def check_ids(capsys) -> set[str]:
    with pytest.raises(SystemCheckError) as failure:
        call_command("check", deploy=True, fail_level="ERROR")
    return set(re.findall(r"erp_bridge\.E\d+", str(failure.value)))


def test_check_deploy_reports_each_published_credential(settings, django_user_model, capsys):
    production(settings, key=PUBLISHED_KEY, hosts=["*"])
    django_user_model.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)

    assert check_ids(capsys) == {"erp_bridge.E001", "erp_bridge.E002", "erp_bridge.E003"}


def test_the_web_process_refuses_to_start_with_the_published_key_or_a_wildcard(settings):
    production(settings, key=PUBLISHED_KEY)
    with pytest.raises(Exception, match="DJANGO_SECRET_KEY is the development key"):
        refuse_published_credentials()
    production(settings, hosts=["erp.example.com", "*"])
    with pytest.raises(Exception, match="contains '\\*'"):
        refuse_published_credentials()
    production(settings)
    refuse_published_credentials()  # a proper configuration starts


def test_the_demo_password_logs_nobody_in_while_debug_is_off(client, settings, django_user_model):
    django_user_model.objects.create_superuser(DEMO_USERNAME, "admin@example.com", DEMO_PASSWORD)
    form = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD, "next": "/admin/"}

    settings.DEBUG = False
    refused = client.post("/admin/login/", form, secure=True)
    settings.DEBUG = True
    demo = client.post("/admin/login/", form)

    assert refused.status_code == 200 and "_auth_user_id" not in refused.wsgi_request.session
    assert demo.status_code == 302


def test_check_deploy_passes_the_published_credentials_nothing_on_a_proper_configuration(tmp_path):
    # A real process with production settings: the development key is not even defaulted there.
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "0",
        **PROPER,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "erp_bridge.E" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [("DJANGO_SECRET_KEY", PUBLISHED_KEY, "development key"), ("DJANGO_ALLOWED_HOSTS", "*", "contains '*'")],
)
def test_the_wsgi_application_does_not_load_with_a_published_credential(tmp_path, variable, value, says):
    env = {"PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "0", **PROPER, variable: value}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'prod.sqlite3'}"
    run = subprocess.run(
        [sys.executable, "-c", "import erp_bridge.wsgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and "ImproperlyConfigured" in run.stderr and says in run.stderr
