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
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from integration.models import CancellationRequest, Invoice, Order, OrderEvent, OutboxMessage, SendState
from integration.services.events import order_event_record
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


def outbox_due(*, now=None) -> QuerySet[OutboxMessage]:
    now = now or timezone.now()
    return OutboxMessage.objects.filter(_claimable(now)).exclude(_earlier_unsent_of_same_invoice()).order_by("id")


def outbox_claim(*, message_id: int) -> bool:
    now = timezone.now()
    claimed = (
        OutboxMessage.objects.filter(_claimable(now), pk=message_id)
        .exclude(_earlier_unsent_of_same_invoice())
        .update(state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return bool(claimed)


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
    """Send one row if it is due and nobody else is sending it; None when there was nothing to do."""
    if not outbox_claim(message_id=message_id):
        return None
    message = OutboxMessage.objects.select_related("order", "invoice", "cancellation").get(pk=message_id)
    try:
        if message.outcome_unknown:
            vtex_order = client.get_order(message.order.order_id)
            if vtex_shows_effect(message, vtex_order):
                return _record_sent(message, {}, note="VTEX already shows it (read back after an unanswered attempt).")
        answer = _send(client, message)
    except VtexError as exc:
        return _record_failure(message, exc)
    outcome = _record_sent(message, answer)
    _read_back_status(message, client)
    return outcome


def _read_back_status(message: OutboxMessage, client: VtexClient) -> None:
    """After the invoice that completes the order, or a cancellation, VTEX's status changes:
    read the order back once so erp-bridge shows it (best effort; the feed and the daily
    reconciliation catch up otherwise)."""
    from integration.services.intake import vtex_fetch_order
    from integration.services.orders import order_store_from_vtex

    message.order.refresh_from_db(fields=["state"])
    completes = message.kind == Kind.INVOICE and message.order.state in (
        Order.State.INVOICED,
        Order.State.SHIPPED,
        Order.State.DELIVERED,
    )
    if not (completes or message.kind == Kind.CANCEL):
        return
    try:
        fetched = vtex_fetch_order(client=client, order_id=message.order.order_id, fetch_payments=False)
        order_store_from_vtex(data=fetched.data, raw=fetched.raw)
    except Exception:  # noqa: BLE001 - a failed read-back must not undo a successful send
        logger.warning("could not read order %s back after sending", message.order.order_id, exc_info=True)


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


def _record_sent(message: OutboxMessage, answer: dict[str, Any], *, note: str = "") -> SendOutcome:
    from integration.services.orders import order_recompute_state

    receipt = str(answer.get("receipt") or "")[:100]
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).update(
            state=State.SENT,
            sent_at=timezone.now(),
            vtex_receipt=receipt,
            outcome_unknown=False,
            last_error="",
            last_status_code=None,
        )
        _sync_target(message, SendState.SENT, receipt=receipt, answer=note or "Accepted by VTEX.")
        detail = note or (f"VTEX accepted it (receipt {receipt})." if receipt else "VTEX accepted it.")
        order_event_record(
            order=message.order,
            kind=OrderEvent.Kind.SENT,
            message=f"{message.get_kind_display()}{_about(message)} sent to VTEX. {detail}",
            data={"outbox": message.pk, "receipt": receipt},
        )
        order_recompute_state(message.order)
    message.refresh_from_db()
    return SendOutcome(message, State.SENT, detail)


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
            OutboxMessage.objects.filter(pk=message.pk).update(
                state=State.PENDING,
                next_attempt_at=next_attempt,
                outcome_unknown=unknown,
                last_status_code=error.status,
                last_error=text,
            )
            _sync_target(message, SendState.PENDING, answer=text)
            outcome = SendOutcome(message, State.PENDING, f"will retry at {next_attempt:%H:%M:%S} UTC: {text}")
        else:
            why = text if not error.transient else f"gave up after {message.attempts} attempts: {text}"
            OutboxMessage.objects.filter(pk=message.pk).update(
                state=State.FAILED, outcome_unknown=unknown, last_status_code=error.status, last_error=why
            )
            _sync_target(message, SendState.FAILED, answer=why)
            order_event_record(
                order=message.order,
                kind=OrderEvent.Kind.SEND_FAILED,
                message=f"{message.get_kind_display()}{_about(message)} not accepted by VTEX: {why}",
                data={"outbox": message.pk, "status": error.status, "code": error.code},
            )
            outcome = SendOutcome(message, State.FAILED, why)
    message.refresh_from_db()
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


def outbox_send_due(*, client: VtexClient, limit: int | None = None, progress=None) -> PushSummary:
    """Send every due row once, oldest first; rows unblocked by a send go in the same pass."""
    summary = PushSummary()
    seen: set[int] = set()
    while True:
        batch = [pk for pk in outbox_due().values_list("pk", flat=True)[:200] if pk not in seen]
        if not batch:
            return summary
        for message_id in batch:
            seen.add(message_id)
            summary.add(outbox_send(message_id=message_id, client=client))
            if progress is not None:
                progress(summary)
            if limit is not None and len(seen) >= limit:
                return summary


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
            message=f"{message.get_kind_display()}{_about(message)}: retry requested.",
            actor=actor,
        )
    transaction.on_commit(lambda: _queue_send(message.pk))
    return True


def outbox_stop_for_order(*, order: Order, reason: str) -> int:
    """Stop every row of the order still waiting (e.g. the order was canceled at VTEX)."""
    return OutboxMessage.objects.filter(order=order, state__in=[State.PENDING, State.FAILED]).update(
        state=State.STOPPED, last_error=reason
    )
