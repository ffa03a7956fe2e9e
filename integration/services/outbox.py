"""The outbox: every write to VTEX, sent after the local change that needs it is committed.

Start-handling, invoices, tracking numbers, tracking events and cancellations all go this way
(DESIGN.md "Side effects after commit"):
- a row is written in the same transaction as the change (start-handling: right after the order
  is stored); a django-q2 task sends it after commit (start-handling: the intake cycle), and the
  `push pending` schedule (and `manage.py push_pending`) sends whatever is due;
- a row is claimed with a conditional UPDATE, so two senders never send the same row at once;
- rows go in the order VTEX's rules need: an invoice's tracking and events after it, an invoice
  after the order's start-handling and earlier invoices (a return after the completing sale);
- transient failures (429, 5xx, timeouts, dropped connections) are retried with backoff;
- after an attempt whose outcome is unknown, and after a 409, the order is read back from VTEX
  first, and the row counts as sent if VTEX already shows its effect: nothing is applied twice;
- a refusal (4xx) stops the row with VTEX's answer (kept as data: status, code, message) until
  staff fix the cause and retry it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django_q.tasks import async_task

from integration.infra.crashpoints import crash_point
from integration.infra.vtex_client import call_log
from integration.infra.workers import FollowingExecutor, vtex_threads
from integration.models import CancellationRequest, Invoice, Order, OrderEvent, OutboxMessage, SendState
from integration.selectors.sellers import fulfilled_elsewhere_q, order_fulfilled_elsewhere
from integration.services.events import order_event_build, order_event_record
from integration.services.order_state import orders_recompute_states
from integration.services.order_sync import FetchedOrder, orders_store_from_vtex
from integration.vtex import VtexClient, VtexConflict, VtexError, VtexRateLimited, VtexServerError
from integration.vtex.mapping import VtexDataError, order_data_from_vtex
from integration.vtex.statuses import CANCEL_TAKEN, START_HANDLING_TOOK_EFFECT, VtexStatus, start_handling_shown

logger = logging.getLogger(__name__)

#: Waits between attempts after a transient failure: quick at first, then every half hour.
RETRY_DELAYS = (
    timedelta(seconds=15),
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
#: After this many transient failures in a row the row stops and waits for staff.
MAX_ATTEMPTS = 15
#: A claim older than this belongs to a sender that died mid-send; the row may be taken again.
CLAIM_STALE_AFTER = timedelta(minutes=5)
#: Due rows read at a time; the next read sees the rows that the sends of this lot unblocked.
DUE_BATCH = 200
#: Rows on the wire or answered and not yet recorded, per thread: answers pile up while the
#: owner records the previous ones, so it records them in bigger batches.
WINDOW_PER_THREAD = 4

State = OutboxMessage.State
Kind = OutboxMessage.Kind
#: Kinds whose newest content replaces older content: an older row still waiting is not needed.
REPLACING_KINDS = (Kind.TRACKING, Kind.TRACKING_EVENTS)
#: Rows that will still be sent, or were: a kind that must exist once per order looks at these.
LIVE_STATES = (State.PENDING, State.SENDING, State.SENT, State.FAILED)


# ---- writing rows -------------------------------------------------------------------------------


def outbox_enqueue(
    *,
    kind: str,
    order: Order,
    payload: dict[str, Any],
    invoice: Invoice | None = None,
    cancellation: CancellationRequest | None = None,
    actor=None,
) -> OutboxMessage:
    """Write the row (inside the caller's transaction) and have it sent once that commits."""
    now = timezone.now()
    if kind in REPLACING_KINDS:
        OutboxMessage.objects.filter(kind=kind, invoice=invoice, state=State.PENDING).update(
            state=State.STOPPED, last_error="Replaced by newer content before it was sent."
        )
    message = OutboxMessage.objects.create(
        kind=kind,
        order=order,
        invoice=invoice,
        cancellation=cancellation,
        payload=payload,
        next_attempt_at=now,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    transaction.on_commit(lambda: _queue_send(message.pk))
    return message


def _queue_send(message_id: int) -> None:
    crash_point("outbox.committed_before_queue")
    try:
        async_task("integration.tasks.send_outbox_message", message_id, group="outbox")
    except Exception:  # the push-pending schedule sends it anyway; the change is already safe
        logger.exception("could not queue outbox message %s; the push-pending schedule will send it", message_id)


def orders_awaiting_start_handling() -> QuerySet[Order]:
    """Stored orders still in ready-for-handling with no start-handling row: a crash between
    storing and writing the row, or a first import completed by a refresh. Orders another seller
    fulfils are never ours to acknowledge."""
    return (
        Order.objects.filter(is_complete=True, vtex_status=VtexStatus.READY_FOR_HANDLING)
        .exclude(fulfilled_elsewhere_q())
        .exclude(
            Exists(OutboxMessage.objects.filter(order=OuterRef("pk"), kind=Kind.START_HANDLING, state__in=LIVE_STATES))
        )
    )


def outbox_enqueue_start_handling(*, orders: list[Order], actor=None) -> list[OutboxMessage]:
    """A start-handling row for each order in ready-for-handling that has none (sent, or still to
    be sent), in one INSERT. No task is queued: the caller sends them (the intake cycle, the ERP's
    ack), and the push-pending schedule catches up.

    An order another seller fulfils gets none: start-handling is its seller's to send."""
    candidates = {
        order.pk: order
        for order in orders
        if order.vtex_status == VtexStatus.READY_FOR_HANDLING and not order_fulfilled_elsewhere(order)
    }
    if not candidates:
        return []
    have = set(
        OutboxMessage.objects.filter(
            order_id__in=list(candidates), kind=Kind.START_HANDLING, state__in=LIVE_STATES
        ).values_list("order_id", flat=True)
    )
    now = timezone.now()
    created_by = actor if getattr(actor, "pk", None) else None
    return OutboxMessage.objects.bulk_create(
        OutboxMessage(kind=Kind.START_HANDLING, order=order, payload={}, next_attempt_at=now, created_by=created_by)
        for pk, order in candidates.items()
        if pk not in have
    )


# ---- claiming -----------------------------------------------------------------------------------


#: A row not sent yet: later rows that depend on it wait.
UNSENT_STATES = (State.PENDING, State.SENDING, State.FAILED)


def _waiting_for_an_earlier_row() -> Q:
    """The order VTEX's rules need between the rows of one order: an invoice's tracking and events
    after the invoice (and in the order they were written); an invoice after the order's
    start-handling and after the order's earlier invoices (VTEX refuses a return before the sale
    that completes the order, and any invoice before start-handling). A row whose earlier row
    failed waits with it: sent alone, VTEX would refuse it for good."""
    earlier = OutboxMessage.objects.filter(id__lt=OuterRef("id"), state__in=UNSENT_STATES)
    same_invoice = Exists(earlier.filter(invoice=OuterRef("invoice"), invoice__isnull=False))
    before_an_invoice = Exists(earlier.filter(order=OuterRef("order"), kind__in=[Kind.START_HANDLING, Kind.INVOICE]))
    return Q(same_invoice) | (Q(kind=Kind.INVOICE) & Q(before_an_invoice))


def _claimable(now) -> Q:
    return Q(state=State.PENDING, next_attempt_at__lte=now) | Q(
        state=State.SENDING, claimed_at__lt=now - CLAIM_STALE_AFTER
    )


def _unknown_if_taken_back() -> Case:
    """A row still "sending" is taken back from a sender that died mid-send: it may have reached
    VTEX, so its outcome is unknown and the order is read back before anything is re-sent."""
    return Case(When(state=State.SENDING, then=Value(True)), default=F("outcome_unknown"))


def outbox_due(*, now=None) -> QuerySet[OutboxMessage]:
    now = now or timezone.now()
    return OutboxMessage.objects.filter(_claimable(now)).exclude(_waiting_for_an_earlier_row()).order_by("id")


def outbox_claim(*, message_id: int) -> bool:
    return bool(outbox_claim_many(message_ids=[message_id]))


def outbox_claim_many(*, message_ids: list[int]) -> list[OutboxMessage]:
    """Take the right to send these rows: one conditional UPDATE, so of two senders exactly one
    changes a row. Returns the rows claimed (with their order, invoice and cancellation), oldest
    first: the ones now SENDING with this claim's token."""
    if not message_ids:
        return []
    now = timezone.now()
    token = uuid.uuid4().hex
    claimed = (
        OutboxMessage.objects.filter(pk__in=message_ids)
        .filter(_claimable(now))
        .exclude(_waiting_for_an_earlier_row())
        .update(
            state=State.SENDING,
            claimed_at=now,
            claim_token=token,
            attempts=F("attempts") + 1,
            outcome_unknown=_unknown_if_taken_back(),
        )
    )
    if not claimed:
        return []
    return list(
        OutboxMessage.objects.select_related("order", "invoice", "cancellation")
        .defer("order__raw")
        .filter(pk__in=message_ids, state=State.SENDING, claim_token=token)
        .order_by("id")
    )


# ---- the VTEX side (worker threads: no database access) ------------------------------------------


def _send(client: VtexClient, message: OutboxMessage) -> dict[str, Any]:
    order_id = message.order.order_id
    payload = message.payload
    if message.kind == Kind.START_HANDLING:
        client.start_handling(order_id)
        return {}
    if message.kind == Kind.INVOICE:
        return client.send_invoice(order_id, payload) or {}
    if message.kind == Kind.TRACKING:
        return client.update_invoice_tracking(order_id, message.invoice.number, payload) or {}
    if message.kind == Kind.TRACKING_EVENTS:
        return client.send_tracking_events(order_id, message.invoice.number, payload) or {}
    if message.kind == Kind.CANCEL:
        return client.cancel_order(order_id, reason=payload.get("reason", "")) or {}
    raise ValueError(f"unknown outbox kind {message.kind!r}")


def _package(vtex_order: dict[str, Any], number: str) -> dict[str, Any] | None:
    packages = ((vtex_order.get("packageAttachment") or {}).get("packages")) or []
    return next((p for p in packages if isinstance(p, dict) and p.get("invoiceNumber") == number), None)


def vtex_shows_effect(message: OutboxMessage, vtex_order: dict[str, Any]) -> bool:
    """Does the order read back from VTEX already show what this row would do?"""
    if message.kind == Kind.START_HANDLING:
        # VTEX moves an order out of ready-for-handling once; a repeat gets 409 (VTEX-API.md §3).
        return start_handling_shown(str(vtex_order.get("status") or ""), stored=message.order.vtex_status)
    if message.kind == Kind.CANCEL:
        return vtex_order.get("status") in CANCEL_TAKEN
    package = _package(vtex_order, message.invoice.number)
    if package is None:
        return False
    if message.kind == Kind.INVOICE:
        return True
    if message.kind == Kind.TRACKING:
        return package.get("trackingNumber") == message.payload.get("trackingNumber")
    courier = package.get("courierStatus") or {}
    return len(courier.get("data") or []) == len(message.payload.get("events") or []) and bool(
        courier.get("finished")
    ) == bool(message.payload.get("isDelivered"))


@dataclass
class _Job:
    message: OutboxMessage
    #: Read the order back after a successful send (decided before sending: see _reads_back).
    read_back: bool


@dataclass
class _Answer:
    answer: dict[str, Any]
    note: str = ""
    #: The note for the timeline, rendered in the reader's language (integration.selectors.timeline):
    #: "already_shown" (read back after an unanswered attempt) or "status_shown" (a repeat VTEX took).
    note_key: str = ""
    #: The status VTEX showed when it was read back (start-handling records it).
    vtex_status: str = ""


@dataclass
class _Done:
    job: _Job
    answer: _Answer | None = None
    error: VtexError | None = None
    #: The order as read back from VTEX, when it was: stored after the answer is recorded.
    fetched: FetchedOrder | None = None


def _reads_back(message: OutboxMessage) -> bool:
    """After the invoice that completes the order, or a cancellation, VTEX's status changes: the
    order is read back once so erp-bridge shows it (best effort; the feed and the daily
    reconciliation catch up otherwise). Decided before sending: the order's state follows its
    invoices and requests, not whether they were sent, so it is already what it will be after."""
    completes = message.kind == Kind.INVOICE and message.order.state in (
        Order.State.INVOICED,
        Order.State.SHIPPED,
        Order.State.DELIVERED,
    )
    return completes or message.kind == Kind.CANCEL


def _read_back(client: VtexClient, message: OutboxMessage, done: _Done) -> dict[str, Any]:
    """The order as VTEX has it now; kept on `done` to be stored, unless VTEX sent it malformed
    (the decision needs only its status and packages)."""
    raw = client.get_order(message.order.order_id)
    try:
        done.fetched = FetchedOrder(raw=raw, data=order_data_from_vtex(raw))
    except VtexDataError:
        logger.warning("order %s read back from VTEX is malformed; not stored", message.order.order_id)
    return raw


def _call_vtex(client: VtexClient, done: _Done) -> _Answer:
    """A row's VTEX side. Raises VtexError when VTEX did not take it."""
    message = done.job.message
    if message.outcome_unknown:
        vtex_order = _read_back(client, message, done)
        if vtex_shows_effect(message, vtex_order):
            return _Answer(
                {},
                "VTEX already shows it (read back after an unanswered attempt).",
                vtex_status=str(vtex_order.get("status") or ""),
                note_key="already_shown",
            )
    try:
        answer = _Answer(_send(client, message))
    except VtexConflict as conflict:
        # A repeat (ours, or an earlier attempt whose answer was lost): VTEX's order says.
        vtex_order = _read_back(client, message, done)
        status = str(vtex_order.get("status") or "")
        if not vtex_shows_effect(message, vtex_order):
            conflict.message = f"{conflict.message} (VTEX shows the order in {status or 'an unknown status'})"
            raise
        return _Answer({}, f"VTEX shows the order in {status}.", vtex_status=status, note_key="status_shown")
    crash_point(f"outbox.sent.{message.kind}")
    if done.job.read_back:
        try:
            _read_back(client, message, done)
        except VtexError:  # a failed read-back must not undo a successful send
            logger.warning("could not read order %s back after sending", message.order.order_id, exc_info=True)
    return answer


def _run(client: VtexClient, job: _Job) -> _Done:
    done = _Done(job)
    try:
        done.answer = _call_vtex(client, done)
    except VtexError as exc:
        done.error = exc
    return done


# ---- recording (the owner's thread) --------------------------------------------------------------


@dataclass
class SendOutcome:
    message: OutboxMessage
    state: str
    detail: str


#: Timeline kinds of a row sent and of a row VTEX did not take, where the kind has its own.
_EVENT_KINDS = {Kind.START_HANDLING: (OrderEvent.Kind.ACKNOWLEDGED, OrderEvent.Kind.ACK_FAILED)}
_DEFAULT_EVENT_KINDS = (OrderEvent.Kind.SENT, OrderEvent.Kind.SEND_FAILED)


def _sync_target(message: OutboxMessage, state: str, *, receipt: str = "", answer: str = "") -> None:
    """Mirror the row's state on what it carries (the invoice's send state, the cancellation)."""
    if message.kind == Kind.INVOICE:
        fields = {"send_state": state}
        if receipt:
            fields["vtex_receipt"] = receipt
        Invoice.objects.filter(pk=message.invoice_id).update(**fields)
    elif message.kind == Kind.CANCEL:
        cancellation_state = {
            SendState.SENT: CancellationRequest.State.REQUESTED,
            SendState.FAILED: CancellationRequest.State.FAILED,
            SendState.PENDING: CancellationRequest.State.PENDING,
            SendState.SENDING: CancellationRequest.State.SENDING,
        }[state]
        fields = {"state": cancellation_state, "vtex_answer": answer}
        if receipt:
            fields["vtex_receipt"] = receipt
        # A cancellation VTEX already confirmed (status sync) stays confirmed.
        CancellationRequest.objects.filter(pk=message.cancellation_id).exclude(
            state=CancellationRequest.State.CONFIRMED
        ).update(**fields)


def _by_pk(values: dict[int, str], *, default) -> Case | Any:
    """One column's value per row, for one UPDATE of many rows."""
    if not values:
        return default
    return Case(*(When(pk=pk, then=Value(value)) for pk, value in values.items()), default=default)


def _record_sent(entries: list[tuple[OutboxMessage, _Answer]]) -> list[SendOutcome]:
    """Record accepted rows in one transaction: one UPDATE of the rows, one of their invoices, the
    new VTEX status of orders whose start-handling took, one INSERT of the timeline entries and the
    orders' states recomputed together. A cancellation's request (rare; its state has its own rule)
    is written by _sync_target."""
    if not entries:
        return []
    now = timezone.now()
    receipts = {message.pk: str(answer.answer.get("receipt") or "")[:100] for message, answer in entries}
    invoice_receipts = {
        message.invoice_id: receipts[message.pk] for message, _ in entries if message.kind == Kind.INVOICE
    }
    outcomes, events = [], []
    with transaction.atomic():
        OutboxMessage.objects.filter(pk__in=list(receipts)).update(
            state=State.SENT,
            sent_at=now,
            vtex_receipt=_by_pk(receipts, default=Value("")),
            outcome_unknown=False,
            last_error="",
            last_error_code="",
            last_request="",
            last_status_code=None,
            gave_up=False,
        )
        if invoice_receipts:
            # As _sync_target: an empty receipt keeps the one stored.
            Invoice.objects.filter(pk__in=list(invoice_receipts)).update(
                send_state=SendState.SENT,
                vtex_receipt=_by_pk(
                    {pk: receipt for pk, receipt in invoice_receipts.items() if receipt}, default=F("vtex_receipt")
                ),
            )
        _record_start_handlings(
            [(message, answer) for message, answer in entries if message.kind == Kind.START_HANDLING]
        )
        for message, answer in entries:
            receipt = receipts[message.pk]
            if message.kind == Kind.CANCEL:
                _sync_target(message, SendState.SENT, receipt=receipt, answer=answer.note or "Accepted by VTEX.")
            detail = answer.note or (f"VTEX accepted it (receipt {receipt})." if receipt else "VTEX accepted it.")
            params = {**_what(message), "receipt": receipt, "note": answer.note_key, "vtex_status": answer.vtex_status}
            events.append(
                order_event_build(
                    order=message.order,
                    kind=_EVENT_KINDS.get(message.kind, _DEFAULT_EVENT_KINDS)[0],
                    params=params,
                    actor_label="system",
                    data={"outbox": message.pk, "receipt": receipt},
                )
            )
            outcomes.append(SendOutcome(message, State.SENT, detail))
        OrderEvent.objects.bulk_create(events)
        orders_recompute_states([message.order for message, _ in entries])
    for message, _ in entries:
        message.state, message.sent_at, message.vtex_receipt = State.SENT, now, receipts[message.pk]
        message.outcome_unknown, message.last_status_code, message.gave_up = False, None, False
        message.last_error = message.last_error_code = message.last_request = ""
    return outcomes


def _record_start_handlings(entries: list[tuple[OutboxMessage, _Answer]]) -> None:
    """Start-handling took: the order is in handling at VTEX (or in the status read back, when
    that is further on). One UPDATE per resulting status; only orders still behind it move."""
    by_status: dict[str, list[Order]] = {}
    for message, answer in entries:
        status = answer.vtex_status if answer.vtex_status in START_HANDLING_TOOK_EFFECT else VtexStatus.HANDLING
        by_status.setdefault(status, []).append(message.order)
    for status, orders in by_status.items():
        Order.objects.filter(pk__in=[order.pk for order in orders], vtex_status=VtexStatus.READY_FOR_HANDLING).update(
            vtex_status=status
        )
        for order in orders:
            if order.vtex_status == VtexStatus.READY_FOR_HANDLING:
                order.vtex_status = status


def _retry_delay(message: OutboxMessage, error: VtexError, *, unknown: bool) -> timedelta:
    delay = RETRY_DELAYS[min(message.attempts, len(RETRY_DELAYS)) - 1]
    if isinstance(error, VtexRateLimited) and error.retry_after:
        delay = max(delay, timedelta(seconds=error.retry_after))
    if unknown:
        # VTEX may still be working on the unanswered request; reading back before it finishes
        # would miss its effect and send it a second time. Wait at least one read timeout.
        delay = max(delay, unknown_outcome_settle_time())
    return delay


def unknown_outcome_settle_time() -> timedelta:
    return timedelta(seconds=settings.VTEX_READ_TIMEOUT_S)


def _record_failure(message: OutboxMessage, error: VtexError) -> SendOutcome:
    # A 5xx may come after VTEX applied the change, like a timeout: read back before re-sending.
    unknown = message.outcome_unknown or error.outcome_unknown or isinstance(error, VtexServerError)
    answer = error.message[:2000]
    fields: dict[str, Any] = {
        "outcome_unknown": unknown,
        "last_status_code": error.status,
        "last_error_code": str(error.code or "")[:64],
        "last_error": answer,
        "last_request": f"{error.method} {error.path}"[:600] if error.method else "",
        "gave_up": False,
    }
    with transaction.atomic():
        if error.transient and message.attempts < MAX_ATTEMPTS:
            next_attempt = timezone.now() + _retry_delay(message, error, unknown=unknown)
            fields.update(state=State.PENDING, next_attempt_at=next_attempt)
            _sync_target(message, SendState.PENDING, answer=str(error))
            outcome = SendOutcome(message, State.PENDING, f"will retry at {next_attempt:%H:%M:%S} UTC: {error}")
        else:
            fields.update(state=State.FAILED, gave_up=error.transient)
            why = f"gave up after {message.attempts} attempts: {error}" if error.transient else str(error)
            _sync_target(message, SendState.FAILED, answer=why)
            order_event_record(
                order=message.order,
                kind=_EVENT_KINDS.get(message.kind, _DEFAULT_EVENT_KINDS)[1],
                params={
                    **_what(message),
                    "error": str(error),
                    "attempts": message.attempts,
                    "gave_up": error.transient,
                },
                data={"outbox": message.pk, "status": error.status, "code": error.code},
            )
            outcome = SendOutcome(message, State.FAILED, why)
        OutboxMessage.objects.filter(pk=message.pk).update(**fields)
    for name, value in fields.items():
        setattr(message, name, value)
    return outcome


def _what(message: OutboxMessage) -> dict[str, str]:
    """The row as the timeline's parameters name it: its kind, and its invoice if any."""
    return {"outbox_kind": message.kind, "invoice": message.invoice.number if message.invoice_id else ""}


def _record_done(batch: list[_Done]) -> list[SendOutcome]:
    """Record the answers of a batch of sends, in the batch's order: accepted rows together
    (_record_sent), a failure alone; then the orders read back are stored."""
    by_message = {
        outcome.message.pk: outcome
        for outcome in _record_sent([(done.job.message, done.answer) for done in batch if done.error is None])
    }
    outcomes = []
    for done in batch:
        message = done.job.message
        if message.pk not in by_message:
            by_message[message.pk] = _record_failure(message, done.error)
        outcomes.append(by_message[message.pk])
        crash_point("outbox.recorded")
    fetched = [done.fetched for done in batch if done.fetched is not None]
    if fetched:
        crash_point("outbox.read_back")
        try:
            orders_store_from_vtex(fetched=fetched)
        except Exception:  # noqa: BLE001 - a failed read-back must not undo a successful send
            logger.warning("could not store the orders read back after sending", exc_info=True)
    return outcomes


# ---- senders ------------------------------------------------------------------------------------


class OutboxSender:
    """Sends claimed rows through an executor's threads and records their answers in this thread.

    Used by outbox_send_due and by the intake cycle (start-handling), so that both keep the same
    rules: one claim per row, the read-back, the recording. `window` bounds the rows on the wire
    or answered and not yet recorded (claims never wait long enough to go stale): a few rows per
    thread the pool may run, so it follows the pool's in-flight target."""

    def __init__(self, *, client: VtexClient, executor: FollowingExecutor) -> None:
        self.client = client
        self.executor = executor
        self._in_flight: set[Future[_Done]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    @property
    def window(self) -> int:
        return self.executor.target() * WINDOW_PER_THREAD

    @property
    def room(self) -> int:
        return max(0, self.window - len(self._in_flight))

    def submit(self, messages: list[OutboxMessage]) -> None:
        """Rows claimed by this process (outbox_claim_many)."""
        for message in messages:
            crash_point("outbox.claimed")
            self._in_flight.add(self.executor.submit(_run, self.client, _Job(message, _reads_back(message))))

    def record(self, *, block: bool = False, until_room: int = 0) -> list[SendOutcome]:
        """Record every answer already in; with block, wait for one at least first; with
        until_room, wait until the window has that much room."""
        outcomes: list[SendOutcome] = []
        while True:
            finished = {future for future in self._in_flight if future.done()}
            if not finished and self._in_flight and (block or self.room < until_room):
                finished, _ = wait(self._in_flight, return_when=FIRST_COMPLETED)
            if not finished:
                return outcomes
            self._in_flight -= finished
            block = False
            outcomes += _record_done(sorted((future.result() for future in finished), key=lambda d: d.job.message.pk))

    def drain(self) -> list[SendOutcome]:
        outcomes: list[SendOutcome] = []
        while self._in_flight:
            outcomes += self.record(block=True)
        return outcomes


@dataclass
class PushSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def add(self, outcome: SendOutcome | None) -> None:
        if outcome is None:
            return
        if outcome.state == State.SENT:
            self.sent += 1
        elif outcome.state == State.FAILED:
            self.failed += 1
        else:
            self.retrying += 1


def outbox_send(*, message_id: int, client: VtexClient) -> SendOutcome | None:
    """Send one row now, in this thread, if it is due and nobody else is sending it; None when
    there was nothing to do (the django-q2 task after a commit, the ERP's ack, "Retry now")."""
    claimed = outbox_claim_many(message_ids=[message_id])
    if not claimed:
        return None
    crash_point("outbox.claimed")
    (outcome,) = _record_done([_run(client, _Job(claimed[0], _reads_back(claimed[0])))])
    return outcome


def outbox_send_due(
    *,
    client: VtexClient,
    limit: int | None = None,
    progress: Callable[[PushSummary], None] | None = None,
    concurrency: int | None = None,
) -> PushSummary:
    """Send every due row once, oldest first; rows unblocked by a send go in the same pass.

    As many rows are on the wire at once as the budget and VTEX's answer times need (the
    process's in-flight target; `concurrency` fixes it); the shared rate budget paces them.
    Not inside a transaction: the sends take minutes, and the threads' budget reads would wait
    for its locks.
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_send_due calls VTEX: run it outside any database transaction")
    summary = PushSummary()
    seen: set[int] = set()

    def report(outcomes: list[SendOutcome]) -> None:
        for outcome in outcomes:
            summary.add(outcome)
            if progress is not None:
                progress(summary)

    with vtex_threads((lambda: concurrency) if concurrency else None) as executor:
        sender = OutboxSender(client=client, executor=executor)
        try:
            while limit is None or len(seen) < limit:
                due = [pk for pk in outbox_due().values_list("pk", flat=True)[:DUE_BATCH] if pk not in seen]
                if limit is not None:
                    due = due[: limit - len(seen)]
                if not due:
                    if not sender.in_flight:
                        break
                    # Rows still on the wire may unblock others (an invoice waits for its order's
                    # start-handling): record them, then look again. Not before: the wire stays
                    # full from one read of due rows to the next.
                    report(sender.drain())
                    continue
                seen.update(due)
                while due:
                    report(sender.record(until_room=1))
                    chunk, due = due[: sender.room], due[sender.room :]
                    sender.submit(outbox_claim_many(message_ids=chunk))
                call_log.flush()
            report(sender.drain())
        finally:
            call_log.flush()
    return summary


def outbox_retry(*, message: OutboxMessage, actor=None) -> bool:
    """Staff asked to try a failed (or waiting) row again now. The read-back still applies."""
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, state__in=[State.FAILED, State.PENDING]).update(
            state=State.PENDING, next_attempt_at=timezone.now(), attempts=0, gave_up=False
        )
        if not updated:
            return False
        _sync_target(message, SendState.PENDING, answer="Retry requested.")
        order_event_record(
            order=message.order,
            kind=OrderEvent.Kind.SEND_RETRY,
            params={**_what(message), "retry": "requested"},
            actor=actor,
        )
    transaction.on_commit(lambda: _queue_send(message.pk))
    return True
