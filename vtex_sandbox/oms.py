"""OMS orders (VTEX-API.md §1-7, §10): list and get, start-handling, cancel, invoice, tracking.

``OmsApi`` is mixed into ``SandboxStore`` (store.py): its methods work on the store's orders,
under the store's lock, and change statuses through the store (which tells the feed and the
hook). Each rule cites the VTEX-API.md section it comes from. ``ROUTES`` are the OMS routes.
"""

from __future__ import annotations

import bisect
import copy
import math
import operator
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import BadRequest, Conflict, Forbidden, NotFound, is_int, require_object
from .generator import vtex_datetime, vtex_datetime_z
from .hostile import HOSTILE_SHAPES
from .routing import Answer, Request, int_param, route
from .shapes import CURRENCIES, apply_change, fulfilling_seller, removed_quantities

# Statuses from which POST /cancel is accepted. Terminal (invoiced, canceled) and automatic
# statuses (order-created, cancel, invoice, start-handling) are not (VTEX-API.md §7, §10).
CANCELLABLE_STATUSES = frozenset(
    {
        "payment-pending",
        "payment-approved",
        "waiting-for-authorization",
        "waiting-for-seller-decision",
        "window-to-cancel",
        "ready-for-handling",
        "handling",
    }
)

# Statuses in which an order may still be changed (``change_order``): VTEX-API.md §10 says "until
# invoicing starts"; the Help Center's "Invoicing an order" also has a partially invoiced order
# changed to discount what is left, so a partial invoice does not stop a change here either.
UNCHANGEABLE_STATUSES = frozenset({"invoice", "invoiced", "cancellation-requested", "cancel", "canceled"})

# Orders another seller fulfils (the -02 of a split purchase, shapes.py). The sandbox's account is
# the marketplace and seller "1". VTEX: "The invoice should be pushed to the fulfillment account,
# not to the marketplace account" (Order invoice notification, VTEX-API.md §4), and start-handling
# moves the seller's own workflow, run in the seller's account. What VTEX answers a marketplace
# that tries either is not documented: the sandbox ASSUMES 403 with a message naming the seller.
# Tracking needs an invoice, which such an order never gets here (404 as for any unknown invoice).
# Cancel is accepted as for the account's own orders: the spec's cancel text has marketplaces ask
# sellers to cancel, and the seller may decline; the sandbox assumes the seller accepts
# (cancellation-requested, then canceled after cancel_delay_s).
_OWN_SELLER = "1"

LIST_MAX_PAGE = 30  # "restricted to the limit of 30 pages" (VTEX-API.md §1)
LIST_MAX_PER_PAGE = 100
LIST_ORDER_FIELDS = ("creationDate", "orderId", "items", "totalValue", "origin")


@dataclass
class OrderRecord:
    """One order of the store: its Get order JSON and what List orders sorts and answers by."""

    doc: dict[str, Any]  # the Get order JSON, kept current
    created: datetime
    sequence: int
    total_items: int  # Σ quantities; items never change after creation
    ready_for_handling_at: str | None = None


class OmsApi:
    """Get and List orders, start-handling, cancel, invoices and tracking (a SandboxStore mixin)."""

    # -- orders: reads --------------------------------------------------------------------------
    def order(self, order_id: str) -> dict[str, Any]:
        """The Get order JSON (a deep copy); ``order_id`` may also be ``seq{sequence}``."""
        with self._lock:
            self._apply_due_cancellations()
            doc = copy.deepcopy(self._get(order_id).doc)
            hostile = self.hostile.get(doc["orderId"])
            if hostile:
                HOSTILE_SHAPES[hostile](doc)
            return doc

    def order_group(self, group: str) -> list[dict[str, Any]]:
        """Every order of one purchase (Get orders by order group, VTEX-API.md §2): ``{group}-01``,
        ``-02``..."""
        with self._lock:
            self._apply_due_cancellations()
            docs = []
            while (record := self._orders.get(f"{group}-{len(docs) + 1:02d}")) is not None:
                docs.append(copy.deepcopy(record.doc))
            if not docs:
                raise NotFound(f"Order group {group} not found")
            return docs

    def list_orders(
        self,
        *,
        statuses: Iterable[str] = (),
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        page: int = 1,
        per_page: int = 15,
        order_by: str = "creationDate",
        descending: bool = True,
    ) -> dict[str, Any]:
        """List orders (VTEX-API.md §1): paging capped at 30 pages of at most 100 orders."""
        if page < 1 or page > LIST_MAX_PAGE:
            raise BadRequest(
                f"page must be between 1 and {LIST_MAX_PAGE}: List orders is restricted to the limit of "
                f"{LIST_MAX_PAGE} pages; narrow the search with f_creationDate instead"
            )
        if per_page < 1 or per_page > LIST_MAX_PER_PAGE:
            raise BadRequest(f"per_page must be between 1 and {LIST_MAX_PER_PAGE}")
        if order_by not in LIST_ORDER_FIELDS:
            raise BadRequest(f"orderBy field must be one of {', '.join(LIST_ORDER_FIELDS)}")
        with self._lock:
            self._apply_due_cancellations()
            records = self._matching_orders(set(statuses), _as_utc(created_from), _as_utc(created_to))
            records.sort(key=_LIST_SORT_KEYS[order_by], reverse=descending)
            start = (page - 1) * per_page
            return {
                "list": [self._summary(record) for record in records[start : start + per_page]],
                "facets": [],
                "paging": {
                    "total": len(records),
                    "pages": math.ceil(len(records) / per_page),
                    "currentPage": page,
                    "perPage": per_page,
                },
                "stats": _list_stats(records),
            }

    def _matching_orders(
        self, statuses: set[str], created_from: datetime | None, created_to: datetime | None
    ) -> list[OrderRecord]:
        # Use the status index or the creation-date index, whichever narrows more cheaply.
        if created_from is None and created_to is None:
            if statuses:
                ids = set().union(*(self._by_status.get(status, ()) for status in statuses))
                return [self._orders[order_id] for order_id in ids]
            return list(self._orders.values())
        low = 0 if created_from is None else bisect.bisect_left(self._by_creation, (created_from,))
        high = (
            len(self._by_creation)
            if created_to is None
            # Both ends are inclusive: anything created at created_to (any sequence) is kept.
            else bisect.bisect_right(self._by_creation, (created_to, math.inf))
        )
        records = (self._orders[order_id] for _created, _seq, order_id in self._by_creation[low:high])
        return [record for record in records if not statuses or record.doc["status"] in statuses]

    def _summary(self, record: OrderRecord) -> dict[str, Any]:
        doc = record.doc
        estimates = sorted(info["shippingEstimateDate"] for info in doc["shippingData"]["logisticsInfo"])
        packages = doc["packageAttachment"]["packages"]
        payments = doc["paymentData"]["transactions"][0]["payments"]
        payment_names = list(dict.fromkeys(payment["paymentSystemName"] for payment in payments))
        client = doc["clientProfileData"]
        return {
            "orderId": doc["orderId"],
            "creationDate": doc["creationDate"],
            "clientName": f"{client['firstName']} {client['lastName']}",
            "items": None,  # List orders has not returned items since 2018 (VTEX-API.md §1)
            "totalValue": doc["value"],
            "paymentNames": ", ".join(payment_names),
            "status": doc["status"],
            "statusDescription": doc["statusDescription"],
            "marketPlaceOrderId": doc["marketplaceOrderId"] or None,
            "sequence": doc["sequence"],
            "salesChannel": doc["salesChannel"],
            "affiliateId": doc["affiliateId"],
            "origin": doc["origin"],
            "workflowInErrorState": False,
            "workflowInRetry": False,
            "lastMessageUnread": None,
            "ShippingEstimatedDate": estimates[-1],
            "ShippingEstimatedDateMax": estimates[-1],
            "ShippingEstimatedDateMin": estimates[0],
            "orderIsComplete": True,
            "listId": None,
            "listType": None,
            "authorizedDate": doc["authorizedDate"],
            "callCenterOperatorName": None,
            "totalItems": record.total_items,
            "currencyCode": doc["storePreferencesData"]["currencyCode"],
            "hostname": doc["hostname"],
            "invoiceOutput": [p["invoiceNumber"] for p in packages if p["type"] == "Output"] or None,
            "invoiceInput": [p["invoiceNumber"] for p in packages if p["type"] == "Input"] or None,
            "lastChange": doc["lastChange"],
            "isAllDelivered": bool(packages) and all(delivered(p) for p in packages),
            "isAnyDelivered": any(delivered(p) for p in packages),
            "giftCardProviders": None,
            "orderFormId": doc["orderFormId"],
            "paymentApprovedDate": doc["authorizedDate"],
            "readyForHandlingDate": record.ready_for_handling_at,
            "deliveryDates": None,
        }

    # -- orders: state changes ------------------------------------------------------------------
    def start_handling(self, order_id: str) -> None:
        """ready-for-handling → handling; anything else is 409 OMS003 (VTEX-API.md §3)."""
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            _require_own_fulfilment(record.doc, "start handling")
            if record.doc["status"] != "ready-for-handling":
                raise Conflict("Order status should be ready-for-handling to perform this action", "OMS003")
            self._change_status(record, "handling")
            _increment(self._effects["start_handling"], record.doc["orderId"])
            self._start_handling_at.setdefault(record.doc["orderId"], time.time())

    def cancel(self, order_id: str, reason: str | None = None) -> dict[str, Any]:
        """Request a cancellation (VTEX-API.md §7).

        The order goes to ``cancellation-requested`` and, ``cancel_delay_s`` later, to ``canceled``
        (as in VTEX's Admin, in two steps). Orders with any invoice, or in a terminal or automatic
        status, cannot be cancelled. A repeated request is answered like the first, with no effect,
        so a client retrying after a lost answer is safe.
        """
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            doc = record.doc
            if doc["status"] in ("cancellation-requested", "canceled"):
                return self._receipt(doc)
            if doc["packageAttachment"]["packages"]:
                raise BadRequest(
                    "Order has invoices and cannot be canceled; send a return invoice (type Input) instead",
                    "OMS006",
                )
            if doc["status"] not in CANCELLABLE_STATUSES:
                raise BadRequest(f"Order status '{doc['status']}' does not allow cancellation", "OMS006")
            fill_cancellation_data(record, reason)
            self._change_status(record, "cancellation-requested")
            _increment(self._effects["cancel"], doc["orderId"])
            self._schedule_cancellation(doc["orderId"])
            return self._receipt(doc)

    # -- invoices and tracking ------------------------------------------------------------------
    def invoice(self, order_id: str, body: Any) -> dict[str, Any]:
        """Invoice notification (VTEX-API.md §4, §12.1-2).

        - The invoice number is the idempotency key: the same number with the same fiscal content
          (type, value, items, key) is accepted again with a new receipt and no new package;
          with different content it is a 409 (ASSUMED: the spec says a repeat only makes a new
          receipt, the PII spec forbids reusing a number).
        - Output invoices need ``handling`` (ASSUMED: 400 otherwise); the order becomes
          ``invoiced`` when they add up to its value (the value after any change), and they may
          never add up to more (ASSUMED: 400).
        - A SKU that is not in the order is refused (ASSUMED: 400).
        - An Input (return) invoice needs the order fully invoiced.
        - Units removed by a change cannot be invoiced (ASSUMED: VTEX's Help Center says to invoice
          the order as it is after the change; the exact answer to an invoice that does not is not
          documented, the sandbox answers 400).
        - An order another seller fulfils is invoiced by that seller, not here (403, see above).
        """
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            doc = record.doc
            _require_own_fulfilment(doc, "invoice")
            invoice = _parse_invoice(body, sku_index=_sku_index(doc), order_id=doc["orderId"])
            number = invoice["invoiceNumber"]
            existing = _find_package(doc, number)
            if existing is not None:
                if _fiscal_content(existing) != _fiscal_content(invoice):
                    raise Conflict(
                        f"Invoice number '{number}' was already sent for this order with different content; "
                        "an invoice cannot be changed, use a new invoice number"
                    )
                return self._accept_invoice(doc, number)
            if doc["status"] in ("canceled", "cancellation-requested", "cancel"):
                raise BadRequest(f"Order is {doc['status']} and cannot be invoiced")
            _check_removed_items(doc, invoice)
            if invoice["type"] == "Output":
                self._check_output_invoice(doc, invoice["invoiceValue"])
            else:
                self._check_input_invoice(doc, invoice["invoiceValue"])
            doc["packageAttachment"]["packages"].append(_package_from_invoice(invoice, doc))
            doc["allowCancellation"] = False
            if invoice["type"] == "Output" and _invoiced_total(doc, "Output") == doc["value"]:
                doc["invoicedDate"] = vtex_datetime(datetime.now(UTC))
                self._change_status(record, "invoiced")
            else:
                doc["lastChange"] = vtex_datetime(datetime.now(UTC))
            return self._accept_invoice(doc, number)

    def change_order(self, order_id: str, body: Any) -> dict[str, Any]:
        """Change an order after intake, as VTEX's order change does (shapes.apply_change): remove
        units of items, with a reason. The status stays; ``lastChange`` moves and the change is
        published to the feed and the hook with the same state (a FromOrders feed fires on any
        change; whether a FromWorkflow feed reports a change that keeps the status is UNVERIFIED:
        the sandbox reports it, so an integration re-reading on every event sees the change).

        Body: ``{"remove": [{"item_index": 0, "quantity": 1}], "reason": "..."}``. A change that
        leaves the order worth what its Output invoices already add up to makes it ``invoiced``
        (Help Center: a partial invoice, then a change that discounts the rest).
        """
        fields = require_object(body)
        reason = fields.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BadRequest("reason is required and must be a non-empty string")
        removals = _parse_removals(fields.get("remove"))
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            doc = record.doc
            if doc["status"] in UNCHANGEABLE_STATUSES:
                raise BadRequest(f"Order status '{doc['status']}' does not allow changes")
            invoiced = _invoiced_total(doc, "Output")
            trial = copy.deepcopy(doc)
            now = datetime.now(UTC)
            currency = CURRENCIES.get(doc["storePreferencesData"]["currencyCode"], CURRENCIES["BRL"])
            entry = apply_change(
                trial,
                removals,
                reason=reason,
                date=vtex_datetime(now),
                receipt=str(uuid.uuid4()),
                change_total_name=currency.totals_names[4],
            )
            if trial["value"] < invoiced:
                raise BadRequest(
                    f"The order would be worth {trial['value']}, less than its invoices ({invoiced}); "
                    "send a return invoice instead"
                )
            for key in ("changesAttachment", "totals", "value"):
                doc[key] = trial[key]
            if invoiced and invoiced == doc["value"]:
                doc["invoicedDate"] = vtex_datetime(now)
                self._change_status(record, "invoiced")
            else:
                old_change = doc["lastChange"]
                doc["lastChange"] = vtex_datetime(now)
                self._publish(doc, state=doc["status"], last_state=doc["status"], last_change=old_change)
            return {**entry["receipt"], "value": doc["value"]}

    def _accept_invoice(self, doc: dict[str, Any], number: str) -> dict[str, Any]:
        _increment(self._effects["invoice"].setdefault(doc["orderId"], {}), number)
        return self._receipt(doc)

    @staticmethod
    def _check_output_invoice(doc: dict[str, Any], value: int) -> None:
        status = doc["status"]
        if status not in ("handling", "invoiced"):
            raise BadRequest(
                f"Order status should be handling to receive an invoice (it is '{status}'); call start-handling first"
            )
        already = _invoiced_total(doc, "Output")
        if already + value > doc["value"]:
            raise BadRequest(
                f"invoiceValue {value} exceeds the amount left to invoice: order value {doc['value']}, "
                f"already invoiced {already}"
            )

    @staticmethod
    def _check_input_invoice(doc: dict[str, Any], value: int) -> None:
        if doc["status"] != "invoiced":
            raise BadRequest("A return invoice (type Input) needs the order fully invoiced first")
        returned = _invoiced_total(doc, "Input")
        if returned + value > _invoiced_total(doc, "Output"):
            raise BadRequest(
                f"invoiceValue {value} exceeds what can still be returned: invoiced "
                f"{_invoiced_total(doc, 'Output')}, already returned {returned}"
            )

    def update_invoice_tracking(self, order_id: str, invoice_number: str, body: Any) -> dict[str, Any]:
        """Add the tracking number to an invoice (VTEX-API.md §5)."""
        fields = require_object(body)
        tracking_number = fields.get("trackingNumber")
        if not isinstance(tracking_number, str) or not tracking_number:
            raise BadRequest("trackingNumber is required and must be a non-empty string")
        for name in ("trackingUrl", "courier", "dispatchedDate"):
            if name not in fields:
                raise BadRequest(f"Missing required field '{name}' (send null when unknown)")
            _check_optional_string(fields, name)
        with self._lock:
            self._apply_due_cancellations()
            doc = self._get(order_id).doc
            package = self._get_package(doc, invoice_number)
            for name in ("trackingNumber", "trackingUrl", "courier", "dispatchedDate"):
                package[name] = fields[name]
            _increment(self._effects["tracking"].setdefault(doc["orderId"], {}), invoice_number)
            return self._receipt(doc)

    def put_tracking_events(self, order_id: str, invoice_number: str, body: Any) -> dict[str, Any]:
        """Tracking events and delivery of an invoice (VTEX-API.md §6)."""
        fields = require_object(body)
        if not isinstance(fields.get("isDelivered"), bool):
            raise BadRequest("isDelivered is required and must be a boolean")
        if "deliveredDate" not in fields:
            raise BadRequest("Missing required field 'deliveredDate' (send null when not delivered)")
        _check_optional_string(fields, "deliveredDate")
        events = _parse_tracking_events(fields.get("events"))
        with self._lock:
            self._apply_due_cancellations()
            doc = self._get(order_id).doc
            package = self._get_package(doc, invoice_number)
            if not package.get("trackingNumber"):
                raise BadRequest(
                    f"Invoice '{invoice_number}' has no tracking number; add one with PATCH .../invoice/"
                    f"{invoice_number} first"
                )
            now = vtex_datetime(datetime.now(UTC))
            delivered = fields["isDelivered"]
            package["courierStatus"] = {
                "status": "delivered" if delivered else "in-transit",
                "finished": delivered,
                "deliveredDate": fields["deliveredDate"],
                "data": [
                    {
                        "lastChange": now,
                        "city": e["city"],
                        "state": e["state"],
                        "description": e["description"],
                        "createDate": e["date"],
                    }
                    for e in events
                ],
            }
            _increment(self._effects["tracking_events"].setdefault(doc["orderId"], {}), invoice_number)
            return self._receipt(doc)

    @staticmethod
    def _get_package(doc: dict[str, Any], invoice_number: str) -> dict[str, Any]:
        package = _find_package(doc, invoice_number)
        if package is None:
            raise NotFound(f"Invoice '{invoice_number}' not found on order {doc['orderId']}")
        return package

    @staticmethod
    def _receipt(doc: dict[str, Any]) -> dict[str, Any]:
        return {"date": vtex_datetime(datetime.now(UTC)), "orderId": doc["orderId"], "receipt": uuid.uuid4().hex}


def _require_own_fulfilment(doc: dict[str, Any], action: str) -> None:
    seller = fulfilling_seller(doc)
    if seller != _OWN_SELLER:
        raise Forbidden(
            f"Order {doc['orderId']} is fulfilled by seller '{seller}': only the seller's account can {action} it "
            "(invoices go to the fulfillment account, not to the marketplace's)"
        )


def _check_removed_items(doc: dict[str, Any], invoice: dict[str, Any]) -> None:
    """Refuse an invoice that has more units of an item than a change left in the order."""
    removed = removed_quantities(doc)
    for position, line in enumerate(invoice["items"]):
        gone = removed.get(line["itemIndex"], 0)
        if not gone:
            continue
        item = doc["items"][line["itemIndex"]]
        left = item["quantity"] - gone
        if line["quantity"] > left:
            raise BadRequest(
                f"items[{position}]: {gone} of the {item['quantity']} unit(s) of SKU {item['id']} were removed from "
                f"order {doc['orderId']} by a change; invoice the order as it is after the change "
                f"(at most {left} unit(s) of this SKU, not {line['quantity']})"
            )


def _parse_removals(value: Any) -> list[tuple[int, int]]:
    if not isinstance(value, list) or not value:
        raise BadRequest("remove is required: a non-empty list of {item_index, quantity}")
    removals = []
    for position, entry in enumerate(value):
        if not isinstance(entry, dict) or not is_int(entry.get("item_index")) or not is_int(entry.get("quantity")):
            raise BadRequest(f'remove[{position}] must be {{"item_index": int, "quantity": int}}')
        removals.append((entry["item_index"], entry["quantity"]))
    return removals


def fill_cancellation_data(record: OrderRecord, reason: str | None) -> None:
    """Record a cancellation the customer asked for (by ``cancel``, or forced by ``set_status``)."""
    record.doc["cancelReason"] = reason
    record.doc["cancellationData"] = {
        "RequestedByUser": True,
        "RequestedBySystem": False,
        "RequestedBySellerNotification": False,
        "RequestedByPaymentNotification": False,
        "Reason": reason,
        "CancellationDate": vtex_datetime_z(datetime.now(UTC)),
    }


# -- request parsing (pure functions) ---------------------------------------------------------------
def _check_optional_string(fields: dict[str, Any], name: str) -> None:
    if fields.get(name) is not None and not isinstance(fields[name], str):
        raise BadRequest(f"{name} must be a string or null")


def _parse_cents(value: Any) -> int:
    """invoiceValue: the spec types it as a string, the PII spec as an integer; both are cents
    without a decimal separator (VTEX-API.md §4, §12.2)."""
    if is_int(value):
        cents = value
    elif isinstance(value, str) and value.strip().isdigit():
        cents = int(value.strip())
    elif isinstance(value, float) or (isinstance(value, str) and ("." in value or "," in value)):
        raise BadRequest(
            f"invoiceValue must be in cents without a decimal separator (e.g. 2499 for R$ 24,99), got {value!r}"
        )
    else:
        raise BadRequest(f"invoiceValue must be an integer (or a string of digits) in cents, got {value!r}")
    if cents <= 0:
        raise BadRequest("invoiceValue must be greater than zero")
    return cents


def _parse_date_time(value: Any, name: str) -> str:
    if not isinstance(value, str) or ("T" not in value and " " not in value.strip()):
        raise BadRequest(f"{name} must be an ISO 8601 date and time, e.g. 2024-01-31T18:25:43-03:00")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 date and time, e.g. 2024-01-31T18:25:43-03:00") from None
    return value


_INVOICE_OPTIONAL_STRINGS = (
    "invoiceKey",
    "invoiceUrl",
    "embeddedInvoice",
    "courier",
    "trackingNumber",
    "trackingUrl",
    "dispatchedDate",
)


def _parse_invoice(body: Any, *, sku_index: dict[str, int], order_id: str) -> dict[str, Any]:
    fields = require_object(body)
    for name in ("type", "issuanceDate", "invoiceNumber", "invoiceValue", "items"):
        if name not in fields or fields[name] is None:
            raise BadRequest(f"Missing required field '{name}'")
    if fields["type"] not in ("Output", "Input"):
        raise BadRequest("type must be 'Output' (sale) or 'Input' (return)")
    number = fields["invoiceNumber"]
    if not isinstance(number, str) or not number.strip():
        raise BadRequest("invoiceNumber must be a non-empty string")
    if "/" in number:
        raise BadRequest("invoiceNumber must not contain '/' (it is part of the tracking URLs)")
    for name in _INVOICE_OPTIONAL_STRINGS:
        _check_optional_string(fields, name)
    return {
        "type": fields["type"],
        "issuanceDate": _parse_date_time(fields["issuanceDate"], "issuanceDate"),
        "invoiceNumber": number,
        "invoiceValue": _parse_cents(fields["invoiceValue"]),
        "items": _parse_invoice_items(fields["items"], sku_index, order_id),
        **{name: fields.get(name) for name in _INVOICE_OPTIONAL_STRINGS},
    }


def _parse_invoice_items(items: Any, sku_index: dict[str, int], order_id: str) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise BadRequest("items must be a list")
    parsed = []
    for position, item in enumerate(items):
        where = f"items[{position}]"
        if not isinstance(item, dict):
            raise BadRequest(f"{where} must be an object")
        sku = item.get("id")
        if not isinstance(sku, str):
            raise BadRequest(f"{where}.id is required and must be a string (the SKU id)")
        if sku not in sku_index:
            raise BadRequest(f"{where}.id '{sku}' is not a SKU of order {order_id}")
        if not is_int(item.get("price")) or item["price"] < 0:
            raise BadRequest(f"{where}.price is required and must be an integer in cents (unit price)")
        if not is_int(item.get("quantity")) or item["quantity"] < 1:
            raise BadRequest(f"{where}.quantity is required and must be a positive integer")
        description = item.get("description")
        if description is not None and not isinstance(description, str):
            raise BadRequest(f"{where}.description must be a string")
        parsed.append(
            {
                "id": sku,
                "itemIndex": sku_index[sku],
                "price": item["price"],
                "quantity": item["quantity"],
                "description": description,
            }
        )
    return parsed


def _parse_tracking_events(events: Any) -> list[dict[str, str]]:
    if not isinstance(events, list):
        raise BadRequest("events is required and must be a list")
    for position, event in enumerate(events):
        if not isinstance(event, dict):
            raise BadRequest(f"events[{position}] must be an object")
        for name in ("city", "state", "description", "date"):
            if not isinstance(event.get(name), str):
                raise BadRequest(f"events[{position}].{name} is required and must be a string")
    return events


def _as_utc(moment: datetime | None) -> datetime | None:
    """VTEX's filter dates end in Z; a date without an offset is taken as UTC too."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# -- order document helpers -----------------------------------------------------------------------
def _increment(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _sku_index(doc: dict[str, Any]) -> dict[str, int]:
    # Items have no itemIndex field: the index is the array position (VTEX-API.md §2).
    index: dict[str, int] = {}
    for position, item in enumerate(doc["items"]):
        index.setdefault(item["id"], position)
    return index


def _find_package(doc: dict[str, Any], invoice_number: str) -> dict[str, Any] | None:
    for package in doc["packageAttachment"]["packages"]:
        if package["invoiceNumber"] == invoice_number:
            return package
    return None


def _invoiced_total(doc: dict[str, Any], kind: str) -> int:
    return sum(p["invoiceValue"] for p in doc["packageAttachment"]["packages"] if p["type"] == kind)


def _fiscal_content(invoice: dict[str, Any]) -> tuple[Any, ...]:
    """What may not change when an invoice number is sent again (VTEX-API.md §4): its type, value,
    items and access key. Dates, URLs and tracking may differ on a retry (tracking is PATCHed later)."""
    items = tuple(sorted((item["itemIndex"], item["price"], item["quantity"]) for item in invoice["items"]))
    return invoice["type"], invoice["invoiceValue"], items, invoice.get("invoiceKey") or None


def _package_from_invoice(invoice: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    package = {
        "items": [
            {
                "itemIndex": item["itemIndex"],
                "quantity": item["quantity"],
                "price": item["price"],
                "description": item["description"],
                "unitMultiplier": doc["items"][item["itemIndex"]]["unitMultiplier"],
            }
            for item in invoice["items"]
        ],
        "courier": invoice["courier"],
        "invoiceNumber": invoice["invoiceNumber"],
        "invoiceValue": invoice["invoiceValue"],
        "invoiceUrl": invoice["invoiceUrl"],
        "issuanceDate": invoice["issuanceDate"],
        "trackingNumber": invoice["trackingNumber"],
        "invoiceKey": invoice["invoiceKey"],
        "trackingUrl": invoice["trackingUrl"],
        "embeddedInvoice": invoice["embeddedInvoice"] or "",
        "type": invoice["type"],
        "courierStatus": None,
        "cfop": None,
        "restitutions": {},
        "volumes": 1,
        "EnableInferItems": None,
        "dispatchedDate": invoice["dispatchedDate"],
    }
    if invoice["type"] == "Input":
        package["restitutions"] = {
            "Refund": {
                "value": invoice["invoiceValue"],
                "giftCardData": None,
                "items": [
                    {
                        "useFreight": None,
                        "isCompensation": False,
                        "compensationValue": 0,
                        "id": item["id"],
                        "quantity": item["quantity"],
                        "price": item["price"],
                        "description": item["description"] or "",
                    }
                    for item in invoice["items"]
                ],
            }
        }
    return package


def delivered(package: dict[str, Any]) -> bool:
    return bool((package.get("courierStatus") or {}).get("finished"))


# -- list helpers ---------------------------------------------------------------------------------
_LIST_SORT_KEYS: dict[str, Callable[[OrderRecord], Any]] = {
    "creationDate": lambda record: (record.created, record.sequence),
    "orderId": lambda record: record.doc["orderId"],
    "items": lambda record: (record.total_items, record.sequence),
    "totalValue": lambda record: (record.doc["value"], record.sequence),
    "origin": lambda record: (record.doc["origin"], record.sequence),
}


def _stat(values: list[int]) -> dict[str, Any]:
    # An empty bucket answers integer zeros: the spec types some of its Mean/StdDev as integer.
    count = len(values)
    total = sum(values)
    sum_of_squares = sum(map(operator.mul, values, values))
    mean = total / count if count else 0
    variance = max(0.0, sum_of_squares / count - mean * mean) if count else 0
    return {
        "Count": count,
        "Max": max(values, default=0),
        "Mean": mean,
        "Min": min(values, default=0),
        "Missing": 0,
        "StdDev": math.sqrt(variance) if count else 0,
        "Sum": total,
        "SumOfSquares": sum_of_squares,
        "Facets": None,
    }


def _list_stats(records: list[OrderRecord]) -> dict[str, Any]:
    """The ``stats`` block of List orders, over every matching order (not just the page)."""
    values_by_origin: dict[str, list[int]] = {"Fulfillment": [], "Marketplace": []}
    items_by_origin: dict[str, list[int]] = {"Fulfillment": [], "Marketplace": []}
    values_by_currency: dict[str, list[int]] = {}
    items_by_currency: dict[str, list[int]] = {}
    for record in records:
        origin = record.doc["origin"]
        currency = record.doc["storePreferencesData"]["currencyCode"]
        values_by_origin.setdefault(origin, []).append(record.doc["value"])
        items_by_origin.setdefault(origin, []).append(record.total_items)
        values_by_currency.setdefault(currency, []).append(record.doc["value"])
        items_by_currency.setdefault(currency, []).append(record.total_items)

    def block(by_origin: dict[str, list[int]], by_currency: dict[str, list[int]]) -> dict[str, Any]:
        overall = _stat([value for values in by_origin.values() for value in values])
        return {
            **overall,
            "Facets": {
                "origin": {origin: _stat(values) for origin, values in by_origin.items()},
                "currencyCode": {currency: _stat(values) for currency, values in by_currency.items()}
                or {"BRL": dict(overall)},
            },
        }

    return {
        "stats": {
            "totalValue": block(values_by_origin, values_by_currency),
            "totalItems": block(items_by_origin, items_by_currency),
        }
    }


# -- routes -----------------------------------------------------------------------------------------
_CREATION_DATE_FILTER = re.compile(r"^creationDate:\[(?P<start>[^\]]+?) TO (?P<end>[^\]]+?)\]$")


def _parse_filter_date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest(f"f_creationDate: '{text}' is not an ISO 8601 date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _list_orders(store: OmsApi, request: Request) -> Answer:
    query = request.query
    statuses = [status.strip() for status in query.get("f_status", "").split(",") if status.strip()]
    created_from = created_to = None
    if query.get("f_creationDate"):
        match = _CREATION_DATE_FILTER.match(query["f_creationDate"].strip())
        if match is None:
            raise BadRequest(
                "f_creationDate must look like creationDate:[2024-01-01T00:00:00.000Z TO 2024-01-02T00:00:00.000Z]"
            )
        created_from, created_to = _parse_filter_date(match["start"]), _parse_filter_date(match["end"])
    field_name, _, direction = query.get("orderBy", "creationDate,desc").partition(",")
    if direction.lower() not in ("asc", "desc", ""):
        raise BadRequest("orderBy must look like creationDate,desc (direction asc or desc)")
    answer = store.list_orders(
        statuses=statuses,
        created_from=created_from,
        created_to=created_to,
        page=int_param(query, "page", 1),
        per_page=int_param(query, "per_page", 15),
        order_by=field_name,
        descending=direction.lower() != "asc",
    )
    return Answer(200, answer)


def _get_order(store: OmsApi, request: Request) -> Answer:
    return Answer(200, store.order(request.params["orderId"]))


def _get_order_group(store: OmsApi, request: Request) -> Answer:
    return Answer(200, store.order_group(request.params["orderGroup"]))


def _start_handling(store: OmsApi, request: Request) -> Answer:
    store.start_handling(request.params["orderId"])
    return Answer(204)


def _cancel(store: OmsApi, request: Request) -> Answer:
    body = request.body if request.body is not None else {}
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("reason must be a string")
    return Answer(200, store.cancel(request.params["orderId"], reason))


def _invoice(store: OmsApi, request: Request) -> Answer:
    return Answer(200, store.invoice(request.params["orderId"], request.body))


def _invoice_tracking_number(store: OmsApi, request: Request) -> Answer:
    params = request.params
    return Answer(200, store.update_invoice_tracking(params["orderId"], params["invoiceNumber"], request.body))


def _invoice_tracking_events(store: OmsApi, request: Request) -> Answer:
    params = request.params
    return Answer(200, store.put_tracking_events(params["orderId"], params["invoiceNumber"], request.body))


ROUTES = (
    route("GET", "/api/oms/pvt/orders", "list_orders", _list_orders),
    route("GET", "/api/oms/pvt/orders/order-group/{orderGroup}", "get_order_group", _get_order_group),
    route("GET", "/api/oms/pvt/orders/{orderId}", "get_order", _get_order),
    route("POST", "/api/oms/pvt/orders/{orderId}/start-handling", "start_handling", _start_handling),
    route("POST", "/api/oms/pvt/orders/{orderId}/cancel", "cancel", _cancel),
    route("POST", "/api/oms/pvt/orders/{orderId}/invoice", "invoice", _invoice),
    route(
        "PATCH",
        "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}",
        "invoice_tracking_number",
        _invoice_tracking_number,
    ),
    route(
        "PUT",
        "/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}/tracking",
        "invoice_tracking_events",
        _invoice_tracking_events,
    ),
)
