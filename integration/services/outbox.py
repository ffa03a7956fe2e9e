"""The outbox: every call to VTEX that a local change needs, sent after the change is committed.

Rules (DESIGN.md "Side effects after commit", issue 3 §3):
- a row is written in the same transaction as the change; a django-q2 task sends it after commit,
  and the `push pending` schedule (and `manage.py push_pending`) sends whatever is due;
- a row is claimed with a conditional UPDATE, so two workers never send the same row at once;
- the rows of one invoice go in order: the invoice, then its tracking number, then its events;
- transient failures (429, 5xx, timeouts, dropped connections) are retried with backoff;
- after an attempt whose outcome is unknown, the order is read back from VTEX first, and the
  row counts as sent if VTEX already shows its effect: nothing is ever applied twice;
- a refusal (4xx) stops the row with VTEX's message until staff fix the cause and retry it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from integration.infra.crashpoints import crash_point
from integration.models import CancellationRequest, Invoice, Order, OrderEvent, OutboxMessage, SendState
from integration.services.events import order_event_record, stored_text
from integration.vtex import VtexClient, VtexError, VtexRateLimited, VtexServerError

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
#: A claim older than this belongs to a worker that died mid-send; the row may be taken again.
CLAIM_STALE_AFTER = timedelta(minutes=5)
#: Statuses that show VTEX took a cancellation (VTEX-API.md §7, §10).
CANCEL_TAKEN_STATUSES = frozenset({"cancellation-requested", "cancel", "canceled"})

State = OutboxMessage.State
Kind = OutboxMessage.Kind
#: Kinds whose newest content replaces older content: an older row still waiting is not needed.
REPLACING_KINDS = (Kind.TRACKING, Kind.TRACKING_EVENTS)


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
    from django_q.tasks import async_task

    try:
        async_task("integration.tasks.send_outbox_message", message_id, group="outbox")
    except Exception:  # the push-pending schedule sends it anyway; the change is already safe
        logger.exception("could not queue outbox message %s; the push-pending schedule will send it", message_id)


def _earlier_unsent_of_same_invoice() -> Exists:
    return Exists(
        OutboxMessage.objects.filter(
            invoice=OuterRef("invoice"),
            invoice__isnull=False,
            id__lt=OuterRef("id"),
            state__in=[State.PENDING, State.SENDING, State.FAILED],
        )
    )


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
    return OutboxMessage.objects.filter(_claimable(now)).exclude(_earlier_unsent_of_same_invoice()).order_by("id")


def _claim(rows: QuerySet[OutboxMessage], now, token: str = "") -> int:
    """The claim: a conditional UPDATE, so of two senders exactly one changes a row."""
    return (
        rows.filter(_claimable(now))
        .exclude(_earlier_unsent_of_same_invoice())
        .update(
            state=State.SENDING,
            claimed_at=now,
            claim_token=token,
            attempts=F("attempts") + 1,
            outcome_unknown=_unknown_if_taken_back(),
        )
    )


def outbox_claim(*, message_id: int) -> bool:
    return bool(_claim(OutboxMessage.objects.filter(pk=message_id), timezone.now()))


def outbox_claim_many(*, message_ids: list[int]) -> list[OutboxMessage]:
    """outbox_claim for many rows in one UPDATE; returns the rows claimed (with their order,
    invoice and cancellation), oldest first.

    The rows this UPDATE changed are the ones now SENDING with its token.
    """
    if not message_ids:
        return []
    token = uuid.uuid4().hex
    if not _claim(OutboxMessage.objects.filter(pk__in=message_ids), timezone.now(), token):
        return []
    return list(
        OutboxMessage.objects.select_related("order", "invoice", "cancellation")
        .defer("order__raw")
        .filter(pk__in=message_ids, state=State.SENDING, claim_token=token)
        .order_by("id")
    )


# ---- sending ----------------------------------------------------------------------------------------


def _send(client: VtexClient, message: OutboxMessage) -> dict[str, Any]:
    order_id = message.order.order_id
    payload = message.payload
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
    if message.kind == Kind.CANCEL:
        return vtex_order.get("status") in CANCEL_TAKEN_STATUSES
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
class SendOutcome:
    message: OutboxMessage
    state: str
    detail: str


def outbox_send(*, message_id: int, client: VtexClient) -> SendOutcome | None:
    """Send one row if it is due and nobody else is sending it; None when there was nothing to do.

    The same steps as outbox_send_due, for one row in this thread."""
    from integration.infra.workers import Done

    claimed = outbox_claim_many(message_ids=[message_id])
    if not claimed:
        return None
    crash_point("outbox.claimed")
    job = _Job(claimed[0], _reads_back(claimed[0]))
    try:
        done = Done(job, result=_call_vtex(client, job))
    except VtexError as exc:
        done = Done(job, error=exc)
    (outcome,) = _record_answers([done])
    return outcome


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


def _record_sent(entries: list[tuple[OutboxMessage, dict[str, Any], str]]) -> list[SendOutcome]:
    """Record accepted rows (message, answer, note) in one transaction: one UPDATE of the rows,
    one of their invoices, one INSERT of the timeline entries and the orders' states recomputed
    together. A cancellation's request (rare; its state has its own rule) is written by _sync_target."""
    from integration.services.orders import orders_recompute_states

    if not entries:
        return []
    now = timezone.now()
    receipts = {message.pk: str(answer.get("receipt") or "")[:100] for message, answer, _ in entries}
    invoice_receipts = {
        message.invoice_id: receipts[message.pk] for message, _, _ in entries if message.kind == Kind.INVOICE
    }
    outcomes, events = [], []
    with transaction.atomic():
        OutboxMessage.objects.filter(pk__in=list(receipts)).update(
            state=State.SENT,
            sent_at=now,
            vtex_receipt=_by_pk(receipts, default=Value("")),
            outcome_unknown=False,
            last_error="",
            last_status_code=None,
        )
        if invoice_receipts:
            # As _sync_target: an empty receipt keeps the one stored.
            Invoice.objects.filter(pk__in=list(invoice_receipts)).update(
                send_state=SendState.SENT,
                vtex_receipt=_by_pk(
                    {pk: receipt for pk, receipt in invoice_receipts.items() if receipt}, default=F("vtex_receipt")
                ),
            )
        for message, _, note in entries:
            receipt = receipts[message.pk]
            if message.kind == Kind.CANCEL:
                _sync_target(message, SendState.SENT, receipt=receipt, answer=note or "Accepted by VTEX.")
            detail = note or (f"VTEX accepted it (receipt {receipt})." if receipt else "VTEX accepted it.")
            events.append(
                OrderEvent(
                    order=message.order,
                    kind=OrderEvent.Kind.SENT,
                    message=f"{stored_text(message.get_kind_display)}{_about(message)} sent to VTEX. {detail}",
                    actor_label="system",
                    data={"outbox": message.pk, "receipt": receipt},
                )
            )
            outcomes.append(SendOutcome(message, State.SENT, detail))
        OrderEvent.objects.bulk_create(events)
        orders_recompute_states([message.order for message, _, _ in entries])
    for message, _, _ in entries:
        message.state, message.sent_at, message.vtex_receipt = State.SENT, now, receipts[message.pk]
        message.outcome_unknown, message.last_error, message.last_status_code = False, "", None
    return outcomes


def _by_pk(values: dict[int, str], *, default) -> Case | Any:
    """One column's value per row, for one UPDATE of many rows."""
    if not values:
        return default
    return Case(*(When(pk=pk, then=Value(value)) for pk, value in values.items()), default=default)


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
    text = f"{error}"[:2000]
    with transaction.atomic():
        if error.transient and message.attempts < MAX_ATTEMPTS:
            next_attempt = timezone.now() + _retry_delay(message, error, unknown=unknown)
            fields = {"state": State.PENDING, "next_attempt_at": next_attempt, "last_error": text}
            _sync_target(message, SendState.PENDING, answer=text)
            outcome = SendOutcome(message, State.PENDING, f"will retry at {next_attempt:%H:%M:%S} UTC: {text}")
        else:
            why = text if not error.transient else f"gave up after {message.attempts} attempts: {text}"
            fields = {"state": State.FAILED, "last_error": why}
            _sync_target(message, SendState.FAILED, answer=why)
            order_event_record(
                order=message.order,
                kind=OrderEvent.Kind.SEND_FAILED,
                message=f"{stored_text(message.get_kind_display)}{_about(message)} not accepted by VTEX: {why}",
                data={"outbox": message.pk, "status": error.status, "code": error.code},
            )
            outcome = SendOutcome(message, State.FAILED, why)
        fields.update(outcome_unknown=unknown, last_status_code=error.status)
        OutboxMessage.objects.filter(pk=message.pk).update(**fields)
    for name, value in fields.items():
        setattr(message, name, value)
    return outcome


def _about(message: OutboxMessage) -> str:
    return f" of invoice {message.invoice.number}" if message.invoice_id else ""


# ---- operators --------------------------------------------------------------------------------------


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


#: Due rows read at a time; the next read sees the rows that the sends of this lot unblocked.
DUE_BATCH = 200


@dataclass
class _Job:
    message: OutboxMessage
    read_back: bool


@dataclass
class _Answer:
    answer: dict[str, Any]
    note: str = ""
    fetched: Any = None  # the order read back (intake.FetchedOrder), when it was


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


def _call_vtex(client: VtexClient, job: _Job) -> _Answer:
    """A row's VTEX side, for a worker thread: no database access (the row comes with its order,
    invoice and cancellation loaded)."""
    from integration.services.intake import vtex_fetch_order

    message = job.message
    if message.outcome_unknown:
        vtex_order = client.get_order(message.order.order_id)
        if vtex_shows_effect(message, vtex_order):
            return _Answer({}, "VTEX already shows it (read back after an unanswered attempt).")
    answer = _Answer(_send(client, message))
    crash_point(f"outbox.sent.{message.kind}")
    if job.read_back:
        try:
            answer.fetched = vtex_fetch_order(client=client, order_id=message.order.order_id, fetch_payments=False)
        except Exception:  # noqa: BLE001 - a failed read-back must not undo a successful send
            logger.warning("could not read order %s back after sending", message.order.order_id, exc_info=True)
    return answer


def _record_answers(batch: list) -> list[SendOutcome]:
    """Record the answers of a batch of sends (WorkerPool Done objects), in job order.

    Accepted rows are written together (_record_sent); a failure is written alone. The orders
    read back are stored after.
    """
    from integration.services.orders import order_store_from_vtex, orders_store_from_vtex

    for done in batch:
        if done.error is not None and not isinstance(done.error, VtexError):
            raise done.error  # a bug, not a VTEX answer; the claims lapse after CLAIM_STALE_AFTER
    accepted = [(done.job.message, done.result.answer, done.result.note) for done in batch if done.error is None]
    by_message = {outcome.message.pk: outcome for outcome in _record_sent(accepted)}
    outcomes = []
    for done in batch:
        message = done.job.message
        if message.pk not in by_message:
            by_message[message.pk] = _record_failure(message, done.error)
        outcomes.append(by_message[message.pk])
        crash_point("outbox.recorded")
    fetched = [done.result.fetched for done in batch if done.error is None and done.result.fetched is not None]
    if fetched:
        crash_point("outbox.read_back")
        try:
            orders_store_from_vtex(batch=[(order.data, order.raw, None) for order in fetched])
        except Exception:  # noqa: BLE001 - a failed read-back must not undo a successful send
            logger.warning("could not store a batch of orders read back after sending; one by one", exc_info=True)
            for order in fetched:
                try:
                    order_store_from_vtex(data=order.data, raw=order.raw)
                except Exception:  # noqa: BLE001 - as above
                    logger.warning(
                        "could not store order %s read back after sending", order.data.order_id, exc_info=True
                    )
    return outcomes


#: Rows on the wire or answered and waiting to be recorded, per worker thread: answers pile up
#: while this thread records the previous batch, so it records them in bigger batches.
OUTBOX_WINDOW_PER_THREAD = 4


def outbox_send_due(
    *, client: VtexClient, limit: int | None = None, progress=None, concurrency: int | None = None
) -> PushSummary:
    """Send every due row once, oldest first; rows unblocked by a send go in the same pass.

    Up to `concurrency` rows (VTEX_CONCURRENCY) are on the wire at once. Worker threads only
    speak to VTEX; this thread claims each row before handing it over and records each answer,
    so the outbox's rules hold: one sender per row (the claim), the rows of one invoice in
    order (a row is not due while an earlier one of its invoice is being sent), the read-back
    after an unknown outcome and after a completing invoice or a cancellation. The shared rate
    budget paces the workers. Rows are claimed only as the pool has room for them (a claim
    never waits long enough to go stale), and answers are recorded in batches.
    """
    from integration.infra.vtex_client import call_log
    from integration.infra.workers import WorkerPool

    summary = PushSummary()
    seen: set[int] = set()

    def record(batch) -> None:
        for outcome in _record_answers(batch):
            summary.add(outcome)
            if progress is not None:
                progress(summary)

    size = concurrency or settings.VTEX_CONCURRENCY
    # Called inside a transaction (a test, a shell), worker threads would wait on its locks (the
    # rate budget's row; SQLite's one writer): the sends then run in this thread, one at a time.
    inline = transaction.get_connection().in_atomic_block
    pool = WorkerPool(
        lambda job: _call_vtex(client, job), size=size, window=size * OUTBOX_WINDOW_PER_THREAD, inline=inline
    )
    with pool:
        try:
            while True:
                due = [pk for pk in outbox_due().values_list("pk", flat=True)[:DUE_BATCH] if pk not in seen]
                if limit is not None:
                    due = due[: max(0, limit - len(seen))]
                if not due:
                    return summary
                seen.update(due)
                while due:
                    if pool.full:
                        record(pool.next_batch())
                    room = pool.window - pool.in_flight
                    chunk, due = due[:room], due[room:]
                    for message in outbox_claim_many(message_ids=chunk):
                        crash_point("outbox.claimed")
                        pool.submit(_Job(message, _reads_back(message)))
                while pool.in_flight:  # every answer recorded before the next read of due rows
                    record(pool.next_batch())
                call_log.flush()
                if limit is not None and len(seen) >= limit:
                    return summary
        finally:
            call_log.flush()


def outbox_retry(*, message: OutboxMessage, actor=None) -> bool:
    """Staff asked to try a failed (or waiting) row again now. The read-back still applies."""
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, state__in=[State.FAILED, State.PENDING]).update(
            state=State.PENDING, next_attempt_at=timezone.now(), attempts=0
        )
        if not updated:
            return False
        _sync_target(message, SendState.PENDING, answer="Retry requested.")
        order_event_record(
            order=message.order,
            kind=OrderEvent.Kind.SEND_RETRY,
            message=f"{stored_text(message.get_kind_display)}{_about(message)}: retry requested.",
            actor=actor,
        )
    transaction.on_commit(lambda: _queue_send(message.pk))
    return True


def outbox_stop_for_order(*, order: Order, reason: str) -> int:
    """Stop every row of the order still waiting (e.g. the order was canceled at VTEX)."""
    return OutboxMessage.objects.filter(order=order, state__in=[State.PENDING, State.FAILED]).update(
        state=State.STOPPED, last_error=reason
    )
