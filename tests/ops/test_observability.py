"""Logs and error reports: the request id (read or made, sent back, in every log line), JSON log
lines, and Sentry events scrubbed of every secret erp-bridge knows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib

import pytest
from django.test import RequestFactory

from erp_bridge.observability import (
    REDACTED,
    DjangoQSentryReporter,
    EventScrubber,
    RequestIdMiddleware,
    logging_config,
    request_id_from,
    request_id_var,
)
from tests.conftest import PROJECT_ROOT

APP_TOKEN = "APPTOKEN-very-secret-0123456789abcdef"
APP_KEY = "vtexappkey-mystore-QWERTY"
HOOK_SECRET = "hook-shared-secret-42"
METRICS_TOKEN = "metrics-bearer-token-77"
SECRET_KEY = "django-secret-key-" + "x" * 40
DB_PASSWORD = "pg-password-s3cr3t"
API_TOKEN = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
ALL_SECRETS = (APP_TOKEN, APP_KEY, HOOK_SECRET, METRICS_TOKEN, SECRET_KEY, DB_PASSWORD, API_TOKEN)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VTEX_", "ERP_BRIDGE_"))}
    environment.update(env, DJANGO_SETTINGS_MODULE="erp_bridge.settings", PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


# ---- the request id ------------------------------------------------------------------------------------


def test_a_request_id_is_kept_when_sane_and_made_otherwise():
    assert request_id_from("abc-123.def") == "abc-123.def"
    made = request_id_from('evil"\n{"level": "CRITICAL"}')
    assert len(made) == 32 and made.isalnum()
    assert request_id_from(None) != request_id_from(None)


def test_the_middleware_sets_the_id_for_the_request_and_sends_it_back():
    seen = []

    def view(request):
        from django.http import HttpResponse

        seen.append((request.request_id, request_id_var.get()))
        return HttpResponse("ok")

    middleware = RequestIdMiddleware(view)
    response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="req-42"))
    assert response["X-Request-ID"] == "req-42"
    assert seen == [("req-42", "req-42")]
    assert request_id_var.get() == "-"  # nothing leaks to the next request of the thread
    made = middleware(RequestFactory().get("/"))["X-Request-ID"]
    assert len(made) == 32


def test_json_log_lines_carry_the_request_id():
    """The real settings with ERP_BRIDGE_LOG_FORMAT=json: a request refused by /metrics logs a line."""
    result = run_python(
        """
        import django; django.setup()
        from django.test import Client
        response = Client().get("/metrics", HTTP_X_REQUEST_ID="trace-abc-123", REMOTE_ADDR="203.0.113.9")
        print("STATUS", response.status_code, response["X-Request-ID"])
        import logging; logging.getLogger("integration.test").info("outside any request")
        """,
        ERP_BRIDGE_LOG_FORMAT="json",
        ERP_BRIDGE_METRICS_TOKEN=METRICS_TOKEN,
    )
    assert "STATUS 403 trace-abc-123" in result.stdout, result.stdout + result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    refused = [line for line in lines if line["message"].startswith("metrics refused")]
    assert refused, result.stderr
    assert refused[0]["request_id"] == "trace-abc-123"
    assert refused[0]["level"] == "WARNING" and refused[0]["logger"] == "integration.ops.views"
    assert "time" in refused[0]
    outside = [line for line in lines if line["message"] == "outside any request"]
    assert outside[0]["request_id"] == "-"


def test_plain_log_lines_carry_the_request_id_too():
    config = logging_config(level="INFO", log_format="plain")
    assert "[%(request_id)s]" in config["formatters"]["main"]["format"]
    assert config["handlers"]["console"]["filters"] == ["request_id"]


def test_a_wrong_log_format_is_refused_at_start():
    result = run_python("import django; django.setup()", ERP_BRIDGE_LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "ERP_BRIDGE_LOG_FORMAT must be one of plain, json" in result.stderr


# ---- Sentry --------------------------------------------------------------------------------------------


def scrubber() -> EventScrubber:
    return EventScrubber(
        secrets=[APP_TOKEN, APP_KEY, HOOK_SECRET, METRICS_TOKEN, SECRET_KEY, DB_PASSWORD, ""],
        secret_headers=["X-ERP-Bridge-Secret"],
    )


def test_before_send_removes_every_secret_from_an_event():
    event = {
        "message": f"VTEX refused key {APP_KEY}",
        "request": {
            "url": "https://erp.example.com/api/v1/orders",
            "headers": {
                "Authorization": f"Token {API_TOKEN}",
                "X-Erp-Bridge-Secret": HOOK_SECRET,
                "X-Vtex-Api-Apptoken": APP_TOKEN,
                "Accept": "application/json",
            },
            "env": {"REMOTE_ADDR": "10.0.0.1"},
        },
        "exception": {
            "values": [
                {
                    "type": "OperationalError",
                    "value": f"could not connect: postgres://erp:{DB_PASSWORD}@db:5432/erp_bridge",
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "call",
                                "vars": {
                                    "headers": {"X-VTEX-API-AppToken": APP_TOKEN, "X-VTEX-API-AppKey": APP_KEY},
                                    "config": f"VtexConfig(app_key='{APP_KEY}', app_token='{APP_TOKEN}')",
                                    "auth_header": f"Bearer {METRICS_TOKEN}",
                                    "settings_dump": f"SECRET_KEY={SECRET_KEY}",
                                    "order_id": "1234-01",
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": f"GET /metrics Authorization: Bearer {METRICS_TOKEN}"}]},
        "extra": {"sent_headers": [["Authorization", f"Token {API_TOKEN}"], ["Accept", "*/*"]]},
    }
    cleaned = scrubber()(event, {})
    text = json.dumps(cleaned)
    for secret in ALL_SECRETS:
        assert secret not in text, secret
    # What is not secret stays, so the event is still useful.
    frame = cleaned["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]
    assert frame["order_id"] == "1234-01"
    assert cleaned["request"]["headers"]["Accept"] == "application/json"
    assert cleaned["request"]["headers"]["Authorization"] == REDACTED
    assert cleaned["request"]["headers"]["X-Erp-Bridge-Secret"] == REDACTED
    assert "postgres://erp:[redacted]@db:5432" in cleaned["exception"]["values"][0]["value"]
    assert cleaned["extra"]["sent_headers"] == [["Authorization", REDACTED], ["Accept", "*/*"]]


def test_sentry_events_of_the_running_settings_are_scrubbed():
    """SENTRY_DSN set: settings start Sentry with the Django integration, no personal data and the
    scrubber; an exception whose locals and message hold the secrets reaches the transport clean.
    The task reporter of django-q2 sends the exception it is called in."""
    result = run_python(
        f"""
        import json, django
        django.setup()
        import sentry_sdk
        from sentry_sdk.transport import Transport
        from django.conf import settings

        sent = []

        class Capture(Transport):
            def capture_envelope(self, envelope):
                for item in envelope.items:
                    if item.type == "event":
                        sent.append(item.payload.json)

        client = sentry_sdk.get_client()
        client.transport = Capture(client.options)
        print("PII", client.options["send_default_pii"])
        print("INTEGRATIONS", "django" in client.integrations)
        print("REPORTER", json.dumps(settings.Q_CLUSTER["error_reporter"]))

        def call_vtex():
            headers = {{"X-VTEX-API-AppToken": settings.VTEX_APP_TOKEN, "Authorization": "Token {API_TOKEN}"}}
            raise RuntimeError("VTEX said no to " + settings.VTEX_APP_KEY + " with " + settings.VTEX_APP_TOKEN)

        try:
            call_vtex()
        except RuntimeError:
            sentry_sdk.capture_exception()
        from erp_bridge.observability import DjangoQSentryReporter
        reporter = DjangoQSentryReporter()
        try:
            raise ValueError("task failed, hook secret " + settings.VTEX_HOOK_SECRET)
        except ValueError:
            reporter.report()
        sentry_sdk.flush()
        print("EVENTS", json.dumps(sent))
        """,
        SENTRY_DSN="https://publickey@sentry.example.invalid/1",
        VTEX_APP_TOKEN=APP_TOKEN,
        VTEX_APP_KEY=APP_KEY,
        VTEX_HOOK_SECRET=HOOK_SECRET,
        ERP_BRIDGE_METRICS_TOKEN=METRICS_TOKEN,
    )
    out = result.stdout
    assert "PII False" in out, out + result.stderr
    assert "INTEGRATIONS True" in out
    assert 'REPORTER {"erp_bridge_sentry": {}}' in out
    events = json.loads(out.split("EVENTS ", 1)[1])
    assert [event["exception"]["values"][-1]["type"] for event in events] == ["RuntimeError", "ValueError"]
    text = json.dumps(events)
    for secret in (APP_TOKEN, APP_KEY, HOOK_SECRET, API_TOKEN):
        assert secret not in text, secret
    assert "VTEX said no to [redacted] with [redacted]" in text
    frames = events[0]["exception"]["values"][-1]["stacktrace"]["frames"]
    assert any(frame.get("vars", {}).get("headers") for frame in frames)  # variables sent, scrubbed


def test_no_sentry_without_a_dsn():
    result = run_python(
        """
        import django; django.setup()
        import sentry_sdk
        from django.conf import settings
        print(sentry_sdk.is_initialized(), "error_reporter" in settings.Q_CLUSTER)
        """
    )
    assert result.stdout.strip().splitlines()[-1] == "False False", result.stderr


def test_django_q2_finds_the_reporter_through_the_declared_entry_point():
    """django-q2 loads Q_CLUSTER["error_reporter"]'s names from the djangoq.errorreporters entry
    points of the installed distributions; pyproject.toml declares erp-bridge's."""
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    target = project["project"]["entry-points"]["djangoq.errorreporters"]["erp_bridge_sentry"]
    assert target == "erp_bridge.observability:DjangoQSentryReporter"
    assert callable(DjangoQSentryReporter().report)


@pytest.mark.parametrize("secret", ["", "short"])
def test_tiny_values_are_not_treated_as_secrets(secret):
    """An unset (or one-character) setting must not blank out every string of the event."""
    cleaned = EventScrubber(secrets=[secret])({"message": "a short message"}, {})
    assert cleaned["message"] == "a short message"
