"""VTEX order JSON → the fields of our models. Pure functions: no database, no HTTP.

A malformed order raises VtexDataError naming the field and the rule, so that one bad order
fails alone and staff can read why (VTEX-API.md §2 lists the fields). Nothing is cut short: a
text longer than its column fails the order the same way (the columns are sized for what VTEX
stores send; ORDER_TEXT_LIMITS says each one, and a test keeps it equal to the models).

Real orders are wider than a single-seller Brazilian shop's (VTEX-API.md §14): company buyers
(CNPJ in corporateDocument, state registration), orders of a group split between sellers, pickup
points, other currencies. All of it is mapped here.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from validate_docbr import CNPJ, CPF


class VtexDataError(ValueError):
    def __init__(self, field_name: str, rule: str) -> None:
        super().__init__(f"{field_name}: {rule}")
        self.field = field_name
        self.rule = rule


@dataclass
class OrderData:
    order_id: str
    fields: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    #: changesAttachment.changesData[], one dict per change (OrderChange's fields), in VTEX's order.
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: The VTEX id of the order that replaced this one, when the document names it ("" otherwise).
    replaced_by: str = ""
    #: VTEX's sellers[] (OrderSeller rows).
    sellers: list[dict[str, Any]] = field(default_factory=list)
    #: One per item: its seller and its logisticsInfo[] entry (ItemFulfillment rows).
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    raw_hash: str = ""
    #: The order's JSON as raw_json() writes it: hashed here, and stored as is (written once).
    raw_json: str = ""


def raw_json(raw: dict[str, Any]) -> str:
    """The order as JSON text, keys sorted: the same order always gives the same text."""
    return json.dumps(raw, sort_keys=True, ensure_ascii=False)


def _storable(text: str, name: str) -> None:
    """Text a database stores as sent: PostgreSQL refuses a NUL, and no database stores a lone
    UTF-16 surrogate (JSON's "\\ud800" escape decodes to one)."""
    if "\x00" in text:
        raise VtexDataError(name, "contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise VtexDataError(name, "contains a lone UTF-16 surrogate (not valid Unicode)") from None


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _obj(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise VtexDataError(name, "must be an object")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise VtexDataError(name, "must be a list")
    return value


#: What the database's whole-number columns hold (BigIntegerField: cents; PositiveIntegerField:
#: quantities and positions, 2**31 - 1 on PostgreSQL): beyond, an order is refused, naming the field.
CENTS_LIMIT = 2**63 - 1
COUNT_LIMIT = 2**31 - 1


def _cents(value: Any, name: str, *, required: bool = True) -> int:
    if value is None and not required:
        return 0
    # bool is an int in Python; a true/false price is a malformed answer.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise VtexDataError(name, f"must be a whole number of cents, got {value!r}")
    if abs(value) > CENTS_LIMIT:
        raise VtexDataError(name, f"is out of range ({value}); erp-bridge stores cents up to {CENTS_LIMIT}")
    return value


def _text(value: Any, name: str, *, required: bool = False, limit: int = 300) -> str:
    if value is None:
        if required:
            raise VtexDataError(name, "is required")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise VtexDataError(name, f"must be text, got {type(value).__name__}")
    _storable(value, name)
    text = value.strip()
    if required and not text:
        raise VtexDataError(name, "is required")
    if len(text) > limit:
        # Never stored shortened: a cut address or document is a wrong one.
        raise VtexDataError(name, f"is {len(text)} characters long; erp-bridge stores at most {limit}")
    return text


def parse_datetime(value: Any, name: str) -> datetime | None:
    """VTEX dates are ISO 8601 with an offset (7 fractional digits are fine on Python ≥ 3.11)."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise VtexDataError(name, "must be an ISO 8601 date")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise VtexDataError(name, f"is not an ISO 8601 date: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _totals(raw: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for position, entry in enumerate(_list(raw.get("totals"), "totals")):
        entry = _obj(entry, f"totals[{position}]")
        key = _text(entry.get("id"), f"totals[{position}].id")
        totals[key] = totals.get(key, 0) + _cents(entry.get("value"), f"totals[{position}].value")
    return totals


#: Decimal places kept of a unit multiplier (OrderItem.unit_multiplier); more is refused, never cut.
MULTIPLIER_PLACES = 6


def _multiplier(value: Any, name: str) -> Decimal:
    """A unit multiplier as an exact Decimal: VTEX sends a number, sometimes .NET-style (1.0000),
    and the change records type it as a string. Absent, null or 0 means 1: VTEX's own examples
    show 0 where no multiplier applies (packageAttachment items, order-change `from` items)."""
    if value is None or (not isinstance(value, bool) and isinstance(value, (int, float)) and value == 0):
        return Decimal(1)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise VtexDataError(name, f"must be a positive number, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise VtexDataError(name, f"must be a positive number, got {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise VtexDataError(name, f"must be a positive number, got {value!r}")
    if number != number.quantize(Decimal(1).scaleb(-MULTIPLIER_PLACES)):
        raise VtexDataError(name, f"has more than {MULTIPLIER_PLACES} decimal places: {value!r}")
    return number.quantize(Decimal(1).scaleb(-MULTIPLIER_PLACES))


def round_cents(amount: Decimal) -> int:
    """An amount in cents rounded to the cent. Half to even, as .NET's Math.Round does by default;
    VTEX does not document its rounding (UNVERIFIED), which is why its own priceDefinition.total
    is preferred wherever an order carries one."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _price_tags(value: Any, name: str) -> list[dict[str, Any]]:
    """priceTags[]: the schema types them as strings, real orders send objects (VTEX-API.md §2)."""
    tags = []
    for position, tag in enumerate(_list(value, name)):
        tag_name = f"{name}[{position}]"
        tag = _obj(tag, tag_name)
        raw_value = tag.get("rawValue")
        tags.append(
            {
                "name": _text(tag.get("name"), f"{tag_name}.name", limit=200),
                "value": _cents(tag.get("value"), f"{tag_name}.value"),
                "is_percentual": bool(tag.get("isPercentual") or False),
                "identifier": _text(tag.get("identifier"), f"{tag_name}.identifier", limit=100),
                "raw_value": raw_value
                if isinstance(raw_value, (int, float)) and not isinstance(raw_value, bool)
                else None,
            }
        )
    return tags


def _is_shipping_tag(tag: dict[str, Any]) -> bool:
    """A tag on an item that discounts or charges its shipping (discount@shipping...), not its price."""
    return "shipping" in tag["name"].lower()


def _price_definition(item: dict[str, Any], name: str) -> dict[str, Any]:
    """priceDefinition (every real document seen) or priceDefinitions (the schema, the sandbox)."""
    key = "priceDefinition" if item.get("priceDefinition") is not None else "priceDefinitions"
    definition = _obj(item.get(key), f"{name}.{key}")
    if not definition:
        return {}
    selling_prices = []
    for position, entry in enumerate(_list(definition.get("sellingPrices"), f"{name}.{key}.sellingPrices")):
        entry_name = f"{name}.{key}.sellingPrices[{position}]"
        entry = _obj(entry, entry_name)
        selling_prices.append(
            {
                "value": _cents(entry.get("value"), f"{entry_name}.value"),
                "quantity": _whole(entry.get("quantity"), f"{entry_name}.quantity"),
            }
        )
    total = definition.get("total")
    calculated = definition.get("calculatedSellingPrice")
    return {
        "total": None if total is None else _cents(total, f"{name}.{key}.total"),
        "calculated_selling_price": None
        if calculated is None
        else _cents(calculated, f"{name}.{key}.calculatedSellingPrice"),
        "selling_prices": selling_prices,
    }


def _whole(value: Any, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise VtexDataError(name, f"must be a whole number of at least {minimum}, got {value!r}")
    if value > COUNT_LIMIT:
        raise VtexDataError(name, f"is out of range ({value}); erp-bridge stores up to {COUNT_LIMIT}")
    return value


def _item_total(
    *, price: int, selling: int, quantity: int, multiplier: Decimal, tags: list[dict], definition: dict
) -> int:
    """VTEX's value of a whole item line, in cents.

    VTEX's own figure first: priceDefinition.total. Without it, VTEX's rule: price × quantity ×
    unit multiplier rounded to the cent, plus the item's price tags (its discounts and taxes, not
    those of its shipping). sellingPrice is the same per unit but rounded to the cent per unit, so
    over several units it can drift; the tags are used only while they agree with it within that
    rounding, and sellingPrice × quantity × multiplier otherwise (a tag VTEX does not count in the
    item's price, such as a tax shown apart, then goes to the invoice that completes the order).
    """
    if definition.get("total") is not None:
        return definition["total"]
    by_selling = round_cents(Decimal(selling) * quantity * multiplier)
    item_tags = [tag for tag in tags if not _is_shipping_tag(tag)]
    if not item_tags:
        return by_selling
    by_tags = round_cents(Decimal(price) * quantity * multiplier) + sum(tag["value"] for tag in item_tags)
    units = Decimal(quantity) * multiplier
    tolerance = max(1, int((units / 2).to_integral_value(rounding="ROUND_CEILING")))
    return by_tags if abs(by_tags - by_selling) <= tolerance else by_selling


def _components(value: Any, name: str) -> list[dict[str, Any]]:
    """A kit's components: item-like objects (the schema types them as strings; both are kept)."""
    rows = []
    for position, component in enumerate(_list(value, name)):
        component_name = f"{name}[{position}]"
        if isinstance(component, str):
            rows.append({"sku_id": "", "name": component.strip()[:300], "quantity": None, "price_cents": None})
            continue
        component = _obj(component, component_name)
        quantity = component.get("quantity")
        price = component.get("price")
        rows.append(
            {
                "sku_id": _text(component.get("id"), f"{component_name}.id", limit=64),
                "name": _text(component.get("name"), f"{component_name}.name"),
                "quantity": None if quantity is None else _whole(quantity, f"{component_name}.quantity"),
                "price_cents": None if price is None else _cents(price, f"{component_name}.price"),
                "unit_multiplier": str(
                    _multiplier(component.get("unitMultiplier"), f"{component_name}.unitMultiplier")
                ),
            }
        )
    return rows


def _attachments(value: Any, name: str) -> list[dict[str, Any]]:
    """Attachments (a gift message, an engraving): their name and what the customer filled in."""
    rows = []
    for position, attachment in enumerate(_list(value, name)):
        attachment_name = f"{name}[{position}]"
        if isinstance(attachment, str):
            rows.append({"name": attachment.strip()[:200], "content": {}})
            continue
        attachment = _obj(attachment, attachment_name)
        rows.append(
            {
                "name": _text(attachment.get("name"), f"{attachment_name}.name", limit=200),
                "content": _obj(attachment.get("content"), f"{attachment_name}.content"),
            }
        )
    return rows


def _parent_index(item: dict[str, Any], index: int, count: int, name: str) -> int | None:
    value = item.get("parentItemIndex")
    if value is None:
        return None
    parent = _whole(value, f"{name}.parentItemIndex")
    if parent >= count:
        raise VtexDataError(f"{name}.parentItemIndex", f"points at item {parent}; the order has {count} items")
    # VTEX's Get order example gives its only item parentItemIndex 0, itself: no item can be an
    # assembly option of itself, so a self-reference means "no parent".
    return None if parent == index else parent


def _items(raw: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    items = _list(raw.get("items"), "items")
    for index, item in enumerate(items):
        name = f"items[{index}]"
        item = _obj(item, name)
        quantity = _whole(item.get("quantity"), f"{name}.quantity", minimum=1)
        multiplier = _multiplier(item.get("unitMultiplier"), f"{name}.unitMultiplier")
        price = _cents(item.get("price"), f"{name}.price")
        selling = _cents(item.get("sellingPrice", price), f"{name}.sellingPrice", required=False)
        tags = _price_tags(item.get("priceTags"), f"{name}.priceTags")
        definition = _price_definition(item, name)
        rows.append(
            {
                "item_index": index,
                "unique_id": _text(item.get("uniqueId"), f"{name}.uniqueId", limit=64),
                "sku_id": _text(item.get("id"), f"{name}.id", required=True, limit=64),
                "product_id": _text(item.get("productId"), f"{name}.productId", limit=64),
                "ref_id": _text(item.get("refId"), f"{name}.refId", limit=100),
                "ean": _text(item.get("ean"), f"{name}.ean", limit=32),
                "name": _text(item.get("name"), f"{name}.name", required=True),
                "quantity": quantity,
                "quantity_after_changes": quantity,
                "unit_price_cents": price,
                "list_price_cents": _cents(item.get("listPrice"), f"{name}.listPrice", required=False),
                "selling_price_cents": selling,
                "total_cents": _item_total(
                    price=price,
                    selling=selling,
                    quantity=quantity,
                    multiplier=multiplier,
                    tags=tags,
                    definition=definition,
                ),
                "tax_cents": _cents(item.get("tax"), f"{name}.tax", required=False),
                "measurement_unit": _text(item.get("measurementUnit"), f"{name}.measurementUnit", limit=16),
                "unit_multiplier": multiplier,
                "is_gift": bool(item.get("isGift", False)),
                "parent_item_index": _parent_index(item, index, len(items), name),
                "parent_assembly_binding": _text(
                    item.get("parentAssemblyBinding"), f"{name}.parentAssemblyBinding", limit=100
                ),
                "components": _components(item.get("components"), f"{name}.components"),
                "attachments": _attachments(item.get("attachments"), f"{name}.attachments"),
                "price_tags": tags,
                "price_definition": definition,
            }
        )
    if not rows:
        raise VtexDataError("items", "the order has no items")
    return rows


# ---- changes after the order was placed --------------------------------------------------------


def _changed_items(value: Any, name: str) -> list[dict[str, Any]]:
    rows = []
    for position, entry in enumerate(_list(value, name)):
        entry_name = f"{name}[{position}]"
        entry = _obj(entry, entry_name)
        multiplier = entry.get("unitMultiplier")
        rows.append(
            {
                "sku_id": _text(entry.get("id"), f"{entry_name}.id", required=True, limit=64),
                "name": _text(entry.get("name"), f"{entry_name}.name"),
                "quantity": _whole(entry.get("quantity"), f"{entry_name}.quantity", minimum=1),
                "price_cents": _cents(entry.get("price"), f"{entry_name}.price", required=False),
                "unit_multiplier": None
                if multiplier is None
                else str(_multiplier(multiplier, f"{entry_name}.unitMultiplier")),
            }
        )
    return rows


def _changes(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """changesAttachment.changesData[] (VTEX-API.md §14), one dict per change in VTEX's order."""
    attachment = _obj(raw.get("changesAttachment"), "changesAttachment")
    changes = []
    for position, change in enumerate(_list(attachment.get("changesData"), "changesAttachment.changesData")):
        name = f"changesAttachment.changesData[{position}]"
        change = _obj(change, name)
        receipt = _obj(change.get("receipt"), f"{name}.receipt")
        discount = _cents(change.get("discountValue"), f"{name}.discountValue", required=False)
        increment = _cents(change.get("incrementValue"), f"{name}.incrementValue", required=False)
        for key, amount in (("discountValue", discount), ("incrementValue", increment)):
            if amount < 0:
                raise VtexDataError(f"{name}.{key}", f"must not be negative, got {amount}")
        changes.append(
            {
                "position": position,
                "reason": _text(change.get("reason"), f"{name}.reason", limit=2000),
                "discount_cents": discount,
                "increment_cents": increment,
                "items_removed": _changed_items(change.get("itemsRemoved"), f"{name}.itemsRemoved"),
                "items_added": _changed_items(change.get("itemsAdded"), f"{name}.itemsAdded"),
                "receipt": _text(receipt.get("receipt"), f"{name}.receipt.receipt", limit=100),
                "changed_at": parse_datetime(receipt.get("date"), f"{name}.receipt.date"),
            }
        )
    return changes


def _apply_changes(items: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """Each item's quantity after the changes (quantity_after_changes), in place.

    A change names items by SKU, not by position: a removal takes units from the items of that SKU
    (first those at the removed price, paid before gifts, the last line first); an addition goes to
    the first item of that SKU. VTEX keeps items[] as ordered (removed items stay, §14), so an
    added SKU the order never had is on no line: it is shown with the change, and its value is in
    the order's value, which the invoice completing the order carries. A removal of more than the
    order holds makes the document inconsistent: refused, naming the change, so that a removed
    unit can never be invoiced.
    """
    for change in changes:
        name = f"changesAttachment.changesData[{change['position']}]"
        for position, removed in enumerate(change["items_removed"]):
            lines = [item for item in items if item["sku_id"] == removed["sku_id"]]
            lines.sort(
                key=lambda item: (
                    removed["price_cents"] not in (item["selling_price_cents"], item["unit_price_cents"]),
                    item["is_gift"],
                    -item["item_index"],
                )
            )
            left = removed["quantity"]
            for item in lines:
                taken = min(left, item["quantity_after_changes"])
                item["quantity_after_changes"] -= taken
                left -= taken
            if left:
                held = removed["quantity"] - left
                raise VtexDataError(
                    f"{name}.itemsRemoved[{position}].quantity",
                    f"removes {removed['quantity']} of SKU {removed['sku_id']!r}, but the order holds {held}",
                )
        for added in change["items_added"]:
            lines = [item for item in items if item["sku_id"] == added["sku_id"]]
            lines.sort(
                key=lambda item: (
                    added["price_cents"] not in (item["selling_price_cents"], item["unit_price_cents"]),
                    item["is_gift"],
                    item["item_index"],
                )
            )
            if lines:
                lines[0]["quantity_after_changes"] += added["quantity"]


def _replaced_by(raw: dict[str, Any]) -> str:
    """The order that replaced this one, when the document names it.

    VTEX's Orders API spec (Get order) has no field for it, and neither does changesAttachment: the
    spec and VTEX-API.md §10 know `replaced` only as a status. The fields read here, `replacedBy`
    and `replacingOrderId` (a string, or an object with an orderId), are not documented by VTEX
    (UNVERIFIED); without them, order_sync links a replaced order to the new order of its order
    group. changesData[].receipt.orderId is not such a link: in VTEX's own example it is the same
    order under its marketplace name ("v502556llux-01" for sequence 502556).
    """
    for key in ("replacedBy", "replacingOrderId"):
        value = raw.get(key)
        if isinstance(value, dict):
            value = value.get("orderId")
        if value is not None:
            return _text(value, key, limit=64)
    return ""


def _payments(raw: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    payment_data = _obj(raw.get("paymentData"), "paymentData")
    for t_index, transaction in enumerate(_list(payment_data.get("transactions"), "paymentData.transactions")):
        t_name = f"paymentData.transactions[{t_index}]"
        transaction = _obj(transaction, t_name)
        transaction_id = _text(transaction.get("transactionId"), f"{t_name}.transactionId", limit=64)
        for p_index, payment in enumerate(_list(transaction.get("payments"), f"{t_name}.payments")):
            p_name = f"{t_name}.payments[{p_index}]"
            payment = _obj(payment, p_name)
            installments = payment.get("installments")
            if installments is None:  # absent means one; 0 or false is a malformed answer
                installments = 1
            if isinstance(installments, bool) or not isinstance(installments, int) or installments < 1:
                raise VtexDataError(f"{p_name}.installments", "must be a whole number of at least 1")
            rows.append(
                {
                    "transaction_id": transaction_id,
                    "payment_id": _text(payment.get("id"), f"{p_name}.id", required=True, limit=64),
                    "payment_system": _text(payment.get("paymentSystem"), f"{p_name}.paymentSystem", limit=32),
                    "payment_system_name": _text(
                        payment.get("paymentSystemName"), f"{p_name}.paymentSystemName", limit=100
                    ),
                    "group": _text(payment.get("group"), f"{p_name}.group", limit=32),
                    "value_cents": _cents(payment.get("value"), f"{p_name}.value"),
                    "installments": installments,
                    "tid": _text(payment.get("tid"), f"{p_name}.tid", limit=100),
                }
            )
    return rows


def _check_sums(value: int, totals: dict[str, int], items: list[dict[str, Any]], raw: dict[str, Any]) -> None:
    """An order whose parts do not add up cannot be invoiced correctly: refuse it."""
    if totals:
        rounding = abs(raw.get("roundingError") or 0) if isinstance(raw.get("roundingError"), int) else 0
        if abs(sum(totals.values()) - value) > rounding:
            raise VtexDataError("totals", f"add up to {sum(totals.values())} cents, not the order value {value}")
    if "Items" in totals:
        items_sum = sum(round_cents(i["unit_price_cents"] * i["quantity"] * i["unit_multiplier"]) for i in items)
        # One cent per line of tolerance for the rounding of fractional unit multipliers.
        if abs(items_sum - totals["Items"]) > len(items):
            raise VtexDataError(
                "items", f"prices × quantities add up to {items_sum} cents, not the Items total {totals['Items']}"
            )


#: The longest text each Order column holds (integration.models.orders; a test keeps them equal).
ORDER_TEXT_LIMITS = {
    "sequence": 32,
    "order_group": 64,
    "marketplace_order_id": 64,
    "marketplace_name": 200,
    "marketplace_base_url": 500,
    "affiliate_id": 64,
    "origin": 32,
    "sales_channel": 32,
    "seller_id": 64,
    "seller_name": 200,
    "vtex_status": 64,
    "currency_code": 3,
    "customer_name": 300,
    "customer_email": 254,
    "customer_document_type": 32,
    "customer_document": 64,
    "customer_phone": 64,
    "customer_corporate_name": 300,
    "customer_trade_name": 300,
    "customer_state_inscription": 64,
    "customer_corporate_phone": 64,
    "receiver_name": 300,
    "postal_code": 32,
    "street": 300,
    "number": 64,
    "complement": 500,
    "neighborhood": 200,
    "city": 200,
    "state_code": 100,
    "country": 3,
    "address_type": 32,
    "pickup_point_id": 100,
    "pickup_point_name": 200,
}
#: The same for OrderSeller and ItemFulfillment.
SELLER_TEXT_LIMITS = {"seller_id": 64, "name": 200, "fulfillment_endpoint": 500}
FULFILLMENT_TEXT_LIMITS = {
    "seller": 64,
    "delivery_channel": 32,
    "sla": 100,
    "carrier": 200,
    "shipping_estimate": 32,
    "pickup_point_id": 100,
    "pickup_point_name": 200,
}

#: VTEX's delivery channels (logisticsInfo[].selectedDeliveryChannel).
DELIVERY = "delivery"
PICKUP_IN_POINT = "pickup-in-point"
#: An order some of whose items are delivered and some picked up.
MIXED_CHANNELS = "mixed"

#: The punctuation a CPF or CNPJ is written with (123.456.789-09, 12.345.678/0001-95).
_DOCUMENT_PUNCTUATION = re.compile(r"[.\-/\s]")
#: VTEX's documentType values whose check digits are checked; any other document (cedulaCOL,
#: a passport, ...) is stored as VTEX sent it.
BRAZILIAN_DOCUMENT_TYPES = ("cpf", "cnpj")
#: Order.DocumentCheck's values.
DOCUMENT_VALID, DOCUMENT_INVALID, DOCUMENT_NOT_CHECKED = "valid", "invalid", ""
#: Decimal digits a store may show (VTEX's amounts are cents whatever it shows).
MAX_DECIMAL_DIGITS = 4


def _field(value: Any, name: str, column: str, *, required: bool = False) -> str:
    return _text(value, name, required=required, limit=ORDER_TEXT_LIMITS[column])


def document_check(document_type: str, document: str) -> str:
    """The check digits of a CPF (11 digits) or CNPJ (14 characters, the alphanumeric CNPJ of
    2026 included), through validate-docbr: DOCUMENT_VALID, DOCUMENT_INVALID, or
    DOCUMENT_NOT_CHECKED for a document that is neither (a foreign one)."""
    if document_type.lower() not in BRAZILIAN_DOCUMENT_TYPES or not document:
        return DOCUMENT_NOT_CHECKED
    if len(document) == 11 and document.isdigit():
        return DOCUMENT_VALID if CPF().validate(document) else DOCUMENT_INVALID
    if len(document) == 14:
        return DOCUMENT_VALID if CNPJ().validate(document) else DOCUMENT_INVALID
    return DOCUMENT_INVALID  # a CPF or CNPJ of the wrong length


def _buyer(profile: dict[str, Any]) -> dict[str, Any]:
    """The buyer: a person (document, documentType) or a company (VTEX sends its CNPJ in
    corporateDocument, usually with document null; the company's CNPJ is then the order's buyer
    document). A CPF or CNPJ is kept without punctuation, so that search and the ERP get one
    spelling; a wrong one is flagged (customer_document_check), never refused: the order is real."""
    p = "clientProfileData"
    first = _text(profile.get("firstName"), f"{p}.firstName", limit=ORDER_TEXT_LIMITS["customer_name"])
    last = _text(profile.get("lastName"), f"{p}.lastName", limit=ORDER_TEXT_LIMITS["customer_name"])
    corporate_document = _field(profile.get("corporateDocument"), f"{p}.corporateDocument", "customer_document")
    if corporate_document:
        document, document_type = corporate_document, "cnpj"
    else:
        document = _field(profile.get("document"), f"{p}.document", "customer_document")
        document_type = _field(profile.get("documentType"), f"{p}.documentType", "customer_document_type")
    if document_type.lower() in BRAZILIAN_DOCUMENT_TYPES:
        compact = _DOCUMENT_PUNCTUATION.sub("", document)
        if compact.isalnum():  # only punctuation removed; anything else stays as VTEX sent it
            document = compact.upper()
    # The state registration: "Isento" (exempt) as it is; a number without its punctuation, as
    # the NF-e writes it (and as search finds it, typed with or without the dots).
    inscription = _field(profile.get("stateInscription"), f"{p}.stateInscription", "customer_state_inscription")
    if inscription and _DOCUMENT_PUNCTUATION.sub("", inscription).isdigit():
        inscription = _DOCUMENT_PUNCTUATION.sub("", inscription)
    return {
        "customer_name": _field(f"{first} {last}", f"{p}.firstName + lastName", "customer_name"),
        "customer_email": _field(profile.get("email"), f"{p}.email", "customer_email"),
        "customer_document_type": document_type,
        "customer_document": document,
        "customer_document_check": document_check(document_type, document),
        "customer_phone": _field(profile.get("phone"), f"{p}.phone", "customer_phone"),
        "customer_is_corporate": bool(profile.get("isCorporate") or False),
        "customer_corporate_name": _field(
            profile.get("corporateName"), f"{p}.corporateName", "customer_corporate_name"
        ),
        "customer_trade_name": _field(profile.get("tradeName"), f"{p}.tradeName", "customer_trade_name"),
        "customer_state_inscription": inscription,
        "customer_corporate_phone": _field(
            profile.get("corporatePhone"), f"{p}.corporatePhone", "customer_corporate_phone"
        ),
    }


def _sellers(raw: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for position, seller in enumerate(_list(raw.get("sellers"), "sellers")):
        name = f"sellers[{position}]"
        seller = _obj(seller, name)
        rows.append(
            {
                "position": position,
                "seller_id": _text(
                    seller.get("id"), f"{name}.id", required=True, limit=SELLER_TEXT_LIMITS["seller_id"]
                ),
                "name": _text(seller.get("name"), f"{name}.name", limit=SELLER_TEXT_LIMITS["name"]),
                "fulfillment_endpoint": _text(
                    seller.get("fulfillmentEndpoint"),
                    f"{name}.fulfillmentEndpoint",
                    limit=SELLER_TEXT_LIMITS["fulfillment_endpoint"],
                ),
            }
        )
    return rows


def address_line(address: dict[str, Any]) -> str:
    """An address on one line, as staff read it: "Praia de Botafogo, 300, 4th floor - Botafogo -
    Rio de Janeiro/RJ - 22250-040"."""

    def part(key: str) -> str:
        value = address.get(key)
        return str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""

    street = ", ".join(value for value in (part("street"), part("number"), part("complement")) if value)
    city = "/".join(value for value in (part("city"), part("state")) if value)
    return " - ".join(value for value in (street, part("neighborhood"), city, part("postalCode")) if value)


def _window(value: Any, name: str) -> tuple[datetime | None, datetime | None]:
    """A scheduled delivery's window: {startDateUtc, endDateUtc, ...} (the spec types it as a
    nullable string; every documented example is this object)."""
    if value in (None, ""):
        return None, None
    window = _obj(value, name)
    return (
        parse_datetime(window.get("startDateUtc"), f"{name}.startDateUtc"),
        parse_datetime(window.get("endDateUtc"), f"{name}.endDateUtc"),
    )


def _delivery(
    shipping: dict[str, Any], items: list[dict[str, Any]], raw_items: list[Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order's delivery (channel, pickup point) and one row per item: its seller (items[].seller)
    and its logisticsInfo[] entry (chosen SLA, carrier, estimate, window, pickup point)."""
    limits = FULFILLMENT_TEXT_LIMITS
    rows = {
        item["item_index"]: {
            "item_index": item["item_index"],
            "seller": _text(
                raw_items[item["item_index"]].get("seller"),
                f"items[{item['item_index']}].seller",
                limit=limits["seller"],
            ),
            "delivery_channel": "",
            "sla": "",
            "carrier": "",
            "shipping_estimate": "",
            "shipping_estimate_date": None,
            "delivery_window_start": None,
            "delivery_window_end": None,
            "pickup_point_id": "",
            "pickup_point_name": "",
        }
        for item in items
    }
    pickup_addresses: list[str] = []
    seen: set[int] = set()
    for position, entry in enumerate(_list(shipping.get("logisticsInfo"), "shippingData.logisticsInfo")):
        name = f"shippingData.logisticsInfo[{position}]"
        entry = _obj(entry, name)
        index = entry.get("itemIndex", position)
        if isinstance(index, bool) or not isinstance(index, int) or index not in rows:
            raise VtexDataError(f"{name}.itemIndex", f"must be the position of an item in items[], got {index!r}")
        if index in seen:
            raise VtexDataError(f"{name}.itemIndex", f"item {index} has two logisticsInfo entries")
        seen.add(index)
        channel_key = "selectedDeliveryChannel" if entry.get("selectedDeliveryChannel") else "deliveryChannel"
        channel = _text(entry.get(channel_key), f"{name}.{channel_key}", limit=limits["delivery_channel"])
        sla_id = _text(entry.get("selectedSla"), f"{name}.selectedSla", limit=limits["sla"])
        chosen: dict[str, Any] = {}
        for s_position, sla in enumerate(_list(entry.get("slas"), f"{name}.slas")):
            sla = _obj(sla, f"{name}.slas[{s_position}]")
            if sla_id and sla.get("id") == sla_id:
                chosen = sla
                break
        pickup = _obj(entry.get("pickupStoreInfo"), f"{name}.pickupStoreInfo")
        if not pickup.get("isPickupStore") and channel == PICKUP_IN_POINT:
            pickup = _obj(chosen.get("pickupStoreInfo"), f"{name}.slas[{sla_id}].pickupStoreInfo")
        if not channel and pickup.get("isPickupStore"):
            channel = PICKUP_IN_POINT
        start, end = _window(entry.get("deliveryWindow"), f"{name}.deliveryWindow")
        row = rows[index]
        row.update(
            delivery_channel=channel,
            sla=sla_id,
            carrier=_text(entry.get("deliveryCompany"), f"{name}.deliveryCompany", limit=limits["carrier"]),
            shipping_estimate=_text(
                entry.get("shippingEstimate"), f"{name}.shippingEstimate", limit=limits["shipping_estimate"]
            ),
            shipping_estimate_date=parse_datetime(entry.get("shippingEstimateDate"), f"{name}.shippingEstimateDate"),
            delivery_window_start=start,
            delivery_window_end=end,
        )
        if channel == PICKUP_IN_POINT:
            point_key = "pickupPointId" if entry.get("pickupPointId") else "slas[].pickupPointId"
            point = entry.get("pickupPointId") or chosen.get("pickupPointId")
            row["pickup_point_id"] = _text(point, f"{name}.{point_key}", limit=limits["pickup_point_id"])
            row["pickup_point_name"] = _text(
                pickup.get("friendlyName"), f"{name}.pickupStoreInfo.friendlyName", limit=limits["pickup_point_name"]
            )
            pickup_addresses.append(address_line(_obj(pickup.get("address"), f"{name}.pickupStoreInfo.address")))
    ordered = [rows[index] for index in sorted(rows)]
    channels = {row["delivery_channel"] for row in ordered if row["delivery_channel"]}
    address = _obj(shipping.get("address"), "shippingData.address")
    address_type = _field(address.get("addressType"), "shippingData.address.addressType", "address_type")
    if len(channels) > 1:
        channel = MIXED_CHANNELS
    elif channels:
        channel = channels.pop()
    else:
        channel = PICKUP_IN_POINT if address_type == "pickup" else ""
    order = {
        "address_type": address_type,
        "delivery_channel": channel,
        "pickup_point_id": "",
        "pickup_point_name": "",
        "pickup_point_address": "",
    }
    first_pickup = next((row for row in ordered if row["delivery_channel"] == PICKUP_IN_POINT), None)
    if first_pickup is not None or channel == PICKUP_IN_POINT:
        # The point's address: its pickupStoreInfo, else the selected address of type pickup,
        # else the shipping address when that is the pickup point's.
        selected = [
            _obj(entry, f"shippingData.selectedAddresses[{position}]")
            for position, entry in enumerate(_list(shipping.get("selectedAddresses"), "shippingData.selectedAddresses"))
        ]
        candidates = [
            *(line for line in pickup_addresses[:1] if line),
            *(address_line(entry) for entry in selected if entry.get("addressType") == "pickup"),
            *([address_line(address)] if address_type == "pickup" else []),
        ]
        order.update(
            pickup_point_id=first_pickup["pickup_point_id"] if first_pickup else "",
            pickup_point_name=first_pickup["pickup_point_name"] if first_pickup else "",
            pickup_point_address=next((line for line in candidates if line), ""),
        )
    return order, ordered


def _currency(preferences: dict[str, Any]) -> dict[str, Any]:
    name = "storePreferencesData.currencyCode"
    code = _field(preferences.get("currencyCode"), name, "currency_code").upper() or "BRL"
    if not (len(code) == 3 and code.isalpha() and code.isascii()):
        raise VtexDataError(name, f"must be an ISO 4217 code of three letters, got {code!r}")
    info = _obj(preferences.get("currencyFormatInfo"), "storePreferencesData.currencyFormatInfo")
    digits = info.get("CurrencyDecimalDigits")
    if digits is not None and (
        isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= MAX_DECIMAL_DIGITS
    ):
        raise VtexDataError(
            "storePreferencesData.currencyFormatInfo.CurrencyDecimalDigits",
            f"must be a whole number from 0 to {MAX_DECIMAL_DIGITS}, got {digits!r}",
        )
    return {"currency_code": code, "currency_decimal_digits": digits}


def payment_order_shares(values: list[int], order_total: int) -> list[int]:
    """What each payment pays for this order, in cents.

    In a split purchase every order of the group shows the group's whole payment (VTEX-API.md
    §14); an order changed after purchase keeps the old payment too. The shares add up to at most
    the order total: the payments as they are when they fit in it, else the total spread over
    them in proportion to their values (rounded down, the remainder on the last)."""
    paid = sum(values)
    if paid <= order_total or paid <= 0:
        return list(values)
    shares = [order_total * value // paid for value in values[:-1]]
    return [*shares, order_total - sum(shares)]


#: A Get order document is a few levels deep; far deeper is not VTEX's.
MAX_DEPTH = 32


def _check_document(raw: dict[str, Any]) -> None:
    """The whole document, stored as it came (the order's JSON), must be storable too: every key
    and text anywhere in it, whether the mapping reads it or not, and no deeper than MAX_DEPTH."""
    pending: list[tuple[Any, str, int]] = [(raw, "order", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise VtexDataError(path, f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, str):
            _storable(value, path)
        elif isinstance(value, dict):
            for key, child in value.items():
                _storable(str(key), f"{path} (a key)")
                pending.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            pending += [(child, f"{path}[{index}]", depth + 1) for index, child in enumerate(value)]
        elif isinstance(value, float) and not math.isfinite(value):
            raise VtexDataError(path, f"must be a finite number, got {value!r}")


def order_data_from_vtex(raw: Any) -> OrderData:
    raw = _obj(raw, "order")
    _check_document(raw)
    order_id = _text(raw.get("orderId"), "orderId", required=True, limit=64)
    value = _cents(raw.get("value"), "value")
    if value < 0:
        raise VtexDataError("value", "must not be negative")
    totals = _totals(raw)
    items = _items(raw)
    _check_sums(value, totals, items, raw)
    changes = _changes(raw)
    _apply_changes(items, changes)

    profile = _obj(raw.get("clientProfileData"), "clientProfileData")
    shipping = _obj(raw.get("shippingData"), "shippingData")
    address = _obj(shipping.get("address"), "shippingData.address")
    preferences = _obj(raw.get("storePreferencesData"), "storePreferencesData")
    marketplace = _obj(raw.get("marketplace"), "marketplace")
    sellers = _sellers(raw)
    delivery, fulfillments = _delivery(shipping, items, raw["items"])
    # The order's seller: VTEX's first (and normally only) seller, else its items' seller.
    seller_id = sellers[0]["seller_id"] if sellers else next((r["seller"] for r in fulfillments if r["seller"]), "")

    fields = {
        "sequence": _field(raw.get("sequence"), "sequence", "sequence"),
        "order_group": _field(raw.get("orderGroup"), "orderGroup", "order_group"),
        "marketplace_order_id": _field(raw.get("marketplaceOrderId"), "marketplaceOrderId", "marketplace_order_id"),
        "marketplace_name": _field(marketplace.get("name"), "marketplace.name", "marketplace_name"),
        "marketplace_base_url": _field(marketplace.get("baseURL"), "marketplace.baseURL", "marketplace_base_url"),
        "affiliate_id": _field(raw.get("affiliateId"), "affiliateId", "affiliate_id"),
        "origin": _field(raw.get("origin"), "origin", "origin"),
        "sales_channel": _field(raw.get("salesChannel"), "salesChannel", "sales_channel"),
        "seller_id": seller_id,
        "seller_name": sellers[0]["name"] if sellers else "",
        "vtex_status": _field(raw.get("status"), "status", "vtex_status", required=True),
        **_currency(preferences),
        "total_cents": value,
        "items_total_cents": totals.get("Items", 0),
        "discounts_total_cents": totals.get("Discounts", 0),
        "shipping_total_cents": totals.get("Shipping", 0),
        "tax_total_cents": totals.get("Tax", 0),
        "created_at_vtex": parse_datetime(raw.get("creationDate"), "creationDate"),
        "authorized_at": parse_datetime(raw.get("authorizedDate"), "authorizedDate"),
        "last_change_at_vtex": parse_datetime(raw.get("lastChange"), "lastChange"),
        "invoiced_at_vtex": parse_datetime(raw.get("invoicedDate"), "invoicedDate"),
        **_buyer(profile),
        **delivery,
    }
    a = "shippingData.address"
    address_fields = {
        "receiver_name": _field(address.get("receiverName"), f"{a}.receiverName", "receiver_name"),
        "postal_code": _field(address.get("postalCode"), f"{a}.postalCode", "postal_code"),
        "street": _field(address.get("street"), f"{a}.street", "street"),
        "number": _field(address.get("number"), f"{a}.number", "number"),
        "complement": _field(address.get("complement"), f"{a}.complement", "complement"),
        "neighborhood": _field(address.get("neighborhood"), f"{a}.neighborhood", "neighborhood"),
        "city": _field(address.get("city"), f"{a}.city", "city"),
        "state_code": _field(address.get("state"), f"{a}.state", "state_code"),
        "country": _field(address.get("country"), f"{a}.country", "country"),
    }
    fields.update(address_fields)
    payments = _payments(raw)
    for payment, share in zip(payments, payment_order_shares([p["value_cents"] for p in payments], value), strict=True):
        payment["order_share_cents"] = share
    text = raw_json(raw)
    return OrderData(
        order_id=order_id,
        fields=fields,
        items=items,
        payments=payments,
        changes=changes,
        replaced_by=_replaced_by(raw),
        sellers=sellers,
        fulfillments=fulfillments,
        raw_hash=_text_hash(text),
        raw_json=text,
    )


SHIPPING_ADDRESS_FIELDS = (
    "receiver_name",
    "postal_code",
    "street",
    "number",
    "complement",
    "neighborhood",
    "city",
    "state_code",
    "country",
)


def summary_fields(summary: dict[str, Any]) -> dict[str, Any]:
    """The few fields a List orders entry carries; used for a stub when the full order cannot be read."""
    # A placeholder until the order is read in full: a value too long for its column is left
    # out (the full read reports it), never stored shortened.
    texts = {
        "sequence": summary.get("sequence"),
        "vtex_status": summary.get("status"),
        "customer_name": summary.get("clientName"),
        "currency_code": summary.get("currencyCode") or "BRL",
    }
    fields: dict[str, Any] = {
        name: str(value or "")
        for name, value in texts.items()
        if len(str(value or "")) <= ORDER_TEXT_LIMITS[name] and (name != "currency_code" or value)
    }
    total = summary.get("totalValue")
    if isinstance(total, int) and not isinstance(total, bool):
        fields["total_cents"] = total
    try:
        fields["created_at_vtex"] = parse_datetime(summary.get("creationDate"), "creationDate")
    except VtexDataError:
        pass
    return fields
