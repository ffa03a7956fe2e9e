"""No secret leaks: the VTEX app token, the API tokens, the hook secret and Django's secret key never
reach the database's text, a log record, an admin page, an API answer or an error page.

The flows run for real (intake and outbox against the sandbox; VTEX errors that echo the token back
through `responses`), with every logger at DEBUG; then everything a person or a log shipper could
read is searched for each secret.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import responses
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.infra.vtex_client import reset_vtex_client, vtex_client
from integration.models import Order, OutboxMessage, VtexCall
from integration.services.cancellation import cancellation_request_create
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due
from integration.vtex.client import REDACTED
from tests.factories import make_acknowledged_order, make_invoice, make_item, make_order

OMS = "https://teststore.vtexcommercestable.com.br"
HOOK_SECRET = "hook-secret-7f3a9c-never-shown"
SECRET_KEY = "django-secret-key-5be1d0-never-shown"


# ---- where secrets could end up ------------------------------------------------------------------------------


class LogCollector(logging.Handler):
    """Every record, formatted with its traceback (an exception's text is where a secret would hide)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logs(caplog) -> Iterator[LogCollector]:
    """Every logger at DEBUG, collected here, the ones that do not propagate to the root included."""
    collector = LogCollector()
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger=logger.name)
    attached = [logging.getLogger(), *[logger for logger in loggers if not logger.propagate]]
    for logger in attached:
        logger.addHandler(collector)
    yield collector
    for logger in attached:
        logger.removeHandler(collector)


def database_text() -> str:
    """Every row of the integration's tables and of django-q's (task results hold error texts)."""
    parts = []
    with connection.cursor() as cursor:
        for app_label in ("integration", "django_q"):
            for model in apps.get_app_config(app_label).get_models():
                table = model._meta.db_table
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
                parts += [f"{table}: {row!r}" for row in cursor.fetchall()]
    return "\n".join(parts)


def admin_pages(client: Client, *, rows_per_model: int = 30) -> dict[str, str]:
    """The HTML of the index, the health dashboard, every changelist and the change page of the
    newest rows of every registered model, as the client sees them (all must open).

    DRF's token admin is left out: it lists the API keys themselves, by design, to whoever has
    authtoken.view_tokenproxy (superusers; no staff group has it: see the permission matrix).
    """
    urls = [reverse("admin:index"), reverse("admin:integration_health")]
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label == "authtoken":
            continue
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        for pk in model._default_manager.order_by("-pk").values_list("pk", flat=True)[:rows_per_model]:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[quote(pk)]))
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        pages[url] = response.content.decode()
    return pages


def assert_nowhere(secrets: dict[str, str], places: dict[str, str]) -> None:
    """No secret in any place; the failure names both (never the secret's value)."""
    assert all(len(value) >= 16 for value in secrets.values()), "secrets too short to search for"
    found = [
        f"{secret_name} in {place}"
        for secret_name, value in secrets.items()
        for place, text in places.items()
        if value in text
    ]
    assert found == [], found


def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("security-root", password=None))
    return client


def api_user(*codenames: str, username: str = "erp") -> tuple[User, Token]:
    user = User.objects.create_user(username)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="integration", codename__in=codenames))
    return user, Token.objects.create(user=user)


def api_client(token: Token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture(autouse=True)
def _known_secrets(settings):
    settings.VTEX_HOOK_SECRET = HOOK_SECRET
    settings.SECRET_KEY = SECRET_KEY


# ---- real flows against the sandbox --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_intake_outbox_api_and_admin_against_the_sandbox_leak_no_token(make_sandbox, settings, logs):
    # given: the sandbox (its own app token, read after it started) and an ERP user with an API token
    make_sandbox(orders=3)
    app_token = settings.VTEX_APP_TOKEN
    _, token = api_user("view_order", "enter_invoices")
    api = api_client(token)
    bodies = {}

    # when: the intake imports and acknowledges the orders
    result = intake_run(source="list")
    assert (result.imported, result.failed) == (3, 0)

    # and: the ERP reads an order and invoices all of it through the API, and the outbox sends it
    order = Order.objects.order_by("pk").first()
    detail = api.get(f"/api/v1/orders/{order.order_id}/")
    assert detail.status_code == 200
    bodies["order detail"] = detail.content.decode()
    listing = api.get("/api/v1/orders/")
    bodies["order list"] = listing.content.decode()
    items = [{"item_index": item["item_index"], "quantity": item["quantity"]} for item in detail.json()["items"]]
    created = api.post(
        f"/api/v1/orders/{order.order_id}/invoices/",
        {"number": "NF-SECRET-1", "issued_at": (timezone.now() - timedelta(hours=1)).isoformat(), "items": items},
        format="json",
    )
    assert created.status_code == 201, created.content
    bodies["invoice created"] = created.content.decode()
    sent = outbox_send_due(client=vtex_client())
    assert sent.sent == 1 and sent.failed == 0

    # and: staff look at everything in the admin
    pages = admin_pages(superuser_client())

    # then: the flows really used both tokens...
    assert VtexCall.objects.filter(operation="send_invoice", status_code__lt=300).exists()
    assert OutboxMessage.objects.get(kind=OutboxMessage.Kind.INVOICE).state == OutboxMessage.State.SENT
    # ...and neither shows anywhere
    assert_nowhere(
        {"VTEX app token": app_token, "API token": token.key, "hook secret": HOOK_SECRET, "SECRET_KEY": SECRET_KEY},
        {"database": database_text(), "logs": logs.text, **bodies, **pages},
    )


# ---- VTEX answers that echo the token back -------------------------------------------------------------------


def echo(token: str) -> dict:
    """An error answer that repeats the request, headers included (some gateways do)."""
    return {
        "error": {"code": "ECHO", "message": f"Refused request with X-VTEX-API-AppToken: {token}"},
        "request": {"headers": {"X-VTEX-API-AppKey": "vtexappkey-teststore-ABCDEF", "X-VTEX-API-AppToken": token}},
    }


@pytest.mark.django_db(transaction=True)  # the outbox sends from its threads, outside any transaction
def test_vtex_errors_that_echo_the_app_token_are_redacted_everywhere(vtex_settings, settings, logs, no_task_queue):
    # given: VTEX answers every call with an error that contains the token, in several shapes
    app_token = settings.VTEX_APP_TOKEN
    settings.VTEX_GET_ATTEMPTS = 1  # no backoff sleeps
    settings.VTEX_START_HANDLING = "on_erp_ack"  # the API's ack calls VTEX
    invoiced, canceled, refreshed, garbled = (make_acknowledged_order() for _ in range(4))
    pending = make_order()
    make_item(pending)
    _, token = api_user("view_order", "change_order")
    api = api_client(token)
    client = superuser_client()
    bodies, pages = {}, {}

    with responses.RequestsMock(assert_all_requests_are_fired=True) as vtex:
        order_url = f"{OMS}/api/oms/pvt/orders"
        vtex.post(f"{order_url}/{invoiced.order_id}/invoice", json=echo(app_token), status=500)
        vtex.post(f"{order_url}/{canceled.order_id}/cancel", body=f"<html>403 for token {app_token}</html>", status=400)
        vtex.get(f"{order_url}/{refreshed.order_id}", json=echo(app_token), status=403)
        vtex.get(f"{order_url}/{garbled.order_id}", body=f"not json, token={app_token}", status=200)
        vtex.post(f"{order_url}/{pending.order_id}/start-handling", json=echo(app_token), status=409)
        vtex.get(f"{order_url}/{pending.order_id}", json=echo(app_token), status=503)  # read back after the 409

        # when: the outbox sends an invoice (500: retried later) and a cancellation (400: refused)
        make_invoice(invoiced)
        cancellation_request_create(order=canceled, reason="Cliente desistiu da compra", via="admin")
        outbox_send_due(client=vtex_client())
        # and: staff refresh two orders from the admin (a 403, then a 200 that is not JSON)
        for order in (refreshed, garbled):
            response = client.post(reverse("admin:integration_order_refresh", args=[order.pk]), follow=True)
            assert response.status_code == 200
            pages[f"order page after refresh of {order.order_id}"] = response.content.decode()
        # and: the ERP acknowledges an order through the API (VTEX refuses start-handling)
        response = api.post(f"/api/v1/orders/{pending.order_id}/ack/", {}, format="json")
        assert response.status_code == 502, response.content
        bodies["API ack answer"] = response.content.decode()

    pages.update(admin_pages(client))

    # then: the token came back from VTEX and was redacted at the source, before anyone saw the text...
    assert VtexCall.objects.count() == 6
    assert all(REDACTED in call.response_excerpt for call in VtexCall.objects.all())
    assert REDACTED in pages[f"order page after refresh of {refreshed.order_id}"]  # VTEX's words, for staff
    assert REDACTED in OutboxMessage.objects.get(order=invoiced).last_error
    assert {message.state for message in OutboxMessage.objects.all()} == {
        OutboxMessage.State.PENDING,
        OutboxMessage.State.FAILED,
    }
    # ...so it is nowhere: call log, events, outbox, messages shown to staff, API answer, logs
    assert_nowhere(
        {"VTEX app token": app_token, "API token": token.key},
        {"database": database_text(), "logs": logs.text, **bodies, **pages},
    )


@pytest.mark.django_db
def test_the_api_never_echoes_a_token_it_refuses(logs):
    _, token = api_user("view_order")
    wrong = "0123456789abcdef0123456789abcdef01234567"
    answers = {
        "right token": api_client(token).get("/api/v1/orders/"),
        "wrong token": APIClient(HTTP_AUTHORIZATION=f"Token {wrong}").get("/api/v1/orders/"),
        "token in the query string": APIClient().get(f"/api/v1/orders/?token={token.key}&auth_token={token.key}"),
        "malformed header": APIClient(HTTP_AUTHORIZATION=f"Token {token.key} extra").get("/api/v1/orders/"),
    }
    assert [response.status_code for response in answers.values()] == [200, 401, 401, 401]

    assert_nowhere(
        {"API token": token.key, "wrong token": wrong},
        {
            "logs": logs.text,
            "database": database_text(),
            **{name: response.content.decode() + str(response.headers) for name, response in answers.items()},
        },
    )


# ---- error pages ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_500_pages_with_debug_off_show_no_secret_and_no_detail(vtex_settings, settings, monkeypatch):
    # given: DEBUG off, and a bug whose message carries every secret
    settings.DEBUG = False
    app_token = settings.VTEX_APP_TOKEN
    _, token = api_user("view_order")
    order = make_acknowledged_order()
    message = f"boom {app_token} {token.key} {HOOK_SECRET} {SECRET_KEY}"

    def broken(*args, **kwargs):
        raise RuntimeError(message)

    monkeypatch.setattr("integration.admin.health.health.stuck_summary", broken)
    monkeypatch.setattr("integration.api.views.order_item_quantities", broken)
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password=None))
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    # when
    admin_page = client.get(reverse("admin:integration_health"))
    api_answer = api.get(f"/api/v1/orders/{order.order_id}/")
    not_found = client.get("/no-such-page/")

    # then: Django's plain pages and the API's error shape, nothing of the bug
    assert (admin_page.status_code, api_answer.status_code, not_found.status_code) == (500, 500, 404)
    assert api_answer.json()["error"]["code"] == "server_error"
    for response in (admin_page, api_answer, not_found):
        text = response.content.decode()
        assert "boom" not in text and "Traceback" not in text and "RuntimeError" not in text
        assert "VTEX_APP_TOKEN" not in text and "urlpatterns" not in text.lower()
    assert_nowhere(
        {"VTEX app token": app_token, "API token": token.key, "hook secret": HOOK_SECRET, "SECRET_KEY": SECRET_KEY},
        {
            "admin 500 page": admin_page.content.decode(),
            "API 500 answer": api_answer.content.decode(),
            "404 page": not_found.content.decode(),
        },
    )


@pytest.fixture
def misconfigured_vtex(vtex_settings, settings):
    """VTEX_OMS_URL typed without its scheme: requests refuses the URL before sending anything."""
    settings.VTEX_OMS_URL = "teststore.vtexcommercestable.com.br"
    reset_vtex_client()
    return settings


@pytest.mark.django_db
def test_a_crash_inside_the_vtex_client_with_debug_off_shows_and_logs_no_token(misconfigured_vtex, logs):
    misconfigured_vtex.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password=None))
    order = make_acknowledged_order()

    response = client.post(reverse("admin:integration_order_refresh", args=[order.pk]))

    assert response.status_code in (302, 500)
    assert_nowhere(
        {"VTEX app token": misconfigured_vtex.VTEX_APP_TOKEN},
        {"page": response.content.decode(), "logs": logs.text, "database": database_text()},
    )


@pytest.mark.django_db
def test_a_crash_inside_the_vtex_client_with_debug_on_shows_no_token(misconfigured_vtex):
    misconfigured_vtex.DEBUG = True
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password=None))
    order = make_acknowledged_order()

    response = client.post(reverse("admin:integration_order_refresh", args=[order.pk]))

    assert misconfigured_vtex.VTEX_APP_TOKEN not in response.content.decode()
    assert response.status_code == 302  # a message for staff, not a crash


# ---- settings and configuration objects ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_never_shows_settings(vtex_settings, settings):
    secrets = {
        "VTEX app token": settings.VTEX_APP_TOKEN,
        "hook secret": HOOK_SECRET,
        "SECRET_KEY": SECRET_KEY,
    }
    make_acknowledged_order()
    make_invoice(make_acknowledged_order())

    pages = admin_pages(superuser_client())

    assert_nowhere(secrets, pages)
    for name in ("VTEX_APP_TOKEN", "VTEX_HOOK_SECRET", "SECRET_KEY", "DATABASES"):
        assert not [url for url, html in pages.items() if name in html], name


def test_the_client_configuration_never_prints_the_token(vtex_settings):
    token = vtex_settings.VTEX_APP_TOKEN
    client = vtex_client()

    for text in (
        repr(client.config),
        str(client.config),
        f"{client.config}",
        repr(client),
        str(client.session.headers),
    ):
        assert token not in text
    assert client.config.app_token == token  # it is there, only never printed


# ---- the hook secret -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_registering_the_hook_keeps_its_secret_out_of_the_call_log(vtex_settings, logs):
    with responses.RequestsMock() as vtex:
        vtex.post(f"{OMS}/api/orders/hook/config", status=200, json={})
        call_command("vtex_hook_config", url="https://erp.example.com/vtex/hook/")
    assert VtexCall.objects.filter(operation="save_hook_config").exists()

    pages = admin_pages(superuser_client())

    assert_nowhere({"hook secret": HOOK_SECRET}, {"database": database_text(), "logs": logs.text, **pages})


@pytest.mark.django_db
def test_hook_notifications_store_the_body_but_never_the_secret_header(client, settings, logs):
    settings.VTEX_ACCOUNT_NAME = "teststore"
    body = {
        "Domain": "Fulfillment",
        "OrderId": "1000000000001-01",
        "State": "ready-for-handling",
        "CurrentChange": "2026-11-28T10:00:01.0000000+00:00",
        "Origin": {"Account": "teststore", "Key": "vtexappkey-teststore-ABCDEF"},
    }

    response = client.post(
        "/vtex/hook/", json.dumps(body), content_type="application/json", HTTP_X_ERP_BRIDGE_SECRET=HOOK_SECRET
    )
    wrong = client.post(
        "/vtex/hook/",
        json.dumps({**body, "State": "handling"}),
        content_type="application/json",
        HTTP_X_ERP_BRIDGE_SECRET=HOOK_SECRET[:-1] + "X",
    )

    assert (response.status_code, wrong.status_code) == (200, 403)
    near_miss = re.escape(HOOK_SECRET[:-1] + "X")
    assert not re.search(near_miss, logs.text), "a refused secret was logged"
    assert_nowhere(
        {"hook secret": HOOK_SECRET},
        {
            "database": database_text(),
            "logs": logs.text,
            "answer": response.content.decode(),
            "refusal": wrong.content.decode(),
        },
    )
