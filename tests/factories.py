"""Plain factory functions shared by the tests: each builds one row with sensible defaults.

Keyword arguments override any field. Order ids come from a counter, so every call makes a new order.
A builder used by one test file stays in that file; one used by several belongs here.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from integration.models import (
    Invoice,
    ItemFulfillment,
    Order,
    OrderEvent,
    OrderItem,
    OutboxMessage,
    Payment,
    VtexCall,
)
from integration.services.invoicing import InvoiceInput, invoice_create, order_item_quantities
from vtex_sandbox.nfe import NfeIssuer

_numbers = itertools.count(1_000_001)


def next_sequence() -> str:
    return str(next(_numbers))


def make_order(
    *,
    start_handling: str = "",
    start_handling_error: str = "",
    start_handling_attempts: int | None = None,
    acknowledged_at: datetime | None = None,
    **fields: Any,
) -> Order:
    """An order; `start_handling` ("pending", "sending", "done", "failed") gives it a start-handling
    outbox row in that state (none by default: not written yet, or VTEX's status says it is done)."""
    sequence = fields.pop("sequence", None) or next_sequence()
    values: dict[str, Any] = {
        "order_id": f"{sequence}-01",
        "sequence": sequence,
        "order_group": sequence,
        "origin": "Marketplace",
        "sales_channel": "1",
        "vtex_status": "ready-for-handling",
        "state": Order.State.RECEIVED,
        "currency_code": "BRL",
        "total_cents": 14_490,
        "items_total_cents": 12_990,
        "shipping_total_cents": 1_500,
        "created_at_vtex": datetime(2024, 5, 2, 15, 0, tzinfo=UTC),
        "customer_name": "Maria Souza",
        "customer_email": "maria.souza@example.com",
        "customer_document_type": "cpf",
        "customer_document": "12345678909",
        "customer_phone": "+5511999990000",
        "receiver_name": "Maria Souza",
        "postal_code": "01310-100",
        "street": "Avenida Paulista",
        "number": "1000",
        "neighborhood": "Bela Vista",
        "city": "São Paulo",
        "state_code": "SP",
        "country": "BRA",
        "raw": {"orderId": f"{sequence}-01", "status": "ready-for-handling"},
        "last_synced_at": timezone.now(),
    }
    values.update(fields)
    order = Order.objects.create(**values)
    if start_handling:
        make_start_handling(
            order,
            state=start_handling,
            error=start_handling_error,
            attempts=start_handling_attempts,
            sent_at=acknowledged_at,
        )
    return order


_START_HANDLING_ROW_STATES = {
    "pending": OutboxMessage.State.PENDING,
    "sending": OutboxMessage.State.SENDING,
    "done": OutboxMessage.State.SENT,
    "failed": OutboxMessage.State.FAILED,
}


def make_start_handling(
    order: Order, *, state: str, error: str = "", attempts: int | None = None, sent_at: datetime | None = None
) -> OutboxMessage:
    """The order's start-handling outbox row, as the outbox leaves it in that state."""
    now = timezone.now()
    row_state = _START_HANDLING_ROW_STATES[state]
    return OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.START_HANDLING,
        order=order,
        payload={},
        state=row_state,
        attempts=attempts if attempts is not None else (0 if state == "pending" else 1),
        next_attempt_at=now,
        claimed_at=now if row_state == OutboxMessage.State.SENDING else None,
        sent_at=(sent_at or now) if row_state == OutboxMessage.State.SENT else None,
        last_error=error or ("VTEX answered 500" if row_state == OutboxMessage.State.FAILED else ""),
    )


def make_item(order: Order, **fields: Any) -> OrderItem:
    values: dict[str, Any] = {
        "item_index": order.items.count(),
        "unique_id": f"U{order.pk}-{order.items.count()}",
        "sku_id": "3021",
        "product_id": "88",
        "ref_id": "CAM-AZ-M",
        "ean": "7891234567895",
        "name": "Camiseta azul M",
        "quantity": 1,
        "unit_price_cents": 12_990,
        "list_price_cents": 12_990,
        "selling_price_cents": 12_990,
    }
    values.update(fields)
    # As the mapping stores them for an item no change touched, priced at its selling price.
    values.setdefault("quantity_after_changes", values["quantity"])
    values.setdefault("total_cents", values["selling_price_cents"] * values["quantity"])
    return OrderItem.objects.create(order=order, **values)


def make_fulfillment(order: Order, item_index: int, **fields: Any) -> ItemFulfillment:
    """An item's delivery as the mapping stores VTEX's logisticsInfo[] entry (carrier, chosen SLA)."""
    values: dict[str, Any] = {"seller": "1", "delivery_channel": "delivery", "sla": "Normal", "carrier": "Correios"}
    values.update(fields)
    return ItemFulfillment.objects.create(order=order, item_index=item_index, **values)


def make_acknowledged_order(**fields: Any) -> Order:
    """An order VTEX confirmed start-handling for, ready to invoice, with three items whose selling
    prices, shipping and totals add up (VTEX's totals: items at list price, discounts negative).

    item 0: 2 × R$ 50,00 · item 1: 1 × R$ 29,90 · item 2: 3 × R$ 10,00 (list R$ 12,00)
    items R$ 165,90 − discounts R$ 6,00 + shipping R$ 15,00 = total R$ 174,90
    (selling prices R$ 159,90 + shipping R$ 15,00).
    """
    values: dict[str, Any] = {
        "vtex_status": "handling",
        "state": Order.State.HANDLING,
        "total_cents": 17_490,
        "items_total_cents": 16_590,
        "discounts_total_cents": -600,
        "shipping_total_cents": 1_500,
    }
    values.update(fields)
    order = make_order(**values)
    make_item(
        order,
        sku_id="3021",
        name="Camiseta azul M",
        quantity=2,
        unit_price_cents=5_000,
        list_price_cents=5_000,
        selling_price_cents=5_000,
    )
    make_item(
        order,
        sku_id="4410",
        ref_id="BON-PT",
        ean="7890000000017",
        name="Boné preto",
        quantity=1,
        unit_price_cents=2_990,
        list_price_cents=2_990,
        selling_price_cents=2_990,
    )
    make_item(
        order,
        sku_id="5120",
        ref_id="MEI-LS",
        ean="7890000000024",
        name="Meia listrada",
        quantity=3,
        unit_price_cents=1_200,
        list_price_cents=1_200,
        selling_price_cents=1_000,
    )
    make_payment(order)
    return order


_invoice_numbers = itertools.count(1)
#: The NF-e's random code (cNF) of each key made here, so that no two invoices share a key.
_key_codes = itertools.count(1)


def access_key_for(number: int, *, series: int = 1, code: int | None = None) -> str:
    """A 44-digit NF-e access key (cUF 35, May 2024, a CNPJ, model 55) that writes this series and
    number, with its mod-11 check digit; unique per call unless `code` is given."""
    code = next(_key_codes) if code is None else code
    body = f"3524051234567800019055{series:03d}{number:09d}1{code:08d}"
    weights = [2, 3, 4, 5, 6, 7, 8, 9] * 6
    total = sum(int(digit) * weight for digit, weight in zip(reversed(body), weights, strict=False))
    check = 11 - total % 11
    return body + str(0 if check >= 10 else check)


def make_invoice(
    order: Order,
    *,
    quantities: dict[int, int] | None = None,
    kind: str = Invoice.Kind.OUTPUT,
    actor: Any = None,
    **fields: Any,
) -> Invoice:
    """An invoice entered through invoice_create (so with its items and outbox row), as staff would.

    `quantities` maps item_index → quantity; by default every remaining item (a sale) or every
    returnable one (a return). Other keyword arguments are InvoiceInput fields.
    """
    if quantities is None:
        quantities = {
            index: entry.remaining if kind == Invoice.Kind.OUTPUT else entry.returnable
            for index, entry in order_item_quantities(order).items()
        }
    number = next(_invoice_numbers)
    values: dict[str, Any] = {"number": f"NF-{number}", "issued_at": timezone.now() - timedelta(hours=1)}
    values.update(fields)
    if "access_key" not in fields:
        # The key of the number given (its one run of digits), as an ERP sends it; none without digits.
        digits = re.findall(r"[0-9]+", values["number"])
        values["access_key"] = access_key_for(int(digits[-1])) if len(digits) == 1 else ""
    lines = sorted((index, quantity) for index, quantity in quantities.items() if quantity > 0)
    return invoice_create(order=order, data=InvoiceInput(lines=lines, kind=kind, **values), actor=actor)


def make_payment(order: Order, **fields: Any) -> Payment:
    values: dict[str, Any] = {
        "transaction_id": f"TX{order.sequence}",
        "payment_id": f"PAY{order.sequence}-{order.payments.count()}",
        "payment_system": "2",
        "payment_system_name": "Visa",
        "group": "creditCard",
        "value_cents": order.total_cents,
        "installments": 1,
        "tid": f"TID{order.sequence}",
    }
    values.update(fields)
    return Payment.objects.create(order=order, **values)


def make_event(order: Order, **fields: Any) -> OrderEvent:
    values: dict[str, Any] = {
        "kind": OrderEvent.Kind.IMPORTED,
        "message": "Imported from VTEX in status ready-for-handling.",
        "actor_label": "intake",
    }
    values.update(fields)
    return OrderEvent.objects.create(order=order, **values)


def make_call(order_id: str = "", **fields: Any) -> VtexCall:
    path = f"/api/oms/pvt/orders/{order_id}" if order_id else "/api/oms/pvt/orders"
    values: dict[str, Any] = {
        "operation": "get_order",
        "order_id": order_id,
        "method": "GET",
        "path": path,
        "status_code": 200,
        "duration_ms": 120,
        "response_excerpt": json.dumps({"orderId": order_id}),
        "created_at": timezone.now(),
    }
    values.update(fields)
    return VtexCall.objects.create(**values)


def vtex_order_json(
    *,
    order_id: str,
    status: str = "ready-for-handling",
    first_name: str = "Maria",
    last_name: str = "Souza",
    email: str = "maria.souza@example.com",
    document: str = "12345678909",
    items: list[dict[str, Any]] | None = None,
    shipping_cents: int = 1_500,
    discount_cents: int = 0,
) -> dict[str, Any]:
    """A Get order answer that integration.vtex.mapping accepts: totals add up to value,
    items' price × quantity add up to the Items total."""
    sequence = order_id.split("-")[0]
    if items is None:
        items = [
            {
                "id": "3021",
                "name": "Camiseta azul M",
                "refId": "CAM-AZ-M",
                "ean": "7891234567895",
                "quantity": 2,
                "price": 5_000,
            },
            {
                "id": "4410",
                "name": "Boné preto",
                "refId": "BON-PT",
                "ean": "7890000000017",
                "quantity": 1,
                "price": 2_990,
            },
        ]
    vtex_items = [
        {
            "uniqueId": f"{sequence}-U{index}",
            "id": item["id"],
            "productId": f"P{item['id']}",
            "refId": item.get("refId"),
            "ean": item.get("ean"),
            "name": item["name"],
            "quantity": item["quantity"],
            "price": item["price"],
            "listPrice": item["price"],
            "sellingPrice": item["price"],
            "measurementUnit": "un",
            "unitMultiplier": 1.0,
            "isGift": False,
        }
        for index, item in enumerate(items)
    ]
    items_total = sum(item["price"] * item["quantity"] for item in items)
    value = items_total - discount_cents + shipping_cents
    return {
        "orderId": order_id,
        "sequence": sequence,
        "orderGroup": sequence,
        "marketplaceOrderId": "",
        "origin": "Marketplace",
        "salesChannel": "1",
        "status": status,
        "value": value,
        "creationDate": "2024-05-02T15:00:00.0000000+00:00",
        "lastChange": "2024-05-02T15:10:00.0000000+00:00",
        "authorizedDate": "2024-05-02T15:05:00.0000000+00:00",
        "totals": [
            {"id": "Items", "name": "Total dos Itens", "value": items_total},
            {"id": "Discounts", "name": "Total dos Descontos", "value": -discount_cents},
            {"id": "Shipping", "name": "Total do Frete", "value": shipping_cents},
            {"id": "Tax", "name": "Total da Taxa", "value": 0},
        ],
        "items": vtex_items,
        "clientProfileData": {
            "email": email,
            "firstName": first_name,
            "lastName": last_name,
            "documentType": "cpf",
            "document": document,
            "phone": "+5511999990000",
            "isCorporate": False,
        },
        "shippingData": {
            "address": {
                "addressType": "residential",
                "receiverName": f"{first_name} {last_name}",
                "postalCode": "01310-100",
                "city": "São Paulo",
                "state": "SP",
                "country": "BRA",
                "street": "Avenida Paulista",
                "number": "1000",
                "neighborhood": "Bela Vista",
                "complement": "apto 12",
            }
        },
        "paymentData": {
            "transactions": [
                {
                    "transactionId": f"TX{sequence}",
                    "payments": [
                        {
                            "id": f"PAY{sequence}",
                            "paymentSystem": "2",
                            "paymentSystemName": "Visa",
                            "group": "creditCard",
                            "value": value,
                            "installments": 1,
                            "tid": f"TID{sequence}",
                        }
                    ],
                }
            ]
        },
        "storePreferencesData": {"currencyCode": "BRL"},
    }


#: One throwaway certificate per test process (generating an RSA key takes a moment).
NFE_ISSUER = NfeIssuer.create()
_nfe_numbers = itertools.count(1001)


def nfe_order_json(order: Order) -> dict[str, Any]:
    """The parts of the VTEX order JSON the sandbox's NF-e issuer reads, from a stored order."""
    return {
        "orderId": order.order_id,
        "sequence": order.sequence,
        "value": order.total_cents,
        "totals": [{"id": "Shipping", "value": order.shipping_total_cents}],
        "clientProfileData": {
            "document": order.customer_document,
            "documentType": order.customer_document_type,
            "isCorporate": order.customer_is_corporate,
            "corporateDocument": order.customer_document if order.customer_is_corporate else None,
            "corporateName": order.customer_corporate_name,
            "firstName": order.customer_name,
            "lastName": "",
        },
        "shippingData": {"address": {"state": order.state_code, "city": order.city, "postalCode": order.postal_code}},
        "items": [
            {
                "id": item.sku_id,
                "refId": item.ref_id,
                "ean": item.ean,
                "name": item.name,
                "quantity": item.quantity,
                "sellingPrice": item.selling_price_cents,
                "priceDefinition": {"total": item.total_cents},
                "isGift": item.is_gift,
            }
            for item in order.items.order_by("item_index")
        ],
    }


def make_nfe_xml(order: Order, *, number: int | None = None, **options: Any) -> bytes:
    """A signed NF-e (nfeProc, cStat 100, production unless environment=2) for the order's items and
    buyer, as its ERP would issue it; options are NfeIssuer.build's (quantities, value_cents, ...)."""
    options.setdefault("environment", 1)
    return NFE_ISSUER.build(nfe_order_json(order), number=number or next(_nfe_numbers), **options)
