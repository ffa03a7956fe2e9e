"""The entry points' own defences: the hook's secret (checked in constant time), the API's body limit,
its token-only authentication (no query-string tokens, no session cookies, no form posts), the
admin's CSRF protection, and the production settings."""

from __future__ import annotations

import hmac
import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import CancellationRequest, HookNotification, OutboxMessage
from tests.conftest import PROJECT_ROOT
from tests.factories import make_acknowledged_order, make_invoice
from tests.security.conftest import BACK_OFFICE, INTEGRATION_ADMIN
from tests.security.helpers import local_input, snapshot

pytestmark = pytest.mark.django_db

HOOK_SECRET = "hook-secret-0b8e41d2"
HEADER = "X-ERP-Bridge-Secret"


# ---- the hook ------------------------------------------------------------------------------------------------


@pytest.fixture
def hook(settings, monkeypatch):
    """The hook on, with its secret; `hook.queued` counts the processing tasks it asked for."""
    settings.VTEX_HOOK_SECRET = HOOK_SECRET
    settings.VTEX_HOOK_SECRET_HEADER = HEADER
    settings.VTEX_ACCOUNT_NAME = "teststore"

    class Hook:
        queued = 0

    def queue() -> None:
        Hook.queued += 1

    monkeypatch.setattr("integration.services.hook.hook_queue_processing", queue)
    return Hook


def notification(**extra) -> dict:
    body = {
        "Domain": "Fulfillment",
        "OrderId": "1000000000001-01",
        "State": "ready-for-handling",
        "LastState": "window-to-cancel",
        "CurrentChange": "2026-11-28T10:00:01.0000000+00:00",
        "Origin": {"Account": "teststore", "Key": "vtexappkey-teststore-ABCDEF"},
    }
    body.update(extra)
    return body


def post_hook(body: dict, *, path: str = "/vtex/hook/", **headers):
    """POST a notification; what the view leaves for after its commit runs too (the queueing)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(path, json.dumps(body), content_type="application/json", headers=headers)


REFUSED_SECRETS = {
    "no header": {},
    "empty": {HEADER: ""},
    "wrong": {HEADER: "not-the-secret"},
    "prefix": {HEADER: HOOK_SECRET[:-1]},
    "longer": {HEADER: HOOK_SECRET + "0"},
    "other case": {HEADER: HOOK_SECRET.upper()},
    "non-ASCII": {HEADER: HOOK_SECRET[:-1] + "é"},
    "VTEX's app-token header": {"X-VTEX-API-AppToken": HOOK_SECRET},
    "Authorization header": {"Authorization": f"Bearer {HOOK_SECRET}"},
}


@pytest.mark.parametrize("headers", REFUSED_SECRETS.values(), ids=REFUSED_SECRETS.keys())
def test_the_hook_refuses_a_notification_without_its_secret_and_stores_nothing(hook, headers):
    response = post_hook(notification(), **headers)

    assert response.status_code == 403
    assert response.json() == {"error": f"Missing or wrong {HEADER} header."}
    assert not HookNotification.objects.exists()
    assert hook.queued == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/vtex/hook/?secret=" + HOOK_SECRET, notification()),
        (f"/vtex/hook/?{HEADER}={HOOK_SECRET}", notification()),
        ("/vtex/hook/", notification(secret=HOOK_SECRET, **{HEADER: HOOK_SECRET})),
    ],
    ids=["query string", "query string named like the header", "body"],
)
def test_the_secret_counts_only_in_its_header(hook, path, body):
    response = post_hook(body, path=path)

    assert response.status_code == 403
    assert not HookNotification.objects.exists()


def test_with_its_secret_the_notification_is_stored_and_queued_once(hook):
    response = post_hook(notification(), **{HEADER: HOOK_SECRET})

    assert response.status_code == 200
    assert HookNotification.objects.get().order_id == "1000000000001-01"
    assert hook.queued == 1


def test_the_right_secret_from_another_account_is_still_refused(hook):
    response = post_hook(notification(Origin={"Account": "otherstore"}), **{HEADER: HOOK_SECRET})

    assert response.status_code == 403
    assert not HookNotification.objects.exists() and hook.queued == 0


@pytest.mark.parametrize("headers", [{}, {HEADER: ""}], ids=["no header", "empty header"])
def test_without_a_configured_secret_the_hook_is_off_even_for_an_empty_header(hook, settings, headers):
    settings.VTEX_HOOK_SECRET = ""  # an empty secret must not equal an empty header

    response = post_hook(notification(), **headers)

    assert response.status_code == 503
    assert not HookNotification.objects.exists() and hook.queued == 0


def test_the_ping_needs_no_secret_and_stores_nothing(hook):
    response = post_hook({"hookConfig": "ping"})

    assert response.status_code == 200
    assert not HookNotification.objects.exists() and hook.queued == 0


def test_the_hook_takes_post_only_and_no_oversized_body(hook, settings):
    assert Client().get("/vtex/hook/", headers={HEADER: HOOK_SECRET}).status_code == 405
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    oversized = notification(padding="x" * 2048)

    response = post_hook(oversized, **{HEADER: HOOK_SECRET})

    assert response.status_code == 413 and "1024 bytes" in response.json()["error"]  # JSON, not Django's HTML
    assert not HookNotification.objects.exists() and hook.queued == 0


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b'{"OrderId": "1-01", "State": "canceled", "Extra": ' + b"[" * 30 + b"]" * 30 + b"}", "nested"),
        (b'{"OrderId": "1-01\\ud800", "State": "canceled"}', "surrogate"),
        (b'{"OrderId": "1-01\\u0000", "State": "canceled"}', "NUL"),
    ],
)
def test_a_hostile_body_with_the_secret_gets_400_and_stores_nothing(hook, raw, says):
    response = Client().post("/vtex/hook/", raw, content_type="application/json", headers={HEADER: HOOK_SECRET})

    assert response.status_code == 400 and says in response.json()["error"]
    assert not HookNotification.objects.exists() and hook.queued == 0


def test_without_the_secret_only_a_ping_sized_body_is_read(hook, monkeypatch):
    parsed = []
    real_loads = json.loads
    monkeypatch.setattr("integration.services.hook.json.loads", lambda raw: parsed.append(raw) or real_loads(raw))

    deep = Client().post("/vtex/hook/", b"[" * 5000 + b"]" * 5000, content_type="application/json")
    ping = Client().post("/vtex/hook/", b'{"hookConfig": "ping"}', content_type="application/json")

    assert deep.status_code == 403 and ping.status_code == 200
    assert parsed == [b'{"hookConfig": "ping"}']  # the stranger's body was never parsed


@pytest.fixture
def compare_spy(monkeypatch):
    """hmac.compare_digest (secrets.compare_digest is the same function) replaced by a recorder that
    answers `verdict` when set, else the real comparison."""
    real = hmac.compare_digest

    class Spy:
        calls: list[tuple[object, object]] = []
        verdict: bool | None = None

    def spy(a, b):
        Spy.calls.append((a, b))
        return real(a, b) if Spy.verdict is None else Spy.verdict

    monkeypatch.setattr(hmac, "compare_digest", spy)
    monkeypatch.setattr(secrets, "compare_digest", spy)
    return Spy


def _as_bytes(value) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def test_the_secret_is_compared_in_constant_time_over_the_whole_values(hook, compare_spy):
    """The comparison goes through compare_digest, with the full given value and the full secret."""
    given = HOOK_SECRET[:-1] + "Z"

    response = post_hook(notification(), **{HEADER: given})

    assert response.status_code == 403
    compared = [{_as_bytes(a), _as_bytes(b)} for a, b in compare_spy.calls]
    assert {given.encode(), HOOK_SECRET.encode()} in compared


@pytest.mark.parametrize(
    ("given", "verdict", "status"),
    [(HOOK_SECRET, False, 403), ("anything", True, 200)],
    ids=["right secret, compare_digest says no", "wrong secret, compare_digest says yes"],
)
def test_the_hooks_verdict_is_compare_digests_verdict(hook, compare_spy, given, verdict, status):
    """No shortcut (`==`, a length check, a prefix) decides before or beside compare_digest."""
    compare_spy.verdict = verdict

    response = post_hook(notification(), **{HEADER: given})

    assert response.status_code == status
    assert HookNotification.objects.exists() is (status == 200)


# ---- the API -------------------------------------------------------------------------------------------------


@pytest.fixture
def erp(db) -> tuple[User, Token]:
    user = User.objects.create_user("erp")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="integration",
            codename__in=["view_order", "change_order", "enter_invoices", "request_cancellation"],
        )
    )
    return user, Token.objects.create(user=user)


def invoice_body(**extra) -> dict:
    body = {
        "number": "NF-HARD-1",
        "issued_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "items": [{"item_index": 0, "quantity": 1}],
    }
    body.update(extra)
    return body


def assert_error_shape(response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body


def test_a_body_over_the_upload_limit_gets_413_in_the_error_shape(erp, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    order = make_acknowledged_order()
    api = APIClient(HTTP_AUTHORIZATION=f"Token {erp[1].key}")
    before = snapshot()

    response = api.post(
        f"/api/v1/orders/{order.order_id}/invoices/", invoice_body(embedded_xml="<x/>" * 1000), format="json"
    )

    assert_error_shape(response, 413, "too_large")
    assert "2048" in response.json()["error"]["message"]
    assert snapshot() == before


def test_an_oversized_body_without_a_token_is_refused_before_it_is_read(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048

    response = APIClient().post("/api/v1/orders/x/invoices/", {"padding": "x" * 10_000}, format="json")

    assert_error_shape(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    "query",
    ["token={key}", "auth_token={key}", "access_token={key}", "key={key}", "Authorization=Token%20{key}"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_token_in_the_query_string_is_not_accepted(erp, query, method):
    order = make_acknowledged_order()
    path = f"/api/v1/orders/{order.order_id}/invoices/?" + query.format(key=erp[1].key)
    before = snapshot()

    if method == "GET":
        response = APIClient().get("/api/v1/orders/?" + query.format(key=erp[1].key))
    else:
        response = APIClient().post(path, invoice_body(), format="json")

    assert_error_shape(response, 401, "not_authenticated")
    assert snapshot() == before


@pytest.mark.parametrize(
    "authorization",
    ["Basic {key}", "{key}", "Token", "Bearer", "Token {key} {key}", "Token {key}x", "Bearer {key}x", "Bearer  x{key}"],
)
def test_only_the_bearer_or_token_scheme_with_the_exact_key_authenticates(erp, authorization):
    response = APIClient(HTTP_AUTHORIZATION=authorization.format(key=erp[1].key)).get("/api/v1/orders/")

    assert response.status_code == 401
    assert erp[1].key not in response.content.decode()


@pytest.mark.parametrize("authorization", ["Bearer {key}", "Token {key}"])
def test_the_exact_key_authenticates_with_either_keyword(erp, authorization):
    response = APIClient(HTTP_AUTHORIZATION=authorization.format(key=erp[1].key)).get("/api/v1/orders/")

    assert response.status_code == 200


def test_an_inactive_users_token_is_refused(erp):
    user, token = erp
    user.is_active = False
    user.save()

    assert APIClient(HTTP_AUTHORIZATION=f"Token {token.key}").get("/api/v1/orders/").status_code == 401


def test_the_api_rejects_form_posts_and_session_cookies_without_a_token(erp, django_user_model):
    """A cross-site form can send neither a token header nor JSON; an admin's session cookie does
    not authenticate the API (no SessionAuthentication, so no CSRF exposure either)."""
    order = make_acknowledged_order()
    path = f"/api/v1/orders/{order.order_id}/cancellation/"
    form = {"reason": "Cliente desistiu da compra"}
    staff = django_user_model.objects.create_superuser("admin-with-session", password=None)
    browser = Client()  # a logged-in admin, CSRF checks off: only the API's own rules remain
    browser.force_login(staff)
    before = snapshot()

    urlencoded = Client().post(path, form)
    multipart = Client().post(path, form, content_type="multipart/form-data; boundary=BoUnDaRy")
    with_session = browser.post(path, form)
    with_session_json = browser.post(path, json.dumps(form), content_type="application/json")
    with_session_get = browser.get("/api/v1/orders/")
    token_but_form = APIClient(HTTP_AUTHORIZATION=f"Token {erp[1].key}").post(path, form)

    for response in (urlencoded, multipart, with_session, with_session_json, with_session_get):
        assert_error_shape(response, 401, "not_authenticated")
    assert_error_shape(token_but_form, 415, "unsupported_media_type")
    assert snapshot() == before
    assert not CancellationRequest.objects.exists()


def test_the_api_does_not_let_other_origins_read_its_answers(erp):
    response = APIClient(HTTP_AUTHORIZATION=f"Token {erp[1].key}", HTTP_ORIGIN="https://evil.example").get(
        "/api/v1/orders/"
    )

    assert response.status_code == 200
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


# ---- CSRF in the admin ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_world(staff_groups):
    order = make_acknowledged_order()
    invoice = make_invoice(order, quantities={0: 1})
    message = OutboxMessage.objects.get(invoice=invoice, kind=OutboxMessage.Kind.INVOICE)
    OutboxMessage.objects.filter(pk=message.pk).update(state=OutboxMessage.State.FAILED, attempts=15)
    cancellable = make_acknowledged_order()
    return {"order": order, "invoice": invoice, "message": message, "cancellable": cancellable, "groups": staff_groups}


def csrf_posts(world) -> dict[str, tuple[str, dict]]:
    order, invoice, message = world["order"], world["invoice"], world["message"]
    return {
        "order edit": (
            reverse("admin:integration_order_change", args=[order.pk]),
            {"notes": "changed", "_save": "Save"},
        ),
        "refresh button": (reverse("admin:integration_order_refresh", args=[order.pk]), {}),
        "retry start-handling button": (reverse("admin:integration_order_acknowledge", args=[order.pk]), {}),
        "add invoice": (
            reverse("admin:integration_order_add_invoice", args=[order.pk]),
            {
                "number": "NF-CSRF",
                "kind": "output",
                "issued_at": local_input(timezone.now() - timedelta(hours=1)),
                "item_1": "1",
                "_save": "1",
            },
        ),
        "request cancellation": (
            reverse("admin:integration_order_request_cancellation", args=[world["cancellable"].pk]),
            {"confirm": "1", "reason": "Cliente desistiu da compra"},
        ),
        "cancel action": (
            reverse("admin:integration_order_changelist"),
            {
                "action": "request_cancellation",
                "_selected_action": [world["cancellable"].pk],
                "confirm": "1",
                "reason": "Cliente desistiu da compra",
            },
        ),
        "tracking": (reverse("admin:integration_invoice_tracking", args=[invoice.pk]), {"tracking_number": "BR1"}),
        "delivered": (
            reverse("admin:integration_invoice_delivered", args=[invoice.pk]),
            {"delivered_at": local_input(timezone.now())},
        ),
        "retry send": (reverse("admin:integration_invoice_retry", args=[invoice.pk, message.pk]), {}),
        "retry action": (
            reverse("admin:integration_outboxmessage_changelist"),
            {"action": "retry_now", "_selected_action": [message.pk]},
        ),
        "reconcile": (reverse("admin:integration_drift_reconcile"), {}),
        "password change": (
            reverse("admin:password_change"),
            {"old_password": "x", "new_password1": "n3w-Passw0rd!x", "new_password2": "n3w-Passw0rd!x"},
        ),
    }


CSRF_CASES = [
    "order edit",
    "refresh button",
    "retry start-handling button",
    "add invoice",
    "request cancellation",
    "cancel action",
    "tracking",
    "delivered",
    "retry send",
    "retry action",
    "reconcile",
    "password change",
]


@pytest.mark.parametrize("case", CSRF_CASES)
def test_an_admin_post_without_the_csrf_token_is_refused(admin_world, case, fake_vtex, django_user_model):
    user = django_user_model.objects.create_user("ia", password="x", is_staff=True)
    user.groups.add(admin_world["groups"][INTEGRATION_ADMIN])  # may do every one of these when CSRF is right
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    url, data = csrf_posts(admin_world)[case]
    before = snapshot()

    response = client.post(url, data)

    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert snapshot() == before
    assert not fake_vtex.calls


def test_with_the_csrf_token_the_same_post_goes_through(admin_world, django_user_model):
    """The control: the refusals above are CSRF's, not missing permissions."""
    user = django_user_model.objects.create_user("bo", password="x", is_staff=True)
    user.groups.add(admin_world["groups"][BACK_OFFICE])
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get(reverse("admin:integration_invoice_change", args=[admin_world["invoice"].pk]))
    token = page.cookies["csrftoken"].value
    url, data = csrf_posts(admin_world)["tracking"]

    response = client.post(url, {**data, "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    admin_world["invoice"].refresh_from_db()
    assert admin_world["invoice"].tracking_number == "BR1"


def test_the_login_form_needs_its_csrf_token(django_user_model):
    django_user_model.objects.create_user("someone", password="a-long-password-1", is_staff=True)
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("admin:login"), {"username": "someone", "password": "a-long-password-1"})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_admin_pages_cannot_be_framed_or_sniffed(admin_client):
    response = admin_client.get(reverse("admin:index"))

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.cookies.get("sessionid") is None or response.cookies["sessionid"]["httponly"]


# ---- production settings -------------------------------------------------------------------------------------


def production_settings(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with DJANGO_DEBUG=0 and `env`; print what matters."""
    code = (
        "import json, erp_bridge.settings as s; print(json.dumps({name: getattr(s, name) for name in ("
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
        "'ALLOWED_HOSTS')}))"
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "VTEX_", "DATABASE_URL"))
    }
    environment.update({"DJANGO_DEBUG": "0", **env})
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = production_settings()

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_secure_cookies_https_and_hosts():
    result = production_settings(DJANGO_SECRET_KEY="a-production-secret-key-for-the-test")

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["ALLOWED_HOSTS"] == []  # nothing is served until the operator names the hosts
