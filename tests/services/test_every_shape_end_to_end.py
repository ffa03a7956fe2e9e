"""Issue 15's acceptance, in one run: the sandbox's real order shapes (company buyers, pickup,
split purchases with another seller, gifts, kits, items by weight, shipping discounts, two cards,
changed orders) go through erp-bridge end to end: intake, invoices that add up to VTEX's value
(VTEX then marks the order invoiced), tracking and delivery; an order another seller fulfils is
left to that seller."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from integration.infra.vtex_client import vtex_client
from integration.models import Order
from integration.selectors.sellers import order_fulfilled_elsewhere
from integration.services.intake import intake_run
from integration.services.invoicing import InvoiceInput, invoice_create, order_invoicing_blocker, order_item_quantities
from integration.services.outbox import outbox_send_due
from integration.services.tracking import TrackingEventInput, invoice_set_tracking, tracking_events_add
from tests.api.conftest import ALL_API_PERMISSIONS, client_for, user_with
from vtex_sandbox.shapes import FEATURES

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_task_queue")]


def features_of(doc: dict) -> set[str]:
    found = set()
    client = doc.get("clientProfileData") or {}
    if client.get("isCorporate"):
        found.add("company")
    if any(a.get("addressType") == "pickup" for a in (doc.get("shippingData") or {}).get("selectedAddresses") or []):
        found.add("pickup")
    if any(item.get("seller") not in (None, "1") for item in doc["items"]) or doc["orderId"].endswith("-02"):
        found.add("split")
    if any(item.get("isGift") for item in doc["items"]):
        found.add("gift")
    if any(item.get("components") for item in doc["items"]):
        found.add("kit")
    if any(float(item.get("unitMultiplier") or 1) != 1 for item in doc["items"]):
        found.add("weight")
    if any(
        "shipping" in str(tag.get("name", "")).lower() for item in doc["items"] for tag in item.get("priceTags") or []
    ):
        found.add("shipping_discount")
    if len(doc["paymentData"]["transactions"][0]["payments"]) > 1:
        found.add("two_cards")
    if (doc.get("changesAttachment") or {}).get("changesData"):
        found.add("changed")
    return found


@pytest.mark.slow
@pytest.mark.parametrize("currency", ["BRL", "COP"])
def test_every_real_shape_goes_from_intake_to_delivered(make_sandbox, currency):
    server = make_sandbox(orders=40, shapes="mixed", currency=currency, seed=11)
    docs = {order_id: server.store.order(order_id) for order_id in server.store.order_ids()}
    covered = set().union(*(features_of(doc) for doc in docs.values()))
    assert covered >= set(FEATURES) - {"two_cards"} or currency == "COP", covered  # the mix covers them

    # intake: every ready order stored; start-handling sent only for this account's orders
    result = intake_run()
    assert result.failed == 0, result.failures
    orders = list(Order.objects.all())
    ours = [order for order in orders if not order_fulfilled_elsewhere(order)]
    theirs = [order for order in orders if order_fulfilled_elsewhere(order)]
    assert ours and (theirs or currency == "COP")
    for order in theirs:
        assert "seller" in order_invoicing_blocker(order).lower()
    assert set(server.store.effects["start_handling"]) == {order.order_id for order in ours}

    # invoices: all that is left of each of our orders, in one invoice, sent once
    for order in ours:
        order.refresh_from_db()
        lines = [
            (index, q.ordered - q.invoiced)
            for index, q in order_item_quantities(order).items()
            if q.ordered > q.invoiced
        ]
        invoice = invoice_create(
            order=order, data=InvoiceInput(f"NF-{order.sequence}", timezone.now() - timedelta(minutes=5), lines)
        )
        invoice_set_tracking(invoice=invoice, tracking_number=f"BR{order.sequence}", courier="Correios")
        tracking_events_add(
            invoice=invoice,
            events=[TrackingEventInput(timezone.now() - timedelta(minutes=2), "Saiu para entrega", "Recife", "PE")],
            delivered_at=timezone.now() - timedelta(minutes=1),
        )
    summary = outbox_send_due(client=vtex_client())
    assert summary.failed == 0 and summary.retrying == 0, summary

    # then VTEX took every invoice as adding up to the order's value (after its changes)
    statuses = Counter(server.store.order(order.order_id)["status"] for order in ours)
    assert statuses == {"invoiced": len(ours)}, statuses
    for order in ours:
        order.refresh_from_db()
        assert order.state == Order.State.DELIVERED, (order.order_id, order.state)
        assert order.invoices.get().value_cents == docs[order.order_id]["value"]


@pytest.mark.slow
def test_the_erp_takes_every_shape_through_the_api(make_sandbox):
    """The same, as an ERP does it: it reads each order through the API (buyer document, sellers,
    delivery, each item's quantity after changes and what remains), invoices what remains, adds the
    tracking and delivery, and cancels one order; VTEX then shows each order invoiced or canceled."""
    server = make_sandbox(orders=30, shapes="mixed", seed=11)
    intake_run()
    api = client_for(user_with(*ALL_API_PERMISSIONS, username="erp"))
    ids = [row["order_id"] for row in api.get("/api/v1/orders/", {"page_size": 100}).json()["results"]]
    details = {order_id: api.get(f"/api/v1/orders/{order_id}/").json() for order_id in ids}
    ours = [order_id for order_id in ids if not order_fulfilled_elsewhere(Order.objects.get(order_id=order_id))]
    to_cancel, to_invoice = ours[0], ours[1:]

    for order_id in to_invoice:
        detail = details[order_id]
        items = [
            {"item_index": item["item_index"], "quantity": item["remaining_quantity"]}
            for item in detail["items"]
            if item["remaining_quantity"] > 0
        ]
        number = f"NF-{detail['sequence']}"
        base = f"/api/v1/orders/{order_id}/invoices"
        created = api.post(
            f"{base}/", {"number": number, "issued_at": timezone.now().isoformat(), "items": items}, format="json"
        )
        assert created.status_code == 201, created.content
        assert created.json()["value_cents"] == server.store.order(order_id)["value"]  # the invoice adds up
        tracking = {"tracking_number": f"BR{detail['sequence']}", "courier": "Correios"}
        assert api.post(f"{base}/{number}/tracking/", tracking, format="json").status_code in (200, 201)
        delivered = {"events": [], "delivered": True}
        assert api.post(f"{base}/{number}/tracking-events/", delivered, format="json").status_code in (200, 201)
    reason = {"reason": "Cliente desistiu da compra"}
    assert api.post(f"/api/v1/orders/{to_cancel}/cancellation/", reason, format="json").status_code == 202

    assert outbox_send_due(client=vtex_client()).failed == 0
    statuses = {order_id: server.store.order(order_id)["status"] for order_id in ours}
    assert {statuses[order_id] for order_id in to_invoice} == {"invoiced"}
    assert statuses[to_cancel] in ("cancellation-requested", "canceled")
    # what the API says of an order another seller fulfils
    theirs = [order_id for order_id in ids if order_id not in ours]
    for order_id in theirs:
        answer = api.post(
            f"/api/v1/orders/{order_id}/invoices/",
            {"number": "NF-X", "issued_at": timezone.now().isoformat(), "items": [{"item_index": 0, "quantity": 1}]},
            format="json",
        )
        assert answer.status_code == 409 and "seller" in answer.json()["error"]["message"].lower()
