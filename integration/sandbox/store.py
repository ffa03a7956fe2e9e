"""The sandbox store's state and VTEX's rules, with no HTTP server in it.

One re-entrant lock guards everything, so the HTTP server can call the store from many threads.
Every rule cites the VTEX-API.md section it comes from. Errors are raised as ``StoreError``
subclasses that carry the HTTP status and the VTEX error code the server answers with.

The only outbound HTTP here is the hook (VTEX-API.md §9): a ping when a hook is configured,
and best-effort notifications from a background thread.
"""

from __future__ import annotations

import bisect
import copy
import heapq
import hmac
import json
import logging
import math
import operator
import queue
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .orders import PREVIOUS_STATUS, STATUS_DESCRIPTIONS, OrderGenerator, vtex_datetime, vtex_datetime_z

logger = logging.getLogger("integration.sandbox")

DEFAULT_APP_KEY = "vtexappkey-sandbox"
DEFAULT_APP_TOKEN = "sandbox-token"

# Statuses a feed/hook filter may name (VTEX-API.md §9), plus the extra flow statuses of §10.
FEED_FILTER_STATUSES = frozenset(
    {
        "order-created",
        "on-order-completed",
        "on-order-completed-ffm",
        "payment-pending",
        "waiting-for-order-authorization",
        "approve-payment",
        "payment-approved",
        "request-cancel",
        "waiting-for-seller-decision",
        "waiting-ffmt-authorization",
        "waiting-for-authorization",
        "waiting-for-manual-authorization",
        "authorize-fulfillment",
        "order-create-error",
        "order-creation-error",
        "window-to-cancel",
        "window-to-change-seller",
        "waiting-for-mkt-authorization",
        "waiting-seller-handling",
        "ready-for-handling",
        "start-handling",
        "handling",
        "invoice-after-cancellation-deny",
        "order-accepted",
        "invoice",
        "invoiced",
        "replaced",
        "cancellation-requested",
        "cancel",
        "canceled",
    }
)
KNOWN_STATUSES = FEED_FILTER_STATUSES | set(STATUS_DESCRIPTIONS)

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
# Orders cannot be created already invoiced: their invoices would be missing.
UNCREATABLE_STATUSES = frozenset({"invoice", "invoiced"})

LIST_MAX_PAGE = 30  # "restricted to the limit of 30 pages" (VTEX-API.md §1)
LIST_MAX_PER_PAGE = 100
LIST_ORDER_FIELDS = ("creationDate", "orderId", "items", "totalValue", "origin")
FEED_MAX_LOT = 10  # VTEX-API.md §9
FEED_RETENTION_MIN_S = 345_600  # 4 days
FEED_RETENTION_MAX_S = 1_209_600  # 14 days
FEED_VISIBILITY_MAX_S = 43_200  # SQS's maximum; VTEX's feed is SQS-based (VTEX-API.md §9)
HOOK_TIMEOUT_S = 5.0  # VTEX expects the hook endpoint to answer within 5000 ms (VTEX-API.md §9)


class StoreError(Exception):
    """A VTEX error answer: HTTP status, VTEX error code and message."""

    http_status = 400

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or str(self.http_status)


class BadRequest(StoreError):
    http_status = 400


class NotFound(StoreError, LookupError):
    http_status = 404


class Conflict(StoreError):
    http_status = 409


@dataclass
class _OrderRecord:
    doc: dict[str, Any]  # the Get order JSON, kept current
    created: datetime
    sequence: int
    total_items: int  # Σ quantities; items never change after creation
    ready_for_handling_at: str | None = None


@dataclass
class _FeedMessage:
    message_id: int
    event: dict[str, Any]  # the event without its handle
    enqueued_at: float
    visible_at: float = 0.0
    handle: str | None = None


@dataclass
class _Feed:
    config: dict[str, Any]
    messages: dict[int, _FeedMessage] = field(default_factory=dict)  # insertion order = FIFO
    handles: dict[str, int] = field(default_factory=dict)  # current handle -> message id


class SandboxStore:
    """A fake VTEX account: OMS orders, their payments, Feed v3 and the order hook."""

    def __init__(
        self,
        orders: int = 50,
        seed: int | None = 1,
        app_key: str = DEFAULT_APP_KEY,
        app_token: str = DEFAULT_APP_TOKEN,
        account: str = "sandbox",
        cancel_delay_s: float = 0.0,
        *,
        feed_duplicate_rate: float = 0.0,
        feed_shuffle: bool = False,
        now: datetime | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``now`` anchors the generated dates (default: the current time); ``clock`` is the
        monotonic clock used for feed visibility and the cancellation delay (tests fake it)."""
        self.account = account
        self.app_key = app_key
        self._app_token = app_token
        self.cancel_delay_s = cancel_delay_s
        self.feed_duplicate_rate = feed_duplicate_rate
        self.feed_shuffle = feed_shuffle
        self._clock = clock
        self._lock = threading.RLock()
        self._generator = OrderGenerator(seed=seed, account=account)
        self._feed_rng = random.Random(f"feed-{seed}")
        self._next_sequence = self._generator.first_sequence

        self._orders: dict[str, _OrderRecord] = {}
        self._by_sequence: dict[str, str] = {}
        self._by_status: dict[str, set[str]] = {}
        self._by_transaction: dict[str, str] = {}
        self._by_creation: list[tuple[datetime, int, str]] = []  # sorted (created, sequence, orderId)
        self._cancellations_due: list[tuple[float, str]] = []  # heap of (clock time, orderId)

        self._effects: dict[str, dict[str, Any]] = {
            "start_handling": {},
            "invoice": {},
            "tracking": {},
            "tracking_events": {},
            "cancel": {},
        }
        self._requests: dict[str, int] = {"total": 0, "429": 0}
        self._feed: _Feed | None = None
        self._feed_message_ids = 0
        self._hook_config: dict[str, Any] | None = None
        self._hook = HookNotifier()

        start = now or datetime.now(UTC)
        for created in self._generator.spread_creation_dates(orders, start):
            # Ready for handling once VTEX's 30-minute window-to-cancel is over (VTEX-API.md §10).
            self._create_order(created, "ready-for-handling", created + timedelta(minutes=31))

    def __repr__(self) -> str:  # never show the token
        return f"<SandboxStore account={self.account!r} app_key={self.app_key!r} orders={len(self._orders)}>"

    # -- credentials and bookkeeping ------------------------------------------------------------
    def credentials_match(self, app_key: str | None, app_token: str | None) -> bool:
        return hmac.compare_digest((app_key or "").encode(), self.app_key.encode()) and hmac.compare_digest(
            (app_token or "").encode(), self._app_token.encode()
        )

    def record_request(self, route: str, status: int | None) -> None:
        """Count one VTEX-route request; ``status`` is None when no answer was sent."""
        with self._lock:
            self._requests["total"] += 1
            self._requests[route] = self._requests.get(route, 0) + 1
            if status == 429:
                self._requests["429"] += 1

    @property
    def requests_count(self) -> dict[str, int]:
        with self._lock:
            return dict(self._requests)

    @property
    def effects(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._effects)

    # -- orders: creation and reads -------------------------------------------------------------
    def add_orders(self, count: int, status: str = "ready-for-handling") -> list[str]:
        if status not in KNOWN_STATUSES or status in UNCREATABLE_STATUSES:
            raise ValueError(f"cannot create orders in status {status!r}")
        if count < 0:
            raise ValueError("count must not be negative")
        with self._lock:
            now = datetime.now(UTC)
            return [self._create_order(now, status, now) for _ in range(count)]

    def order(self, order_id: str) -> dict[str, Any]:
        """The Get order JSON (a deep copy); ``order_id`` may also be ``seq{sequence}``."""
        with self._lock:
            self._apply_due_cancellations()
            return copy.deepcopy(self._get(order_id).doc)

    def order_ids(self) -> list[str]:
        """Every order id, oldest first."""
        with self._lock:
            return [order_id for _created, _seq, order_id in self._by_creation]

    def orders_by_status(self, status: str) -> list[str]:
        """Ids of the orders now in ``status``, oldest first."""
        with self._lock:
            self._apply_due_cancellations()
            ids = self._by_status.get(status, set())
            return sorted(ids, key=lambda order_id: self._orders[order_id].sequence)

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
    ) -> list[_OrderRecord]:
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

    def _summary(self, record: _OrderRecord) -> dict[str, Any]:
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
            "currencyCode": "BRL",
            "hostname": doc["hostname"],
            "invoiceOutput": [p["invoiceNumber"] for p in packages if p["type"] == "Output"] or None,
            "invoiceInput": [p["invoiceNumber"] for p in packages if p["type"] == "Input"] or None,
            "lastChange": doc["lastChange"],
            "isAllDelivered": bool(packages) and all(_delivered(p) for p in packages),
            "isAnyDelivered": any(_delivered(p) for p in packages),
            "giftCardProviders": None,
            "orderFormId": doc["orderFormId"],
            "paymentApprovedDate": doc["authorizedDate"],
            "readyForHandlingDate": record.ready_for_handling_at,
            "deliveryDates": None,
        }

    # -- orders: state changes ------------------------------------------------------------------
    def set_status(self, order_id: str, status: str) -> None:
        """Force a status, as VTEX or the customer would (e.g. ``canceled``), bypassing the rules."""
        if status not in KNOWN_STATUSES:
            raise ValueError(f"unknown order status {status!r}")
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            if status == "canceled" and record.doc["cancellationData"] is None:
                self._fill_cancellation_data(record, "Cancelamento solicitado pelo cliente")
            self._change_status(record, status)

    def start_handling(self, order_id: str) -> None:
        """ready-for-handling → handling; anything else is 409 OMS003 (VTEX-API.md §3)."""
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            if record.doc["status"] != "ready-for-handling":
                raise Conflict("Order status should be ready-for-handling to perform this action", "OMS003")
            self._change_status(record, "handling")
            _increment(self._effects["start_handling"], record.doc["orderId"])

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
            self._fill_cancellation_data(record, reason)
            self._change_status(record, "cancellation-requested")
            _increment(self._effects["cancel"], doc["orderId"])
            self._schedule_cancellation(doc["orderId"])
            return self._receipt(doc)

    def _fill_cancellation_data(self, record: _OrderRecord, reason: str | None) -> None:
        record.doc["cancelReason"] = reason
        record.doc["cancellationData"] = {
            "RequestedByUser": True,
            "RequestedBySystem": False,
            "RequestedBySellerNotification": False,
            "RequestedByPaymentNotification": False,
            "Reason": reason,
            "CancellationDate": vtex_datetime_z(datetime.now(UTC)),
        }

    def _schedule_cancellation(self, order_id: str) -> None:
        heapq.heappush(self._cancellations_due, (self._clock() + self.cancel_delay_s, order_id))
        if self.cancel_delay_s > 0:
            # Reads apply due cancellations lazily; the timer makes the feed/hook see them too
            # when nobody reads.
            timer = threading.Timer(self.cancel_delay_s + 0.01, self._apply_due_cancellations_locked)
            timer.daemon = True
            timer.start()

    def _apply_due_cancellations_locked(self) -> None:
        with self._lock:
            self._apply_due_cancellations()

    def _apply_due_cancellations(self) -> None:
        """Complete the cancellations whose delay is over (the caller holds the lock)."""
        now = self._clock()
        while self._cancellations_due and self._cancellations_due[0][0] <= now:
            _due, order_id = heapq.heappop(self._cancellations_due)
            record = self._orders[order_id]
            if record.doc["status"] == "cancellation-requested":
                self._change_status(record, "canceled")

    # -- invoices and tracking ------------------------------------------------------------------
    def invoice(self, order_id: str, body: Any) -> dict[str, Any]:
        """Invoice notification (VTEX-API.md §4, §12.1-2).

        - The invoice number is the idempotency key: the same number with the same fiscal content
          (type, value, items, key) is accepted again with a new receipt and no new package;
          with different content it is a 409.
        - Output invoices need ``handling``; the order becomes ``invoiced`` when they add up to
          its value, and they may never add up to more.
        - An Input (return) invoice needs the order fully invoiced.
        """
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            doc = record.doc
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
            if invoice["type"] == "Output":
                self._check_output_invoice(doc, invoice["invoiceValue"])
            else:
                self._check_input_invoice(doc, invoice["invoiceValue"])
            doc["packageAttachment"]["packages"].append(_package_from_invoice(invoice))
            doc["allowCancellation"] = False
            if invoice["type"] == "Output" and _invoiced_total(doc, "Output") == doc["value"]:
                doc["invoicedDate"] = vtex_datetime(datetime.now(UTC))
                self._change_status(record, "invoiced")
            else:
                doc["lastChange"] = vtex_datetime(datetime.now(UTC))
            return self._accept_invoice(doc, number)

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
        fields = _require_object(body)
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
        fields = _require_object(body)
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

    # -- payments -------------------------------------------------------------------------------
    def payment_transaction(self, order_id: str) -> dict[str, Any]:
        """OMS's view of the order's transaction (VTEX-API.md §8, last paragraph)."""
        with self._lock:
            self._apply_due_cancellations()
            doc = self._get(order_id).doc
            transaction = doc["paymentData"]["transactions"][0]
            return {
                "status": _transaction_status(doc),
                "isActive": transaction["isActive"],
                "transactionId": transaction["transactionId"],
                "merchantName": transaction["merchantName"],
                "payments": [
                    {key: copy.deepcopy(payment[key]) for key in _OMS_PAYMENT_FIELDS}
                    for payment in transaction["payments"]
                ],
            }

    def transaction(self, transaction_id: str) -> dict[str, Any]:
        """Payments Gateway transaction (VTEX-API.md §8)."""
        with self._lock:
            self._apply_due_cancellations()
            record = self._get_by_transaction(transaction_id)
            return _gateway_transaction(record, transaction_id, owner=self.app_key)

    def transaction_payments(self, transaction_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._apply_due_cancellations()
            doc = self._get_by_transaction(transaction_id).doc
            return [
                _gateway_payment(doc, transaction_id, payment)
                for payment in doc["paymentData"]["transactions"][0]["payments"]
            ]

    def transaction_payment(self, transaction_id: str, payment_id: str) -> dict[str, Any]:
        for payment in self.transaction_payments(transaction_id):
            if payment["id"] == payment_id:
                return payment
        raise NotFound(f"Payment {payment_id} not found in transaction {transaction_id}")

    def _get_by_transaction(self, transaction_id: str) -> _OrderRecord:
        order_id = self._by_transaction.get(transaction_id.upper())
        if order_id is None:
            raise NotFound(f"Transaction {transaction_id} not found")
        return self._orders[order_id]

    # -- feed v3 --------------------------------------------------------------------------------
    def set_feed_config(self, body: Any) -> dict[str, Any]:
        """Create or replace the feed config (VTEX-API.md §9); the queue is kept."""
        fields = _require_object(body)
        config = {"filter": _parse_filter(fields.get("filter")), "queue": _parse_queue(fields.get("queue"))}
        with self._lock:
            if self._feed is None:
                self._feed = _Feed(config=config)
            else:
                self._feed.config = config
            return self._feed_config_answer(self._feed)

    def feed_config(self) -> dict[str, Any]:
        with self._lock:
            self._apply_due_cancellations()
            return self._feed_config_answer(self._require_feed())

    def delete_feed_config(self) -> None:
        with self._lock:
            self._require_feed()
            self._feed = None

    def read_feed(self, maxlot: int) -> list[dict[str, Any]]:
        """Up to ``maxlot`` visible events; each is hidden for the visibility timeout and gets a
        new handle, and comes back unless committed (VTEX-API.md §9)."""
        if not 1 <= maxlot <= FEED_MAX_LOT:
            raise BadRequest(f"maxlot must be between 1 and {FEED_MAX_LOT}")
        with self._lock:
            self._apply_due_cancellations()
            feed = self._require_feed()
            now = self._clock()
            self._drop_expired_messages(feed, now)
            visible = [message for message in feed.messages.values() if message.visible_at <= now]
            if self.feed_shuffle:
                self._feed_rng.shuffle(visible)  # SQS guarantees no order (VTEX-API.md §9)
            batch = visible[:maxlot]
            for message in batch:
                if message.handle is not None:
                    feed.handles.pop(message.handle, None)
                message.handle = secrets.token_urlsafe(48)
                message.visible_at = now + feed.config["queue"]["visibilityTimeoutInSeconds"]
                feed.handles[message.handle] = message.message_id
            return [dict(message.event, handle=message.handle) for message in batch]

    def commit_feed(self, body: Any) -> None:
        """Delete the events with these handles; unknown or stale handles are ignored."""
        handles = _require_object(body).get("handles")
        if not isinstance(handles, list) or not all(isinstance(handle, str) for handle in handles):
            raise BadRequest("handles is required and must be a list of strings")
        with self._lock:
            feed = self._require_feed()
            for handle in handles:
                message_id = feed.handles.pop(handle, None)
                if message_id is not None:
                    feed.messages.pop(message_id, None)

    def _require_feed(self) -> _Feed:
        if self._feed is None:
            raise NotFound("Feed configuration not found for this appKey; POST /api/orders/feed/config first")
        return self._feed

    def _feed_config_answer(self, feed: _Feed) -> dict[str, Any]:
        now = self._clock()
        self._drop_expired_messages(feed, now)
        oldest = next(iter(feed.messages.values()), None)
        answer = copy.deepcopy(feed.config)
        # The spec spells it with a capital M, the guide and real answers with a small m
        # (VTEX-API.md §9): answer both so a client written against either works.
        answer["queue"]["messageRetentionPeriodInSeconds"] = answer["queue"]["MessageRetentionPeriodInSeconds"]
        answer["quantity"] = len(feed.messages)
        answer["approximateAgeOfOldestMessageInSeconds"] = 0.0 if oldest is None else now - oldest.enqueued_at
        return answer

    @staticmethod
    def _drop_expired_messages(feed: _Feed, now: float) -> None:
        retention = feed.config["queue"]["MessageRetentionPeriodInSeconds"]
        for message in list(feed.messages.values()):
            if now - message.enqueued_at < retention:
                break  # FIFO: the rest are younger
            feed.messages.pop(message.message_id)
            if message.handle is not None:
                feed.handles.pop(message.handle, None)

    def _enqueue_feed_event(self, feed: _Feed, event: dict[str, Any]) -> None:
        # The feed guarantees delivery, not uniqueness (VTEX-API.md §9): a duplicate is the same
        # event (same eventId) delivered as a second message.
        copies = 2 if self._feed_rng.random() < self.feed_duplicate_rate else 1
        for _ in range(copies):
            self._feed_message_ids += 1
            feed.messages[self._feed_message_ids] = _FeedMessage(
                message_id=self._feed_message_ids, event=event, enqueued_at=self._clock()
            )

    # -- hook -----------------------------------------------------------------------------------
    def set_hook_config(self, body: Any) -> dict[str, Any]:
        """Configure the hook; VTEX pings the URL first and refuses the config unless it answers
        200 (VTEX-API.md §9). Unlike VTEX, plain http URLs are accepted, for local demos."""
        fields = _require_object(body)
        config = {"filter": _parse_filter(fields.get("filter")), "hook": _parse_hook(fields.get("hook"))}
        hook = config["hook"]
        if not self._hook.ping(hook["url"], hook["headers"]):
            raise BadRequest("Unable to check address")
        with self._lock:
            self._hook_config = config
            return copy.deepcopy(config)

    def hook_config(self) -> dict[str, Any]:
        with self._lock:
            if self._hook_config is None:
                raise NotFound("Hook configuration not found for this appKey")
            return copy.deepcopy(self._hook_config)

    def delete_hook_config(self) -> None:
        with self._lock:
            if self._hook_config is None:
                raise NotFound("Hook configuration not found for this appKey")
            self._hook_config = None

    # -- control / status page ------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        with self._lock:
            self._apply_due_cancellations()
            now = self._clock()
            feed = self._feed
            in_flight = 0 if feed is None else sum(1 for m in feed.messages.values() if m.visible_at > now)
            return {
                "account": self.account,
                "orders_by_status": {status: len(ids) for status, ids in sorted(self._by_status.items()) if ids},
                "effects": self.effects,
                "requests": self.requests_count,
                "feed": {
                    "configured": feed is not None,
                    "queued": 0 if feed is None else len(feed.messages) - in_flight,
                    "in_flight": in_flight,
                },
                "hook": {
                    "configured": self._hook_config is not None,
                    "url": None if self._hook_config is None else self._hook_config["hook"]["url"],
                },
            }

    def orders_overview(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest ``limit`` orders, in brief, for the status page."""
        with self._lock:
            self._apply_due_cancellations()
            rows = []
            for _created, _seq, order_id in reversed(self._by_creation[-limit:] if limit else []):
                doc = self._orders[order_id].doc
                rows.append(
                    {
                        "orderId": order_id,
                        "sequence": doc["sequence"],
                        "creationDate": doc["creationDate"],
                        "client": f"{doc['clientProfileData']['firstName']} {doc['clientProfileData']['lastName']}",
                        "status": doc["status"],
                        "value": doc["value"],
                        "invoices": [
                            {
                                "number": p["invoiceNumber"],
                                "type": p["type"],
                                "value": p["invoiceValue"],
                                "trackingNumber": p.get("trackingNumber"),
                                "delivered": _delivered(p),
                            }
                            for p in doc["packageAttachment"]["packages"]
                        ],
                    }
                )
            return rows

    # -- internals ------------------------------------------------------------------------------
    def _get(self, order_id: str) -> _OrderRecord:
        if order_id.startswith("seq"):
            order_id = self._by_sequence.get(order_id[3:], "")
        record = self._orders.get(order_id)
        if record is None:
            raise NotFound(f"Order {order_id or 'with that sequence'} not found")
        return record

    def _create_order(self, created: datetime, status: str, last_change: datetime) -> str:
        sequence = self._next_sequence
        self._next_sequence += 1
        doc = self._generator.new_order(sequence=sequence, created=created, status=status, last_change=last_change)
        order_id = doc["orderId"]
        record = _OrderRecord(
            doc=doc, created=created, sequence=sequence, total_items=sum(item["quantity"] for item in doc["items"])
        )
        doc["allowCancellation"] = status in CANCELLABLE_STATUSES
        if status == "ready-for-handling":
            record.ready_for_handling_at = doc["lastChange"]
        self._orders[order_id] = record
        self._by_sequence[doc["sequence"]] = order_id
        self._by_status.setdefault(status, set()).add(order_id)
        self._by_transaction[doc["paymentData"]["transactions"][0]["transactionId"]] = order_id
        bisect.insort(self._by_creation, (created, sequence, order_id))
        self._publish(doc, state=status, last_state=PREVIOUS_STATUS.get(status, ""), last_change=doc["creationDate"])
        return order_id

    def _change_status(self, record: _OrderRecord, status: str) -> None:
        doc = record.doc
        old_status, old_change = doc["status"], doc["lastChange"]
        if status == old_status:
            return
        self._by_status[old_status].discard(doc["orderId"])
        self._by_status.setdefault(status, set()).add(doc["orderId"])
        doc["status"] = status
        doc["statusDescription"] = STATUS_DESCRIPTIONS.get(status, status)
        doc["lastChange"] = vtex_datetime(datetime.now(UTC))
        doc["allowCancellation"] = status in CANCELLABLE_STATUSES and not doc["packageAttachment"]["packages"]
        if status == "ready-for-handling":
            record.ready_for_handling_at = doc["lastChange"]
        self._publish(doc, state=status, last_state=old_status, last_change=old_change)

    def _publish(self, doc: dict[str, Any], *, state: str, last_state: str, last_change: str) -> None:
        """Send a status change to the feed and the hook, if their filters take it."""
        current_change = vtex_datetime_z(datetime.now(UTC))
        if self._feed is not None and _filter_accepts(self._feed.config["filter"], state):
            event = {
                "eventId": uuid.uuid4().hex.upper(),
                "domain": "Fulfillment",
                "state": state,
                "lastState": last_state,
                "orderId": doc["orderId"],
                "lastChange": last_change,
                "currentChange": current_change,
            }
            self._enqueue_feed_event(self._feed, event)
        if self._hook_config is not None and _filter_accepts(self._hook_config["filter"], state):
            hook = self._hook_config["hook"]
            notification = {
                "Domain": "Fulfillment",
                "OrderId": doc["orderId"],
                "State": state,
                "LastState": last_state,
                "LastChange": last_change,
                "CurrentChange": current_change,
                "Origin": {"Account": self.account, "Key": self.app_key},
            }
            self._hook.notify(hook["url"], hook["headers"], notification)


class HookNotifier:
    """Delivers hook notifications from one background thread, with a few retries; VTEX itself
    retries failed deliveries on a back-off (VTEX-API.md §9)."""

    retry_delays_s = (0.5, 2.0)

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, dict[str, str], dict[str, Any]]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        # No proxies: a demo's hook usually listens on localhost.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def ping(self, url: str, headers: dict[str, str]) -> bool:
        return self._post(url, headers, {"hookConfig": "ping"})

    def notify(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        self._ensure_worker()
        self._queue.put((url, dict(headers), body))

    def _ensure_worker(self) -> None:
        with self._thread_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="sandbox-hook", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            url, headers, body = self._queue.get()
            for delay in (*self.retry_delays_s, None):
                if self._post(url, headers, body):
                    break
                if delay is not None:
                    time.sleep(delay)
            else:
                logger.warning("hook notification for %s (%s) not delivered", body["OrderId"], body["State"])

    def _post(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> bool:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={**headers, "Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=HOOK_TIMEOUT_S) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False


# -- request parsing (pure functions) ---------------------------------------------------------------
def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


def _check_optional_string(fields: dict[str, Any], name: str) -> None:
    if fields.get(name) is not None and not isinstance(fields[name], str):
        raise BadRequest(f"{name} must be a string or null")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_cents(value: Any) -> int:
    """invoiceValue: the spec types it as a string, the PII spec as an integer; both are cents
    without a decimal separator (VTEX-API.md §4, §12.2)."""
    if _is_int(value):
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
    fields = _require_object(body)
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
        if not _is_int(item.get("price")) or item["price"] < 0:
            raise BadRequest(f"{where}.price is required and must be an integer in cents (unit price)")
        if not _is_int(item.get("quantity")) or item["quantity"] < 1:
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


def _parse_filter(value: Any) -> dict[str, Any]:
    """Feed/hook filter: FromWorkflow + status, or FromOrders + expression (+ disableSingleFire);
    mixing the two field sets is a 409 (VTEX-API.md §9). Status names are not validated, as on VTEX."""
    if not isinstance(value, dict):
        raise BadRequest("filter is required and must be an object")
    kind = value.get("type")
    if kind == "FromWorkflow":
        if "expression" in value or "disableSingleFire" in value:
            raise Conflict("A FromWorkflow filter takes 'status' only, not 'expression' or 'disableSingleFire'")
        status = value.get("status", [])
        if not isinstance(status, list) or not all(isinstance(name, str) for name in status):
            raise BadRequest("filter.status must be a list of order statuses")
        return {"type": kind, "status": list(status)}
    if kind == "FromOrders":
        if "status" in value:
            raise Conflict("A FromOrders filter takes 'expression' and 'disableSingleFire', not 'status'")
        expression = value.get("expression")
        if not isinstance(expression, str) or not expression:
            raise BadRequest("filter.expression (a JSONata expression) is required for FromOrders")
        single_fire = value.get("disableSingleFire", False)
        if not isinstance(single_fire, bool):
            raise BadRequest("filter.disableSingleFire must be a boolean")
        return {"type": kind, "expression": expression, "disableSingleFire": single_fire}
    raise BadRequest("filter.type must be 'FromWorkflow' or 'FromOrders'")


def _parse_queue(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise BadRequest("queue is required and must be an object")
    visibility = value.get("visibilityTimeoutInSeconds")
    if not _is_int(visibility) or not 0 <= visibility <= FEED_VISIBILITY_MAX_S:
        raise BadRequest(f"queue.visibilityTimeoutInSeconds must be an integer between 0 and {FEED_VISIBILITY_MAX_S}")
    # The spec spells it with a capital M, the guide with a small m (VTEX-API.md §9).
    retention = value.get("MessageRetentionPeriodInSeconds", value.get("messageRetentionPeriodInSeconds"))
    if not _is_int(retention) or not FEED_RETENTION_MIN_S <= retention <= FEED_RETENTION_MAX_S:
        raise BadRequest(
            f"queue.MessageRetentionPeriodInSeconds must be an integer between {FEED_RETENTION_MIN_S} (4 days) "
            f"and {FEED_RETENTION_MAX_S} (14 days)"
        )
    return {"visibilityTimeoutInSeconds": visibility, "MessageRetentionPeriodInSeconds": retention}


def _parse_hook(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest("hook is required and must be an object")
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise BadRequest("hook.url is required and must be an https URL")
    headers = value.get("headers")
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise BadRequest("hook.headers is required and must be an object of string values")
    return {"url": url, "headers": dict(headers)}


def _filter_accepts(config_filter: dict[str, Any], state: str) -> bool:
    # FromOrders expressions are not evaluated: the sandbox has no JSONata, so every change passes.
    if config_filter["type"] == "FromWorkflow":
        return not config_filter["status"] or state in config_filter["status"]
    return True


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


def _package_from_invoice(invoice: dict[str, Any]) -> dict[str, Any]:
    package = {
        "items": [
            {
                "itemIndex": item["itemIndex"],
                "quantity": item["quantity"],
                "price": item["price"],
                "description": item["description"],
                "unitMultiplier": 1,
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


def _delivered(package: dict[str, Any]) -> bool:
    return bool((package.get("courierStatus") or {}).get("finished"))


# -- payments helpers -------------------------------------------------------------------------------
_OMS_PAYMENT_FIELDS = (
    "id",
    "paymentSystem",
    "paymentSystemName",
    "value",
    "installments",
    "referenceValue",
    "cardHolder",
    "cardNumber",
    "firstDigits",
    "lastDigits",
    "cvv2",
    "expireMonth",
    "expireYear",
    "url",
    "giftCardId",
    "giftCardName",
    "giftCardCaption",
    "redemptionCode",
    "group",
    "tid",
    "dueDate",
    "connectorResponses",
)


def _transaction_status(doc: dict[str, Any]) -> str:
    """Approved → (settled at invoicing) Finished; or Canceled (VTEX-API.md §8 lifecycle)."""
    if doc["status"] in ("cancel", "canceled"):
        return "Canceled"
    if doc["status"] == "invoiced":
        return "Finished"
    return "Approved"


def _gateway_date(vtex_date: str | None) -> str | None:
    # The Payments examples write dates without an offset, in UTC ("2023-06-02T17:04:19").
    return None if vtex_date is None else vtex_date[:19]


def _gateway_transaction(record: _OrderRecord, transaction_id: str, *, owner: str) -> dict[str, Any]:
    doc = record.doc
    status = _transaction_status(doc)
    href = f"/api/pvt/transactions/{transaction_id}"
    settled = status == "Finished"
    canceled = status == "Canceled"
    cancellation = doc["cancellationData"] or {}
    return {
        "id": transaction_id,
        "transactionId": transaction_id,
        "referenceKey": doc["sequence"],
        "interactions": {"href": f"{href}/interactions"},
        "settlements": {"href": f"{href}/settlements"},
        "payments": {"href": f"{href}/payments"},
        "refunds": {"href": f"{href}/refunds"},
        "cancellations": {"href": f"{href}/cancellations"},
        "capabilities": {"href": f"{href}/capabilities"},
        "timeoutStatus": 0,
        "totalRefunds": 0,
        "status": status,
        "value": doc["value"],
        "receiverUri": None,
        "startDate": _gateway_date(doc["creationDate"]),
        "authorizationToken": transaction_id[::-1],
        "authorizationDate": _gateway_date(doc["authorizedDate"]),
        "commitmentToken": transaction_id[16:] + transaction_id[:16] if settled else None,
        "commitmentDate": _gateway_date(doc["invoicedDate"]) if settled else None,
        "refundingToken": None,
        "refundingDate": None,
        "cancelationToken": transaction_id.lower() if canceled else None,
        "cancelationDate": _gateway_date(cancellation.get("CancellationDate")) if canceled else None,
        "fields": [
            {"name": "orderId", "value": doc["orderGroup"]},
            {"name": "channel", "value": doc["hostname"].upper()},
            {"name": "salesChannel", "value": doc["salesChannel"]},
            {"name": "shopperInteraction", "value": "ecommerce"},
            {"name": "owner", "value": owner},
        ],
        "shopperInteraction": "ecommerce",
        "ipAddress": None,
        "sessionId": None,
        "macId": "",
        "vtexFingerprint": None,
        "chargeback": None,
        "whiteSignature": None,
        "owner": owner,
        "orderId": doc["orderGroup"],
        "userAgent": "",
        "acceptHeader": "application/json",
        "antifraudTid": None,
        "antifraudResponse": None,
        "antifraudReference": None,
        "antifraudAffiliationId": None,
        "channel": doc["hostname"].upper(),
        "salesChannel": doc["salesChannel"],
        "urn": None,
        "softDescriptor": None,
        "markedForRecurrence": False,
        "buyer": {
            "firstName": doc["clientProfileData"]["firstName"],
            "lastName": doc["clientProfileData"]["lastName"],
            "documentType": doc["clientProfileData"]["documentType"],
            "document": doc["clientProfileData"]["document"],
            "email": doc["clientProfileData"]["email"],
            "address": "",
            "phone": doc["clientProfileData"]["phone"],
        },
    }


def _gateway_payment(doc: dict[str, Any], transaction_id: str, payment: dict[str, Any]) -> dict[str, Any]:
    is_card = payment["group"] == "creditCard"
    connector = {
        "Tid": payment["tid"],
        "ReturnCode": payment["connectorResponses"]["ReturnCode"],
        "Message": payment["connectorResponses"]["Message"],
        "authId": payment["connectorResponses"]["authId"],
        "nsu": payment["tid"][-6:],
    }
    extra_fields = {
        "currencyCode": "BRL",
        "firstDigits": payment["firstDigits"],
        "lastDigits": payment["lastDigits"],
        "dueDate": payment["dueDate"],
        "giftCardId": payment["giftCardId"],
    }
    return {
        "id": payment["id"],
        "paymentSystem": int(payment["paymentSystem"]),
        "paymentSystemName": payment["paymentSystemName"],
        "merchantName": None,
        "group": payment["group"],
        "userProfileId": None,
        "isCustom": False,
        "allowInstallments": is_card,
        "requiresAuthentication": False,
        "allowIssuer": is_card,
        "allowNotification": payment["group"] in ("bankInvoice", "instantPayment"),
        "isAvailable": True,
        "description": None,
        "authorizationDate": _gateway_date(doc["authorizedDate"]),
        "self": {"href": f"/api/pvt/transactions/{transaction_id}/payments/{payment['id']}"},
        "tid": payment["tid"],
        "nsu": connector["nsu"],
        "returnCode": None,
        "returnMessage": None,
        "status": _transaction_status(doc),
        "connector": "SandboxConnector",
        "ConnectorResponses": connector,
        "connectorResponse": dict(connector),
        "ShowConnectorResponses": True,
        "value": payment["value"],
        "installmentsInterestRate": 0,
        "installmentsValue": round(payment["value"] / payment["installments"]),
        "referenceValue": payment["referenceValue"],
        "installments": payment["installments"],
        "currencyCode": "BRL",
        "provider": None,
        "isBillingAddressDifferent": False,
        "isRegexValid": None,
        "isLuhnValid": None,
        "fields": [{"name": name, "value": value} for name, value in extra_fields.items() if value is not None],
        "sheets": None,
        "originalPaymentId": None,
    }


# -- list helpers ---------------------------------------------------------------------------------
_LIST_SORT_KEYS: dict[str, Callable[[_OrderRecord], Any]] = {
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


def _list_stats(records: list[_OrderRecord]) -> dict[str, Any]:
    """The ``stats`` block of List orders, over every matching order (not just the page)."""
    values_by_origin: dict[str, list[int]] = {"Fulfillment": [], "Marketplace": []}
    items_by_origin: dict[str, list[int]] = {"Fulfillment": [], "Marketplace": []}
    for record in records:
        origin = record.doc["origin"]
        values_by_origin.setdefault(origin, []).append(record.doc["value"])
        items_by_origin.setdefault(origin, []).append(record.total_items)

    def block(by_origin: dict[str, list[int]]) -> dict[str, Any]:
        overall = _stat([value for values in by_origin.values() for value in values])
        return {
            **overall,
            "Facets": {
                "origin": {origin: _stat(values) for origin, values in by_origin.items()},
                "currencyCode": {"BRL": dict(overall)},
            },
        }

    return {"stats": {"totalValue": block(values_by_origin), "totalItems": block(items_by_origin)}}
