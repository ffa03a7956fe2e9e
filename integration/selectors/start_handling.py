"""Where an order's start-handling stands, read from its outbox row (OutboxMessage, kind
start_handling) and its VTEX status: the admin, the API and the stuck filters show this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.utils.translation import gettext_lazy as _

from integration.models import Order, OutboxMessage
from integration.vtex.statuses import START_HANDLING_TOOK_EFFECT

#: The attribute start_handling_prefetch() fills on each order.
ROWS_ATTR = "start_handling_rows"


class StartHandlingState(models.TextChoices):
    PENDING = "pending", _("Not sent yet")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Acknowledged")
    FAILED = "failed", _("Failed")


@dataclass(frozen=True)
class StartHandling:
    state: str
    attempts: int = 0
    acknowledged_at: datetime | None = None
    #: VTEX's answer to the last failed attempt ("" when none failed).
    error: str = ""
    message: OutboxMessage | None = None

    @property
    def label(self) -> str:
        return str(StartHandlingState(self.state).label)


def start_handling_prefetch() -> Prefetch:
    """For lists: each order's start-handling rows in one query."""
    return Prefetch(
        "outbox_messages",
        queryset=OutboxMessage.objects.filter(kind=OutboxMessage.Kind.START_HANDLING).order_by("id"),
        to_attr=ROWS_ATTR,
    )


def start_handling_state(vtex_status: str, row_state: str | None, row_error: str = "") -> str:
    """The rule: done once VTEX took it (or shows the order past it); else as its latest row says."""
    State = OutboxMessage.State
    if row_state == State.SENT or vtex_status in START_HANDLING_TOOK_EFFECT:
        return StartHandlingState.DONE
    if row_state == State.SENDING:
        return StartHandlingState.SENDING
    if row_state == State.FAILED or (row_state == State.PENDING and row_error):
        return StartHandlingState.FAILED  # for good, or waiting for its next attempt
    return StartHandlingState.PENDING  # no row yet, not sent yet, or stopped (canceled at VTEX)


def order_start_handling(order: Order) -> StartHandling:
    """The order's start-handling, from its latest row (prefetched by lists) and VTEX's status."""
    rows = getattr(order, ROWS_ATTR, None)
    if rows is None:
        rows = list(order.outbox_messages.filter(kind=OutboxMessage.Kind.START_HANDLING).order_by("id"))
    row = rows[-1] if rows else None
    if row is None:
        return StartHandling(start_handling_state(order.vtex_status, None))
    state = start_handling_state(order.vtex_status, row.state, row.last_error)
    error = "" if state == StartHandlingState.DONE else row.last_error
    return StartHandling(state, attempts=row.attempts, acknowledged_at=row.sent_at, error=error, message=row)


def start_handling_annotations() -> dict[str, Subquery]:
    """The latest row's state and error as columns of the order query (for streams that read
    orders in chunks, where a prefetch would cost a query per chunk): start_handling_state() of
    vtex_status, start_handling_row_state and start_handling_row_error."""
    latest = OutboxMessage.objects.filter(order=OuterRef("pk"), kind=OutboxMessage.Kind.START_HANDLING).order_by("-id")
    return {
        "start_handling_row_state": Subquery(latest.values("state")[:1]),
        "start_handling_row_error": Subquery(latest.values("last_error")[:1]),
    }


# Conditions on the rows are written `pk IN (their order ids)`, not EXISTS per order: the database
# reads the few matching rows through their index instead of testing every order.
def _orders_with_rows(condition: Q) -> Q:
    rows = OutboxMessage.objects.filter(condition, kind=OutboxMessage.Kind.START_HANDLING)
    return Q(pk__in=rows.values("order_id"))


def start_handling_done_q() -> Q:
    # Sent rows are the many (one per acknowledged order): tested per order through the
    # (order, kind) index with EXISTS, not gathered into a list of every acknowledged order's id
    # (35k ids read for each use at 35k orders: the dashboard's stuck counts use it four times).
    sent = OutboxMessage.objects.filter(
        order=OuterRef("pk"), kind=OutboxMessage.Kind.START_HANDLING, state=OutboxMessage.State.SENT
    )
    return Q(vtex_status__in=START_HANDLING_TOOK_EFFECT) | Q(Exists(sent))


def start_handling_failed_q() -> Q:
    """Not done, and VTEX refused it or did not answer (the last attempt failed)."""
    failed = Q(state=OutboxMessage.State.FAILED) | (Q(state=OutboxMessage.State.PENDING) & ~Q(last_error=""))
    return _orders_with_rows(failed) & ~start_handling_done_q()
