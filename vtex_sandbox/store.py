"""The sandbox store: one fake VTEX account, its state and what every API shares.

``SandboxStore`` holds the state (the orders and their indexes, the effects of the client's
calls, request counts, the feed queue, the hook config) behind one re-entrant lock, so the HTTP
server can call it from many threads. It creates orders (with ``generator.OrderGenerator``),
changes their status and publishes each change to the feed and the hook, and completes
cancellations when their delay is over. The rules of each VTEX API are in its mixin: ``oms``,
``payments``, ``feed``, ``hook``; they use the store's lock, ``_get``, ``_change_status``,
``_apply_due_cancellations`` and ``_effects``. Errors are raised as ``errors.StoreError``
subclasses. There is no HTTP server in here (see server.py).
"""

from __future__ import annotations

import bisect
import copy
import heapq
import hmac
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import NotFound
from .feed import Feed, FeedApi
from .generator import PREVIOUS_STATUS, STATUS_DESCRIPTIONS, vtex_datetime, vtex_datetime_z
from .hook import HookApi, HookNotifier
from .hostile import HOSTILE_SHAPES
from .oms import CANCELLABLE_STATUSES, OmsApi, OrderRecord, delivered, fill_cancellation_data
from .payments import PaymentsApi
from .shapes import make_generator

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

# Orders cannot be created already invoiced: their invoices would be missing.
UNCREATABLE_STATUSES = frozenset({"invoice", "invoiced"})


class SandboxStore(OmsApi, PaymentsApi, FeedApi, HookApi):
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
        shapes: str = "default",
        currency: str = "BRL",
        hostile_rate: float = 0.0,
        hook_threads: int = 1,
    ) -> None:
        """``now`` anchors the generated dates (default: the current time); ``clock`` is the
        monotonic clock used for feed visibility and the cancellation delay (tests fake it).

        ``shapes="mixed"`` generates the real order shapes of shapes.py (company buyers, pickup,
        split purchases, gifts, kits, weights, changes) in a seeded mix; ``"default"`` keeps the
        original orders, unchanged for a seed. ``currency`` (``BRL`` or ``COP``) is the store's.
        ``hostile_rate``: the share of new orders served in one of hostile.py's shapes (seeded).
        ``orders`` counts orders: a split purchase makes two. ``hook_threads``: how many threads
        deliver hook notifications (1: in order)."""
        self.account = account
        self.app_key = app_key
        self._app_token = app_token
        self.cancel_delay_s = cancel_delay_s
        self.feed_duplicate_rate = feed_duplicate_rate
        self.feed_shuffle = feed_shuffle
        self._clock = clock
        self._lock = threading.RLock()
        self.shapes = shapes
        self.currency = currency
        self._generator = make_generator(seed=seed, account=account, shapes=shapes, currency=currency)
        self._feed_rng = random.Random(f"feed-{seed}")
        if not 0.0 <= hostile_rate <= 1.0:
            raise ValueError("hostile_rate must be between 0 and 1")
        self.hostile_rate = hostile_rate
        self._hostile_rng = random.Random(f"hostile-{seed}")
        #: orderId → the hostile shape its Get order answer takes (hostile.HOSTILE_SHAPES).
        self.hostile: dict[str, str] = {}
        self._next_sequence = self._generator.first_sequence

        self._orders: dict[str, OrderRecord] = {}
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
        self._feed: Feed | None = None
        self._feed_message_ids = 0
        self._hook_config: dict[str, Any] | None = None
        self._hook = HookNotifier(on_first_attempt=self._record_hook_call, threads=hook_threads)
        #: Wall-clock times (time.time()) by order id: when the hook was first called for the order
        #: becoming ready-for-handling, and when its start-handling was accepted (see timings()).
        self._hook_called_at: dict[str, float] = {}
        self._start_handling_at: dict[str, float] = {}

        start = now or datetime.now(UTC)
        made = 0
        for created in self._generator.spread_creation_dates(orders, start):
            if made >= orders:
                break  # split purchases made two orders each: the dates left over are not needed
            # Ready for handling once VTEX's 30-minute window-to-cancel is over (VTEX-API.md §10).
            made_now = self._create_orders(
                created, "ready-for-handling", created + timedelta(minutes=31), allow_split=orders - made >= 2
            )
            self._draw_hostile(made_now)
            made += len(made_now)

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

    def _record_hook_call(self, notification: dict[str, Any]) -> None:
        if notification.get("State") == "ready-for-handling":
            with self._lock:
                self._hook_called_at.setdefault(notification["OrderId"], time.time())

    def timings(self) -> dict[str, dict[str, float]]:
        """Per order: when the hook was called for it becoming ready, when start-handling was accepted."""
        with self._lock:
            return {"hook_called": dict(self._hook_called_at), "start_handling": dict(self._start_handling_at)}

    # -- orders: creation and reads -------------------------------------------------------------
    def add_orders(
        self, count: int, status: str = "ready-for-handling", features: list[str] | None = None
    ) -> list[str]:
        """``count`` new orders (a split purchase makes two of them); ``features`` (shapes.FEATURES,
        ``shapes="mixed"`` only) gives every purchase exactly those features instead of the mix."""
        if status not in KNOWN_STATUSES or status in UNCREATABLE_STATUSES:
            raise ValueError(f"cannot create orders in status {status!r}")
        if count < 0:
            raise ValueError("count must not be negative")
        if features is not None and self.shapes != "mixed":
            raise ValueError("order features need a store with shapes='mixed'")
        with self._lock:
            now = datetime.now(UTC)
            order_ids: list[str] = []
            while len(order_ids) < count:
                order_ids += self._create_orders(
                    now, status, now, allow_split=count - len(order_ids) >= 2, features=features
                )
            self._draw_hostile(order_ids)
            return order_ids

    def _draw_hostile(self, order_ids: list[str]) -> None:
        if not self.hostile_rate:
            return
        shapes = sorted(HOSTILE_SHAPES)
        for order_id in order_ids:
            if self._hostile_rng.random() < self.hostile_rate:
                self.hostile[order_id] = shapes[len(self.hostile) % len(shapes)]  # each shape in turn

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

    # -- forced statuses and delayed cancellations ----------------------------------------------
    def set_status(self, order_id: str, status: str) -> None:
        """Force a status, as VTEX or the customer would (e.g. ``canceled``), bypassing the rules."""
        if status not in KNOWN_STATUSES:
            raise ValueError(f"unknown order status {status!r}")
        with self._lock:
            self._apply_due_cancellations()
            record = self._get(order_id)
            if status == "canceled" and record.doc["cancellationData"] is None:
                fill_cancellation_data(record, "Cancelamento solicitado pelo cliente")
            self._change_status(record, status)

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
                        "currency": doc["storePreferencesData"]["currencyCode"],
                        "invoices": [
                            {
                                "number": p["invoiceNumber"],
                                "type": p["type"],
                                "value": p["invoiceValue"],
                                "trackingNumber": p.get("trackingNumber"),
                                "delivered": delivered(p),
                            }
                            for p in doc["packageAttachment"]["packages"]
                        ],
                    }
                )
            return rows

    # -- internals ------------------------------------------------------------------------------
    def _get(self, order_id: str) -> OrderRecord:
        if order_id.startswith("seq"):
            order_id = self._by_sequence.get(order_id[3:], "")
        record = self._orders.get(order_id)
        if record is None:
            raise NotFound(f"Order {order_id or 'with that sequence'} not found")
        return record

    def _create_orders(
        self,
        created: datetime,
        status: str,
        last_change: datetime,
        *,
        allow_split: bool = True,
        features: list[str] | None = None,
    ) -> list[str]:
        """The orders of one purchase (one, or two for a split purchase), published in order."""
        docs = self._generator.new_purchase(
            sequence=self._next_sequence,
            created=created,
            status=status,
            last_change=last_change,
            allow_split=allow_split,
            features=features,
        )
        return [self._store_order(doc, created, status) for doc in docs]

    def _store_order(self, doc: dict[str, Any], created: datetime, status: str) -> str:
        sequence = int(doc["sequence"])
        self._next_sequence = sequence + 1
        order_id = doc["orderId"]
        record = OrderRecord(
            doc=doc, created=created, sequence=sequence, total_items=sum(item["quantity"] for item in doc["items"])
        )
        doc["allowCancellation"] = status in CANCELLABLE_STATUSES
        if status == "ready-for-handling":
            record.ready_for_handling_at = doc["lastChange"]
        self._orders[order_id] = record
        self._by_sequence[doc["sequence"]] = order_id
        self._by_status.setdefault(status, set()).add(order_id)
        # Every order of a split purchase shows the same transaction: it belongs to the first.
        self._by_transaction.setdefault(doc["paymentData"]["transactions"][0]["transactionId"], order_id)
        bisect.insort(self._by_creation, (created, sequence, order_id))
        self._publish(doc, state=status, last_state=PREVIOUS_STATUS.get(status, ""), last_change=doc["creationDate"])
        return order_id

    def _change_status(self, record: OrderRecord, status: str) -> None:
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
        for publish in (self._publish_to_feed, self._publish_to_hook):
            publish(doc, state=state, last_state=last_state, last_change=last_change, current_change=current_change)
