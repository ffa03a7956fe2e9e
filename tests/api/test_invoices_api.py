"""POST /api/v1/orders/{order_id}/invoices/: partial invoices by item, idempotent by number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import Invoice, Order, OrderEvent, OutboxMessage
from integration.services.cancellation import cancellation_request_create
from tests.api.conftest import acknowledged_order, assert_error

pytestmark = pytest.mark.django_db


def url(order: Order) -> str:
    return f"/api/v1/orders/{order.order_id}/invoices/"


def invoice_body(**fields):
    body = {
        "number": "000123",
        "issued_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "type": "output",
        "key": "35240512345678000199550010000001231000001234",
        "url": "https://erp.example.com/nfe/000123.pdf",
        "courier": "Correios",
        "tracking_number": "AA123456789BR",
        "tracking_url": "https://rastreamento.correios.com.br/?objeto=AA123456789BR",
        "items": [{"item_index": 0, "quantity": 2}, {"item_index": 2, "quantity": 1}],
    }
    body.update(fields)
    return {name: value for name, value in body.items() if value is not None}


def test_a_partial_invoice_is_stored_with_a_computed_value_and_queued_for_vtex(api, order, erp_user):
    response = api.post(url(order), invoice_body(), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "000123" and body["type"] == "output"
    assert body["value_cents"] == 2 * 5000 + 1000  # selling prices; shipping goes with the last invoice
    assert [(i["item_index"], i["sku_id"], i["quantity"]) for i in body["items"]] == [(0, "3021", 2), (2, "5120", 1)]
    assert body["key"] == "35240512345678000199550010000001231000001234"
    assert body["tracking_number"] == "AA123456789BR" and body["courier"] == "Correios"
    assert body["send_state"] == "pending" and body["created_via"] == "api"
    invoice = Invoice.objects.get()
    assert invoice.created_by == erp_user and invoice.created_via == "api"
    assert OutboxMessage.objects.filter(invoice=invoice, kind=OutboxMessage.Kind.INVOICE).count() == 1
    event = order.events.get(kind=OrderEvent.Kind.INVOICE_ADDED)
    assert event.actor == erp_user
    order.refresh_from_db()
    assert order.state == Order.State.PARTIALLY_INVOICED


def test_the_invoice_completing_the_order_carries_the_rest_of_the_total(api, order):
    untracked = {"tracking_number": "", "tracking_url": "", "courier": ""}
    first = api.post(
        url(order),
        invoice_body(number="1", key="", items=[{"item_index": 0, "quantity": 2}], **untracked),
        format="json",
    )
    assert first.status_code == 201, first.content  # (the default key writes number 123: not this one's)

    response = api.post(
        url(order),
        invoice_body(
            number="2", key="", items=[{"item_index": 1, "quantity": 1}, {"item_index": 2, "quantity": 3}], **untracked
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["value_cents"] == 17_490 - 10_000
    order.refresh_from_db()
    assert order.state == Order.State.INVOICED


def test_the_same_invoice_sent_again_answers_200_with_the_stored_one_and_stores_nothing(api, order):
    body = invoice_body()
    first = api.post(url(order), body, format="json")

    replay = api.post(url(order), body, format="json")

    assert first.status_code == 201 and replay.status_code == 200
    assert replay.json() == first.json()
    assert Invoice.objects.count() == 1
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.INVOICE).count() == 1
    assert order.events.filter(kind=OrderEvent.Kind.INVOICE_ADDED).count() == 1


def test_a_replay_with_the_same_explicit_value_and_the_same_time_in_another_offset_is_the_same(api, order):
    issued = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    first = api.post(url(order), invoice_body(issued_at=issued.isoformat(), value=11_000), format="json")

    replay = api.post(
        url(order),
        invoice_body(issued_at=issued.astimezone(timezone.get_fixed_timezone(-180)).isoformat(), value=11_000),
        format="json",
    )

    assert (first.status_code, replay.status_code) == (201, 200)


@pytest.mark.parametrize(
    "change",
    [
        {"items": [{"item_index": 0, "quantity": 1}]},
        {"value": 10_500},
        {"key": "35240512345678000199550010000001231000009999"},
        {"issued_at": (timezone.now() - timedelta(days=2)).isoformat()},
    ],
    ids=["items", "value", "key", "issued_at"],
)
def test_the_same_number_with_other_content_is_a_409_conflict(api, order, change):
    api.post(url(order), invoice_body(), format="json")

    response = api.post(url(order), invoice_body(**change), format="json")

    error = assert_error(response, 409, "conflict", {"number": "Already used"})
    assert "000123" in error["message"]
    assert Invoice.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"number": None}, "number", "This field is required."),
        ({"number": ""}, "number", "may not be blank"),
        ({"number": "x" * 51}, "number", "no more than 50 characters"),
        ({"number": "12/3"}, "number", "must not contain '/'"),
        ({"issued_at": None}, "issued_at", "This field is required."),
        ({"issued_at": "03/05/2024"}, "issued_at", "Datetime has wrong format"),
        ({"issued_at": "2024-05-03T10:00:00"}, "issued_at", "UTC offset"),
        ({"issued_at": (timezone.now() + timedelta(days=1)).isoformat()}, "issued_at", "cannot be in the future"),
        ({"issued_at": "1999-12-31T23:59:59Z"}, "issued_at", "from 2000-01-01 on"),
        ({"type": "sale"}, "type", "is not a valid choice"),
        ({"key": "123"}, "key", "exactly 44 digits"),
        ({"url": "erp.example.com/nf"}, "url", "full http(s) address"),
        ({"tracking_url": "ftp://x.example.com/1"}, "tracking_url", "full http(s) address"),
        ({"value": "cem"}, "value", "A valid integer is required."),
        ({"value": 0}, "value", "greater than or equal to 1"),
        ({"value": 99_999}, "value", "below the"),
        ({"items": None}, "items", "This field is required."),
        ({"items": []}, "items", "may not be empty"),
        ({"items": {"item_index": 0}}, "items", "Expected a list"),
        ({"items": [{"item_index": 0, "quantity": "two"}]}, "items[0].quantity", "A valid integer is required."),
        ({"items": [{"item_index": 0, "quantity": 0}]}, "items[0].quantity", "greater than or equal to 1"),
        ({"items": [{"item_index": 0, "quantity": 1.5}]}, "items[0].quantity", "A valid integer is required."),
        ({"items": [{"item_index": 0}]}, "items[0].quantity", "This field is required."),
        ({"items": [{"quantity": 1}]}, "items[0].item_index", "This field is required."),
        ({"items": [{"item_index": -1, "quantity": 1}]}, "items[0].item_index", "greater than or equal to 0"),
        (
            {"items": [{"item_index": 1, "quantity": 1}, {"item_index": 1, "quantity": 1}]},
            "items[1].item_index",
            "also at items[0]",
        ),
        (
            {"items": [{"item_index": 1, "quantity": 1}, {"item_index": 0, "quantity": 3}]},
            "items[1]",
            "Only 2 of “Camiseta azul M” are left to invoice",
        ),
        (
            {"items": [{"item_index": 1, "quantity": 1}, {"item_index": 7, "quantity": 1}]},
            "items[1]",
            "no item number 7",
        ),
    ],
)
def test_each_invalid_input_is_a_400_naming_the_field_and_the_rule(api, order, change, field, rule):
    response = api.post(url(order), invoice_body(**change), format="json")

    assert_error(response, 400, "invalid", {field: rule})
    assert not Invoice.objects.exists() and not OutboxMessage.objects.exists()


def test_all_problems_are_reported_at_once(api, order):
    body = invoice_body(number=None, issued_at="yesterday", items=[{"item_index": 0, "quantity": "two"}])

    error = assert_error(api.post(url(order), body, format="json"), 400, "invalid")

    assert set(error["fields"]) == {"number", "issued_at", "items[0].quantity"}
    assert error["message"].startswith("Invalid request: ")


def test_an_order_not_yet_acknowledged_at_vtex_cannot_be_invoiced(api):
    order = acknowledged_order(vtex_status="ready-for-handling", start_handling="pending")

    error = assert_error(api.post(url(order), invoice_body(), format="json"), 409, "not_allowed")
    assert "start-handling" in error["message"]


def test_an_order_with_a_cancellation_request_cannot_be_invoiced(api, order):
    cancellation_request_create(order=order, reason="Cliente desistiu", via="test")

    error = assert_error(api.post(url(order), invoice_body(), format="json"), 409, "not_allowed")
    assert "cancellation" in error["message"]


def test_a_return_invoice_before_the_order_is_fully_invoiced_is_not_allowed(api, order):
    error = assert_error(api.post(url(order), invoice_body(type="input"), format="json"), 409, "not_allowed")
    assert "fully invoiced" in error["message"]
