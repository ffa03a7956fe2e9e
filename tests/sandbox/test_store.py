"""The sandbox store's rules, without HTTP (VTEX-API.md sections cited per test group)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from vtex_sandbox import SandboxStore
from vtex_sandbox.errors import BadRequest, Conflict, NotFound
from vtex_sandbox.generator import is_valid_cpf

from .conftest import invoice_body

VTEX_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$")
FEED_CONFIG = {
    "filter": {"type": "FromWorkflow", "status": ["ready-for-handling", "handling", "canceled"]},
    "queue": {"visibilityTimeoutInSeconds": 240, "MessageRetentionPeriodInSeconds": 345600},
}


def handling_order(store: SandboxStore) -> dict:
    order_id = store.order_ids()[0]
    store.start_handling(order_id)
    return store.order(order_id)


# -- generated orders -------------------------------------------------------------------------------
def _totals(order: dict) -> dict[str, int]:
    return {total["id"]: total["value"] for total in order["totals"]}


@pytest.mark.parametrize("seed", range(25))
def test_every_generated_order_adds_up_to_the_cent(seed):
    store = SandboxStore(orders=40, seed=seed)
    for order_id in store.order_ids():
        order = store.order(order_id)
        items, totals = order["items"], _totals(order)
        assert 1 <= len(items) <= 5
        assert all(1 <= item["quantity"] <= 3 for item in items)
        assert all(isinstance(item["price"], int) and item["price"] > 0 for item in items)
        assert totals["Items"] == sum(item["price"] * item["quantity"] for item in items)
        assert totals["Discounts"] == sum((item["sellingPrice"] - item["price"]) * item["quantity"] for item in items)
        assert totals["Discounts"] == sum(tag["value"] for item in items for tag in item["priceTags"])
        assert totals["Discounts"] <= 0
        assert totals["Shipping"] == sum(info["sellingPrice"] for info in order["shippingData"]["logisticsInfo"])
        assert totals["Tax"] == sum(item["tax"] * item["quantity"] for item in items)
        assert order["value"] == sum(totals.values())
        payments = order["paymentData"]["transactions"][0]["payments"]
        assert 1 <= len(payments) <= 2
        assert sum(payment["value"] for payment in payments) == order["value"]
        assert all(payment["value"] > 0 for payment in payments)
        assert [info["itemIndex"] for info in order["shippingData"]["logisticsInfo"]] == list(range(len(items)))


def test_generated_orders_look_like_brazilian_vtex_orders(store):
    for order_id in store.order_ids():
        order = store.order(order_id)
        address = order["shippingData"]["address"]
        assert re.fullmatch(r"\d{13}-01", order["orderId"])
        assert is_valid_cpf(order["clientProfileData"]["document"])
        assert re.fullmatch(r"\d{5}-\d{3}", address["postalCode"])
        assert re.fullmatch(r"[A-Z]{2}", address["state"]) and address["country"] == "BRA"
        assert VTEX_DATE.match(order["creationDate"]) and VTEX_DATE.match(order["lastChange"])
        assert order["storePreferencesData"]["currencyCode"] == "BRL"
        assert order["status"] == "ready-for-handling" and order["packageAttachment"]["packages"] == []


def test_some_orders_have_discounts_split_payments_and_odd_cents():
    store = SandboxStore(orders=60, seed=4)
    orders = [store.order(order_id) for order_id in store.order_ids()]
    assert any(_totals(order)["Discounts"] < 0 for order in orders)
    assert any(len(order["paymentData"]["transactions"][0]["payments"]) == 2 for order in orders)
    assert any(order["value"] % 2 == 1 for order in orders)
    assert {p["group"] for o in orders for p in o["paymentData"]["transactions"][0]["payments"]} >= {
        "creditCard",
        "instantPayment",
    }


def test_same_seed_gives_the_same_orders_and_another_seed_others():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def snapshot(seed: int) -> list[dict]:
        store = SandboxStore(orders=15, seed=seed, now=now)
        return [store.order(order_id) for order_id in store.order_ids()]

    assert snapshot(7) == snapshot(7)
    assert [o["orderId"] for o in snapshot(7)] != [o["orderId"] for o in snapshot(8)]


def test_creation_dates_spread_over_the_last_days_and_sequences_follow_them():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    store = SandboxStore(orders=30, seed=2, now=now)
    orders = [store.order(order_id) for order_id in store.order_ids()]
    created = [datetime.fromisoformat(order["creationDate"]) for order in orders]
    assert created == sorted(created)
    assert all(now - timedelta(days=7) <= moment <= now - timedelta(hours=1) for moment in created)
    assert created[-1] - created[0] > timedelta(days=2)
    assert [int(order["sequence"]) for order in orders] == sorted(int(order["sequence"]) for order in orders)


def test_order_lookup_by_sequence_and_unknown_ids(store):
    order = store.order(store.order_ids()[3])
    assert store.order(f"seq{order['sequence']}")["orderId"] == order["orderId"]
    with pytest.raises(NotFound):
        store.order("0000000000000-01")
    with pytest.raises(NotFound):
        store.order("seq1")


def test_order_returns_a_copy(store):
    order_id = store.order_ids()[0]
    store.order(order_id)["status"] = "invoiced"
    assert store.order(order_id)["status"] == "ready-for-handling"


def test_add_orders_and_set_status_update_the_status_index(store):
    new_ids = store.add_orders(3, status="payment-approved")
    assert store.orders_by_status("payment-approved") == new_ids
    store.set_status(new_ids[0], "ready-for-handling")
    assert new_ids[0] in store.orders_by_status("ready-for-handling")
    assert store.list_orders(statuses=["payment-approved"])["paging"]["total"] == 2
    with pytest.raises(ValueError):
        store.add_orders(1, status="invoiced")
    with pytest.raises(ValueError):
        store.set_status(new_ids[1], "no-such-status")


# -- list orders (§1) ----------------------------------------------------------------------------------
def test_list_orders_pages_and_caps(make_store):
    store = make_store(orders=40)
    page = store.list_orders(page=2, per_page=15)
    assert page["paging"] == {"total": 40, "pages": 3, "currentPage": 2, "perPage": 15}
    assert len(page["list"]) == 15 and all(entry["items"] is None for entry in page["list"])
    newest_first = [entry["creationDate"] for entry in store.list_orders(per_page=40)["list"]]
    assert newest_first == sorted(newest_first, reverse=True)
    assert store.list_orders(page=30)["list"] == []
    with pytest.raises(BadRequest, match="30 pages"):
        store.list_orders(page=31)
    with pytest.raises(BadRequest):
        store.list_orders(per_page=101)


def test_list_orders_stats_cover_every_match(store):
    stats = store.list_orders(per_page=1)["stats"]["stats"]
    values = [store.order(order_id)["value"] for order_id in store.order_ids()]
    assert stats["totalValue"]["Sum"] == sum(values) and stats["totalValue"]["Count"] == len(values)
    assert stats["totalValue"]["Facets"]["currencyCode"]["BRL"]["Max"] == max(values)


# -- start handling (§3) --------------------------------------------------------------------------------
def test_start_handling_changes_status_once_then_answers_oms003(store):
    order_id = store.order_ids()[0]
    store.start_handling(order_id)
    assert store.order(order_id)["status"] == "handling"
    with pytest.raises(Conflict) as conflict:
        store.start_handling(order_id)
    assert conflict.value.code == "OMS003"
    assert conflict.value.message == "Order status should be ready-for-handling to perform this action"
    assert store.effects["start_handling"] == {order_id: 1}


def test_start_handling_unknown_order(store):
    with pytest.raises(NotFound):
        store.start_handling("0000000000000-01")


# -- invoices (§4) --------------------------------------------------------------------------------------
def test_partial_invoice_keeps_handling_and_completing_invoice_makes_it_invoiced(make_store):
    store = make_store(orders=40)
    order = next(o for o in map(store.order, store.order_ids()) if len(o["items"]) >= 2)
    store.start_handling(order["orderId"])
    first = invoice_body(order, "NF-1", items=[(1, 1)])

    store.invoice(order["orderId"], first)

    after_first = store.order(order["orderId"])
    assert after_first["status"] == "handling"
    (package,) = after_first["packageAttachment"]["packages"]
    assert package["invoiceValue"] == first["invoiceValue"] and package["type"] == "Output"
    assert package["items"] == [
        {
            "itemIndex": 1,
            "quantity": 1,
            "price": order["items"][1]["sellingPrice"],
            "description": None,
            "unitMultiplier": 1,
        }
    ]
    assert after_first["invoicedDate"] is None and after_first["allowCancellation"] is False

    rest = order["value"] - first["invoiceValue"]
    store.invoice(order["orderId"], invoice_body(order, "NF-2", items=[(0, 1)], value=str(rest)))

    final = store.order(order["orderId"])
    assert final["status"] == "invoiced" and final["invoicedDate"] is not None
    assert [p["invoiceNumber"] for p in final["packageAttachment"]["packages"]] == ["NF-1", "NF-2"]
    assert store.effects["invoice"] == {order["orderId"]: {"NF-1": 1, "NF-2": 1}}


def test_invoice_needs_handling(store):
    order = store.order(store.order_ids()[0])
    with pytest.raises(BadRequest, match="start-handling"):
        store.invoice(order["orderId"], invoice_body(order, "NF-1", value=order["value"]))
    assert store.order(order["orderId"])["packageAttachment"]["packages"] == []


def test_over_invoicing_is_refused(store):
    order = handling_order(store)
    store.invoice(order["orderId"], invoice_body(order, "NF-1", value=order["value"] - 100))
    with pytest.raises(BadRequest, match="exceeds"):
        store.invoice(order["orderId"], invoice_body(order, "NF-2", value=101))
    store.invoice(order["orderId"], invoice_body(order, "NF-3", value=100))
    assert store.order(order["orderId"])["status"] == "invoiced"
    with pytest.raises(BadRequest, match="exceeds"):
        store.invoice(order["orderId"], invoice_body(order, "NF-4", value=1))


def test_same_invoice_number_same_content_gives_a_new_receipt_and_no_new_package(store):
    order = handling_order(store)
    body = invoice_body(order, "NF-77", value=order["value"])
    first = store.invoice(order["orderId"], body)
    again = store.invoice(order["orderId"], {**body, "issuanceDate": "2026-11-29T09:00:00-03:00"})
    assert again["receipt"] != first["receipt"] and again["orderId"] == order["orderId"]
    assert len(store.order(order["orderId"])["packageAttachment"]["packages"]) == 1
    assert store.effects["invoice"][order["orderId"]] == {"NF-77": 2}
    with pytest.raises(Conflict, match="different content"):
        store.invoice(order["orderId"], {**body, "invoiceValue": order["value"] - 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"invoiceNumber": None}, "invoiceNumber"),
        ({"invoiceNumber": "NF/1"}, "'/'"),
        ({"invoiceValue": "123.45"}, "decimal separator"),
        ({"invoiceValue": 0}, "greater than zero"),
        ({"type": "Sale"}, "type"),
        ({"issuanceDate": "2026-11-28"}, "issuanceDate"),
        ({"items": [{"id": "999999", "price": 100, "quantity": 1}]}, r"items\[0\]\.id '999999'"),
        ({"items": [{"id": "101", "price": 1.5, "quantity": 1}]}, r"items\[0\]\.(id|price)"),
        ({"items": "all"}, "items"),
    ],
)
def test_invalid_invoices_are_refused_naming_the_field(store, change, message):
    order = handling_order(store)
    body = {**invoice_body(order, "NF-1", value=order["value"]), **change}
    with pytest.raises(BadRequest, match=message):
        store.invoice(order["orderId"], body)
    assert store.order(order["orderId"])["packageAttachment"]["packages"] == []


def test_invoice_value_may_be_a_string_or_an_integer(store):
    order = handling_order(store)
    store.invoice(order["orderId"], invoice_body(order, "NF-1", value="100"))
    store.invoice(order["orderId"], invoice_body(order, "NF-2", value=200))
    values = [p["invoiceValue"] for p in store.order(order["orderId"])["packageAttachment"]["packages"]]
    assert values == [100, 200]


def test_return_invoice_only_after_full_invoicing(store):
    order = handling_order(store)
    with pytest.raises(BadRequest, match="fully invoiced"):
        store.invoice(order["orderId"], invoice_body(order, "DEV-1", value=100, kind="Input"))
    store.invoice(order["orderId"], invoice_body(order, "NF-1", value=order["value"]))
    store.invoice(order["orderId"], invoice_body(order, "DEV-1", items=[(0, 1)], kind="Input"))
    packages = store.order(order["orderId"])["packageAttachment"]["packages"]
    assert [p["type"] for p in packages] == ["Output", "Input"]
    assert packages[1]["restitutions"]["Refund"]["value"] == packages[1]["invoiceValue"]
    assert store.order(order["orderId"])["status"] == "invoiced"


def test_canceled_order_cannot_be_invoiced(store):
    order = handling_order(store)
    store.set_status(order["orderId"], "canceled")
    with pytest.raises(BadRequest, match="canceled"):
        store.invoice(order["orderId"], invoice_body(order, "NF-1", value=order["value"]))


# -- tracking (§5, §6) ------------------------------------------------------------------------------
def test_tracking_number_then_events(store):
    order = handling_order(store)
    store.invoice(order["orderId"], invoice_body(order, "NF-1", value=order["value"]))
    events = {
        "isDelivered": False,
        "deliveredDate": None,
        "events": [{"city": "Recife", "state": "PE", "description": "Em trânsito", "date": "2026-11-29"}],
    }
    with pytest.raises(BadRequest, match="no tracking number"):
        store.put_tracking_events(order["orderId"], "NF-1", events)
    with pytest.raises(NotFound):
        store.update_invoice_tracking(
            order["orderId"],
            "NF-404",
            {"trackingNumber": "BR1", "trackingUrl": None, "courier": None, "dispatchedDate": None},
        )

    store.update_invoice_tracking(
        order["orderId"],
        "NF-1",
        {
            "trackingNumber": "BR123",
            "trackingUrl": "https://t.example/BR123",
            "courier": "Correios",
            "dispatchedDate": None,
        },
    )
    store.put_tracking_events(order["orderId"], "NF-1", events)
    store.put_tracking_events(
        order["orderId"], "NF-1", {**events, "isDelivered": True, "deliveredDate": "2026-11-30 14:00"}
    )

    (package,) = store.order(order["orderId"])["packageAttachment"]["packages"]
    assert package["trackingNumber"] == "BR123" and package["courier"] == "Correios"
    status = package["courierStatus"]
    assert status["finished"] is True and status["deliveredDate"] == "2026-11-30 14:00"
    assert [(e["city"], e["createDate"]) for e in status["data"]] == [("Recife", "2026-11-29")]
    assert store.effects["tracking"] == {order["orderId"]: {"NF-1": 1}}
    assert store.effects["tracking_events"] == {order["orderId"]: {"NF-1": 2}}
    assert store.order(order["orderId"])["status"] == "invoiced"


def test_tracking_patch_requires_all_four_fields(store):
    order = handling_order(store)
    store.invoice(order["orderId"], invoice_body(order, "NF-1", value=order["value"]))
    with pytest.raises(BadRequest, match="dispatchedDate"):
        store.update_invoice_tracking(
            order["orderId"], "NF-1", {"trackingNumber": "BR1", "trackingUrl": None, "courier": None}
        )


# -- cancel (§7) --------------------------------------------------------------------------------------
def test_cancel_is_requested_then_canceled_after_the_delay(make_store, clock):
    store = make_store(cancel_delay_s=30)
    order_id = store.order_ids()[0]

    receipt = store.cancel(order_id, "Cliente desistiu")

    assert receipt["orderId"] == order_id and receipt["receipt"]
    order = store.order(order_id)
    assert order["status"] == "cancellation-requested"
    assert order["cancellationData"]["RequestedByUser"] is True
    assert order["cancellationData"]["Reason"] == "Cliente desistiu"
    clock.advance(29)
    assert store.order(order_id)["status"] == "cancellation-requested"
    clock.advance(2)
    assert store.order(order_id)["status"] == "canceled"
    store.cancel(order_id, "again")
    assert store.effects["cancel"] == {order_id: 1}
    assert store.order(order_id)["cancellationData"]["Reason"] == "Cliente desistiu"


def test_cancel_without_delay_is_canceled_at_the_next_read(store):
    order_id = store.order_ids()[1]
    store.start_handling(order_id)
    store.cancel(order_id)
    assert store.order(order_id)["status"] == "canceled"
    assert store.list_orders(statuses=["canceled"])["paging"]["total"] == 1


def test_cancel_refused_after_a_partial_invoice(store):
    order = handling_order(store)
    store.invoice(order["orderId"], invoice_body(order, "NF-1", value=100))
    with pytest.raises(BadRequest) as refused:
        store.cancel(order["orderId"], "too late")
    assert refused.value.code == "OMS006"
    assert store.order(order["orderId"])["status"] == "handling"
    assert store.effects["cancel"] == {}


@pytest.mark.parametrize("status", ["invoiced", "start-handling", "order-created"])
def test_cancel_refused_in_terminal_and_automatic_statuses(store, status):
    order_id = store.order_ids()[0]
    store.set_status(order_id, status)
    with pytest.raises(BadRequest, match=status):
        store.cancel(order_id)


# -- payments (§8) ------------------------------------------------------------------------------------
def test_payment_views_agree_with_the_order(store):
    order = store.order(store.order_ids()[0])
    transaction_id = order["paymentData"]["transactions"][0]["transactionId"]
    assert store.payment_transaction(order["orderId"])["transactionId"] == transaction_id
    transaction = store.transaction(transaction_id)
    assert transaction["value"] == order["value"]
    assert {"name": "orderId", "value": order["orderGroup"]} in transaction["fields"]
    payments = store.transaction_payments(transaction_id)
    assert sum(payment["value"] for payment in payments) == order["value"]
    assert store.transaction_payment(transaction_id, payments[0]["id"]) == payments[0]
    with pytest.raises(NotFound):
        store.transaction("F" * 32)


def test_transaction_status_follows_the_order(store):
    order = handling_order(store)
    transaction_id = order["paymentData"]["transactions"][0]["transactionId"]
    assert store.transaction(transaction_id)["status"] == "Approved"
    store.invoice(order["orderId"], invoice_body(order, "NF-1", value=order["value"]))
    assert store.transaction(transaction_id)["status"] == "Finished"
    assert store.transaction(transaction_id)["commitmentDate"] is not None


# -- feed v3 (§9) -------------------------------------------------------------------------------------
def test_feed_needs_a_config(store):
    with pytest.raises(NotFound):
        store.read_feed(10)
    with pytest.raises(NotFound):
        store.feed_config()


@pytest.mark.parametrize(
    ("config", "error"),
    [
        (
            {**FEED_CONFIG, "queue": {"visibilityTimeoutInSeconds": 240, "MessageRetentionPeriodInSeconds": 345599}},
            BadRequest,
        ),
        (
            {**FEED_CONFIG, "queue": {"visibilityTimeoutInSeconds": 240, "MessageRetentionPeriodInSeconds": 1209601}},
            BadRequest,
        ),
        ({**FEED_CONFIG, "queue": {"MessageRetentionPeriodInSeconds": 345600}}, BadRequest),
        ({**FEED_CONFIG, "filter": {"type": "FromWorkflow", "status": ["invoiced"], "expression": "x"}}, Conflict),
        (
            {**FEED_CONFIG, "filter": {"type": "FromOrders", "expression": "status = 'x'", "status": ["invoiced"]}},
            Conflict,
        ),
        ({**FEED_CONFIG, "filter": {"type": "Everything"}}, BadRequest),
        ({"queue": FEED_CONFIG["queue"]}, BadRequest),
    ],
)
def test_invalid_feed_configs_are_refused(store, config, error):
    with pytest.raises(error):
        store.set_feed_config(config)
    with pytest.raises(NotFound):
        store.feed_config()


def test_feed_config_accepts_both_spellings_of_the_retention(store):
    store.set_feed_config(
        {**FEED_CONFIG, "queue": {"visibilityTimeoutInSeconds": 60, "messageRetentionPeriodInSeconds": 1209600}}
    )
    queue = store.feed_config()["queue"]
    assert queue["MessageRetentionPeriodInSeconds"] == queue["messageRetentionPeriodInSeconds"] == 1209600


def test_feed_gets_the_status_changes_its_filter_names(store):
    store.set_feed_config(FEED_CONFIG)
    first, second = store.order_ids()[:2]
    store.start_handling(first)  # handling: in the filter
    store.set_status(second, "payment-approved")  # not in the filter
    (new_id,) = store.add_orders(1)  # created in ready-for-handling: in the filter

    events = store.read_feed(10)

    assert [(e["orderId"], e["lastState"], e["state"]) for e in events] == [
        (first, "ready-for-handling", "handling"),
        (new_id, "window-to-cancel", "ready-for-handling"),
    ]
    assert all(e["domain"] == "Fulfillment" and e["handle"] and e["eventId"] for e in events)
    assert store.feed_config()["quantity"] == 2


def test_feed_events_hide_for_the_visibility_timeout_and_come_back_until_committed(store, clock):
    store.set_feed_config(FEED_CONFIG)
    store.add_orders(3)
    first_read = store.read_feed(2)
    assert len(first_read) == 2
    assert [e["orderId"] for e in store.read_feed(10)] == [store.order_ids()[-1]]
    assert store.read_feed(10) == []

    clock.advance(241)
    again = store.read_feed(10)  # everything not committed is visible again
    assert len(again) == 3
    assert {e["eventId"] for e in first_read} <= {e["eventId"] for e in again}
    assert {e["handle"] for e in again}.isdisjoint(e["handle"] for e in first_read)

    store.commit_feed({"handles": [e["handle"] for e in first_read]})  # stale handles: ignored
    assert store.feed_config()["quantity"] == 3
    store.commit_feed({"handles": [e["handle"] for e in again] + ["unknown-handle"]})
    assert store.feed_config()["quantity"] == 0
    clock.advance(241)
    assert store.read_feed(10) == []


def test_feed_maxlot_bounds(store):
    store.set_feed_config(FEED_CONFIG)
    store.add_orders(12)
    for maxlot in (0, 11):
        with pytest.raises(BadRequest):
            store.read_feed(maxlot)
    assert len(store.read_feed(10)) == 10
    assert len(store.read_feed(10)) == 2


def test_feed_duplicates_events_when_asked(make_store):
    store = make_store(feed_duplicate_rate=1.0)
    store.set_feed_config(FEED_CONFIG)
    store.add_orders(2)
    events = store.read_feed(10)
    assert len(events) == 4
    assert len({e["eventId"] for e in events}) == 2
    assert len({e["handle"] for e in events}) == 4


def test_feed_shuffle_returns_events_out_of_order(make_store):
    store = make_store(feed_shuffle=True)
    store.set_feed_config(FEED_CONFIG)
    created = store.add_orders(10)
    assert [e["orderId"] for e in store.read_feed(10)] != created


def test_from_orders_filter_takes_every_change(store):
    store.set_feed_config(
        {
            "filter": {"type": "FromOrders", "expression": "value > 100", "disableSingleFire": False},
            "queue": FEED_CONFIG["queue"],
        }
    )
    order_id = store.order_ids()[0]
    store.start_handling(order_id)
    store.cancel(order_id)
    assert [e["state"] for e in store.read_feed(10)] == ["handling", "cancellation-requested", "canceled"]


def test_deleting_the_feed_config_drops_the_queue(store):
    store.set_feed_config(FEED_CONFIG)
    store.add_orders(1)
    store.delete_feed_config()
    with pytest.raises(NotFound):
        store.delete_feed_config()
    store.set_feed_config(FEED_CONFIG)
    assert store.read_feed(10) == []


def test_state_summarises_the_store(store):
    store.set_feed_config(FEED_CONFIG)
    store.start_handling(store.order_ids()[0])
    store.read_feed(1)
    state = store.state()
    assert state["orders_by_status"] == {"handling": 1, "ready-for-handling": 9}
    assert state["feed"] == {"configured": True, "queued": 0, "in_flight": 1}
    assert state["effects"]["start_handling"] == {store.order_ids()[0]: 1}


def test_repr_never_shows_the_token(store):
    assert "SECRET" not in repr(store)
