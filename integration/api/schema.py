"""The OpenAPI description of the API: texts, examples and error responses of each endpoint.

Kept apart from the views so the views stay short; each view applies its entry with
`@extend_schema(**schema.NAME)`. The schema is served at /api/schema/ and shown at /api/docs/.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from integration.api.serializers import (
    AckResultSerializer,
    CancellationRequestSerializer,
    ErrorSerializer,
    InvoiceSerializer,
    OrderDetailSerializer,
    OrderPageSerializer,
)
from integration.services.tracking import EVENTS_PER_REQUEST

API_DESCRIPTION = """
The ERP and the carriers of the store talk to erp-bridge here. erp-bridge takes the store's paid
orders from VTEX; through this API you read them, confirm that the ERP stored them, enter invoices
(notas fiscais, also partial ones), tracking numbers and carrier events up to delivery, and ask for
cancellations. erp-bridge sends every change on to VTEX in the background: an invoice's `send_state`
shows where that stands.

## Authentication

Every request carries a token of an erp-bridge user, with either keyword (the same keys):

    Authorization: Bearer 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b
    Authorization: Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b

An administrator creates the key with `python manage.py drf_create_token <username>` (or in the
admin, "Auth token"). The user needs the permission of each endpoint: the same permissions the
admin uses, so adding the user to the "Back office" group covers all of them.

| Endpoint | Permission |
|---|---|
| `GET /orders/`, `GET /orders/{order_id}/` | `integration.view_order` |
| `POST /orders/{order_id}/ack/` | `integration.change_order` |
| `POST …/invoices/`, `…/tracking/`, `…/tracking-events/` | `integration.enter_invoices` |
| `POST /orders/{order_id}/cancellation/` | `integration.request_cancellation` |

No token, an unknown one, or another scheme (Basic…): **401**. A valid token without the permission: **403**.

## Errors

Every error has one shape:

```json
{"error": {"code": "invalid", "message": "Invalid request: items[0].quantity: A valid integer is required.",
           "fields": {"items[0].quantity": ["A valid integer is required."]}}}
```

`code` is for programs, `message` for people, and `fields` names each wrong input with a dotted path
and list positions (`number`, `items[0].quantity`, `events[2].date`); it is `{}` when the error is
not about one field.

| Status | `code` | Meaning |
|---|---|---|
| 400 | `invalid`, `parse_error` | The input breaks a rule (see `fields`) or is not JSON. Fix it; do not retry as is. |
| 401 | `not_authenticated`, `authentication_failed` | No token, or an unknown or inactive one. |
| 403 | `permission_denied` | The user lacks the endpoint's permission. |
| 404 | `not_found` | No such order (or invoice number of that order). |
| 405 | `method_not_allowed` | The endpoint has no such method. |
| 406 | `not_acceptable` | The `Accept` header asks for something other than JSON. |
| 409 | `not_allowed` | Not possible in the order's state now, e.g. cancelling an invoiced order; `message` says why. |
| 409 | `conflict` | The key was used with other content, e.g. an invoice number sent again with other items. |
| 413 | `too_large` | The body is over the limit (1 MB by default). |
| 415 | `unsupported_media_type` | Send `Content-Type: application/json`. |
| 429 | `throttled` | Too many requests; wait the `Retry-After` seconds. |
| 500 | `server_error` | A fault of erp-bridge; it was logged. Retry later. |
| 502 | `vtex_error` | VTEX refused or did not answer a call this request needed; `message` is VTEX's answer. |

The schema states what the server enforces: lengths, ranges, enums, patterns (e.g. text that is not
only spaces, times in the years 2000 to 2999). What it cannot state is a rule about the data: an
`item_index` the order does not have, more units than are left to invoice, an invoice number used
twice in one request's `items`, a state that does not allow the action (409).

## Retries are safe (idempotency)

Send a request again whenever you are not sure it arrived (timeout, dropped connection, 429, 502, 5xx):

* **Invoices** are identified by their number within the order. The same number with the same content
  (type, items, value, key, issue date) answers **200** with the stored invoice and creates nothing;
  the first time answers **201**. The same number with other content answers **409 `conflict`**: an
  invoice cannot be changed, a new one needs a new number.
* **Tracking**: sending the values the invoice already has answers 200 and sends nothing to VTEX again.
* **Tracking events**: events already stored (same date, description, city and state) are ignored, so
  you may send the whole list every time. Once an invoice is delivered it takes nothing new, but a
  replay of what it has still answers 200.
* **Acknowledgement** (`…/ack/`): the receipt is recorded once and start-handling reaches VTEX once.
* **Cancellation**: a second request while one is open answers **409 `not_allowed`** ("requested already").

## Polling for changes

`GET /api/v1/orders/` lists the orders by `updated_at`, then by an internal id, a page at a time:
pass `next_cursor` as `cursor` (or follow the `next` link) until it is `null`. The cursor carries the
filters and page size of the walk: send it alone, or with the same filters (other filters: 400);
`page_size` may change along the way.

**Resume rule**: keep the `resume_cursor` of the last page you processed and start the next poll with
`?cursor=<it>`. It lists exactly the orders changed since, each once: orders sharing one `updated_at`
are ordered by id, so none is repeated or skipped across pages or polls, and an order changed again
comes again at its new place. A first poll starts without a cursor, or with `updated_since` (inclusive).

When this installation runs with `VTEX_START_HANDLING=on_erp_ack`, VTEX is told that the order is
being handled only when the ERP confirms it stored it: list `?erp_received=false`, store each order,
then `POST /api/v1/orders/{order_id}/ack/`. With `on_import` (the default) erp-bridge tells VTEX as
soon as it imports an order, and the ack only records the ERP's receipt.

## Money, time, limits

Amounts are whole numbers of cents (`12990` is R$ 129,90), as in VTEX. Times are ISO 8601; times you
send must carry their offset (`2024-05-02T15:00:00-03:00` or `…Z`); answers use the store's time
zone with its offset. Each user may make `ERP_BRIDGE_API_THROTTLE_RATE` requests (default 600 a minute);
request bodies are limited to 1 MB.
""".strip()

ORDER_ID = OpenApiParameter(
    "order_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="VTEX orderId, e.g. 1234567890123-01.",
)
INVOICE_NUMBER = OpenApiParameter(
    "number",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The invoice number, as sent when the invoice was created.",
)

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next request.",
)

_ERRORS: dict[int, tuple[str, str, str, dict[str, list[str]]]] = {
    400: (
        "The input breaks a rule; `fields` names each wrong field.",
        "invalid",
        "Invalid request: items[0].quantity: A valid integer is required.",
        {"items[0].quantity": ["A valid integer is required."]},
    ),
    401: (
        "No token, or an unknown or inactive one, or an Authorization header that is not "
        "`Bearer <token>` or `Token <token>`.",
        "not_authenticated",
        "Authentication credentials were not provided.",
        {},
    ),
    403: (
        "The user lacks this endpoint's permission.",
        "permission_denied",
        "Your user lacks the permission “Can enter invoices, tracking and delivery” (integration.enter_invoices) "
        "this endpoint needs.",
        {},
    ),
    404: ("No such order (or invoice of the order).", "not_found", "There is no order '1234567890123-01'.", {}),
    409: (
        "Not possible in the order's present state (`not_allowed`), or the key was used with other content "
        "(`conflict`); `message` says why.",
        "not_allowed",
        "The order has an invoice; VTEX cancels only orders without any invoice (issue a return instead).",
        {},
    ),
    413: ("The body is over the size limit.", "too_large", "The request body is larger than the limit.", {}),
    415: (
        "The body is not JSON.",
        "unsupported_media_type",
        'Unsupported media type "text/plain" in request.',
        {},
    ),
    429: (
        "Too many requests; wait the seconds in the Retry-After header.",
        "throttled",
        "Request was throttled. Expected available in 12 seconds.",
        {},
    ),
    502: (
        "VTEX refused or did not answer; retry later.",
        "vtex_error",
        "VTEX did not confirm start-handling: POST /api/oms/pvt/orders/1234567890123-01/start-handling: "
        "HTTP 503 Service unavailable.",
        {},
    ),
}


def error(status: int, description: str = "", *examples: tuple[str, str, str, dict[str, list[str]]]) -> OpenApiResponse:
    default_description, code, message, fields = _ERRORS[status]
    shown = examples or ((code, code, message, fields),)
    return OpenApiResponse(
        response=ErrorSerializer,
        description=description or default_description,
        examples=[
            OpenApiExample(
                name,
                value={"error": {"code": ex_code, "message": ex_message, "fields": ex_fields}},
                response_only=True,
                status_codes=[str(status)],
            )
            for name, ex_code, ex_message, ex_fields in shown
        ],
    )


DEFAULT_ERROR = OpenApiResponse(
    response=ErrorSerializer,
    description="Any other error, in the same shape: 405 `method_not_allowed`, 406 `not_acceptable`, "
    "500 `server_error`, and the statuses listed above.",
    examples=[
        OpenApiExample(
            "server_error",
            value={
                "error": {
                    "code": "server_error",
                    "message": "Unexpected error; it was logged. Try again later.",
                    "fields": {},
                }
            },
            response_only=True,
            status_codes=["default"],
        )
    ],
)


def _responses(success: dict[int, Any], *statuses: int, **described: OpenApiResponse) -> dict[int | str, Any]:
    """The success answers, the error answers listed, and the default error (every other status)."""
    responses: dict[int | str, Any] = dict(success)
    for status in statuses:
        responses[status] = error(status)
    for key, response in described.items():
        responses[int(key.removeprefix("e"))] = response
    responses["default"] = DEFAULT_ERROR
    return responses


_WRITE_ERRORS = (401, 403, 404, 413, 415, 429)

_ORDER_SUMMARY_EXAMPLE = {
    "order_id": "1234567890123-01",
    "sequence": "1234567",
    "vtex_status": "handling",
    "state": "handling",
    "ack": {
        "state": "done",
        "acknowledged_at": "2024-05-02T12:05:03-03:00",
        "attempts": 1,
        "error": "",
        "erp_received_at": "2024-05-02T12:05:00-03:00",
    },
    "currency": "BRL",
    "total_cents": 17490,
    "created_at_vtex": "2024-05-02T12:00:00-03:00",
    "updated_at": "2024-05-02T12:05:03.120000-03:00",
}

_INVOICE_EXAMPLE = {
    "number": "000123",
    "type": "output",
    "issued_at": "2024-05-03T10:00:00-03:00",
    "key": "35240512345678000199550010000001231000001234",
    "url": "https://erp.example.com/nfe/000123.pdf",
    "value_cents": 10000,
    "courier": "Correios",
    "tracking_number": "AA123456789BR",
    "tracking_url": "https://rastreamento.correios.com.br/?objeto=AA123456789BR",
    "dispatched_at": None,
    "delivered": False,
    "delivered_at": None,
    "send_state": "pending",
    "created_via": "api",
    "created_at": "2024-05-03T10:00:02-03:00",
    "items": [{"item_index": 0, "sku_id": "3021", "name": "Camiseta azul M", "quantity": 2, "unit_price_cents": 5000}],
    "tracking_events": [],
}

ORDER_LIST: dict[str, Any] = {
    "operation_id": "orders_list",
    "summary": "List orders, oldest change first",
    "description": (
        "Orders erp-bridge took from VTEX, ordered by `updated_at` then an internal id, a page at a time. Pass "
        "`next_cursor` as `cursor` until it is null; the cursor carries the filters and page size (send it alone "
        "or with the same filters). To poll for changes, keep the `resume_cursor` of the last page and send it as "
        "`cursor` next time: each change comes once, orders sharing one `updated_at` included. Filters combine "
        "with AND."
    ),
    "tags": ["orders"],
    "responses": _responses(
        {200: OpenApiResponse(OrderPageSerializer, description="A page of orders.")},
        401,
        403,
        429,
        e400=error(
            400,
            "A filter is invalid.",
            (
                "bad date",
                "invalid",
                "Invalid request: updated_since: Give the time with its UTC offset, e.g. 2024-05-02T15:00:00-03:00 "
                "or 2024-05-02T18:00:00Z.",
                {
                    "updated_since": [
                        "Give the time with its UTC offset, e.g. 2024-05-02T15:00:00-03:00 or 2024-05-02T18:00:00Z."
                    ]
                },
            ),
        ),
    ),
    "examples": [
        OpenApiExample(
            "a page",
            value={
                "next": "https://erp-bridge.example.com/api/v1/orders/?cursor=eyJmIjp7fSwiaSI6NDIsIm4iOjEsInQiOiIyMDI0In0",
                "previous": None,
                "next_cursor": "eyJmIjp7fSwiaSI6NDIsIm4iOjEsInQiOiIyMDI0In0",
                "previous_cursor": None,
                "resume_cursor": "eyJmIjp7fSwiaSI6NDIsIm4iOjEsInQiOiIyMDI0In0",
                "results": [_ORDER_SUMMARY_EXAMPLE],
            },
            response_only=True,
            status_codes=["200"],
        )
    ],
}

ORDER_DETAIL: dict[str, Any] = {
    "operation_id": "orders_retrieve",
    "summary": "One order with everything the ERP needs",
    "description": (
        "The order with its items (ordered, invoiced, remaining and returned quantities; prices in cents), "
        "payments, invoices (with their items, tracking, events and send state), cancellation requests, "
        "totals, customer, shipping address and acknowledgement state. Use `item_index` of the items when "
        "entering invoice items.\n\n"
        "A changed order (VTEX's changesAttachment) lists its `changes`; VTEX keeps removed items in its "
        "items, so each item has its `quantity` as ordered and its `quantity_after_changes`, and only the "
        "latter is invoiced (`remaining_quantity` follows it). `total_cents` is the value after the changes, "
        "which the output invoices add up to. An order VTEX replaced (status `replaced`) names the order "
        "that carries it on in `replaced_by_order_id` and takes no invoice; that order names it in "
        "`replaces_order_id`. Items also carry what VTEX says of them: gift, kit components, assembly "
        "option (`parent_item_index`), measurement unit and unit multiplier (items sold by weight or pack), "
        "price tags and priceDefinition, and `total_cents`, VTEX's value of the line."
    ),
    "tags": ["orders"],
    "parameters": [ORDER_ID, RETRY_AFTER],
    "responses": _responses(
        {200: OpenApiResponse(OrderDetailSerializer, description="The order.")}, 401, 403, 404, 429
    ),
}

ORDER_ACK: dict[str, Any] = {
    "operation_id": "orders_ack",
    "summary": "Confirm that the ERP stored the order",
    "description": (
        "Call it once the order is safely stored in the ERP; no body. erp-bridge records the receipt (once). "
        "With `VTEX_START_HANDLING=on_erp_ack` it then sends start-handling to VTEX now and answers with "
        "VTEX's result: 200 once VTEX moved the order to handling, 502 `vtex_error` when VTEX refused or did "
        "not answer (retry later), 409 `conflict` when another process is sending it right now. With "
        "`on_import` (the default) start-handling was sent at import and the call only records the receipt. "
        "Safe to repeat: a replay answers 200 and sends nothing more to VTEX."
    ),
    "tags": ["orders"],
    "parameters": [ORDER_ID, RETRY_AFTER],
    "request": None,
    "responses": _responses(
        {
            200: OpenApiResponse(
                AckResultSerializer, description="Recorded (and in on_erp_ack mode, acknowledged at VTEX)."
            )
        },
        401,
        403,
        404,
        429,
        502,
        e409=error(
            409,
            "The order cannot be acknowledged now (not read in full from VTEX), or another process is "
            "acknowledging it at this moment.",
            (
                "in progress",
                "conflict",
                "Another process is acknowledging this order now. Try again in a minute.",
                {},
            ),
        ),
    ),
    "examples": [
        OpenApiExample(
            "on_erp_ack: sent to VTEX",
            value={
                "order_id": "1234567890123-01",
                "mode": "on_erp_ack",
                "vtex_status": "handling",
                "message": "VTEX accepted start-handling.",
                "ack": _ORDER_SUMMARY_EXAMPLE["ack"],
            },
            response_only=True,
            status_codes=["200"],
        ),
    ],
}

INVOICE_CREATE: dict[str, Any] = {
    "operation_id": "orders_invoices_create",
    "summary": "Enter an invoice (nota fiscal), whole or partial",
    "description": (
        "An output (sale) invoice lists the items it covers by `item_index` and quantity; several partial "
        "invoices may cover an order, and the one that covers the last items also carries the rest of the "
        "order total (shipping, order discounts), so that the output invoices add up to the order total. "
        "Leave `value` out to have it computed. An input (return) invoice is possible once the order is fully "
        "invoiced. The order must be acknowledged at VTEX (start-handling) first.\n\n"
        "**Idempotent by number**: 201 the first time; the same number with the same content answers 200 "
        "with the stored invoice; the same number with other content answers 409 `conflict`."
    ),
    "tags": ["invoices"],
    "parameters": [ORDER_ID, RETRY_AFTER],
    "responses": _responses(
        {
            201: OpenApiResponse(InvoiceSerializer, description="Stored; it is sent to VTEX in the background."),
            200: OpenApiResponse(InvoiceSerializer, description="A replay: this invoice was stored before."),
        },
        *_WRITE_ERRORS,
        e400=error(
            400,
            "",
            (
                "type error",
                "invalid",
                "Invalid request: items[0].quantity: A valid integer is required.",
                {"items[0].quantity": ["A valid integer is required."]},
            ),
            (
                "too many",
                "invalid",
                "Invalid request: items[0]: Only 1 of “Camiseta azul M” is left to invoice.",
                {"items[0]": ["Only 1 of “Camiseta azul M” is left to invoice."]},
            ),
        ),
        e409=error(
            409,
            "`conflict`: the number was used with other content. `not_allowed`: the order cannot be invoiced "
            "now (canceled, cancellation requested, not acknowledged, fully invoiced).",
            (
                "conflict",
                "conflict",
                "Order 1234567890123-01 already has an invoice numbered '000123' with other content (type, items, "
                "value, key or issue date). An invoice cannot be changed; a new one needs a new number.",
                {"number": ["Already used on this order for another invoice."]},
            ),
            ("not allowed", "not_allowed", "The order is fully invoiced already.", {}),
        ),
    ),
    "examples": [
        OpenApiExample(
            "partial invoice",
            value={
                "number": "000123",
                "issued_at": "2024-05-03T10:00:00-03:00",
                "type": "output",
                "key": "35240512345678000199550010000001231000001234",
                "url": "https://erp.example.com/nfe/000123.pdf",
                "courier": "Correios",
                "tracking_number": "AA123456789BR",
                "tracking_url": "https://rastreamento.correios.com.br/?objeto=AA123456789BR",
                "items": [{"item_index": 0, "quantity": 2}],
            },
            request_only=True,
        ),
        OpenApiExample("stored invoice", value=_INVOICE_EXAMPLE, response_only=True, status_codes=["201", "200"]),
    ],
}

INVOICE_TRACKING: dict[str, Any] = {
    "operation_id": "orders_invoices_tracking",
    "summary": "Set the tracking number of an invoice",
    "description": (
        "The carrier, tracking number and address of the shipment of an output invoice (and when it left). "
        "Needed before tracking events. Sending other values replaces them; sending the same values again "
        "answers 200 and sends nothing to VTEX again."
    ),
    "tags": ["tracking"],
    "parameters": [ORDER_ID, INVOICE_NUMBER, RETRY_AFTER],
    "responses": _responses(
        {200: OpenApiResponse(InvoiceSerializer, description="The invoice with its tracking.")},
        *_WRITE_ERRORS,
        400,
        e409=error(
            409,
            "The invoice takes no tracking: a return invoice, a canceled order, or delivered already.",
            ("not allowed", "not_allowed", "Invoice 000123 is delivered already; it takes no more tracking.", {}),
        ),
    ),
    "examples": [
        OpenApiExample(
            "tracking",
            value={
                "tracking_number": "AA123456789BR",
                "tracking_url": "https://rastreamento.correios.com.br/?objeto=AA123456789BR",
                "courier": "Correios",
                "dispatched_at": "2024-05-03T16:30:00-03:00",
            },
            request_only=True,
        )
    ],
}

INVOICE_TRACKING_EVENTS: dict[str, Any] = {
    "operation_id": "orders_invoices_tracking_events",
    "summary": "Add carrier events, and delivery",
    "description": (
        "Carrier events of an invoice's shipment; events already stored (same date, description, city and "
        "state) are ignored, so the whole list may be sent every time. `delivered: true` marks the invoice "
        "delivered at `delivered_at` (default: now), which must not be earlier than its events; after that "
        "the invoice takes nothing new, but a replay still answers 200. The tracking number must be set first."
    ),
    "tags": ["tracking"],
    "parameters": [ORDER_ID, INVOICE_NUMBER, RETRY_AFTER],
    "responses": _responses(
        {200: OpenApiResponse(InvoiceSerializer, description="The invoice with all its events.")},
        *_WRITE_ERRORS,
        e400=error(
            400,
            "",
            (
                "bad date",
                "invalid",
                "Invalid request: events[0].date: Datetime has wrong format.",
                {"events[0].date": ["Datetime has wrong format. Use one of these formats instead: …"]},
            ),
        ),
        e409=error(
            409,
            "No tracking number yet, a return invoice, a canceled order, delivered already, or delivery earlier "
            "than an event.",
            ("no tracking", "not_allowed", "Add the tracking number of invoice 000123 before its events.", {}),
        ),
    ),
    "examples": [
        OpenApiExample(
            "events and delivery",
            value={
                "events": [
                    {
                        "date": "2024-05-04T09:12:00-03:00",
                        "description": "Objeto saiu para entrega",
                        "city": "São Paulo",
                        "state": "SP",
                    }
                ],
                "delivered": True,
                "delivered_at": "2024-05-04T15:40:00-03:00",
            },
            request_only=True,
        )
    ],
}

CANCELLATION: dict[str, Any] = {
    "operation_id": "orders_cancellation_create",
    "summary": "Ask VTEX to cancel an order",
    "description": (
        "Accepted (202) and sent to VTEX in the background; the request's `state` and the order's "
        "`vtex_status` show the outcome. VTEX cancels only orders without any invoice (issue a return invoice "
        "instead) and in some statuses; otherwise 409 `not_allowed` says why. A second request while one is "
        "open answers 409 too."
    ),
    "tags": ["orders"],
    "parameters": [ORDER_ID, RETRY_AFTER],
    "responses": _responses(
        {202: OpenApiResponse(CancellationRequestSerializer, description="Accepted; sent to VTEX in the background.")},
        *_WRITE_ERRORS,
        e400=error(
            400,
            "",
            (
                "too short",
                "invalid",
                "Invalid request: reason: Give at least 5 characters (not counting spaces around them).",
                {"reason": ["Give at least 5 characters (not counting spaces around them)."]},
            ),
        ),
        e409=error(
            409,
            "The order cannot be canceled now; `message` says why.",
            (
                "invoiced",
                "not_allowed",
                "The order has an invoice; VTEX cancels only orders without any invoice (issue a return instead).",
                {},
            ),
        ),
    ),
    "examples": [
        OpenApiExample("reason", value={"reason": "Customer asked to cancel by phone."}, request_only=True),
    ],
}


INVOICE_FROM_NFE: dict[str, Any] = {
    "operation_id": "orders_invoices_nfe_create",
    "summary": "Import an invoice from its NF-e XML",
    "description": (
        "The body is the NF-e the ERP issued (layout 4.00: an `nfeProc` with SEFAZ's protocol, or a bare "
        "`NFe`), sent as `Content-Type: application/xml`, at most 2 MB. erp-bridge validates it against the "
        "official schema, checks that its XML signature matches its content (integrity only: it does not prove "
        "who signed), that SEFAZ authorized it (`cStat` 100 or 150 for this access key) when a protocol is "
        "present, that `dest` is the order's buyer, and matches its items to the order's by EAN, then SKU or "
        "ref id. The invoice takes `nNF`, the access key, `dhEmi`, `vNF` and the quantities; `finNFe` 4 "
        "(a return) makes an input invoice. Every invoicing rule applies. NF-e of SEFAZ's test environment "
        "(`tpAmb` 2) are refused unless `ERP_BRIDGE_NFE_ALLOW_HOMOLOGATION=1`. A DOCTYPE is refused.\n\n"
        "**Idempotent by access key**: 201 the first time; the same NF-e again answers 200 with the invoice "
        "it made; its access key on another order answers 409 `nfe_key_used`."
    ),
    "tags": ["invoices"],
    "parameters": [ORDER_ID, RETRY_AFTER],
    "request": {"application/xml": OpenApiTypes.STR},
    "examples": [
        OpenApiExample(
            "nfeProc (abridged)",
            value='<?xml version="1.0" encoding="UTF-8"?><nfeProc xmlns="http://www.portalfiscal.inf.br/nfe" '
            'versao="4.00"><NFe><infNFe versao="4.00" Id="NFe3524…"><ide>…<nNF>123</nNF>…</ide>…</infNFe>'
            '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">…</Signature></NFe><protNFe versao="4.00">'
            "<infProt><tpAmb>1</tpAmb>…<chNFe>3524…</chNFe>…<cStat>100</cStat>…</infProt></protNFe></nfeProc>",
            request_only=True,
            media_type="application/xml",
        )
    ],
    "responses": _responses(
        {
            201: OpenApiResponse(InvoiceSerializer, description="Stored; it is sent to VTEX in the background."),
            200: OpenApiResponse(InvoiceSerializer, description="A replay: this NF-e made this invoice before."),
        },
        *_WRITE_ERRORS,
        e400=error(
            400,
            "The NF-e was refused; `code` names the check: `nfe_malformed`, `nfe_doctype`, `nfe_not_nfe`, "
            "`nfe_schema`, `nfe_too_large`, `nfe_access_key`, `nfe_unsigned`, `nfe_altered`, `nfe_not_authorized`, "
            "`nfe_homologation`, `nfe_purpose`, `nfe_recipient`, or `invalid` (items or value against the order).",
            (
                "altered",
                "nfe_altered",
                "The NF-e's signature does not match its content: the file was altered after it was signed.",
                {"xml": ["The NF-e's signature does not match its content: the file was altered after it was signed."]},
            ),
            (
                "unknown item",
                "invalid",
                "The NF-e's items do not match the order.",
                {
                    "det[2]": [
                        "NF-e item 2 (“Boné”, EAN 7890000000999, code XYZ) matches no item of the order "
                        "(by EAN, then SKU or ref id)."
                    ]
                },
            ),
        ),
        e409=error(
            409,
            "`nfe_key_used`: the NF-e is the invoice of another order. `not_allowed`: the order cannot be "
            "invoiced now.",
            (
                "key used",
                "nfe_key_used",
                "This NF-e (access key 35240512345678000199550010000001231000001234) is already the invoice 123 "
                "of order 1234567890123-01.",
                {"xml": ["Access key already used on another order."]},
            ),
        ),
    ),
}


#: The two rules of a tracking-events request that tie its fields together, as the shapes the schema
#: forbids (`not`: client generators ignore it, validators and schemathesis apply it):
#: delivered_at (not null) without delivered=true, and neither an event nor delivered=true.
_NOT_DELIVERED = {"not": {"required": ["delivered"], "properties": {"delivered": {"type": "boolean", "enum": [True]}}}}
TRACKING_EVENTS_FORBIDDEN = {
    "anyOf": [
        {"required": ["delivered_at"], "properties": {"delivered_at": {"type": "string"}}, **_NOT_DELIVERED},
        {
            "anyOf": [
                {"not": {"required": ["events"]}},
                {"required": ["events"], "properties": {"events": {"type": "array", "maxItems": 0}}},
            ],
            **_NOT_DELIVERED,
        },
    ]
}


def postprocess_schema(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Adds the long description (authentication, errors, idempotency, polling) to the schema's info,
    and the rules drf-spectacular cannot derive from a serializer."""
    result.setdefault("info", {})["description"] = API_DESCRIPTION
    schemas = result.get("components", {}).get("schemas", {})
    if "TrackingEventsInputRequest" in schemas:
        events = schemas["TrackingEventsInputRequest"]
        events["not"] = TRACKING_EVENTS_FORBIDDEN
        events["description"] = (
            "At least one event, or delivered=true; delivered_at only with delivered=true. (The schema's `not` "
            "says the same for validators.)"
        )
        # drf-spectacular reads no length limits of a list of serializers (DRF's min_length/max_length).
        events["properties"]["events"]["maxItems"] = EVENTS_PER_REQUEST
    if "NewInvoiceRequest" in schemas:
        schemas["NewInvoiceRequest"]["properties"]["items"]["minItems"] = 1
    # Every body the API takes is a JSON object the server needs (drf-spectacular marks a body required
    # only when its serializer has a required field: not so for tracking events).
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result
