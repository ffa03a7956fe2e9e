"""VTEX order JSON → our fields: the mapping keeps cents, UTC and positions, and refuses bad orders."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from integration.vtex.mapping import VtexDataError, order_data_from_vtex, payment_order_shares, summary_fields
from tests.vtex import load_fixture


def _reverse_keys(value):
    """The same JSON with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: _reverse_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(entry) for entry in value]
    return value


def test_load_fixture_returns_a_fresh_copy():
    # given
    first = load_fixture("order_ready.json")
    # when
    first["items"].clear()
    first["orderId"] = "changed"
    # then
    second = load_fixture("order_ready")
    assert second["orderId"] == "1438270519843-01"
    assert len(second["items"]) == 3


def test_order_data_from_vtex_maps_the_order_fields():
    # given
    raw = load_fixture("order_ready.json")
    # when
    data = order_data_from_vtex(raw)
    # then
    assert data.order_id == "1438270519843-01"
    fields = data.fields
    assert fields["sequence"] == "517304"
    assert fields["order_group"] == "1438270519843"
    assert fields["origin"] == "Marketplace"
    assert fields["sales_channel"] == "1"
    assert fields["vtex_status"] == "ready-for-handling"
    assert fields["currency_code"] == "BRL"
    assert fields["total_cents"] == 44730
    assert fields["items_total_cents"] == 46940
    assert fields["discounts_total_cents"] == -4100
    assert fields["shipping_total_cents"] == 1890
    assert fields["tax_total_cents"] == 0
    assert fields["customer_name"] == "Mariana Ferreira da Costa"
    assert fields["customer_email"] == "mariana.costa@exemplo.com.br"
    assert fields["customer_document_type"] == "cpf"
    assert fields["customer_document"] == "39053344705"
    assert fields["customer_phone"] == "+5511987654321"
    assert fields["customer_is_corporate"] is False
    assert fields["customer_corporate_name"] == ""
    assert fields["receiver_name"] == "Mariana Ferreira da Costa"
    assert fields["postal_code"] == "05435-001"
    assert fields["street"] == "Rua Harmonia"
    assert fields["number"] == "1250"
    assert fields["complement"] == "Apto 52"
    assert fields["neighborhood"] == "Vila Madalena"
    assert fields["city"] == "São Paulo"
    assert fields["state_code"] == "SP"
    assert fields["country"] == "BRA"


def test_order_data_from_vtex_converts_dates_to_utc():
    # given: creationDate is at -03:00 with 7 fractional digits, lastChange at +00:00
    raw = load_fixture("order_ready.json")
    # when
    fields = order_data_from_vtex(raw).fields
    # then
    created = fields["created_at_vtex"]
    assert created == datetime(2024, 5, 14, 13, 22, 41, 631234, tzinfo=UTC)
    assert created.utcoffset() == timedelta(0)
    assert fields["authorized_at"] == datetime(2024, 5, 14, 13, 35, 9, tzinfo=UTC)
    assert fields["last_change_at_vtex"] == datetime(2024, 5, 14, 14, 3, 17, 220451, tzinfo=UTC)
    assert fields["last_change_at_vtex"].utcoffset() == timedelta(0)
    assert fields["invoiced_at_vtex"] is None


def test_order_data_from_vtex_maps_items_in_cents_with_their_position():
    # given
    raw = load_fixture("order_ready.json")
    # when
    items = order_data_from_vtex(raw).items
    # then
    assert [item["item_index"] for item in items] == [0, 1, 2]
    assert [item["sku_id"] for item in items] == ["2041", "3310", "512"]
    shirt = items[0]
    assert shirt["unique_id"] == "8D2E4A6C1B3F45E7A9C0D1E2F3A4B5C6"
    assert shirt["product_id"] == "880"
    assert shirt["ref_id"] == "CAM-ORG-AZ-M"
    assert shirt["ean"] == "7891234567895"
    assert shirt["name"] == "Camiseta Algodão Orgânico Azul M"
    assert shirt["quantity"] == 2
    assert shirt["unit_price_cents"] == 7990
    assert shirt["list_price_cents"] == 8990
    assert shirt["selling_price_cents"] == 7190
    assert shirt["tax_cents"] == 0
    assert shirt["measurement_unit"] == "un"
    assert shirt["unit_multiplier"] == 1.0
    assert shirt["is_gift"] is False
    assert items[1]["selling_price_cents"] == 22490
    assert items[2]["quantity"] == 3
    assert items[2]["ean"] == ""  # null in VTEX's JSON
    for item in items:
        assert isinstance(item["unit_price_cents"], int)
        assert isinstance(item["selling_price_cents"], int)


def test_order_data_from_vtex_item_index_follows_the_array_position():
    # given: the same items in another order (sums unchanged)
    raw = load_fixture("order_ready.json")
    raw["items"] = [raw["items"][2], raw["items"][0], raw["items"][1]]
    # when
    items = order_data_from_vtex(raw).items
    # then
    assert [(item["item_index"], item["sku_id"]) for item in items] == [(0, "512"), (1, "2041"), (2, "3310")]


def test_order_data_from_vtex_maps_every_payment():
    # given
    raw = load_fixture("order_ready.json")
    # when
    payments = order_data_from_vtex(raw).payments
    # then
    assert payments == [
        {
            "transaction_id": "9A4E1C27B3D84F0E8C65D1F2A7B3E490",
            "payment_id": "5F1B0C3E9A7D4E21B6C8A04D2E9F7316",
            "payment_system": "2",
            "payment_system_name": "Visa",
            "group": "creditCard",
            "value_cents": 30000,
            "installments": 3,
            "tid": "10069930693D1F2A7B3E",
            "order_share_cents": 30000,  # the payments add up to the order total: each pays its value
        },
        {
            "transaction_id": "9A4E1C27B3D84F0E8C65D1F2A7B3E490",
            "payment_id": "C2D7E6A1F48B4930A5E3B7C09D1F8A62",
            "payment_system": "125",
            "payment_system_name": "Pix",
            "group": "instantPayment",
            "value_cents": 14730,
            "installments": 1,
            "tid": "E20240514133509PIX7730",
            "order_share_cents": 14730,
        },
    ]
    assert sum(payment["value_cents"] for payment in payments) == raw["value"]


def test_order_data_from_vtex_accepts_whole_number_floats_as_cents():
    # given: some JSON encoders write 7990.0
    raw = load_fixture("order_ready.json")
    raw["items"][0]["price"] = 7990.0
    # when
    item = order_data_from_vtex(raw).items[0]
    # then
    assert item["unit_price_cents"] == 7990
    assert type(item["unit_price_cents"]) is int


def _set(path, value):
    def mutate(raw):
        target = raw
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(key):
    def mutate(raw):
        del raw[key]

    return mutate


def _add_to_value(cents):
    def mutate(raw):
        raw["value"] += cents

    return mutate


def _raise_price(cents):
    """Item 1 costs more, but the totals (and value) are left as they were."""

    def mutate(raw):
        raw["items"][1]["price"] += cents

    return mutate


INSTALLMENTS = ("paymentData", "transactions", 0, "payments", 1, "installments")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(_delete("orderId"), "orderId", id="missing-orderId"),
        pytest.param(_set(("orderId",), "  "), "orderId", id="blank-orderId"),
        pytest.param(_set(("items",), {"0": {"id": "2041"}}), "items", id="items-an-object"),
        pytest.param(_set(("items",), "2041"), "items", id="items-a-string"),
        pytest.param(_set(("items",), []), "items", id="no-items"),
        pytest.param(_set(("items", 0, "quantity"), 0), "items[0].quantity", id="quantity-0"),
        pytest.param(_set(("items", 0, "quantity"), -2), "items[0].quantity", id="quantity-negative"),
        pytest.param(_set(("items", 0, "quantity"), "2"), "items[0].quantity", id="quantity-string"),
        pytest.param(_set(("items", 0, "quantity"), True), "items[0].quantity", id="quantity-bool"),
        pytest.param(_set(("items", 0, "quantity"), 2.5), "items[0].quantity", id="quantity-fraction"),
        pytest.param(_set(("items", 1, "price"), 249.9), "items[1].price", id="price-float-with-cents"),
        pytest.param(_set(("items", 1, "price"), "24990"), "items[1].price", id="price-string"),
        pytest.param(_set(("items", 1, "price"), True), "items[1].price", id="price-bool"),
        pytest.param(_delete("value"), "value", id="missing-value"),
        pytest.param(_set(("value",), -1), "value", id="negative-value"),
        pytest.param(_add_to_value(1), "totals", id="totals-above-value"),
        pytest.param(_add_to_value(-500), "totals", id="totals-below-value"),
        pytest.param(_set(("totals", 2, "value"), "1890"), "totals[2].value", id="total-string"),
        pytest.param(_raise_price(100), "items", id="items-not-adding-up-to-Items"),
        pytest.param(_set(INSTALLMENTS, 0), "paymentData.transactions[0].payments[1].installments", id="inst-0"),
        pytest.param(_set(INSTALLMENTS, -3), "paymentData.transactions[0].payments[1].installments", id="inst-neg"),
        pytest.param(_set(INSTALLMENTS, "3"), "paymentData.transactions[0].payments[1].installments", id="inst-str"),
        pytest.param(_set(INSTALLMENTS, False), "paymentData.transactions[0].payments[1].installments", id="inst-F"),
        pytest.param(_set(("paymentData", "transactions"), {}), "paymentData.transactions", id="transactions-obj"),
        pytest.param(_set(("creationDate",), "14/05/2024 10:22"), "creationDate", id="creationDate-not-iso"),
        pytest.param(_set(("creationDate",), 1715692961), "creationDate", id="creationDate-number"),
        pytest.param(_set(("lastChange",), "ontem"), "lastChange", id="lastChange-not-iso"),
        pytest.param(_set(("status",), None), "status", id="missing-status"),
        pytest.param(_set(("items", 2, "id"), None), "items[2].id", id="missing-sku"),
        pytest.param(_set(("shippingData", "address"), "Rua Harmonia"), "shippingData.address", id="address-text"),
    ],
)
def test_order_data_from_vtex_rejects_a_malformed_order_naming_the_field(mutate, field):
    # given
    raw = load_fixture("order_ready.json")
    mutate(raw)
    # when
    with pytest.raises(VtexDataError) as caught:
        order_data_from_vtex(raw)
    # then
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_order_data_from_vtex_rejects_something_that_is_not_an_object():
    with pytest.raises(VtexDataError) as caught:
        order_data_from_vtex([load_fixture("order_ready.json")])
    assert caught.value.field == "order"


def test_order_data_from_vtex_tolerates_one_cent_of_rounding_per_item_line():
    # given: Items total one cent off per line (fractional unit multipliers round per line)
    raw = load_fixture("order_ready.json")
    raw["totals"][0]["value"] += 3
    raw["totals"][1]["value"] -= 3  # keep the totals adding up to value
    # when
    data = order_data_from_vtex(raw)
    # then
    assert data.fields["items_total_cents"] == 46943
    # but four cents off on three lines is refused
    raw["totals"][0]["value"] += 1
    raw["totals"][1]["value"] -= 1
    with pytest.raises(VtexDataError) as caught:
        order_data_from_vtex(raw)
    assert caught.value.field == "items"


def test_raw_hash_is_stable_under_key_order():
    # given
    raw = load_fixture("order_ready.json")
    reordered = _reverse_keys(raw)
    assert list(reordered) != list(raw)  # the test would prove nothing otherwise
    # when / then
    assert order_data_from_vtex(reordered).raw_hash == order_data_from_vtex(raw).raw_hash


def test_raw_hash_changes_when_a_value_changes():
    # given
    raw = load_fixture("order_ready.json")
    changed = load_fixture("order_ready.json")
    changed["shippingData"]["address"]["number"] = "1252"
    # then
    assert len(order_data_from_vtex(raw).raw_hash) == 64
    assert order_data_from_vtex(changed).raw_hash != order_data_from_vtex(raw).raw_hash


def test_the_json_kept_for_storing_is_the_document_hashed_and_reads_back_equal():
    raw = load_fixture("order_ready.json")
    raw["clientProfileData"]["firstName"] = "João"
    data = order_data_from_vtex(_reverse_keys(raw))

    assert json.loads(data.raw_json) == raw
    assert "João" in data.raw_json  # as written, not as \u escapes
    assert data.raw_json == order_data_from_vtex(raw).raw_json  # keys sorted: one text per document
    assert data.raw_hash == hashlib.sha256(data.raw_json.encode()).hexdigest()


def test_summary_fields_maps_a_list_orders_entry():
    # given: one entry of List orders (no items)
    summary = {
        "orderId": "1438270519843-01",
        "creationDate": "2024-05-14T10:22:41.6312345-03:00",
        "clientName": "Mariana Ferreira da Costa",
        "items": None,
        "totalValue": 44730,
        "status": "ready-for-handling",
        "sequence": "517304",
        "currencyCode": "BRL",
    }
    # when
    fields = summary_fields(summary)
    # then
    assert fields == {
        "sequence": "517304",
        "vtex_status": "ready-for-handling",
        "customer_name": "Mariana Ferreira da Costa",
        "currency_code": "BRL",
        "total_cents": 44730,
        "created_at_vtex": datetime(2024, 5, 14, 13, 22, 41, 631234, tzinfo=UTC),
    }


def test_summary_fields_drops_what_it_cannot_read():
    # given
    summary = {"orderId": "x-01", "totalValue": 447.3, "creationDate": "amanhã", "status": None}
    # when
    fields = summary_fields(summary)
    # then
    assert "total_cents" not in fields
    assert "created_at_vtex" not in fields
    assert fields["vtex_status"] == ""
    assert fields["currency_code"] == "BRL"


@pytest.mark.parametrize(
    ("values", "total", "shares"),
    [
        ([30000, 14730], 44730, [30000, 14730]),  # they pay the order: each its value
        ([20000], 24000, [20000]),  # less than the total (a gift card elsewhere, say): as it is
        ([22745], 5458, [5458]),  # a split purchase: the group's payment, the order's total
        ([20000, 2745], 5458, [4799, 659]),  # in proportion, rounded down, the remainder on the last
        ([20000, 2745], 17287, [15200, 2087]),
        ([1, 1, 1], 2, [0, 0, 2]),
        ([0, 0], 0, [0, 0]),
    ],
)
def test_payment_order_shares_add_up_to_at_most_the_order_total(values, total, shares):
    result = payment_order_shares(values, total)
    assert result == shares
    assert sum(result) <= total
