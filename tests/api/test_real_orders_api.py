"""The API's view of real-shaped VTEX orders (issue 15), stored by order_sync from the fixtures of
tests/vtex/fixtures: quantities after changes and what remains to invoice, gift, kit, multiplier and
unit data, the changes, the replacing and replaced order ids; and the invoice endpoint refusing a
removed item or a replaced order."""

from __future__ import annotations

import pytest

from integration.models import Order
from integration.services.order_sync import FetchedOrder, orders_store_from_vtex
from integration.vtex.mapping import order_data_from_vtex
from tests.vtex import load_fixture

pytestmark = pytest.mark.django_db


def store(raw: dict) -> Order:
    (outcome,) = orders_store_from_vtex(fetched=[FetchedOrder(raw=raw, data=order_data_from_vtex(raw))])
    return outcome.order


def detail(api, order: Order) -> dict:
    response = api.get(f"/api/v1/orders/{order.order_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def invoice_body(number: str, items: list[tuple[int, int]]) -> dict:
    return {
        "number": number,
        "issued_at": "2024-05-16T10:00:00-03:00",
        "items": [{"item_index": index, "quantity": quantity} for index, quantity in items],
    }


def test_a_changed_order_shows_its_changes_and_what_is_left_to_invoice(api):
    order = store(load_fixture("order_changed"))
    api.post(f"/api/v1/orders/{order.order_id}/invoices/", invoice_body("NF-1", [(0, 2)]), format="json")

    body = detail(api, order)

    assert body["totals"]["total_cents"] == 20_250
    assert body["totals"]["invoiced_cents"] == 14_380
    assert [
        (i["sku_id"], i["quantity"], i["quantity_after_changes"], i["removed_quantity"], i["remaining_quantity"])
        for i in body["items"]
    ] == [("2041", 2, 2, 0, 0), ("3310", 1, 0, 1, 0), ("512", 3, 2, 1, 2)]
    assert body["changes"] == [
        {
            "changed_at": "2024-05-15T09:10:04.400360-03:00",
            "reason": "Tênis sem estoque no centro de distribuição",
            "items_removed": [
                {
                    "sku_id": "3310",
                    "name": "Tênis de Corrida Leve 42",
                    "quantity": 1,
                    "price_cents": 22_490,
                    "unit_multiplier": None,
                }
            ],
            "items_added": [],
            "discount_cents": 22_490,
            "increment_cents": 0,
            "value_cents": -22_490,
            "receipt": "029f9ab8-751a-4b1e-bf81-7dd25d14b49b",
        },
        {
            "changed_at": "2024-05-15T11:31:40.120000-03:00",
            "reason": "Cliente pediu uma meia a menos",
            "items_removed": [
                {
                    "sku_id": "512",
                    "name": "Meia Esportiva Cano Curto Branca",
                    "quantity": 1,
                    "price_cents": 1_990,
                    "unit_multiplier": "1.000000",
                }
            ],
            "items_added": [],
            "discount_cents": 1_990,
            "increment_cents": 0,
            "value_cents": -1_990,
            "receipt": "5d0c2f7e-0b7a-4f3e-9d8c-2a1b3c4d5e6f",
        },
    ]
    assert (body["replaced_by_order_id"], body["replaces_order_id"]) == (None, None)


def test_the_invoice_endpoint_refuses_a_removed_item_naming_it_at_its_place_in_the_request(api):
    order = store(load_fixture("order_changed"))

    response = api.post(
        f"/api/v1/orders/{order.order_id}/invoices/", invoice_body("NF-1", [(0, 2), (1, 1)]), format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "items[1]": [
            "“Tênis de Corrida Leve 42” was removed from the order at VTEX (the order was changed); "
            "it cannot be invoiced."
        ]
    }


def test_gift_kit_and_weight_data_are_in_the_items(api):
    gift = detail(api, store(load_fixture("order_gift")))["items"][1]
    kit, warranty = detail(api, store(load_fixture("order_kit")))["items"]
    cheese, bread = detail(api, store(load_fixture("order_weight")))["items"]

    assert (gift["is_gift"], gift["total_cents"], gift["selling_price_cents"]) == (True, 0, 0)
    assert kit["components"] == [
        {"sku_id": "7002", "name": 'Faca para churrasco 8"', "quantity": 1, "price_cents": 12_990},
        {"sku_id": "7003", "name": "Garfo trinchante", "quantity": 1, "price_cents": 7_000},
    ]
    assert kit["attachments"] == [{"name": "Mensagem de presente", "content": {"texto": "Feliz aniversário, pai!"}}]
    assert (warranty["parent_item_index"], warranty["parent_assembly_binding"]) == (0, "assembly_product_warranty")
    assert (cheese["measurement_unit"], cheese["unit_multiplier"], cheese["quantity"], cheese["total_cents"]) == (
        "kg",
        "0.350000",
        3,
        5_219,
    )
    assert cheese["price_definition"] == {
        "total": 5_219,
        "calculated_selling_price": 4_970,
        "selling_prices": [{"value": 4_970, "quantity": 3}],
    }
    assert (bread["unit_multiplier"], bread["price_definition"]) == ("1.000000", None)


def test_price_tags_are_in_the_items(api):
    socks, shoes = detail(api, store(load_fixture("order_price_tags")))["items"]

    assert socks["total_cents"] == 2_900
    assert [(tag["name"], tag["value"], tag["is_percentual"]) for tag in shoes["price_tags"]] == [
        ("DISCOUNT@MARKETPLACE", -2_500, True),
        ("discount@shipping-8e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7", -890, False),
    ]


def test_replaced_and_replacing_orders_name_each_other_and_the_replaced_one_takes_no_invoice(api):
    old = store(load_fixture("order_replaced"))
    new = store(load_fixture("order_replacing"))

    old_body, new_body = detail(api, old), detail(api, new)
    response = api.post(f"/api/v1/orders/{old.order_id}/invoices/", invoice_body("NF-1", [(0, 2)]), format="json")

    assert (old_body["state"], old_body["vtex_status"]) == ("replaced", "replaced")
    assert (old_body["replaced_by_order_id"], old_body["replaces_order_id"]) == ("1438270519856-02", None)
    assert (new_body["replaced_by_order_id"], new_body["replaces_order_id"]) == (None, "1438270519856-01")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_allowed")
    assert response.json()["error"]["message"] == (
        "VTEX replaced this order with order 1438270519856-02; invoice that order instead."
    )
