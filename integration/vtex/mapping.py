"""VTEX order JSON → the fields of our models. Pure functions: no database, no HTTP.

A malformed order raises VtexDataError naming the field and the rule, so that one bad order
fails alone and staff can read why (VTEX-API.md §2 lists the fields).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


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
    raw_hash: str = ""
    #: The order's JSON as raw_json() writes it: hashed here, and stored as is (written once).
    raw_json: str = ""


def raw_json(raw: dict[str, Any]) -> str:
    """The order as JSON text, keys sorted: the same order always gives the same text."""
    return json.dumps(raw, sort_keys=True, ensure_ascii=False)


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


def _cents(value: Any, name: str, *, required: bool = True) -> int:
    if value is None and not required:
        return 0
    # bool is an int in Python; a true/false price is a malformed answer.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise VtexDataError(name, f"must be a whole number of cents, got {value!r}")
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
    if required and not value.strip():
        raise VtexDataError(name, "is required")
    return value.strip()[:limit]


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


def _items(raw: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for index, item in enumerate(_list(raw.get("items"), "items")):
        name = f"items[{index}]"
        item = _obj(item, name)
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise VtexDataError(f"{name}.quantity", f"must be a whole number above 0, got {quantity!r}")
        multiplier = item.get("unitMultiplier", 1) or 1
        if isinstance(multiplier, bool) or not isinstance(multiplier, (int, float)) or multiplier <= 0:
            raise VtexDataError(f"{name}.unitMultiplier", "must be a positive number")
        price = _cents(item.get("price"), f"{name}.price")
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
                "unit_price_cents": price,
                "list_price_cents": _cents(item.get("listPrice"), f"{name}.listPrice", required=False),
                "selling_price_cents": _cents(item.get("sellingPrice", price), f"{name}.sellingPrice", required=False),
                "tax_cents": _cents(item.get("tax"), f"{name}.tax", required=False),
                "measurement_unit": _text(item.get("measurementUnit"), f"{name}.measurementUnit", limit=16),
                "unit_multiplier": float(multiplier),
                "is_gift": bool(item.get("isGift", False)),
            }
        )
    if not rows:
        raise VtexDataError("items", "the order has no items")
    return rows


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
        items_sum = sum(round(i["unit_price_cents"] * i["quantity"] * i["unit_multiplier"]) for i in items)
        # One cent per line of tolerance for the rounding of fractional unit multipliers.
        if abs(items_sum - totals["Items"]) > len(items):
            raise VtexDataError(
                "items", f"prices × quantities add up to {items_sum} cents, not the Items total {totals['Items']}"
            )


def order_data_from_vtex(raw: Any) -> OrderData:
    raw = _obj(raw, "order")
    order_id = _text(raw.get("orderId"), "orderId", required=True, limit=64)
    value = _cents(raw.get("value"), "value")
    if value < 0:
        raise VtexDataError("value", "must not be negative")
    totals = _totals(raw)
    items = _items(raw)
    _check_sums(value, totals, items, raw)

    profile = _obj(raw.get("clientProfileData"), "clientProfileData")
    shipping = _obj(raw.get("shippingData"), "shippingData")
    address = _obj(shipping.get("address"), "shippingData.address")
    preferences = _obj(raw.get("storePreferencesData"), "storePreferencesData")
    first = _text(profile.get("firstName"), "clientProfileData.firstName", limit=100)
    last = _text(profile.get("lastName"), "clientProfileData.lastName", limit=100)

    fields = {
        "sequence": _text(raw.get("sequence"), "sequence", limit=32),
        "order_group": _text(raw.get("orderGroup"), "orderGroup", limit=64),
        "marketplace_order_id": _text(raw.get("marketplaceOrderId"), "marketplaceOrderId", limit=64),
        "origin": _text(raw.get("origin"), "origin", limit=32),
        "sales_channel": _text(raw.get("salesChannel"), "salesChannel", limit=32),
        "vtex_status": _text(raw.get("status"), "status", required=True, limit=64),
        "currency_code": _text(preferences.get("currencyCode"), "storePreferencesData.currencyCode", limit=3) or "BRL",
        "total_cents": value,
        "items_total_cents": totals.get("Items", 0),
        "discounts_total_cents": totals.get("Discounts", 0),
        "shipping_total_cents": totals.get("Shipping", 0),
        "tax_total_cents": totals.get("Tax", 0),
        "created_at_vtex": parse_datetime(raw.get("creationDate"), "creationDate"),
        "authorized_at": parse_datetime(raw.get("authorizedDate"), "authorizedDate"),
        "last_change_at_vtex": parse_datetime(raw.get("lastChange"), "lastChange"),
        "invoiced_at_vtex": parse_datetime(raw.get("invoicedDate"), "invoicedDate"),
        "customer_name": f"{first} {last}".strip(),
        "customer_email": _text(profile.get("email"), "clientProfileData.email", limit=254),
        "customer_document_type": _text(profile.get("documentType"), "clientProfileData.documentType", limit=16),
        "customer_document": _text(profile.get("document"), "clientProfileData.document", limit=32),
        "customer_phone": _text(profile.get("phone"), "clientProfileData.phone", limit=32),
        "customer_is_corporate": bool(profile.get("isCorporate") or False),
        "customer_corporate_name": _text(profile.get("corporateName"), "clientProfileData.corporateName", limit=200),
    }
    address_fields = {
        "receiver_name": _text(address.get("receiverName"), "shippingData.address.receiverName", limit=200),
        "postal_code": _text(address.get("postalCode"), "shippingData.address.postalCode", limit=16),
        "street": _text(address.get("street"), "shippingData.address.street", limit=200),
        "number": _text(address.get("number"), "shippingData.address.number", limit=32),
        "complement": _text(address.get("complement"), "shippingData.address.complement", limit=200),
        "neighborhood": _text(address.get("neighborhood"), "shippingData.address.neighborhood", limit=120),
        "city": _text(address.get("city"), "shippingData.address.city", limit=120),
        "state_code": _text(address.get("state"), "shippingData.address.state", limit=8),
        "country": _text(address.get("country"), "shippingData.address.country", limit=3),
    }
    fields.update(address_fields)
    text = raw_json(raw)
    return OrderData(
        order_id=order_id,
        fields=fields,
        items=items,
        payments=_payments(raw),
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
    fields: dict[str, Any] = {
        "sequence": str(summary.get("sequence") or "")[:32],
        "vtex_status": str(summary.get("status") or "")[:64],
        "customer_name": str(summary.get("clientName") or "")[:200],
        "currency_code": str(summary.get("currencyCode") or "BRL")[:3],
    }
    total = summary.get("totalValue")
    if isinstance(total, int) and not isinstance(total, bool):
        fields["total_cents"] = total
    try:
        fields["created_at_vtex"] = parse_datetime(summary.get("creationDate"), "creationDate")
    except VtexDataError:
        pass
    return fields
