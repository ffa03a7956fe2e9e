"""Authentication, permissions, throttling, size limits and the one error shape, on every endpoint."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ErrorDetail

from integration.api.errors import flatten_errors
from integration.models import Order
from integration.services.invoicing import InvoiceInput, invoice_create
from tests.api.conftest import acknowledged_order, assert_error, client_for, user_with

pytestmark = pytest.mark.django_db

ORDER = "{order_id}"
ENDPOINTS = [
    # (method, path, permission codename, a valid body)
    ("get", "/api/v1/orders/", "view_order", None),
    ("get", f"/api/v1/orders/{ORDER}/", "view_order", None),
    ("post", f"/api/v1/orders/{ORDER}/ack/", "change_order", {}),
    (
        "post",
        f"/api/v1/orders/{ORDER}/invoices/",
        "enter_invoices",
        {"number": "NF-9", "issued_at": "2024-05-03T10:00:00-03:00", "items": [{"item_index": 0, "quantity": 1}]},
    ),
    ("post", f"/api/v1/orders/{ORDER}/invoices/NF-1/tracking/", "enter_invoices", {"tracking_number": "AA1BR"}),
    (
        "post",
        f"/api/v1/orders/{ORDER}/invoices/NF-1/tracking-events/",
        "enter_invoices",
        {"events": [{"date": "2024-05-04T09:00:00-03:00", "description": "Coletado"}]},
    ),
    ("post", f"/api/v1/orders/{ORDER}/cancellation/", "request_cancellation", {"reason": "Cliente desistiu"}),
]
IDS = [f"{method} {path}" for method, path, _, _ in ENDPOINTS]


@pytest.fixture
def invoiced_order() -> Order:
    order = acknowledged_order()
    invoice_create(order=order, data=InvoiceInput(number="NF-1", issued_at=timezone.now(), lines=[(0, 1)]), via="test")
    return order


def call(client, method: str, path: str, body, order_id: str):
    url = path.format(order_id=order_id)
    return getattr(client, method)(url, body, format="json") if method == "post" else client.get(url)


@pytest.mark.parametrize(("method", "path", "perm", "body"), ENDPOINTS, ids=IDS)
def test_anonymous_requests_get_401_in_the_error_shape(method, path, perm, body, invoiced_order):
    response = call(client_for(None), method, path, body, invoiced_order.order_id)

    error = assert_error(response, 401, "not_authenticated")
    assert "credentials" in error["message"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api", Token realm="api"'


@pytest.mark.parametrize("keyword", ["Bearer", "Token", "bearer"])
@pytest.mark.parametrize(("method", "path", "perm", "body"), ENDPOINTS, ids=IDS)
def test_the_same_token_works_with_bearer_and_token(method, path, perm, body, invoiced_order, keyword):
    user = user_with(perm)
    key = Token.objects.create(user=user).key
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")

    response = call(client, method, path, body, invoiced_order.order_id)

    assert response.status_code not in (401, 403), response.content


@pytest.mark.parametrize(
    ("header", "code", "says"),
    [
        ("Bearer {wrong}", "authentication_failed", "Invalid token"),
        ("Token {wrong}", "authentication_failed", "Invalid token"),
        ("Bearer", "authentication_failed", "carries no token"),
        ("Bearer {key} {key}", "authentication_failed", "one word"),
        ("Bearer {key}!", "authentication_failed", "one word"),
        ("Basic {key}", "authentication_failed", "“Bearer <token>” or “Token <token>”"),
        ("{key}", "authentication_failed", "“Bearer <token>” or “Token <token>”"),
    ],
)
def test_a_bad_authorization_header_gets_401_saying_why_without_the_token(header, code, says, caplog, erp_user):
    key = Token.objects.create(user=erp_user).key
    wrong = key[::-1]
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=header.format(key=key, wrong=wrong))

    response = client.get("/api/v1/orders/")

    error = assert_error(response, 401, code)
    assert says in error["message"], error
    shown = response.content.decode() + str(dict(response.headers)) + caplog.text
    assert key not in shown and wrong not in shown


@pytest.mark.parametrize(("method", "path", "perm", "body"), ENDPOINTS, ids=IDS)
def test_an_unknown_token_gets_401(method, path, perm, body, invoiced_order):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")

    response = call(client, method, path, body, invoiced_order.order_id)

    assert_error(response, 401, "authentication_failed")


def test_an_inactive_user_gets_401(invoiced_order):
    user = user_with("view_order")
    client = client_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_error(client.get("/api/v1/orders/"), 401, "authentication_failed")


@pytest.mark.parametrize(("method", "path", "perm", "body"), ENDPOINTS, ids=IDS)
def test_a_user_without_the_endpoints_permission_gets_403_naming_it(method, path, perm, body, invoiced_order):
    others = {"view_order", "change_order", "enter_invoices", "request_cancellation"} - {perm}
    client = client_for(user_with(*others))

    response = call(client, method, path, body, invoiced_order.order_id)

    error = assert_error(response, 403, "permission_denied")
    assert f"integration.{perm}" in error["message"]


@pytest.mark.parametrize(("method", "path", "perm", "body"), ENDPOINTS, ids=IDS)
def test_the_endpoints_permission_alone_is_enough(method, path, perm, body, invoiced_order):
    client = client_for(user_with(perm))

    response = call(client, method, path, body, invoiced_order.order_id)

    assert response.status_code not in (401, 403), response.content


def test_a_superuser_has_every_permission(invoiced_order):
    user = User.objects.create_superuser("root", "root@example.com", "x")

    assert client_for(user).get(f"/api/v1/orders/{invoiced_order.order_id}/").status_code == 200


@pytest.mark.parametrize(("method", "path", "perm", "body"), ENDPOINTS[1:], ids=IDS[1:])
def test_an_unknown_order_gets_404(method, path, perm, body, api):
    response = call(api, method, path, body, "999-01")

    error = assert_error(response, 404, "not_found")
    assert "999-01" in error["message"]


@pytest.mark.parametrize("suffix", ["tracking", "tracking-events"])
def test_an_unknown_invoice_number_gets_404(suffix, api, invoiced_order):
    response = api.post(
        f"/api/v1/orders/{invoiced_order.order_id}/invoices/NF-404/{suffix}/", {"tracking_number": "X"}, format="json"
    )

    error = assert_error(response, 404, "not_found")
    assert "NF-404" in error["message"]


def test_an_unknown_address_under_the_api_gets_a_404_in_the_error_shape(api):
    error = assert_error(api.get("/api/v1/orders"), 404, "not_found")  # no trailing slash
    assert "end with a slash" in error["message"]
    assert_error(client_for(None).get("/api/v1/nothing/"), 404, "not_found")


def test_a_body_over_the_size_limit_gets_413(api, invoiced_order, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = {"reason": "x" * 4000}

    response = api.post(f"/api/v1/orders/{invoiced_order.order_id}/cancellation/", body, format="json")

    error = assert_error(response, 413, "too_large")
    assert "2048" in error["message"]
    assert not invoiced_order.cancellation_requests.exists()


def test_a_body_that_is_not_json_gets_400_and_another_media_type_415(api, invoiced_order):
    url = f"/api/v1/orders/{invoiced_order.order_id}/cancellation/"

    assert_error(api.post(url, "{not json", content_type="application/json"), 400, "parse_error")
    assert_error(
        api.post(url, "reason=x", content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type"
    )


def test_a_json_body_that_is_not_an_object_gets_400(api, invoiced_order):
    response = api.post(f"/api/v1/orders/{invoiced_order.order_id}/cancellation/", [1, 2], format="json")

    assert_error(response, 400, "invalid", {"non_field_errors": "Expected a dictionary"})


def test_requests_over_the_rate_get_429_with_retry_after(api, settings):
    settings.API_THROTTLE_RATE = "3/min"

    statuses = [api.get("/api/v1/orders/").status_code for _ in range(3)]
    response = api.get("/api/v1/orders/")

    assert statuses == [200, 200, 200]
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_rate_is_counted_per_user(make_client, settings):
    settings.API_THROTTLE_RATE = "1/min"
    first, second = make_client("view_order"), make_client("view_order")

    assert first.get("/api/v1/orders/").status_code == 200
    assert second.get("/api/v1/orders/").status_code == 200
    assert first.get("/api/v1/orders/").status_code == 429


def test_a_method_an_endpoint_does_not_have_gets_405(api, invoiced_order):
    response = api.delete(f"/api/v1/orders/{invoiced_order.order_id}/")

    assert_error(response, 405, "method_not_allowed")


def test_tokens_are_made_with_the_drf_command(erp_user):
    from django.core.management import call_command

    call_command("drf_create_token", "erp")

    assert Token.objects.filter(user=erp_user).exists()


def test_a_bug_answers_500_in_the_error_shape_and_is_logged(api, monkeypatch, caplog, invoiced_order):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("integration.api.views.order_item_quantities", broken)

    response = api.get(f"/api/v1/orders/{invoiced_order.order_id}/")

    error = assert_error(response, 500, "server_error")
    assert "boom" not in error["message"]
    assert any("unhandled error" in record.message for record in caplog.records)


# ---- flattening of DRF's nested errors ---------------------------------------------------------------


def test_nested_serializer_errors_become_dotted_keys_with_positions():
    detail = {
        "number": [ErrorDetail("This field is required.", code="required")],
        "items": [{}, {"quantity": [ErrorDetail("A valid integer is required.", code="invalid")]}],
        "events": {0: {"date": [ErrorDetail("Wrong format.", code="invalid")]}},
        "tags": {2: [ErrorDetail("Not a string.", code="invalid")]},
        "non_field_errors": [ErrorDetail("Nothing to do.", code="invalid")],
    }

    assert flatten_errors(detail) == {
        "number": ["This field is required."],
        "items[1].quantity": ["A valid integer is required."],
        "events[0].date": ["Wrong format."],
        "tags[2]": ["Not a string."],
        "non_field_errors": ["Nothing to do."],
    }


def test_a_validation_message_ends_with_one_full_stop(api, invoiced_order):
    response = api.post(f"/api/v1/orders/{invoiced_order.order_id}/invoices/", {}, format="json")

    message = assert_error(response, 400, "invalid")["message"]
    assert message.endswith("required.") and ".." not in message, message


def test_a_body_nested_too_deeply_is_a_400_parse_error(api, invoiced_order):
    response = api.post(
        f"/api/v1/orders/{invoiced_order.order_id}/invoices/",
        "[" * 5000 + "]" * 5000,
        content_type="application/json",
    )

    assert "nested too deeply" in assert_error(response, 400, "parse_error")["message"]
