"""GET /api/v1/orders/ (filters, cursor pagination for polling) and GET /api/v1/orders/{order_id}/."""

from __future__ import annotations

import json
from base64 import b64encode, urlsafe_b64encode
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from integration.models import Order
from integration.services.cancellation import cancellation_request_create
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.tracking import TrackingEventInput, invoice_set_tracking, tracking_events_add
from tests.api.conftest import acknowledged_order, assert_error
from tests.factories import access_key_for, make_order, make_payment

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 2, 15, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def order_changed_at(moment: datetime, **fields) -> Order:
    order = make_order(**fields)
    Order.objects.filter(pk=order.pk).update(updated_at=moment)  # auto_now: set it past save()
    return order


def cursor_of(data: dict) -> str:
    return urlsafe_b64encode(json.dumps(data).encode()).decode()


def ids(response) -> list[str]:
    return [row["order_id"] for row in response.json()["results"]]


# ---- list ------------------------------------------------------------------------------------------------


def test_orders_are_listed_oldest_change_first_with_their_summary(api):
    late = order_changed_at(at(10), vtex_status="handling", state="handling")
    early = order_changed_at(at(1))

    response = api.get("/api/v1/orders/")

    assert response.status_code == 200
    body = response.json()
    assert ids(response) == [early.order_id, late.order_id]
    assert body["next"] is None and body["previous"] is None
    row = body["results"][1]
    assert row["vtex_status"] == "handling" and row["state"] == "handling"
    assert row["ack"] == {
        "state": "done",
        "acknowledged_at": None,
        "attempts": 0,
        "error": "",
        "erp_received_at": None,
    }
    assert row["total_cents"] == 14_490 and row["currency"] == "BRL"
    assert row["updated_at"].startswith("2024-05-02T12:10:00")  # store time zone, with its offset
    assert row["updated_at"].endswith("-03:00")


def test_filters_by_vtex_status_state_order_id_and_updated_since(api):
    ready = order_changed_at(at(1))
    handling = order_changed_at(at(2), vtex_status="handling", state=Order.State.HANDLING)
    newer = order_changed_at(at(3), vtex_status="handling", state=Order.State.HANDLING)

    assert ids(api.get("/api/v1/orders/", {"status": "ready-for-handling"})) == [ready.order_id]
    assert ids(api.get("/api/v1/orders/", {"state": "handling"})) == [handling.order_id, newer.order_id]
    assert ids(api.get("/api/v1/orders/", {"order_id": newer.order_id})) == [newer.order_id]
    since = at(2).isoformat()  # inclusive
    assert ids(api.get("/api/v1/orders/", {"updated_since": since})) == [handling.order_id, newer.order_id]
    assert ids(api.get("/api/v1/orders/", {"updated_since": "2024-05-02T12:02:30-03:00"})) == [newer.order_id]
    assert ids(api.get("/api/v1/orders/", {"status": "handling", "updated_since": at(3).isoformat()})) == [
        newer.order_id
    ]


def test_filter_by_erp_receipt(api):
    taken, waiting = make_order(), make_order()
    assert api.post(f"/api/v1/orders/{taken.order_id}/ack/").status_code == 200

    assert ids(api.get("/api/v1/orders/", {"erp_received": "false"})) == [waiting.order_id]
    assert ids(api.get("/api/v1/orders/", {"erp_received": "true"})) == [taken.order_id]


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"updated_since": "yesterday"}, "updated_since", "Datetime has wrong format"),
        ({"updated_since": "2024-05-02T15:00:00"}, "updated_since", "UTC offset"),
        ({"state": "lost"}, "state", "is not a valid choice"),
        ({"erp_received": "maybe"}, "erp_received", "true or false"),
        ({"erp_received": "1"}, "erp_received", "true or false"),
        ({"status": "shipped-by-drone"}, "status", "is not a valid choice"),
        ({"page_size": "0"}, "page_size", "greater than or equal to 1"),
        ({"page_size": "-1"}, "page_size", "greater than or equal to 1"),
        ({"page_size": "100000"}, "page_size", "less than or equal to 200"),
        ({"page_size": "5.0"}, "page_size", "valid integer"),
        ({"page_size": "many"}, "page_size", "valid integer"),
        ({"cursor": "not-a-cursor"}, "cursor", "not one the server made"),
        ({"cursor": b64encode(b"p=yesterday").decode()}, "cursor", "not one the server made"),
        ({"cursor": cursor_of({"t": "2024-05-02 15:00:00", "i": 1})}, "cursor", "not one the server made"),
        ({"cursor": cursor_of({"t": "2024-05-02T15:00:00Z", "i": -1})}, "cursor", "not one the server made"),
        ({"cursor": cursor_of({"n": 0})}, "cursor", "not one the server made"),
        ({"cursor": cursor_of({"f": {"state": "lost"}})}, "cursor", "not one the server made"),
        ({"cursor": cursor_of({"f": {"password": "x"}})}, "cursor", "not one the server made"),
    ],
)
def test_invalid_filters_get_400_naming_the_parameter(api, params, field, rule):
    assert_error(api.get("/api/v1/orders/", params), 400, "invalid", {field: rule})


def test_every_problem_of_a_list_request_is_reported_at_once(api):
    error = assert_error(api.get("/api/v1/orders/", {"page_size": "0", "state": "lost"}), 400, "invalid")

    assert set(error["fields"]) == {"page_size", "state"}
    assert error["message"].startswith("Invalid request: ") and not error["message"].endswith("..")


def test_a_bound_beyond_the_calendar_is_taken_as_its_end(api):
    order_changed_at(at(1))

    assert ids(api.get("/api/v1/orders/", {"updated_since": "9999-12-31T23:59:59-14:00"})) == []
    assert len(ids(api.get("/api/v1/orders/", {"updated_since": "0001-01-01T00:00:00+14:00"}))) == 1


def walk(api, params: dict, *, via: str = "next_cursor") -> tuple[list[str], str, int]:
    """Every page from `params` on, following next_cursor (alone) or the next link; the orders seen,
    the last page's resume_cursor and the number of pages."""
    seen: list[str] = []
    body = api.get("/api/v1/orders/", params).json()
    pages = 1
    while True:
        seen += [row["order_id"] for row in body["results"]]
        if body["next_cursor"] is None:
            assert body["next"] is None
            return seen, body["resume_cursor"], pages
        if via == "next_cursor":
            body = api.get("/api/v1/orders/", {"cursor": body["next_cursor"]}).json()
        else:
            assert parse_qs(urlsplit(body["next"]).query) == {"cursor": [body["next_cursor"]]}
            body = api.get(body["next"]).json()
        pages += 1


@pytest.mark.parametrize("via", ["next_cursor", "next"])
def test_cursor_pages_walk_every_order_once_in_updated_at_then_id_order(api, via):
    orders = [order_changed_at(at(minute)) for minute in range(5)]
    orders.append(order_changed_at(at(4)))  # same updated_at as the one before: ordered by id

    seen, _, pages = walk(api, {"page_size": 2}, via=via)

    assert seen == [order.order_id for order in orders]
    assert pages == 3


def test_eighteen_orders_sharing_one_updated_at_are_each_listed_once_across_pages_and_polls(api):
    # given: 18 orders changed at one instant, between two others
    before = order_changed_at(at(0))
    tied = [order_changed_at(at(5)) for _ in range(18)]
    after = order_changed_at(at(9))

    # when: the ERP walks five at a time, and one tied order changes again after the first page
    first = api.get("/api/v1/orders/", {"page_size": 5}).json()
    changed = tied[7]  # on the second page, not read yet
    Order.objects.filter(pk=changed.pk).update(updated_at=at(12))
    rest, resume, pages = walk(api, {"cursor": first["next_cursor"]})
    seen = [row["order_id"] for row in first["results"]] + rest

    # then: each order once, ties by id, the changed one at its new place; none skipped
    expected = [before] + [o for o in tied if o != changed] + [after, changed]
    assert seen == [order.order_id for order in expected]
    assert pages + 1 == 4

    # and: the next poll from the resume cursor brings only what changed since, ties included
    assert ids(api.get("/api/v1/orders/", {"cursor": resume})) == []
    newer_tied = [order_changed_at(at(12)) for _ in range(2)]  # the same instant as the last one read
    Order.objects.filter(pk=tied[0].pk).update(updated_at=at(13))
    again, _, _ = walk(api, {"cursor": resume, "page_size": 1})
    assert again == [o.order_id for o in newer_tied] + [tied[0].order_id]


def test_polling_by_updated_since_alone_repeats_the_last_instant_the_cursor_does_not(api):
    tied = [order_changed_at(at(5)) for _ in range(3)]

    page = api.get("/api/v1/orders/", {"updated_since": at(5).isoformat()}).json()

    assert [row["order_id"] for row in page["results"]] == [o.order_id for o in tied]
    assert ids(api.get("/api/v1/orders/", {"cursor": page["resume_cursor"]})) == []


def test_the_cursor_carries_the_filters_and_takes_them_again_or_refuses_others(api):
    handling = [order_changed_at(at(m), vtex_status="handling", state="handling") for m in range(3)]
    order_changed_at(at(1))  # ready-for-handling: filtered out

    first = api.get("/api/v1/orders/", {"status": "handling", "page_size": 2}).json()
    cursor = first["next_cursor"]

    assert ids(api.get("/api/v1/orders/", {"cursor": cursor})) == [handling[2].order_id]
    assert ids(api.get("/api/v1/orders/", {"cursor": cursor, "status": "handling"})) == [handling[2].order_id]
    error = assert_error(
        api.get("/api/v1/orders/", {"cursor": cursor, "status": "invoiced"}), 400, "invalid", {"status": "differs"}
    )
    assert "cursor" in error["message"]
    assert_error(api.get("/api/v1/orders/", {"cursor": cursor, "state": "handling"}), 400, "invalid", {"state": ""})
    # the page size may change along the way
    assert len(api.get("/api/v1/orders/", {"cursor": first["resume_cursor"], "page_size": 1}).json()["results"]) == 1


def test_previous_cursor_goes_back_a_page(api):
    orders = [order_changed_at(at(m)) for m in range(5)]

    first = api.get("/api/v1/orders/", {"page_size": 2}).json()
    second = api.get("/api/v1/orders/", {"cursor": first["next_cursor"]}).json()
    back = api.get("/api/v1/orders/", {"cursor": second["previous_cursor"]}).json()

    assert first["previous_cursor"] is None and first["previous"] is None
    assert [r["order_id"] for r in back["results"]] == [o.order_id for o in orders[:2]]
    assert back["previous_cursor"] is None
    assert [r["order_id"] for r in second["results"]] == [o.order_id for o in orders[2:4]]


def test_the_page_size_is_1_to_200(api):
    for minute in range(3):
        order_changed_at(at(minute))

    assert len(api.get("/api/v1/orders/", {"page_size": 1}).json()["results"]) == 1
    assert len(api.get("/api/v1/orders/", {"page_size": 200}).json()["results"]) == 3
    assert_error(api.get("/api/v1/orders/", {"page_size": 201}), 400, "invalid", {"page_size": "200"})


# ---- detail ----------------------------------------------------------------------------------------------


def test_detail_has_items_with_quantities_payments_invoices_totals_customer_and_address(api):
    order = acknowledged_order()
    make_payment(order, value_cents=order.total_cents)
    invoice = invoice_create(
        order=order,
        data=InvoiceInput(
            number="NF-1",
            issued_at=timezone.now() - timedelta(hours=3),
            lines=[(0, 1), (2, 2)],
            access_key=access_key_for(1, code=1),  # NF-1's key (the service checks the number inside it)
        ),
        via="test",
    )
    invoice_set_tracking(invoice=invoice, tracking_number="AA1BR", courier="Correios", via="test")
    tracking_events_add(
        invoice=invoice,
        events=[TrackingEventInput(timezone.now() - timedelta(hours=1), "Coletado", "São Paulo", "SP")],
        via="test",
    )

    response = api.get(f"/api/v1/orders/{order.order_id}/")

    assert response.status_code == 200
    body = response.json()
    assert body["order_id"] == order.order_id and body["state"] == "partially_invoiced"
    assert [
        (i["item_index"], i["sku_id"], i["quantity"], i["invoiced_quantity"], i["remaining_quantity"])
        for i in body["items"]
    ] == [(0, "3021", 2, 1, 1), (1, "4410", 1, 0, 1), (2, "5120", 3, 2, 1)]
    assert body["items"][2]["unit_price_cents"] == 1200 and body["items"][2]["selling_price_cents"] == 1000
    assert body["items"][0]["ref_id"] == "CAM-AZ-M" and body["items"][0]["ean"] == "7891234567895"
    assert body["payments"][0]["value_cents"] == 17_490 and body["payments"][0]["group"] == "creditCard"
    assert body["totals"] == {
        "currency": "BRL",
        "currency_decimal_digits": None,  # the factory's order does not say; VTEX's say 2 for BRL
        "total_cents": 17_490,
        "items_cents": 16_590,
        "discounts_cents": -600,
        "shipping_cents": 1_500,
        "tax_cents": 0,
        "invoiced_cents": 5_000 + 2 * 1_000,
        "returned_cents": 0,
    }
    assert body["customer"]["name"] == "Maria Souza" and body["customer"]["document"] == "12345678909"
    assert body["shipping_address"]["postal_code"] == "01310-100" and body["shipping_address"]["state"] == "SP"
    [stored] = body["invoices"]
    assert stored["number"] == "NF-1" and stored["type"] == "output" and stored["key"] == access_key_for(1, code=1)
    assert stored["value_cents"] == 7_000 and stored["send_state"] == "pending" and stored["delivered"] is False
    assert [(i["item_index"], i["quantity"], i["unit_price_cents"]) for i in stored["items"]] == [
        (0, 1, 5000),
        (2, 2, 1000),
    ]
    assert stored["tracking_number"] == "AA1BR" and stored["courier"] == "Correios"
    assert [(e["description"], e["city"], e["state"]) for e in stored["tracking_events"]] == [
        ("Coletado", "São Paulo", "SP")
    ]
    assert body["cancellation_requests"] == []
    assert body["ack"]["state"] == "done"


def test_detail_shows_cancellation_requests(api):
    order = acknowledged_order()
    cancellation_request_create(order=order, reason="Cliente desistiu", via="test")

    body = api.get(f"/api/v1/orders/{order.order_id}/").json()

    assert body["state"] == "cancellation_requested"
    assert [(c["reason"], c["state"], c["requested_via"]) for c in body["cancellation_requests"]] == [
        ("Cliente desistiu", "pending", "test")
    ]
