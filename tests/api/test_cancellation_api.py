"""POST /api/v1/orders/{order_id}/cancellation/: accepted (202) only while the order has no invoice."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integration.models import CancellationRequest, Order, OutboxMessage
from integration.services.invoicing import InvoiceInput, invoice_create
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def url(order: Order) -> str:
    return f"/api/v1/orders/{order.order_id}/cancellation/"


def test_a_cancellation_is_accepted_and_queued_for_vtex(api, order, erp_user):
    response = api.post(url(order), {"reason": "  Cliente desistiu da compra  "}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["reason"] == "Cliente desistiu da compra"
    assert body["state"] == "pending" and body["requested_via"] == "api"
    request = CancellationRequest.objects.get()
    assert request.requested_by == erp_user
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CANCEL, cancellation=request).count() == 1
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLATION_REQUESTED


def test_an_invoiced_order_cannot_be_canceled_and_the_409_says_why(api, order):
    invoice_create(order=order, data=InvoiceInput(number="NF-1", issued_at=timezone.now(), lines=[(0, 1)]))

    response = api.post(url(order), {"reason": "Cliente desistiu"}, format="json")

    error = assert_error(response, 409, "not_allowed")
    assert "has an invoice" in error["message"]
    assert not CancellationRequest.objects.exists()


def test_a_second_request_while_one_is_open_is_a_409(api, order):
    assert api.post(url(order), {"reason": "Cliente desistiu"}, format="json").status_code == 202

    error = assert_error(api.post(url(order), {"reason": "Cliente desistiu"}, format="json"), 409, "not_allowed")

    assert "requested already" in error["message"]
    assert CancellationRequest.objects.count() == 1
    assert OutboxMessage.objects.count() == 1


def test_an_order_vtex_does_not_cancel_in_its_status_is_a_409(api, order):
    Order.objects.filter(pk=order.pk).update(vtex_status="invoiced")

    error = assert_error(api.post(url(order), {"reason": "Cliente desistiu"}, format="json"), 409, "not_allowed")
    assert "invoiced" in error["message"]


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({}, "This field is required."),
        ({"reason": ""}, "may not be blank"),
        ({"reason": None}, "may not be null"),
        ({"reason": "no"}, "at least 5 characters"),
        ({"reason": "x" * 501}, "no more than 500 characters"),
        ({"reason": ["a list"]}, "Not a valid string"),
    ],
)
def test_an_invalid_reason_is_a_400_naming_the_field(api, order, body, rule):
    assert_error(api.post(url(order), body, format="json"), 400, "invalid", {"reason": rule})
    assert not CancellationRequest.objects.exists()
