"""Order intake: from VTEX's ready-for-handling orders to stored orders, and start-handling sent.

One cycle (DESIGN.md "The flow"):
1. take the `intake` lease, so that two cycles (two clusters, the schedule and the command)
   never work at once;
2. send the start-handlings still due (a crash, a timeout, VTEX down last time);
3. take the orders the source names, one lot at a time (a list page, a feed lot, the pending hook
   notifications): read each new order (and its payment transaction when VTEX_FETCH_PAYMENTS is
   on) in worker threads, store the lot in one batch (order_sync), write a start-handling outbox
   row for each order in ready-for-handling, and send those through the outbox's sender.
   Lots are read ahead while the threads have less work than the in-flight target (as many calls
   as the budget and VTEX's answer times need: integration.vtex.concurrency), so the wire stays
   full while this thread stores; the feed is read and committed from the threads too;
4. between lots, take hook notifications that came in meanwhile: the hook's own task finds the
   lease taken while a long cycle runs, so this cycle takes its orders within a second.

Worker threads only speak to VTEX; this module's thread does every database write.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from integration.infra.crashpoints import crash_point
from integration.infra.leases import lease, lease_holder
from integration.infra.vtex_client import call_log, vtex_client, vtex_in_flight_target
from integration.infra.workers import FollowingExecutor, vtex_threads
from integration.models import Order, OutboxMessage
from integration.services.feed import FEED_MAX_LOT, feed_config_ensure, feed_record_read
from integration.services.hook import (
    hook_notifications_done,
    hook_notifications_failed,
    hook_pending_order_ids,
    hook_queue_processing,
)
from integration.services.order_sync import (
    FetchedOrder,
    StoreOutcome,
    order_record_intake_failure,
    orders_store_from_vtex,
    vtex_fetch_order,
)
from integration.services.outbox import (
    OutboxSender,
    SendOutcome,
    orders_awaiting_start_handling,
    outbox_claim_many,
    outbox_due,
    outbox_enqueue_start_handling,
)
from integration.vtex import VtexClient, VtexConfigurationError, VtexError, VtexNotFound
from integration.vtex.mapping import VtexDataError
from integration.vtex.statuses import VtexStatus

INTAKE_SOURCES = ("list", "feed", "hook", "sweep")
#: What storing a mapped order may still meet from the database (a value it cannot hold): the
#: order fails alone (see _store_each_that_can_be). Anything else is a bug, and ends the cycle.
STORE_ERRORS = (DatabaseError, OverflowError, ValueError)
#: A busy feed is read in lots of 10; this bounds one cycle (the next one goes on).
FEED_MAX_LOTS_PER_CYCLE = 1000
#: Orders whose first import failed, read again at the end of each cycle (oldest failure first).
RETRIES_PER_CYCLE = 200
INTAKE_LEASE = "intake"
#: A cluster killed mid-cycle holds the intake this long at most: the next cycle starts within
#: about a minute and a half (the soak kills one: docs/performance.md).
INTAKE_LEASE_TTL = timedelta(seconds=90)
#: Renew the lease this often; far below its TTL so a slow page never loses it.
LEASE_RENEW_EVERY_S = 15.0
#: Between lots, look for hook notifications this often (one indexed read).
HOOK_CHECK_EVERY_S = 0.5
#: Lots read ahead at most (a bound on memory; the in-flight target bounds them first).
MAX_LOTS_AHEAD = 64
#: Feed reads kept on their way: one per this many calls of the in-flight target (a lot of 10
#: events brings 20 to 30 calls), so a slow read holds back nothing while the others come in.
FEED_READ_PER_CALLS_IN_FLIGHT = FEED_MAX_LOT
#: Another lot is read while the threads have less work than this many times the in-flight
#: target: as much again waits behind the calls on the wire, so the wire stays full while this
#: thread stores a lot or waits for a page.
QUEUED_PER_TARGET = 2
LOOK_AGAIN_S = 0.05
#: While no lot is stored, the answers to sends and commits are still written this often.
RECORD_ANSWERS_EVERY_S = 0.2

#: What a source yields while none of its reads came back yet: the lots already read are stored
#: meanwhile (a slow feed read must not hold back the start-handlings of the orders read).
NOTHING_YET = None


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
    #: The most threads that spoke to VTEX at once, and the in-flight target at the end (its why).
    peak_threads: int = 0
    in_flight: str = ""

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
class _Lot:
    """Orders being read from VTEX, stored together once read."""

    fetches: list[tuple[str, Future[FetchedOrder]]] = field(default_factory=list)
    #: Called once the lot is stored (the feed commits its events, the hook marks its notifications).
    then: Callable[[], None] | None = None

    def read(self) -> bool:
        """Every order of the lot is read (or failed): storing it waits for nothing."""
        return all(future.done() for _, future in self.fetches)


class _Cycle:
    """One intake cycle: the threads, the counters and the lease to keep alive."""

    def __init__(
        self, *, client: VtexClient, executor: FollowingExecutor, held_lease, progress: Progress | None
    ) -> None:
        self.client = client
        self.executor = executor
        self.lease = held_lease
        self.progress = progress
        self.start_handling = settings.VTEX_START_HANDLING == "on_import"
        self.fetch_payments = settings.VTEX_FETCH_PAYMENTS
        self.sender = OutboxSender(client=client, executor=executor)
        self.result = IntakeResult()
        self.summaries: dict[str, dict[str, Any]] = {}
        self.failed_ids: set[str] = set()
        self._last_renewal = time.monotonic()
        self._last_hook_check = time.monotonic()
        self._commits: deque[tuple[list[str], Future[None]]] = deque()
        self._feed_lost = False
        #: Set when a read of this cycle comes back: this thread looks at its lots again.
        self._answered = threading.Event()
        self._last_recorded = time.monotonic()

    def run(self, lots: Iterator[_Lot | None], source_name: str) -> IntakeResult:
        try:
            if self.start_handling:
                self._send_due_start_handlings()
            self._take(self._with_hook_checks(lots), source_name)
            # The cycle goes on while notifications keep coming (their own task finds the lease taken).
            while more := list(self.hook_lots()):
                self._take(iter(more), "hook")
        finally:
            # Answers VTEX already gave are written even when an error ends the cycle early.
            self._record_commits(wait=True)
            self._count(self.sender.drain())
            call_log.flush()
        self._report()
        return self.result

    def _take(self, lots: Iterator[_Lot | None], source_name: str) -> None:
        """Lots are read ahead while the threads have less work than the in-flight target, and
        each is stored once its orders are all read, whichever was started first: one slow answer
        holds back its own lot only.

        When the source fails (reading a page or a lot, committing the feed), the lots being read
        are still stored, and the failure is reported once: nothing started is left behind."""
        reading: list[_Lot] = []
        try:
            for lot in lots:
                if lot is not NOTHING_YET:
                    reading.append(lot)
                self._store_while_enough_ahead(reading)
        except VtexConfigurationError:
            raise  # nothing can work: say so instead of counting a failed order
        except VtexError as exc:
            self._fail(f"({source_name})", exc)
        while reading:
            try:
                self._store_lots_read(reading)
            except VtexError as exc:
                self._fail(f"({source_name})", exc)
            if reading:
                self._answered.wait(timeout=LOOK_AGAIN_S)

    def _store_while_enough_ahead(self, reading: list[_Lot]) -> None:
        """Store the lots whose orders are all read; wait only while the threads have work enough
        without another lot, and look again whenever a read comes back (or a short while passed):
        the wire never waits for this thread."""
        while reading:
            self._store_lots_read(reading)
            if not reading or (
                len(reading) < MAX_LOTS_AHEAD and self.executor.unfinished < QUEUED_PER_TARGET * self.executor.target()
            ):
                return
            self._answered.wait(timeout=LOOK_AGAIN_S)

    def _store_lots_read(self, reading: list[_Lot]) -> None:
        self._answered.clear()  # before looking: an answer from now on is seen by the next look
        for lot in [lot for lot in reading if lot.read()]:
            reading.remove(lot)
            self._store(lot)
        if time.monotonic() - self._last_recorded >= RECORD_ANSWERS_EVERY_S:
            self._record_answers()  # while a slow lot is awaited, the answers of the others are written

    def _submit(self, fn: Callable[..., Any], /, *args: Any, first: bool = False, **kwargs: Any) -> Future:
        """A VTEX call in the threads; its answer wakes this thread."""
        future = (self.executor.submit_first if first else self.executor.submit)(fn, *args, **kwargs)
        future.add_done_callback(lambda _future: self._answered.set())
        return future

    def _with_hook_checks(self, lots: Iterator[_Lot | None]) -> Iterator[_Lot | None]:
        """The source's lots, with the hook's notifications that come in meanwhile."""
        for lot in lots:
            yield lot
            if time.monotonic() - self._last_hook_check >= HOOK_CHECK_EVERY_S:
                yield from self.hook_lots()

    # ---- sources: each yields lots ---------------------------------------------------------------

    def lot_of(self, order_ids: Iterable[str], *, then: Callable[[], None] | None = None) -> _Lot:
        """Start reading the orders not taken yet in this cycle."""
        return self._lot({order_id: {"orderId": order_id} for order_id in order_ids}, then=then)

    def _lot(self, summaries: dict[str, dict[str, Any]], *, then: Callable[[], None] | None = None) -> _Lot:
        lot = _Lot(then=then)
        for order_id, summary in summaries.items():
            if order_id and order_id not in self.summaries:
                # A failed first import keeps the summary's fields (the list's have the customer).
                self.summaries[order_id] = summary
                lot.fetches.append((order_id, self._submit(self._fetch, order_id)))
        return lot

    def _fetch(self, order_id: str) -> FetchedOrder:
        return vtex_fetch_order(client=self.client, order_id=order_id, fetch_payments=self.fetch_payments)

    def list_lots(self, pages: Iterable[list[dict[str, Any]]]) -> Iterator[_Lot]:
        for page in pages:
            crash_point("intake.list_page_read")
            entries = [entry for entry in page if isinstance(entry, dict) and entry.get("orderId")]
            ids = [str(entry["orderId"]) for entry in entries]
            complete = set(Order.objects.filter(order_id__in=ids, is_complete=True).values_list("order_id", flat=True))
            new = {}
            for order_id, entry in zip(ids, entries, strict=True):
                if order_id in complete:
                    # Stored already; its start-handling (if still due) went at the cycle's start.
                    self.result.already_known += 1
                else:
                    new[order_id] = entry
            yield self._lot(new)

    def ready_lots(self, **created) -> Iterator[_Lot]:
        """Every order VTEX lists in ready-for-handling (optionally created in a window)."""
        pages = self.client.iter_order_pages(status=VtexStatus.READY_FOR_HANDLING, **created)
        return self.list_lots(self._read_ahead(pages))

    def _read_ahead(self, pages: Iterator[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """The next page is read in a thread, before the orders waiting there, while this one's
        orders are taken: a slow page no longer stops the wire. (Pages are read last first, and
        taking a page's orders shifts only the pages after it: the next one read is unchanged.)"""
        end = object()
        upcoming = self._submit(next, pages, end, first=True)
        while (page := upcoming.result()) is not end:
            upcoming = self._submit(next, pages, end, first=True)
            yield page

    def feed_lots(self) -> Iterator[_Lot | None]:
        """Read the feed until it is empty; commit each lot's events once their orders are stored.

        Events repeat and come out of order (VTEX-API.md §9): each one only names an order, which
        is read back from VTEX and handled by its present status. An event whose order failed is
        not committed, so the feed hands it out again after the visibility timeout. An order's
        start-handling is in the outbox by then (written with the order), so it needs no wait.

        The feed carries only the changes made after it was configured: when this cycle had to
        create the configuration (the first cycle, or VTEX deleted an idle feed), the orders
        already waiting in ready-for-handling are taken from the list first.

        Reads run in the threads, ahead of the orders waiting there, several on their way at once
        (FEED_READ_PER_CALLS_IN_FLIGHT), and are taken as they come back: one read at a time,
        waiting 200 ms for each (1.5 s for a slow one), would leave most of the budget unspent.
        """
        if feed_config_ensure(client=self.client) == "created":
            yield from self.ready_lots()
        reads: set[Future[list[dict[str, Any]]]] = set()
        submitted, empty = 0, False
        while True:
            while not empty and submitted < FEED_MAX_LOTS_PER_CYCLE and len(reads) < self._feed_reads_ahead():
                reads.add(self._submit(self.client.read_feed, max_lot=FEED_MAX_LOT, first=True))
                submitted += 1
            if not reads:
                return
            come_back, _ = wait(reads, timeout=LOOK_AGAIN_S, return_when=FIRST_COMPLETED)
            if not come_back:
                yield NOTHING_YET
                continue
            for read in come_back:  # as they come: events are unordered anyway (VTEX-API.md §9)
                reads.discard(read)
                events = self._feed_events(read)
                if not events:
                    empty = True  # the reads already on their way are still taken
                    continue
                crash_point("intake.feed_read")
                handles_by_order: dict[str, list[str]] = {}
                for event in events:
                    handles_by_order.setdefault(str(event.get("orderId") or ""), []).append(
                        str(event.get("handle") or "")
                    )
                yield self.lot_of(handles_by_order, then=lambda handles=handles_by_order: self._commit_feed(handles))

    def retry_lots(self) -> Iterator[_Lot]:
        """Orders whose first import failed (the stub order_record_intake_failure left), read again
        in every cycle whatever named them first: one never waits on its feed event coming back
        (after the visibility timeout, and not one VTEX lost) or on a new notification."""
        order_ids = list(
            Order.objects.filter(is_complete=False)
            .order_by("intake_failed_at")
            .values_list("order_id", flat=True)[:RETRIES_PER_CYCLE]
        )
        if order_ids:
            yield self.lot_of(order_ids)

    def ready_lots_if_feed_lost(self) -> Iterator[_Lot]:
        if self._feed_lost:
            yield from self.ready_lots()

    def _feed_reads_ahead(self) -> int:
        return max(1, math.ceil(self.executor.target() / FEED_READ_PER_CALLS_IN_FLIGHT))

    def _feed_events(self, read: Future[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        try:
            events = read.result()
        except VtexNotFound:
            # VTEX deleted the configuration (an idle feed expires): make it again; the orders
            # that became ready meanwhile were never on the new feed, so take them from the list.
            feed_config_ensure(client=self.client)
            self._feed_lost = True
            events = []
        return feed_record_read(events)

    def _commit_feed(self, handles_by_order: dict[str, list[str]]) -> None:
        """Commit in a thread; the answer is recorded by _record_commits."""
        done = [
            handle
            for order_id, handles in handles_by_order.items()
            if order_id not in self.failed_ids
            for handle in handles
            if handle
        ]
        crash_point("intake.feed_before_commit")
        if done:
            self._commits.append((done, self._submit(self.client.commit_feed, done)))

    def _record_commits(self, *, wait: bool = False) -> None:
        while self._commits and (wait or self._commits[0][1].done()):
            handles, commit = self._commits.popleft()
            try:
                commit.result()
            except VtexError as exc:
                # Not committed: the feed hands the events out again after the visibility timeout.
                self._fail("(feed)", exc)
                continue
            self.result.committed += len(handles)
            crash_point("intake.feed_committed")

    def hook_lots(self) -> Iterator[_Lot]:
        """Orders named by stored hook notifications and not taken yet in this cycle, read back
        and handled; then their notifications are marked done.

        A notification whose order failed stays pending, and a later cycle tries it again; so does
        one that came for an order this cycle had already taken (it may say something newer).
        """
        self._last_hook_check = time.monotonic()
        started = timezone.now()
        order_ids = [order_id for order_id in hook_pending_order_ids() if order_id not in self.summaries]
        if order_ids:
            yield self.lot_of(order_ids, then=lambda: self._mark_notifications_done(order_ids, received_before=started))

    def _mark_notifications_done(self, order_ids: list[str], *, received_before) -> None:
        hook_notifications_done(
            order_ids=[order_id for order_id in order_ids if order_id not in self.failed_ids],
            received_before=received_before,
        )
        why = dict(self.result.failures)
        hook_notifications_failed(errors={order_id: why[order_id] for order_id in order_ids if order_id in why})

    # ---- storing and start-handling --------------------------------------------------------------

    def _store(self, lot: _Lot) -> None:
        fetched: list[FetchedOrder] = []
        for order_id, future in lot.fetches:
            try:
                fetched.append(future.result())
            except (VtexError, VtexDataError) as exc:
                self._fail(order_id, exc)
                continue
            crash_point("intake.order_fetched")
        if fetched:
            self._store_fetched(fetched)
        if lot.then is not None:
            lot.then()
        self._record_answers()

    def _record_answers(self) -> None:
        """The start-handlings and feed commits VTEX answered; the lease and the progress line."""
        self._last_recorded = time.monotonic()
        self._count(self.sender.record())
        self._record_commits()
        self._keep_alive()

    def _store_fetched(self, fetched: list[FetchedOrder]) -> None:
        known = set(Order.objects.filter(order_id__in=[f.order_id for f in fetched]).values_list("order_id", flat=True))
        taken = []
        for order in fetched:
            if order.data.fields["vtex_status"] != VtexStatus.READY_FOR_HANDLING and order.order_id not in known:
                # Not ours to take: it left ready-for-handling before we saw it (canceled, say).
                self.result.ignored += 1
            else:
                taken.append(order)
        outcomes = self._store_each_that_can_be(taken)
        for outcome in outcomes:
            crash_point("intake.order_stored")
            if outcome.created:
                self.result.imported += 1
            elif outcome.changed:
                self.result.updated += 1
            else:
                self.result.already_known += 1
        if self.start_handling:
            rows = outbox_enqueue_start_handling(orders=[outcome.order for outcome in outcomes])
            crash_point("intake.start_handling_queued")
            self._send([row.pk for row in rows])

    def _store_each_that_can_be(self, fetched: list[FetchedOrder]) -> list[StoreOutcome]:
        """The lot in one batch; when the database refuses it, each order alone, so that the one it
        refuses fails alone (recorded with the database's reason) and the others are stored."""
        try:
            return orders_store_from_vtex(fetched=fetched)
        except STORE_ERRORS:
            pass  # below, one at a time
        outcomes = []
        for order in fetched:
            try:
                outcomes += orders_store_from_vtex(fetched=[order])
            except STORE_ERRORS as exc:
                self._fail(order.order_id, VtexDataError("order", f"the database refused it: {exc}"))
        return outcomes

    def _send_due_start_handlings(self) -> None:
        """Start-handlings left from earlier cycles (and rows for stored orders that lack one)."""
        outbox_enqueue_start_handling(orders=list(orders_awaiting_start_handling()))
        self._send(list(outbox_due().filter(kind=OutboxMessage.Kind.START_HANDLING).values_list("pk", flat=True)))

    def _send(self, message_ids: list[int]) -> None:
        while message_ids:
            self._count(self.sender.record(until_room=1))
            chunk, message_ids = message_ids[: self.sender.room], message_ids[self.sender.room :]
            self.sender.submit(outbox_claim_many(message_ids=chunk))

    def _count(self, outcomes: list[SendOutcome]) -> None:
        for outcome in outcomes:
            if outcome.message.kind != OutboxMessage.Kind.START_HANDLING:
                continue
            if outcome.state == OutboxMessage.State.SENT:
                self.result.acknowledged += 1
            else:
                self._fail(outcome.message.order.order_id, VtexError(outcome.detail), record=False)

    def _fail(self, order_id: str, error: VtexError | VtexDataError, *, record: bool = True) -> None:
        self.failed_ids.add(order_id)
        self.result.failed += 1
        self.result.failures.append((order_id, str(error)))
        if record and order_id in self.summaries:
            order_record_intake_failure(order_id=order_id, summary=self.summaries[order_id], error=error)

    def _keep_alive(self) -> None:
        if time.monotonic() - self._last_renewal >= LEASE_RENEW_EVERY_S:
            self.lease.renew()
            self._last_renewal = time.monotonic()
        # The threads' call records wait in memory (about 4 KB each): written lot by lot, so a
        # long cycle's memory stays flat.
        call_log.flush()
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
        with vtex_threads() as executor:
            cycle = _Cycle(client=client, executor=executor, held_lease=held, progress=progress)

            def sweep() -> Iterator[_Lot]:
                # The safety net behind the feed and the hook: recent orders still ready at VTEX.
                created_to = timezone.now() + timedelta(minutes=1)
                created_from = created_to - timedelta(hours=settings.VTEX_SWEEP_WINDOW_HOURS)
                return cycle.ready_lots(created_from=created_from, created_to=created_to)

            # The hook is the fast path; the list and the feed back it up.
            lots = {
                "hook": cycle.hook_lots,  # a task per burst of notifications; their failures back off
                "feed": lambda: _chain(
                    cycle.hook_lots(), cycle.feed_lots(), cycle.ready_lots_if_feed_lost(), cycle.retry_lots()
                ),
                "list": lambda: _chain(cycle.hook_lots(), cycle.ready_lots(), cycle.retry_lots()),
                "sweep": sweep,
            }
            result = cycle.run(lots[source](), source)
        result.peak_threads, result.in_flight = executor.peak_threads, vtex_in_flight_target().describe()
    # Notifications that came after the cycle's last look found the lease taken: take them now.
    if hook_pending_order_ids(limit=1):
        hook_queue_processing()
    return result


def _chain(*iterators: Iterator[_Lot | None]) -> Iterator[_Lot | None]:
    for iterator in iterators:
        yield from iterator
