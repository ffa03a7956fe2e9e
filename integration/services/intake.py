"""Order intake: from VTEX's ready-for-handling orders to stored, acknowledged orders.

One cycle (DESIGN.md "The flow"):
1. take the `intake` lease, so that two cycles (two clusters, the schedule and the command)
   never work at once;
2. acknowledge orders stored earlier but not acknowledged (a crash or timeout last time);
3. list ready-for-handling orders, every page; skip the ones already stored and acknowledged
   (List orders lags about 4 minutes behind, VTEX-API.md §1);
4. read each new order (and its payment transaction when VTEX_FETCH_PAYMENTS is on) in worker
   threads, store the orders read so far in one transaction (a batch), and only then send
   start-handling; its answers are recorded in lots (ACK_RECORD_BATCH, and whenever the pool
   has nothing left to do).

Worker threads only speak to VTEX; this module's thread does every database write.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from integration.infra.crashpoints import crash_point
from integration.infra.leases import lease, lease_holder
from integration.infra.vtex_client import call_log, vtex_client
from integration.infra.workers import WorkerPool
from integration.models import HookNotification, Order
from integration.services.feed import feed_config_ensure, feed_read
from integration.services.hook import hook_pending_order_ids
from integration.services.orders import (
    READY_FOR_HANDLING,
    AckResult,
    order_claim_acknowledgement,
    order_record_acknowledgement,
    order_record_intake_failure,
    orders_awaiting_acknowledgement,
    orders_claim_acknowledgement,
    orders_record_acknowledgements,
    orders_store_from_vtex,
    vtex_send_start_handling,
)
from integration.vtex import VtexClient, VtexConfigurationError, VtexError
from integration.vtex.mapping import OrderData, VtexDataError, order_data_from_vtex

logger = logging.getLogger(__name__)

INTAKE_SOURCES = ("list", "feed", "hook", "sweep")
#: A busy feed is read in lots of 10; this bounds one cycle (the next one goes on).
FEED_MAX_BATCHES_PER_CYCLE = 1000
INTAKE_LEASE = "intake"
INTAKE_LEASE_TTL = timedelta(minutes=5)
#: Fetches and acknowledgements in flight per worker thread (see _Cycle.run).
INTAKE_WINDOW_PER_THREAD = 8
#: The owner waits up to this long for one result per worker before storing a batch (see _next_batch).
INTAKE_GATHER_WITHIN_S = 0.02
#: Start-handling answers are recorded once this many wait (and whenever the pool has nothing
#: left to do): recording six costs the owner nearly as much as recording sixty.
ACK_RECORD_BATCH = 64
#: Renew the lease this often; far below its TTL so a slow page never loses it.
LEASE_RENEW_EVERY_S = 30.0
#: Write the buffered VTEX call records after about this many calls.
CALL_LOG_FLUSH_EVERY = 2000


@dataclass
class IntakeResult:
    imported: int = 0
    already_known: int = 0
    updated: int = 0
    acknowledged: int = 0
    failed: int = 0
    ignored: int = 0
    committed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped_reason: str = ""

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        if self.skipped_reason:
            return f"skipped: {self.skipped_reason}"
        return (
            f"imported {self.imported}, already known {self.already_known}, updated {self.updated}, "
            f"acknowledged {self.acknowledged}, failed {self.failed}"
        )


Progress = Callable[[IntakeResult], None]


@dataclass
class FetchedOrder:
    raw: dict[str, Any]
    data: OrderData
    payment_status: dict[str, dict[str, str]]


def vtex_fetch_order(*, client: VtexClient, order_id: str, fetch_payments: bool) -> FetchedOrder:
    """Read one order (and its transaction's payments) from VTEX and map it. No database access."""
    raw = client.get_order(order_id)
    data = order_data_from_vtex(raw)
    if data.order_id != order_id:
        raise VtexDataError("orderId", f"VTEX answered with order {data.order_id!r} for {order_id!r}")
    payment_status: dict[str, dict[str, str]] = {}
    if fetch_payments:
        for transaction_id in sorted({p["transaction_id"] for p in data.payments if p["transaction_id"]}):
            transaction = client.get_transaction(transaction_id, order_id=order_id)
            transaction_status = str(transaction.get("status") or "")[:32]
            for payment in client.get_transaction_payments(transaction_id, order_id=order_id):
                if isinstance(payment, dict) and payment.get("id"):
                    payment_status[str(payment["id"])] = {
                        "status": str(payment.get("status") or "")[:32],
                        "transaction_status": transaction_status,
                    }
    return FetchedOrder(raw=raw, data=data, payment_status=payment_status)


class _Cycle:
    """The state of one intake cycle: the pool, the counters and the lease to keep alive."""

    def __init__(self, *, client: VtexClient, held_lease, progress: Progress | None, acknowledge: bool) -> None:
        self.client = client
        self.lease = held_lease
        self.progress = progress
        self.acknowledge = acknowledge
        self.fetch_payments = settings.VTEX_FETCH_PAYMENTS
        self.result = IntakeResult()
        self.summaries: dict[str, dict[str, Any]] = {}
        self.failed_ids: set[str] = set()
        self._waiting: deque[tuple[str, str]] = deque()  # jobs not yet handed to the pool
        self._unrecorded_acks: list[AckResult] = []  # answered by VTEX, not yet written
        self._unlogged_calls = 0
        self._last_renewal = time.monotonic()

    # Jobs run in worker threads: ("fetch", order_id) or ("ack", order_id).
    def work(self, job: tuple[str, str]) -> Any:
        kind, order_id = job
        if kind == "fetch":
            return vtex_fetch_order(client=self.client, order_id=order_id, fetch_payments=self.fetch_payments)
        return vtex_send_start_handling(client=self.client, order_id=order_id)

    def run(self, source: Callable[[], None], source_name: str) -> IntakeResult:
        # A wide window: results wait a little while the owner stores the previous batch, and the
        # batches get bigger (fewer statements an order), which is what bounds intake on a slow core.
        concurrency = settings.VTEX_CONCURRENCY
        with WorkerPool(self.work, size=concurrency, window=concurrency * INTAKE_WINDOW_PER_THREAD) as pool:
            self.pool = pool
            if self.acknowledge:
                for order_id in list(orders_awaiting_acknowledgement().values_list("order_id", flat=True)):
                    self._submit_ack(order_id)
            try:
                self._take(source, source_name)
            finally:
                self._record_acks_despite_error()
        call_log.flush()
        self._report()
        return self.result

    def _take(self, source: Callable[[], None], source_name: str) -> None:
        """Everything the source names, then every job it started finished and recorded."""
        try:
            source()
        except VtexConfigurationError:
            raise  # nothing can work: say so instead of counting a failed order
        except VtexError as exc:  # the source itself failed: finish what was started, then report
            self._fail(f"({source_name})", exc)
        self._drain()

    # ---- sources --------------------------------------------------------------------------------

    def take_list_pages(self, pages: Iterable[list[dict[str, Any]]]) -> None:
        for page in pages:
            self._take_page(page)

    def _take_page(self, page: list[dict[str, Any]]) -> None:
        crash_point("intake.list_page_read")
        ids = [str(entry.get("orderId")) for entry in page if isinstance(entry, dict) and entry.get("orderId")]
        known = dict(Order.objects.filter(order_id__in=ids).values_list("order_id", "is_complete"))
        for entry in page:
            order_id = str(entry.get("orderId") or "")
            if not order_id or order_id in self.summaries:
                continue
            if known.get(order_id):
                # Stored already: acknowledged, or queued above for acknowledgement.
                self.result.already_known += 1
                continue
            self.summaries[order_id] = entry
            self._submit(("fetch", order_id))
        self._keep_alive()

    def take_feed(self) -> None:
        """Read the feed until it is empty; commit each event once its order's work is committed.

        Events repeat and come out of order (VTEX-API.md §9): each one only names an order, which
        is read back from VTEX and handled by its present status. An event whose order failed is
        not committed, so the feed hands it out again after the visibility timeout.
        """
        feed_config_ensure(client=self.client)
        for _ in range(FEED_MAX_BATCHES_PER_CYCLE):
            events = feed_read(client=self.client)
            if not events:
                return
            crash_point("intake.feed_read")
            handles_by_order: dict[str, list[str]] = {}
            for event in events:
                order_id = str(event.get("orderId") or "")
                handles_by_order.setdefault(order_id, []).append(str(event.get("handle") or ""))
            for order_id in handles_by_order:
                if order_id and order_id not in self.summaries:
                    self.summaries[order_id] = {"orderId": order_id}
                    self._submit(("fetch", order_id))
            self._drain()  # every order of the lot is stored (and acknowledged) before its commit
            done = [
                handle
                for order_id, handles in handles_by_order.items()
                if order_id not in self.failed_ids
                for handle in handles
                if handle
            ]
            crash_point("intake.feed_before_commit")
            if done:
                self.client.commit_feed(done)
                self.result.committed += len(done)
                crash_point("intake.feed_committed")
            self._keep_alive()

    def take_hook_notifications(self) -> None:
        """Orders named by stored hook notifications, read back and handled; then marked done.

        A notification whose order failed stays pending, and the next cycle tries it again.
        """
        order_ids = [order_id for order_id in hook_pending_order_ids() if order_id not in self.summaries]
        for order_id in order_ids:
            self.summaries[order_id] = {"orderId": order_id}
            self._submit(("fetch", order_id))
        self._drain()
        done = [order_id for order_id in order_ids if order_id not in self.failed_ids]
        HookNotification.objects.filter(order_id__in=done, processed_at__isnull=True).update(
            processed_at=timezone.now(), error=""
        )

    # ---- the pipeline ---------------------------------------------------------------------------

    # The owner hands jobs to the pool as it has room, and stores results in batches: every result
    # already finished when it looks (a few while the database is fast, more when it is slow).
    # Handling a batch only queues new jobs (acknowledgements); _pump hands them over, so the
    # handling never nests.

    def _drain(self) -> None:
        while self.pool.in_flight or self._waiting:
            self._pump()
            if self.pool.in_flight:
                self._handle_batch(self._next_batch())
        self._record_acks()

    def _next_batch(self):
        # One result per worker at least (a short wait for it): storing a few orders costs the
        # owner's thread nearly as much as storing twenty, and while that thread holds the GIL
        # the workers' answers wait. The window keeps the workers busy meanwhile.
        return self.pool.next_batch(gather=self.pool.size, within_s=INTAKE_GATHER_WITHIN_S)

    def _submit(self, job: tuple[str, str]) -> None:
        self._waiting.append(job)
        self._pump()

    def _pump(self) -> None:
        while self._waiting:
            if self.pool.full:
                self._handle_batch(self._next_batch())
            else:
                self.pool.submit(self._waiting.popleft())

    def _submit_ack(self, order_id: str) -> None:
        if order_claim_acknowledgement(order_id=order_id):
            self._submit(("ack", order_id))

    def _handle_batch(self, batch) -> None:
        fetched: list[tuple[str, FetchedOrder]] = []
        acks: list[AckResult] = []
        for done in batch:
            kind, order_id = done.job
            if kind == "fetch":
                if done.error is not None:
                    self._fail(order_id, done.error)
                else:
                    fetched.append((order_id, done.result))
                    crash_point("intake.order_fetched")
            elif done.error is not None:  # a bug, not a VTEX answer: keep the order retryable
                order_record_acknowledgement(result=AckResult(order_id, done=False, message=str(done.error)))
                self._fail(order_id, done.error)
            else:
                acks.append(done.result)
                crash_point("intake.start_handling_sent")
        # Recorded in lots. The answers of a lot die with this process if it is killed: their
        # orders stay claimed until the claim goes stale (ACK_CLAIM_STALE_AFTER), and a later
        # cycle sends start-handling again and reads the order back (VTEX answers 409 to a repeat).
        self._unrecorded_acks += acks
        # Not one transaction around both: the one-by-one fallback of a store must commit each
        # order as it goes, or two cycles inserting the same orders deadlock (PostgreSQL).
        if fetched:
            self._store(fetched)
        if len(self._unrecorded_acks) >= ACK_RECORD_BATCH or not (self.pool.in_flight or self._waiting):
            self._record_acks()
        self._unlogged_calls += len(batch)
        if self._unlogged_calls >= CALL_LOG_FLUSH_EVERY:
            # The workers' call records wait in memory (about 4 KB each): written as they pile
            # up, so a long cycle's memory stays flat.
            call_log.flush()
            self._unlogged_calls = 0
        self._keep_alive()

    def _record_acks(self) -> None:
        acks, self._unrecorded_acks = self._unrecorded_acks, []
        if not acks:
            return
        orders_record_acknowledgements(results=acks)
        for result in acks:
            crash_point("intake.ack_recorded")
            if result.done:
                self.result.acknowledged += 1
            else:
                self._fail(result.order_id, VtexError(result.message), record=False)

    def _record_acks_despite_error(self) -> None:
        """When an error ends the cycle early: the answers VTEX already gave are written if the
        database still takes them, without hiding the error that ended the cycle."""
        unrecorded = len(self._unrecorded_acks)
        if not unrecorded:
            return
        try:
            self._record_acks()
        except Exception:
            logger.exception("intake: %d start-handling answers could not be recorded", unrecorded)

    def _store(self, fetched: list[tuple[str, FetchedOrder]]) -> None:
        known = set(
            Order.objects.filter(order_id__in=[order_id for order_id, _ in fetched]).values_list("order_id", flat=True)
        )
        taken = []
        for order_id, order in fetched:
            if order.data.fields["vtex_status"] != READY_FOR_HANDLING and order_id not in known:
                # Not ours to take: it left ready-for-handling before we saw it (canceled, say).
                self.result.ignored += 1
            else:
                taken.append(order)
        outcomes = orders_store_from_vtex(
            batch=[(order.data, order.raw, order.payment_status) for order in taken],
            claim_acknowledgement=self.acknowledge,
            stored=known,
        )
        claimed, to_claim = [], []
        for outcome in outcomes:
            crash_point("intake.order_stored")
            if outcome.created:
                self.result.imported += 1
            elif outcome.changed:
                self.result.updated += 1
            else:
                self.result.already_known += 1
            if outcome.claimed:
                claimed.append(outcome.order.order_id)  # new, and stored already claimed: committed first
            elif self.acknowledge and outcome.order.vtex_status == READY_FOR_HANDLING:
                to_claim.append(outcome.order.order_id)
        for order_id in claimed + orders_claim_acknowledgement(order_ids=list(dict.fromkeys(to_claim))):
            crash_point("intake.ack_claimed")
            self._waiting.append(("ack", order_id))

    def _fail(self, order_id: str, error: BaseException, *, record: bool = True) -> None:
        if not isinstance(error, (VtexError, VtexDataError)):
            raise error  # a programming error must not be reported as one failed order
        self.failed_ids.add(order_id)
        self.result.failed += 1
        self.result.failures.append((order_id, str(error)))
        if record and order_id in self.summaries:
            order_record_intake_failure(order_id=order_id, summary=self.summaries[order_id], error=error)

    def _keep_alive(self) -> None:
        if time.monotonic() - self._last_renewal >= LEASE_RENEW_EVERY_S:
            self.lease.renew()
            call_log.flush()
            self._last_renewal = time.monotonic()
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(self.result)


def intake_run(
    *,
    source: str = "list",
    client: VtexClient | None = None,
    progress: Progress | None = None,
) -> IntakeResult:
    """One intake cycle. Safe to run from several processes at once: only one works."""
    if source not in INTAKE_SOURCES:
        raise ValueError(f"unknown intake source {source!r}; choose one of {', '.join(INTAKE_SOURCES)}")
    client = client or vtex_client()
    with lease(INTAKE_LEASE, ttl=INTAKE_LEASE_TTL) as held:
        if held is None:
            holder = lease_holder(INTAKE_LEASE)
            who = f" by {holder.holder} until {holder.expires_at:%H:%M:%S} UTC" if holder else ""
            return IntakeResult(skipped_reason=f"another intake is running{who}")
        crash_point("intake.lease_taken")
        cycle = _Cycle(
            client=client,
            held_lease=held,
            progress=progress,
            acknowledge=settings.VTEX_START_HANDLING == "on_import",
        )

        def from_list() -> None:
            cycle.take_hook_notifications()  # the hook is the fast path; list and feed back it up
            cycle.take_list_pages(client.iter_order_pages(status=READY_FOR_HANDLING))

        def from_feed() -> None:
            cycle.take_hook_notifications()
            cycle.take_feed()

        def sweep() -> None:
            # The safety net behind the feed and the hook: recent orders still ready at VTEX.
            created_to = timezone.now() + timedelta(minutes=1)
            created_from = created_to - timedelta(hours=settings.VTEX_SWEEP_WINDOW_HOURS)
            cycle.take_list_pages(
                client.iter_order_pages(status=READY_FOR_HANDLING, created_from=created_from, created_to=created_to)
            )

        sources = {"hook": cycle.take_hook_notifications, "feed": from_feed, "list": from_list, "sweep": sweep}
        return cycle.run(sources[source], source)
