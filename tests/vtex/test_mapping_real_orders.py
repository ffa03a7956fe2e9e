"""The mapping of real-shaped VTEX orders (issue 15): gifts, kits and assembly options, items sold by
weight, price tags and priceDefinition, changed orders, replaced orders.

The fixtures (fixtures/order_<shape>.json) are built on order_ready.json from VTEX's documentation
examples and the facts of VTEX-API.md §14; each test writes down the figures it expects.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from integration.vtex.mapping import VtexDataError, order_data_from_vtex
from tests.vtex import FIXTURES_DIR, load_fixture


def items_by_sku(data) -> dict[str, dict]:
    return {row["sku_id"]: row for row in data.items}


# ---- changed orders ------------------------------------------------------------------------------


def test_a_changed_order_keeps_removed_items_and_derives_what_is_left():
    # given: two changes removed 1 × shoes (22490) and 1 of 3 socks (1990); items[] still lists
    # them at the quantities ordered, totals carry Change −24480, and value is the value after.
    raw = load_fixture("order_changed")

    # when
    data = order_data_from_vtex(raw)

    # then
    items = items_by_sku(data)
    assert [(sku, row["quantity"], row["quantity_after_changes"]) for sku, row in items.items()] == [
        ("2041", 2, 2),
        ("3310", 1, 0),
        ("512", 3, 2),
    ]
    assert data.fields["total_cents"] == 20_250  # 46940 − 4100 + 1890 − 24480
    assert [(c["position"], c["discount_cents"], c["increment_cents"]) for c in data.changes] == [
        (0, 22_490, 0),
        (1, 1_990, 0),
    ]
    first = data.changes[0]
    assert first["reason"] == "Tênis sem estoque no centro de distribuição"
    assert first["items_removed"] == [
        {
            "sku_id": "3310",
            "name": "Tênis de Corrida Leve 42",
            "quantity": 1,
            "price_cents": 22_490,
            "unit_multiplier": None,
        }
    ]
    assert first["receipt"] == "029f9ab8-751a-4b1e-bf81-7dd25d14b49b"
    assert first["changed_at"].isoformat() == "2024-05-15T12:10:04.400360+00:00"
    assert data.changes[1]["items_removed"][0]["unit_multiplier"] == "1.000000"  # the schema types it a string


def test_a_changed_order_without_its_change_total_does_not_add_up():
    # VTEX adds {"id": "Change"} to totals; without it the totals miss the value after the change.
    raw = load_fixture("order_changed")
    raw["totals"] = [total for total in raw["totals"] if total["id"] != "Change"]

    with pytest.raises(VtexDataError) as error:
        order_data_from_vtex(raw)

    assert error.value.field == "totals"


def test_a_removal_of_more_than_the_order_holds_is_refused_naming_the_change():
    # A second change removing the shoes again: the order holds none any more.
    raw = load_fixture("order_changed")
    raw["changesAttachment"]["changesData"][1]["itemsRemoved"].append(
        {"id": "3310", "name": "Tênis de Corrida Leve 42", "quantity": 1, "price": 22490, "unitMultiplier": None}
    )

    with pytest.raises(VtexDataError) as error:
        order_data_from_vtex(raw)

    assert error.value.field == "changesAttachment.changesData[1].itemsRemoved[1].quantity"
    assert "removes 1 of SKU '3310', but the order holds 0" in str(error.value)


def test_an_added_unit_of_an_item_the_order_has_raises_its_quantity_after_changes():
    raw = load_fixture("order_changed")
    raw["changesAttachment"]["changesData"][1]["itemsAdded"] = [
        {"id": "2041", "name": "Camiseta Algodão Orgânico Azul M", "quantity": 1, "price": 7190, "unitMultiplier": "1"}
    ]
    raw["changesAttachment"]["changesData"][1]["incrementValue"] = 7190
    raw["totals"][-1]["value"] += 7190
    raw["value"] += 7190

    data = order_data_from_vtex(raw)

    assert items_by_sku(data)["2041"]["quantity_after_changes"] == 3
    assert data.changes[1]["items_added"][0]["quantity"] == 1


def test_vtex_get_order_example_contradicts_itself_and_is_refused(vtex_spec_dir):
    """VTEX's own Get order example cannot be taken as it is: its totals add up to 399 while its
    value is 1160, its only item (990 × 1) is not its Items total (99), it gives that item
    parentItemIndex 0, itself, and its change removes SKU 1234568358, which is not among its items.
    The mapping refuses it, naming the first field that does not hold."""
    spec = json.loads((vtex_spec_dir / "VTEX - Orders API.json").read_text(encoding="utf-8"))
    example = spec["paths"]["/api/oms/pvt/orders/{orderId}"]["get"]["responses"]["200"]["content"]["application/json"][
        "example"
    ]
    assert sum(total["value"] for total in example["totals"]) == 399 and example["value"] == 1160

    with pytest.raises(VtexDataError) as error:
        order_data_from_vtex(example)
    assert error.value.field == "totals"

    # Made to add up, the removal of an SKU the order never had is what is left to refuse.
    example["totals"][0]["value"] = 990
    example["value"] = sum(total["value"] for total in example["totals"])
    with pytest.raises(VtexDataError) as error:
        order_data_from_vtex(example)
    assert error.value.field == "changesAttachment.changesData[0].itemsRemoved[0].quantity"

    # Without its change, the item pointing at itself is read as having no parent.
    example["changesAttachment"] = None
    data = order_data_from_vtex(example)
    assert data.items[0]["parent_item_index"] is None
    assert data.items[0]["parent_assembly_binding"] == "assembly_product_warranty"


# ---- gifts, kits, assembly options ---------------------------------------------------------------


def test_a_gift_is_an_item_worth_nothing():
    data = order_data_from_vtex(load_fixture("order_gift"))

    gift = items_by_sku(data)["9001"]
    assert (gift["is_gift"], gift["unit_price_cents"], gift["selling_price_cents"], gift["total_cents"]) == (
        True,
        0,
        0,
        0,
    )
    assert gift["list_price_cents"] == 1_500
    assert data.fields["total_cents"] == 16_270


def test_a_kit_keeps_its_components_and_attachments_and_its_warranty_points_at_it():
    data = order_data_from_vtex(load_fixture("order_kit"))

    kit, warranty = data.items
    assert [(c["sku_id"], c["name"], c["quantity"], c["price_cents"]) for c in kit["components"]] == [
        ("7002", 'Faca para churrasco 8"', 1, 12_990),
        ("7003", "Garfo trinchante", 1, 7_000),
    ]
    assert kit["attachments"] == [{"name": "Mensagem de presente", "content": {"texto": "Feliz aniversário, pai!"}}]
    assert kit["total_cents"] == 19_990 and kit["parent_item_index"] is None
    assert (warranty["parent_item_index"], warranty["parent_assembly_binding"]) == (0, "assembly_product_warranty")


def test_an_assembly_option_pointing_outside_the_order_is_refused():
    raw = load_fixture("order_kit")
    raw["items"][1]["parentItemIndex"] = 5

    with pytest.raises(VtexDataError) as error:
        order_data_from_vtex(raw)

    assert error.value.field == "items[1].parentItemIndex"


# ---- unit multipliers ----------------------------------------------------------------------------


def test_an_item_sold_by_weight_is_worth_vtex_total_of_price_quantity_and_multiplier():
    # given: 3 packs of 0.35 kg at R$ 49,70/kg: 4970 × 3 × 0.35 = 5218.5 cents; VTEX's
    # priceDefinition.total says 5219, and VTEX's figure is the one kept.
    text = (FIXTURES_DIR / "order_weight.json").read_text(encoding="utf-8")
    assert '"unitMultiplier": 1.0000' in text  # the bread's multiplier, .NET-style

    data = order_data_from_vtex(json.loads(text))

    cheese, bread = data.items
    assert (cheese["measurement_unit"], cheese["unit_multiplier"]) == ("kg", Decimal("0.35"))
    assert cheese["total_cents"] == 5_219
    assert (bread["unit_multiplier"], bread["total_cents"]) == (Decimal(1), 1_700)
    assert data.fields["total_cents"] == 7_909


def test_without_price_definition_a_weighed_item_rounds_half_to_even():
    # 5218.5 cents: VTEX documents no rounding, so its priceDefinition is preferred; without one,
    # half to even (as .NET's Math.Round) gives 5218.
    raw = load_fixture("order_weight")
    raw["items"][0]["priceDefinition"] = None

    assert order_data_from_vtex(raw).items[0]["total_cents"] == 5_218


@pytest.mark.parametrize(
    ("index", "multiplier", "expected"),
    [(0, "0.350", Decimal("0.35")), (1, None, Decimal(1)), (1, 0, Decimal(1)), (1, "1.0000", Decimal(1))],
)
def test_a_unit_multiplier_is_read_exactly(index, multiplier, expected):
    raw = load_fixture("order_weight")
    raw["items"][index]["unitMultiplier"] = multiplier

    assert order_data_from_vtex(raw).items[index]["unit_multiplier"] == expected


@pytest.mark.parametrize("multiplier", [-1, "abc", True, "0.1234567"])
def test_a_bad_unit_multiplier_is_refused_naming_the_field(multiplier):
    raw = load_fixture("order_weight")
    raw["items"][1]["unitMultiplier"] = multiplier

    with pytest.raises(VtexDataError) as error:
        order_data_from_vtex(raw)

    assert error.value.field == "items[1].unitMultiplier"


# ---- price tags and priceDefinition --------------------------------------------------------------


def test_price_tags_give_the_exact_value_of_a_line_whose_unit_selling_price_is_rounded():
    # given: 3 × 1000 with a −100 tag is 2900; sellingPrice 967 (966.67 rounded) would say 2901.
    data = order_data_from_vtex(load_fixture("order_price_tags"))

    socks, shoes = data.items
    assert socks["total_cents"] == 2_900
    assert socks["price_tags"] == [
        {
            "name": "DISCOUNT@MARKETPLACE",
            "value": -100,
            "is_percentual": False,
            "identifier": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
            "raw_value": -1.0,
        }
    ]
    assert socks["price_definition"] == {}
    # the shoes: priceDefinition (singular, as in real documents) is VTEX's figure; the shipping
    # discount among its tags is not the item's.
    assert shoes["total_cents"] == 22_490
    assert shoes["price_definition"] == {
        "total": 22_490,
        "calculated_selling_price": 22_490,
        "selling_prices": [{"value": 22_490, "quantity": 1}],
    }
    assert [tag["value"] for tag in shoes["price_tags"]] == [-2_500, -890]
    assert data.fields["total_cents"] == 26_390


def test_price_tags_that_disagree_with_the_selling_price_leave_it_the_value():
    # A tag VTEX does not count in the selling price (a tax shown apart) must not move the line.
    raw = load_fixture("order_price_tags")
    raw["items"][0]["priceTags"].append({"name": "TAXHUB@ICMS", "value": 540, "isPercentual": False})

    assert order_data_from_vtex(raw).items[0]["total_cents"] == 2_901  # 967 × 3


def test_the_schema_spelling_price_definitions_is_read_too():
    raw = load_fixture("order_price_tags")
    raw["items"][1]["priceDefinitions"] = raw["items"][1].pop("priceDefinition")
    raw["items"][1]["priceDefinitions"]["total"] = 22_489

    assert order_data_from_vtex(raw).items[1]["total_cents"] == 22_489


def test_a_price_tag_value_that_is_not_cents_is_refused_naming_the_field():
    raw = load_fixture("order_price_tags")
    raw["items"][1]["priceTags"][0]["value"] = -25.5

    with pytest.raises(VtexDataError) as error:
        order_data_from_vtex(raw)

    assert error.value.field == "items[1].priceTags[0].value"


# ---- replaced orders -----------------------------------------------------------------------------


def test_a_replaced_order_maps_with_its_status_and_no_link_unless_the_document_names_one():
    data = order_data_from_vtex(load_fixture("order_replaced"))
    assert (data.fields["vtex_status"], data.replaced_by) == ("replaced", "")

    raw = load_fixture("order_replaced")
    raw["replacedBy"] = {"orderId": "1438270519856-02"}
    assert order_data_from_vtex(raw).replaced_by == "1438270519856-02"
