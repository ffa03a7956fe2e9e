"""The real VTEX order shapes (``shapes="mixed"``, ``currency="COP"``): their sums, their rules in
the store, and the change route (vtex_sandbox/shapes.py; VTEX-API.md §14)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from vtex_sandbox import SandboxStore
from vtex_sandbox.errors import BadRequest, Forbidden
from vtex_sandbox.generator import is_valid_cpf
from vtex_sandbox.shapes import FEATURES, is_valid_cnpj, multiplied, selling_prices

from .conftest import APP_KEY, APP_TOKEN

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEED_CONFIG = {
    "filter": {"type": "FromWorkflow", "status": ["ready-for-handling", "handling", "invoiced"]},
    "queue": {"visibilityTimeoutInSeconds": 240, "MessageRetentionPeriodInSeconds": 345600},
}


def mixed(orders: int = 60, seed: int = 1, **options: Any) -> SandboxStore:
    return SandboxStore(
        orders=orders, seed=seed, now=NOW, shapes="mixed", app_key=APP_KEY, app_token=APP_TOKEN, **options
    )


def all_orders(store: SandboxStore) -> list[dict]:
    return [store.order(order_id) for order_id in store.order_ids()]


def totals(order: dict) -> dict[str, int]:
    return {total["id"]: total["value"] for total in order["totals"]}


def line(cents: int, item: dict) -> int:
    """Independent of shapes.multiplied: Decimal, truncated to the cent."""
    exact = Decimal(cents) * item["quantity"] * Decimal(str(item["unitMultiplier"]))
    return int(exact.to_integral_value(rounding=ROUND_DOWN))


def payment_total(order: dict) -> int:
    return sum(payment["value"] for payment in order["paymentData"]["transactions"][0]["payments"])


def assert_money_adds_up(order: dict) -> None:
    """Every rule of the shapes.py docstring, recomputed here."""
    items, logistics, sums = order["items"], order["shippingData"]["logisticsInfo"], totals(order)
    assert [info["itemIndex"] for info in logistics] == list(range(len(items)))
    for item in items:
        definition = item["priceDefinition"]
        assert "priceDefinitions" not in item
        assert isinstance(item["unitMultiplier"], float)
        assert definition["total"] == line(item["sellingPrice"], item)
        assert sum(g["value"] * g["quantity"] for g in definition["sellingPrices"]) == definition["total"]
        assert sum(g["quantity"] for g in definition["sellingPrices"]) == item["quantity"]
        values = [g["value"] for g in definition["sellingPrices"]]
        assert max(values) - min(values) <= 1
        item_discount = sum(t["value"] for t in item["priceTags"] if not t["name"].startswith("discount@shipping"))
        assert item_discount == definition["total"] - line(item["price"], item)
        if item["components"]:
            assert sum(c["price"] * c["quantity"] for c in item["components"]) == item["price"] * item["quantity"]
    assert sums["Items"] == sum(line(item["price"], item) for item in items)
    assert sums["Discounts"] == sum(t["value"] for item in items for t in item["priceTags"])
    assert sums["Discounts"] == sum(
        item["priceDefinition"]["total"] - line(item["price"], item) for item in items
    ) + sum(info["sellingPrice"] - info["price"] for info in logistics)
    assert sums["Discounts"] <= 0
    assert sums["Shipping"] == sum(info["price"] for info in logistics)
    assert sums["Tax"] == sum(line(item["tax"], item) for item in items)
    changes = (order["changesAttachment"] or {}).get("changesData") or []
    if changes:
        assert sums["Change"] == sum(c["incrementValue"] - c["discountValue"] for c in changes)
    else:
        assert "Change" not in sums
    assert order["value"] == sum(sums.values()) > 0


def features_of(order: dict) -> set[str]:
    found = set()
    client, items = order["clientProfileData"], order["items"]
    if client["isCorporate"]:
        found.add("company")
    if order["shippingData"]["address"]["addressType"] == "pickup":
        found.add("pickup")
    if len(order["sellers"]) == 1 and order["sellers"][0]["id"] != "1" or order["orderId"].endswith("-02"):
        found.add("split")
    if any(item["isGift"] for item in items):
        found.add("gift")
    if any(item["components"] for item in items):
        found.add("kit")
    if any(item["unitMultiplier"] != 1 for item in items):
        found.add("weight")
    if any(t["name"].startswith("discount@shipping") for item in items for t in item["priceTags"]):
        found.add("shipping_discount")
    if order["changesAttachment"]:
        found.add("changed")
    return found


# -- sums -------------------------------------------------------------------------------------------
def test_vtex_truncates_the_fraction_of_a_cent():
    assert multiplied(4750, 1, 0.25) == 1187  # VTEX known issue 426275: 47.50 × 0.25 = 11.875 → 1187
    assert multiplied(4990, 3, 0.35) == 5239
    assert multiplied(2499, 2, 1.0) == 4998
    assert selling_prices(1001, 3) == [{"value": 334, "quantity": 2}, {"value": 333, "quantity": 1}]
    assert selling_prices(999, 3) == [{"value": 333, "quantity": 3}]


@pytest.mark.parametrize("seed", range(8))
def test_every_mixed_order_adds_up_to_the_cent(seed):
    store = mixed(orders=80, seed=seed)
    orders = all_orders(store)
    assert len(orders) == 80
    groups: dict[str, list[dict]] = {}
    for order in orders:
        assert_money_adds_up(order)
        groups.setdefault(order["orderGroup"], []).append(order)
    for members in groups.values():
        paid = payment_total(members[0])
        before_changes = sum(
            order["value"] + sum(c["discountValue"] - c["incrementValue"] for c in _changes(order)) for order in members
        )
        assert paid == before_changes  # the group's payment, before any change
        assert all(payment_total(order) == paid for order in members)


def _changes(order: dict) -> list[dict]:
    return (order["changesAttachment"] or {}).get("changesData") or []


def test_the_mix_has_every_shape_and_plain_orders():
    orders = all_orders(mixed(orders=150, seed=3))
    seen = set().union(*(features_of(order) for order in orders))
    assert seen >= set(FEATURES) - {"two_cards"}
    assert any(not features_of(order) for order in orders)
    assert any(len(order["paymentData"]["transactions"][0]["payments"]) == 2 for order in orders)


def test_the_mix_is_deterministic_for_a_seed():
    def snapshot(seed: int) -> list[dict]:
        return all_orders(mixed(orders=40, seed=seed))

    assert snapshot(5) == snapshot(5)
    assert [o["orderId"] for o in snapshot(5)] != [o["orderId"] for o in snapshot(6)]
    default = SandboxStore(orders=40, seed=5, now=NOW)
    assert [default.order(i) for i in default.order_ids()] != snapshot(5)


@pytest.mark.parametrize("feature", FEATURES)
def test_each_feature_can_be_asked_for(feature):
    store = mixed(orders=0)
    order_ids = store.add_orders(4, features=[feature])
    assert len(order_ids) == 4
    for order in (store.order(order_id) for order_id in order_ids):
        assert_money_adds_up(order)
        if feature == "two_cards":
            assert len(order["paymentData"]["transactions"][0]["payments"]) == 2
        elif feature == "split" and order["orderId"].endswith("-01"):
            assert features_of(order) == set()  # the account's half: a plain order
        elif feature != "shipping_discount" or totals(order)["Shipping"]:
            assert features_of(order) == {feature}


def test_default_stores_refuse_features():
    with pytest.raises(ValueError, match="shapes='mixed'"):
        SandboxStore(orders=0).add_orders(1, features=["company"])
    with pytest.raises(ValueError, match="unknown order features"):
        mixed(orders=0).add_orders(1, features=["teleport"])
    with pytest.raises(ValueError, match="shapes must be"):
        SandboxStore(orders=0, shapes="weird")
    with pytest.raises(ValueError, match="currency must be"):
        SandboxStore(orders=0, currency="XYZ")


# -- each shape -------------------------------------------------------------------------------------
def shaped(feature: str, count: int = 3, **options: Any) -> list[dict]:
    store = mixed(orders=0, **options)
    return [store.order(order_id) for order_id in store.add_orders(count, features=[feature])]


def test_company_buyers():
    for order in shaped("company", 6):
        client = order["clientProfileData"]
        assert client["isCorporate"] is True and client["document"] is None
        assert is_valid_cnpj(client["corporateDocument"]) and len(client["corporateDocument"]) == 14
        assert client["corporateName"] and client["tradeName"] and client["corporatePhone"].startswith("+55")
        assert client["stateInscription"] == "Isento" or client["stateInscription"].isdigit()


def test_pickup_orders():
    for order in shaped("pickup"):
        shipping = order["shippingData"]
        assert shipping["address"]["addressType"] == "pickup"
        assert [address["addressType"] for address in shipping["selectedAddresses"]] == ["pickup"]
        for info in shipping["logisticsInfo"]:
            assert info["selectedDeliveryChannel"] == info["deliveryChannel"] == "pickup-in-point"
            store_info = info["pickupStoreInfo"]
            assert store_info["isPickupStore"] is True and store_info["friendlyName"]
            assert store_info["address"]["addressType"] == "pickup"
            assert store_info["address"]["street"] == shipping["address"]["street"]
            assert info["pickupPointId"].startswith("1_") and info["slas"][0]["pickupPointId"] == info["pickupPointId"]
            assert info["slas"][0]["deliveryChannel"] == "pickup-in-point"
        # The buyer's own address is still there, to bill the card.
        card = order["paymentData"]["transactions"][0]["payments"][0]
        if card["group"] == "creditCard":
            assert card["billingAddress"]["street"] != shipping["address"]["street"]


def test_split_purchases_share_one_payment_between_sellers():
    store = mixed(orders=0)
    first_id, second_id = store.add_orders(2, features=["split"])
    first, second = store.order(first_id), store.order(second_id)
    group = first["orderGroup"]
    assert (first_id, second_id) == (f"{group}-01", f"{group}-02") and second["orderGroup"] == group
    assert int(second["sequence"]) == int(first["sequence"]) + 1
    assert [s["id"] for s in first["sellers"]] == ["1"] and {i["seller"] for i in first["items"]} == {"1"}
    other = second["sellers"][0]["id"]
    assert other != "1" and {i["seller"] for i in second["items"]} == {other}
    assert {m["Seller"] for m in second["itemMetadata"]["Items"]} == {other}
    assert first["paymentData"] == second["paymentData"]
    assert payment_total(first) == first["value"] + second["value"]
    for name in ("marketplaceOrderId", "affiliateId", "origin", "creationDate"):
        assert first[name] == second[name]
    assert store.order_group(group) == [first, second]
    transaction_id = first["paymentData"]["transactions"][0]["transactionId"]
    assert store.transaction(transaction_id)["value"] == payment_total(first)
    assert store.payment_transaction(second_id)["transactionId"] == transaction_id


def test_an_order_another_seller_fulfils_is_not_handled_or_invoiced_here():
    store = mixed(orders=0)
    own_id, other_id = store.add_orders(2, features=["split"])
    with pytest.raises(Forbidden, match="fulfilled by seller"):
        store.start_handling(other_id)
    other = store.order(other_id)
    body = {
        "type": "Output",
        "issuanceDate": "2026-03-02T10:00:00-03:00",
        "invoiceNumber": "NF-9",
        "invoiceValue": other["value"],
        "items": [{"id": other["items"][0]["id"], "price": 100, "quantity": 1}],
    }
    with pytest.raises(Forbidden, match="invoices go to the fulfillment account"):
        store.invoice(other_id, body)
    store.start_handling(own_id)  # the account's own half goes on as usual
    store.cancel(other_id, "Cliente desistiu")  # the marketplace may ask the seller to cancel
    assert store.order(other_id)["status"] == "canceled"


def test_gifts_kits_and_attachments():
    for order in shaped("gift"):
        gifts = [item for item in order["items"] if item["isGift"]]
        assert len(gifts) == 1
        gift = gifts[0]
        assert gift["price"] == gift["sellingPrice"] == gift["priceDefinition"]["total"] == 0 < gift["listPrice"]
    for order in shaped("kit"):
        items = order["items"]
        kit = next(item for item in items if item["components"])
        assert kit["attachments"] and kit["attachments"][0]["content"]
        children = [item for item in items if item["parentItemIndex"] is not None]
        assert len(children) == 1
        child = children[0]
        parent = items[child["parentItemIndex"]]
        assert child["parentAssemblyBinding"] and child["quantity"] == parent["quantity"]
        options = order["itemMetadata"]["Items"][child["parentItemIndex"]]["AssemblyOptions"]
        assert [option["Id"] for option in options] == [child["parentAssemblyBinding"]]
        assert options[0]["Composition"]["Items"][0]["Id"] == child["id"]
        assert len({item["id"] for item in items}) == len(items)  # one item per SKU


def test_items_sold_by_weight():
    for order in shaped("weight", 4):
        weighed = [item for item in order["items"] if item["unitMultiplier"] != 1]
        assert weighed
        for item in weighed:
            assert item["measurementUnit"] == "kg" and item["unitMultiplier"] in (0.35, 0.5, 0.25)
            assert item["priceDefinition"]["total"] == line(item["sellingPrice"], item)
            assert item["priceDefinition"]["calculatedSellingPrice"] == multiplied(
                item["sellingPrice"], 1, item["unitMultiplier"]
            )


def test_shipping_discounts_are_price_tags():
    for order in shaped("shipping_discount", 6):
        for item, info in zip(order["items"], order["shippingData"]["logisticsInfo"], strict=True):
            tags = [t for t in item["priceTags"] if t["name"].startswith("discount@shipping-")]
            assert sum(t["value"] for t in tags) == info["sellingPrice"] - info["price"]


def test_generated_changes():
    for order in shaped("changed", 5):
        (change,) = order["changesAttachment"]["changesData"]
        assert change["reason"] and change["incrementValue"] == 0 and change["itemsAdded"] == []
        assert change["receipt"]["orderId"] == order["orderId"]
        (gone,) = change["itemsRemoved"]
        item = next(item for item in order["items"] if item["id"] == gone["id"])  # still in items[]
        assert 1 <= gone["quantity"] <= item["quantity"]
        left = item["quantity"] - gone["quantity"]
        worth = line(item["sellingPrice"], item) - line(item["sellingPrice"], {**item, "quantity": left})
        worth += line(item["tax"], item) - line(item["tax"], {**item, "quantity": left})
        assert change["discountValue"] == worth == -totals(order)["Change"]
        assert payment_total(order) == order["value"] + worth  # the payment keeps the old value


def test_a_colombian_store():
    store = mixed(orders=40, seed=2, currency="COP")
    for order in all_orders(store):
        assert_money_adds_up(order)
        prefs = order["storePreferencesData"]
        assert prefs["currencyCode"] == "COP" and prefs["countryCode"] == "COL"
        assert prefs["currencyFormatInfo"]["CurrencyDecimalDigits"] == 0
        client = order["clientProfileData"]
        assert client["documentType"] == "cedulaCOL" and client["document"].isdigit()
        assert not client["isCorporate"]
        address = order["shippingData"]["address"]
        assert address["country"] == "COL" and address["number"] is None
        assert address["state"] in ("Antioquia", "Bogotá, D.C.", "Valle del Cauca", "Atlántico")
        assert order["clientPreferencesData"]["locale"] == "es-CO"
        for item in order["items"]:
            assert item["price"] % 100 == 0  # whole pesos
    summary = store.list_orders(per_page=1)
    assert summary["list"][0]["currencyCode"] == "COP"
    assert list(summary["stats"]["stats"]["totalValue"]["Facets"]["currencyCode"]) == ["COP"]


def test_plain_orders_in_another_currency_without_the_mix():
    store = SandboxStore(orders=10, seed=1, now=NOW, currency="COP")
    for order in all_orders(store):
        assert_money_adds_up(order)
        assert features_of(order) <= {"split"} and not order["orderId"].endswith("-02")
        assert order["storePreferencesData"]["currencyCode"] == "COP"


def test_brazilian_documents_stay_valid():
    for order in all_orders(mixed(orders=60, seed=9)):
        client = order["clientProfileData"]
        assert is_valid_cnpj(client["corporateDocument"]) if client["isCorporate"] else is_valid_cpf(client["document"])
        assert re.fullmatch(r"\d{13}-0[12]", order["orderId"])


# -- changes after intake and invoices --------------------------------------------------------------
def invoice(order: dict, number: str, lines: list[tuple[int, int]], value: int) -> dict:
    return {
        "type": "Output",
        "issuanceDate": "2026-03-02T10:00:00-03:00",
        "invoiceNumber": number,
        "invoiceValue": value,
        "items": [
            {"id": order["items"][index]["id"], "price": order["items"][index]["sellingPrice"], "quantity": quantity}
            for index, quantity in lines
        ],
    }


def plain_order_with_two_units(store: SandboxStore) -> tuple[str, int]:
    """An order (own seller, no change yet) and the index of an item with 2+ units."""
    while True:
        (order_id,) = store.add_orders(1, features=[])
        order = store.order(order_id)
        for index, item in enumerate(order["items"]):
            if item["quantity"] >= 2 and len(order["items"]) >= 2:
                return order_id, index


def test_change_after_intake_updates_the_document_and_the_feed(clock):
    store = mixed(orders=0, clock=clock)
    store.set_feed_config(FEED_CONFIG)
    order_id, index = plain_order_with_two_units(store)
    store.read_feed(10)  # the order's own ready-for-handling event
    clock.advance(300)
    store.commit_feed({"handles": [e["handle"] for e in store.read_feed(10)]})
    store.start_handling(order_id)
    store.commit_feed({"handles": [e["handle"] for e in store.read_feed(10)]})
    before = store.order(order_id)
    item = before["items"][index]

    receipt = store.change_order(order_id, {"remove": [{"item_index": index, "quantity": 1}], "reason": "Sem estoque"})

    after = store.order(order_id)
    worth = item["sellingPrice"] + item["tax"] if item["unitMultiplier"] == 1 else None
    change = after["changesAttachment"]["changesData"][-1]
    if worth is not None:
        assert change["discountValue"] == worth
    assert change["itemsRemoved"] == [
        {"id": item["id"], "name": item["name"], "quantity": 1, "price": item["sellingPrice"], "unitMultiplier": 1.0}
    ]
    assert change["reason"] == "Sem estoque" and change["receipt"]["receipt"] == receipt["receipt"]
    assert after["value"] == receipt["value"] == before["value"] - change["discountValue"]
    assert totals(after)["Change"] == -change["discountValue"]
    assert after["items"] == before["items"]  # removed units stay in items[]
    assert payment_total(after) == payment_total(before)
    assert after["status"] == "handling" and after["lastChange"] > before["lastChange"]
    assert_money_adds_up(after)
    (event,) = store.read_feed(10)
    assert (event["orderId"], event["state"], event["lastState"]) == (order_id, "handling", "handling")
    assert event["lastChange"] == before["lastChange"]


def test_invoicing_a_changed_order(store_with_changed_order):
    store, order_id, index = store_with_changed_order
    order = store.order(order_id)
    item = order["items"][index]
    everything = [(i, it["quantity"]) for i, it in enumerate(order["items"])]
    with pytest.raises(BadRequest, match="removed from order .* by a change"):
        store.invoice(order_id, invoice(order, "NF-1", everything, order["value"]))
    as_changed = [(i, q - (1 if i == index else 0)) for i, q in everything]
    as_changed = [(i, q) for i, q in as_changed if q]
    first = order["value"] // 2
    store.invoice(order_id, invoice(order, "NF-1", as_changed[:1], first))
    assert store.order(order_id)["status"] == "handling"
    with pytest.raises(BadRequest, match="exceeds the amount left"):
        store.invoice(order_id, invoice(order, "NF-2", as_changed[1:], order["value"] - first + 1))
    store.invoice(order_id, invoice(order, "NF-2", as_changed[1:], order["value"] - first))
    invoiced = store.order(order_id)
    assert invoiced["status"] == "invoiced"
    assert invoiced["packageAttachment"]["packages"][0]["items"][0]["unitMultiplier"] == 1.0
    assert item["quantity"] >= 2


@pytest.fixture
def store_with_changed_order():
    store = mixed(orders=0)
    order_id, index = plain_order_with_two_units(store)
    store.start_handling(order_id)
    store.change_order(order_id, {"remove": [{"item_index": index, "quantity": 1}], "reason": "Avariado"})
    return store, order_id, index


def test_a_change_after_a_partial_invoice_can_discount_the_rest():
    # Help Center "Invoicing an order": a partial invoice, then a change that discounts the rest.
    store = mixed(orders=0)
    order_id, _index = plain_order_with_two_units(store)
    store.start_handling(order_id)
    order = store.order(order_id)
    last = len(order["items"]) - 1
    rest = order["items"][last]
    rest_worth = line(rest["sellingPrice"], rest) + line(rest["tax"], rest)
    kept = [(i, item["quantity"]) for i, item in enumerate(order["items"]) if i != last]
    store.invoice(order_id, invoice(order, "NF-1", kept, order["value"] - rest_worth))
    remove_rest = {"item_index": last, "quantity": rest["quantity"]}
    with pytest.raises(BadRequest, match="less than its invoices"):
        store.change_order(order_id, {"remove": [{"item_index": 0, "quantity": 1}, remove_rest], "reason": "x"})
    store.change_order(order_id, {"remove": [remove_rest], "reason": "Sem estoque"})
    changed = store.order(order_id)
    assert changed["status"] == "invoiced" and changed["value"] == order["value"] - rest_worth


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"remove": [{"item_index": 0, "quantity": 1}]}, "reason is required"),
        ({"reason": "x"}, "remove is required"),
        ({"reason": "x", "remove": [{"item_index": "0", "quantity": 1}]}, r"remove\[0\]"),
        ({"reason": "x", "remove": [{"item_index": 99, "quantity": 1}]}, "not an item"),
        ({"reason": "x", "remove": [{"item_index": 0, "quantity": 0}]}, "positive"),
        ({"reason": "x", "remove": [{"item_index": 0, "quantity": 50}]}, "only .* left"),
    ],
)
def test_invalid_changes_are_refused(body, message):
    store = mixed(orders=3)
    with pytest.raises(BadRequest, match=message):
        store.change_order(store.order_ids()[0], body)


def test_changes_are_refused_once_invoiced_or_canceled():
    store = mixed(orders=2)
    first, second = store.order_ids()
    store.cancel(first)
    with pytest.raises(BadRequest, match="does not allow changes"):
        store.change_order(first, {"reason": "x", "remove": [{"item_index": 0, "quantity": 1}]})
    store.set_status(second, "invoiced")
    with pytest.raises(BadRequest, match="does not allow changes"):
        store.change_order(second, {"reason": "x", "remove": [{"item_index": 0, "quantity": 1}]})


def test_change_route_and_order_group_route_over_http(make_server, hook_receiver):
    vtex = make_server(mixed(orders=0))
    store = vtex.server.store
    order_ids = store.add_orders(2, features=["split"])
    group = store.order(order_ids[0])["orderGroup"]
    answer = vtex.get(f"/api/oms/pvt/orders/order-group/{group}")
    assert answer.status_code == 200 and [o["orderId"] for o in answer.json()] == order_ids
    assert vtex.get("/api/oms/pvt/orders/order-group/1234567890123").status_code == 404
    assert vtex.post(f"/api/oms/pvt/orders/{order_ids[1]}/start-handling").status_code == 403

    hook = {
        "filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]},
        "hook": {"url": hook_receiver.url, "headers": {"x": "1"}},
    }
    assert vtex.post("/api/orders/hook/config", json=hook).status_code == 200
    body = {"remove": [{"item_index": 0, "quantity": 1}], "reason": "Cliente pediu"}
    changed = vtex.post(f"/_sandbox/orders/{order_ids[0]}/change", json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["value"] == store.order(order_ids[0])["value"]
    notifications = [n for _h, n in hook_receiver.wait_for(2) if n.get("OrderId") == order_ids[0]]
    assert notifications and notifications[-1]["State"] == notifications[-1]["LastState"] == "ready-for-handling"
    refused = vtex.post(f"/_sandbox/orders/{order_ids[0]}/change", json={"reason": "x", "remove": []})
    assert refused.status_code == 400 and "remove" in refused.json()["error"]["message"]
    added = vtex.post("/_sandbox/orders", json={"count": 1, "features": ["weight", "company"]})
    assert added.status_code == 200
    (new_id,) = added.json()["order_ids"]
    assert features_of(store.order(new_id)) == {"weight", "company"}
    assert vtex.post("/_sandbox/orders", json={"count": 1, "features": "weight"}).status_code == 400
    page = vtex.get("/")
    assert page.status_code == 200 and "R$" in page.text


def test_feed_events_of_another_sellers_orders_are_in_the_marketplace_domain(clock):
    store = mixed(orders=0, clock=clock)
    store.set_feed_config({**FEED_CONFIG, "filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]}})
    own_id, other_id = store.add_orders(2, features=["split"])
    domains = {event["orderId"]: event["domain"] for event in store.read_feed(10)}
    assert domains == {own_id: "Fulfillment", other_id: "Marketplace"}
