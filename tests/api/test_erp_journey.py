"""Issue 4's acceptance, end to end: an ERP lists new orders, acknowledges them, posts a partial
invoice, its tracking and events, and requests a cancellation, each reaching the sandbox exactly
once, also when it sends every request twice."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integration.infra.vtex_client import vtex_client
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due
from tests.api.conftest import ALL_API_PERMISSIONS, client_for, user_with

pytestmark = pytest.mark.django_db(transaction=True)


def twice(call, *args, **kwargs):
    """The ERP retries every request once (a timeout on its side): both answers must agree."""
    first, second = call(*args, **kwargs), call(*args, **kwargs)
    assert first.status_code in (200, 201, 202) and second.status_code in (200, 202), (first.json(), second.json())
    return first


def test_an_erp_journey_through_the_api_reaches_the_sandbox_once_each(make_sandbox, settings):
    server = make_sandbox(orders=2)
    settings.VTEX_START_HANDLING = "on_erp_ack"
    intake_run(source="list")
    api = client_for(user_with(*ALL_API_PERMISSIONS, username="erp"))

    listed = api.get("/api/v1/orders/", {"status": "ready-for-handling"}).json()
    ids = sorted(order["order_id"] for order in listed["results"])
    assert ids == sorted(server.store.order_ids())
    for order_id in ids:
        twice(api.post, f"/api/v1/orders/{order_id}/ack/", format="json")
    assert server.store.effects["start_handling"] == {order_id: 1 for order_id in ids}

    invoiced, canceled = ids
    detail = api.get(f"/api/v1/orders/{invoiced}/").json()
    first_item = detail["items"][0]
    invoice = {
        "number": "NF-9001",
        "issued_at": timezone.now().isoformat(),
        "type": "output",
        "items": [{"item_index": first_item["item_index"], "quantity": 1}],
    }
    twice(api.post, f"/api/v1/orders/{invoiced}/invoices/", invoice, format="json")
    tracking = {"tracking_number": "BR9001", "courier": "Correios", "tracking_url": "https://rastreio.example/BR9001"}
    twice(api.post, f"/api/v1/orders/{invoiced}/invoices/NF-9001/tracking/", tracking, format="json")
    events = {
        "events": [
            {"city": "Natal", "state": "RN", "description": "Saiu para entrega", "date": timezone.now().isoformat()}
        ],
        "delivered": False,
    }
    twice(api.post, f"/api/v1/orders/{invoiced}/invoices/NF-9001/tracking-events/", events, format="json")
    answer = api.post(f"/api/v1/orders/{canceled}/cancellation/", {"reason": "Cliente desistiu"}, format="json")
    assert answer.status_code == 202
    assert api.post(f"/api/v1/orders/{canceled}/cancellation/", {"reason": "De novo"}, format="json").status_code == 409

    outbox_send_due(client=vtex_client())

    effects = server.store.effects
    assert effects["invoice"] == {invoiced: {"NF-9001": 1}}
    assert effects["tracking"] == {invoiced: {"NF-9001": 1}}
    assert effects["tracking_events"] == {invoiced: {"NF-9001": 1}}
    assert effects["cancel"] == {canceled: 1}
    assert api.get(f"/api/v1/orders/{invoiced}/").json()["invoices"][0]["send_state"] == "sent"
