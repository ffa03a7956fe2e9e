"""Where an order's start-handling stands, read from its outbox row (OutboxMessage, kind
start_handling) and its VTEX status: the admin, the API and the stuck filters show this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import Prefetch, Q
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


def order_start_handling(order: Order) -> StartHandling:
    """The order's start-handling: done once VTEX took it (or shows the order past it)."""
    rows = getattr(order, ROWS_ATTR, None)
    if rows is None:
        rows = list(order.outbox_messages.filter(kind=OutboxMessage.Kind.START_HANDLING).order_by("id"))
    row = rows[-1] if rows else None
    if row is None:
        if order.vtex_status in START_HANDLING_TOOK_EFFECT:
            return StartHandling(StartHandlingState.DONE)
        return StartHandling(StartHandlingState.PENDING)
    State = OutboxMessage.State
    if row.state == State.SENT or order.vtex_status in START_HANDLING_TOOK_EFFECT:
        state = StartHandlingState.DONE
    elif row.state == State.SENDING:
        state = StartHandlingState.SENDING
    elif row.state == State.FAILED or (row.state == State.PENDING and row.last_error):
        state = StartHandlingState.FAILED  # for good, or waiting for its next attempt
    else:  # not sent yet, or stopped (the order was canceled at VTEX meanwhile)
        state = StartHandlingState.PENDING
    error = "" if state == StartHandlingState.DONE else row.last_error
    return StartHandling(state, attempts=row.attempts, acknowledged_at=row.sent_at, error=error, message=row)


# Conditions on the rows are written `pk IN (their order ids)`, not EXISTS per order: the database
# reads the few matching rows through their index instead of testing every order.
def _orders_with_rows(condition: Q) -> Q:
    rows = OutboxMessage.objects.filter(condition, kind=OutboxMessage.Kind.START_HANDLING)
    return Q(pk__in=rows.values("order_id"))


def start_handling_done_q() -> Q:
    return Q(vtex_status__in=START_HANDLING_TOOK_EFFECT) | _orders_with_rows(Q(state=OutboxMessage.State.SENT))


def start_handling_failed_q() -> Q:
    """Not done, and VTEX refused it or did not answer (the last attempt failed)."""
    failed = Q(state=OutboxMessage.State.FAILED) | (Q(state=OutboxMessage.State.PENDING) & ~Q(last_error=""))
    return _orders_with_rows(failed) & ~start_handling_done_q()


def start_handling_not_written_q() -> Q:
    """No start-handling row that will be sent or was (in on_erp_ack mode: the ERP has not confirmed)."""
    live = Q(
        state__in=[
            OutboxMessage.State.PENDING,
            OutboxMessage.State.SENDING,
            OutboxMessage.State.SENT,
            OutboxMessage.State.FAILED,
        ]
    )
    return ~_orders_with_rows(live)
