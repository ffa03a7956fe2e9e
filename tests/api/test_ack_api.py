"""POST /api/v1/orders/{order_id}/ack/: the ERP confirms it stored the order.

on_import (default): start-handling went at import; the call records the receipt, once.
on_erp_ack: the call sends start-handling now, once, and answers with VTEX's result.
"""

from __future__ import annotations

import pytest
import responses

from integration.models import Order, OrderEvent, VtexCall
from integration.selectors.start_handling import order_start_handling
from integration.services.intake import intake_run
from tests.api.conftest import assert_error, client_for, user_with
from tests.factories import make_order

pytestmark = pytest.mark.django_db

OMS = "https://teststore.vtexcommercestable.com.br"


def receipts(order: Order) -> int:
    return order.events.filter(kind=OrderEvent.Kind.ERP_RECEIVED).count()


def test_on_import_the_ack_records_the_receipt_once_and_calls_no_vtex(api, erp_user, settings):
    settings.VTEX_START_HANDLING = "on_import"
    order = make_order(vtex_status="handling", start_handling="done")

    first = api.post(f"/api/v1/orders/{order.order_id}/ack/")
    second = api.post(f"/api/v1/orders/{order.order_id}/ack/")

    assert first.status_code == second.status_code == 200
    body = second.json()
    assert body["order_id"] == order.order_id and body["mode"] == "on_import"
    assert "Receipt recorded" in body["message"]
    assert body["ack"]["state"] == "done"
    assert body["ack"]["erp_received_at"] == first.json()["ack"]["erp_received_at"] is not None
    assert receipts(order) == 1
    event = order.events.get(data__has_key="erp_receipt")
    assert event.actor == erp_user
    assert not VtexCall.objects.exists()


@responses.activate(assert_all_requests_are_fired=True)
def test_on_erp_ack_the_ack_sends_start_handling_once(api, vtex_settings):
    vtex_settings.VTEX_START_HANDLING = "on_erp_ack"
    order = make_order()  # ready-for-handling, not acknowledged
    responses.post(f"{OMS}/api/oms/pvt/orders/{order.order_id}/start-handling", status=204)

    first = api.post(f"/api/v1/orders/{order.order_id}/ack/")
    replay = api.post(f"/api/v1/orders/{order.order_id}/ack/")

    assert first.status_code == 200, first.content
    assert first.json()["mode"] == "on_erp_ack"
    assert first.json()["message"] == "VTEX accepted start-handling."
    assert first.json()["vtex_status"] == "handling"
    assert first.json()["ack"]["state"] == "done" and first.json()["ack"]["acknowledged_at"]
    assert replay.status_code == 200 and replay.json()["message"] == "Already acknowledged."
    assert len(responses.calls) == 1
    order.refresh_from_db()
    assert order_start_handling(order).state == "done" and order.state == Order.State.HANDLING
    assert order.events.filter(kind=OrderEvent.Kind.ACKNOWLEDGED).count() == 1
    assert receipts(order) == 1


@responses.activate
def test_on_erp_ack_a_vtex_refusal_is_a_502_with_vtex_message_and_no_credentials(api, vtex_settings):
    vtex_settings.VTEX_START_HANDLING = "on_erp_ack"
    order = make_order()
    responses.post(
        f"{OMS}/api/oms/pvt/orders/{order.order_id}/start-handling",
        status=403,
        json={"error": {"code": "1", "message": "Access denied to OMS"}},
    )

    response = api.post(f"/api/v1/orders/{order.order_id}/ack/")

    error = assert_error(response, 502, "vtex_error")
    assert "start-handling" in error["message"] and "403" in error["message"]
    assert vtex_settings.VTEX_APP_TOKEN not in response.content.decode()
    assert vtex_settings.VTEX_APP_KEY not in response.content.decode()
    order.refresh_from_db()
    assert order_start_handling(order).state == "failed"
    assert receipts(order) == 1  # the ERP did store it; only VTEX's part is to be retried


@responses.activate
def test_on_erp_ack_a_retry_after_a_vtex_failure_sends_again(api, vtex_settings):
    vtex_settings.VTEX_START_HANDLING = "on_erp_ack"
    order = make_order()
    url = f"{OMS}/api/oms/pvt/orders/{order.order_id}/start-handling"
    responses.post(url, status=403, json={"error": {"message": "Access denied"}})
    assert api.post(f"/api/v1/orders/{order.order_id}/ack/").status_code == 502
    responses.replace(responses.POST, url, status=204)

    response = api.post(f"/api/v1/orders/{order.order_id}/ack/")

    assert response.status_code == 200 and response.json()["ack"]["state"] == "done"
    assert response.json()["ack"]["attempts"] == 2


def test_on_erp_ack_an_order_being_acknowledged_elsewhere_gets_409(api, settings):

    settings.VTEX_START_HANDLING = "on_erp_ack"
    order = make_order(start_handling="sending")

    error = assert_error(api.post(f"/api/v1/orders/{order.order_id}/ack/"), 409, "conflict")
    assert "Another process" in error["message"]


@pytest.mark.parametrize("mode", ["on_import", "on_erp_ack"])
def test_an_order_never_read_in_full_cannot_be_acknowledged(api, settings, mode):
    settings.VTEX_START_HANDLING = mode
    order = make_order(is_complete=False)

    error = assert_error(api.post(f"/api/v1/orders/{order.order_id}/ack/"), 409, "not_allowed")
    assert "never read in full" in error["message"]
    assert receipts(order) == 0


def test_ack_needs_change_order_not_just_view(settings):
    order = make_order()
    client = client_for(user_with("view_order", "enter_invoices"))

    assert_error(client.post(f"/api/v1/orders/{order.order_id}/ack/"), 403, "permission_denied")
    assert receipts(order) == 0


@pytest.mark.django_db(transaction=True)
def test_on_erp_ack_end_to_end_against_the_sandbox(make_sandbox, settings):
    # given three ready orders, taken in without telling VTEX
    server = make_sandbox(orders=3)
    settings.VTEX_START_HANDLING = "on_erp_ack"
    result = intake_run()
    assert result.imported == 3 and result.acknowledged == 0
    assert server.store.effects["start_handling"] == {}
    orders = list(Order.objects.order_by("order_id"))
    assert {order_start_handling(o).state for o in orders} == {"pending"}
    client = client_for(user_with("view_order", "change_order"))
    waiting = client.get("/api/v1/orders/", {"erp_received": "false"}).json()["results"]
    assert sorted(row["order_id"] for row in waiting) == [o.order_id for o in orders]

    # when the ERP acknowledges each order, then replays every ack
    first = [client.post(f"/api/v1/orders/{o.order_id}/ack/") for o in orders]
    replays = [client.post(f"/api/v1/orders/{o.order_id}/ack/") for o in orders]

    # then each order was acknowledged exactly once at VTEX
    assert [r.status_code for r in first + replays] == [200] * 6, [r.content for r in first + replays]
    assert server.store.effects["start_handling"] == {o.order_id: 1 for o in orders}
    assert {r.json()["vtex_status"] for r in first} == {"handling"}
    assert {r.json()["message"] for r in replays} == {"Already acknowledged."}
    assert {order_start_handling(o).state for o in Order.objects.all()} == {"done"}
    assert client.get("/api/v1/orders/", {"erp_received": "false"}).json()["results"] == []

    # and the next intake run does not acknowledge them again
    intake_run()
    assert server.store.effects["start_handling"] == {o.order_id: 1 for o in orders}
