"""Read-only queries ("selectors") behind the operator's health dashboard and the order list's
"Stuck" filter (issue 5; issue 4 for the orders waiting for the ERP).

Nothing here writes. Every figure is counted or aggregated by the database: a fixed number of
queries per page, whatever the number of orders. The admin only lays the results out.

Thresholds come from settings read with getattr, so an installation may tune them without the
settings module having to know them:

- STUCK_READY_MINUTES (30): an order ready at VTEX and not acknowledged for longer is stuck;
- STUCK_NO_TRACKING_DAYS (3): an invoice sent that long ago and still without tracking is stuck.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connections
from django.db.models import CharField, Count, Func, IntegerField, Max, Min, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django_q.models import Failure, Task

from integration.infra.rate_budget import vtex_budget_paused_for
from integration.models import (
    CancellationRequest,
    Drift,
    FeedState,
    HookNotification,
    Invoice,
    Order,
    OrderEvent,
    OutboxMessage,
    RateBudget,
    SendState,
    VtexCall,
)
from integration.selectors.sellers import fulfilled_elsewhere_q
from integration.selectors.start_handling import (
    start_handling_done_q,
    start_handling_failed_q,
)
from integration.vtex.statuses import CANCELED, VtexStatus

#: A cancellation VTEX has not confirmed after this long needs a person (the seller may have to act).
CANCELLATION_CONFIRM_WITHIN = timedelta(hours=1)
#: The django-q2 task of the regular intake (integration.services.schedules).
PULL_TASK_FUNC = "integration.tasks.pull_orders"


def stuck_ready_minutes() -> int:
    return int(settings.STUCK_READY_MINUTES)


def stuck_no_tracking_days() -> int:
    return int(settings.STUCK_NO_TRACKING_DAYS)


def waits_for_erp_ack() -> bool:
    """Issue 4: start-handling is sent when the ERP confirms the order, not on import."""
    return settings.VTEX_START_HANDLING == "on_erp_ack"


# ---- stuck orders -------------------------------------------------------------------------------


def _ready_not_acknowledged(now: datetime) -> Q:
    older = now - timedelta(minutes=stuck_ready_minutes())
    # An order another seller fulfils is never acknowledged from here: not stuck.
    return (
        Q(vtex_status=VtexStatus.READY_FOR_HANDLING, imported_at__lt=older)
        & ~start_handling_done_q()
        & ~fulfilled_elsewhere_q()
    )


def _ack_failed(now: datetime) -> Q:
    return start_handling_failed_q()


# Conditions on related rows are written `pk IN (their order ids)`, not EXISTS per order: the
# database reads the few matching rows through their index, instead of testing every order.
def _invoice_send_failed(now: datetime) -> Q:
    return Q(pk__in=Invoice.objects.filter(send_state=SendState.FAILED).values("order_id"))


def _no_tracking(now: datetime) -> Q:
    # issued_at, the nota fiscal's date, is when the parcel could leave; an invoice entered late
    # for an old sale is therefore stuck at once, which is what the warehouse needs to hear.
    older = now - timedelta(days=stuck_no_tracking_days())
    invoices = Invoice.objects.filter(
        kind=Invoice.Kind.OUTPUT,
        send_state=SendState.SENT,
        issued_at__lt=older,
        tracking_number="",
        delivered_at__isnull=True,
    )
    return Q(pk__in=invoices.values("order_id")) & ~Q(state__in=[Order.State.DELIVERED, Order.State.CANCELED])


def _cancellation_unconfirmed(now: datetime) -> Q:
    requests = CancellationRequest.objects.filter(
        state__in=CancellationRequest.OPEN_STATES,
        requested_at__lt=now - CANCELLATION_CONFIRM_WITHIN,
    )
    return Q(pk__in=requests.values("order_id"))


def _intake_failed(now: datetime) -> Q:
    return ~Q(intake_error="")


def _waiting_for_erp(now: datetime) -> Q:
    if not waits_for_erp_ack():
        return Q(pk__in=[])  # nothing waits for the ERP when VTEX is told on import
    # Not sent yet (nor failed: that is a problem of its own, ACK_FAILED).
    return (
        Q(vtex_status=VtexStatus.READY_FOR_HANDLING)
        & ~start_handling_done_q()
        & ~start_handling_failed_q()
        & ~fulfilled_elsewhere_q()
    )


@dataclass(frozen=True)
class StuckKind:
    key: str
    label: str
    condition: Callable[[datetime], Q]
    #: False for a work queue (orders waiting for the ERP are not late by themselves).
    is_problem: bool = True


READY_NOT_ACKNOWLEDGED = "ready_not_acknowledged"
ACK_FAILED = "ack_failed"
INVOICE_SEND_FAILED = "invoice_send_failed"
NO_TRACKING = "no_tracking"
CANCELLATION_UNCONFIRMED = "cancellation_unconfirmed"
INTAKE_FAILED = "intake_failed"
WAITING_FOR_ERP = "waiting_for_erp"


def stuck_kinds() -> list[StuckKind]:
    """The kinds in the order the admin lists them. The labels carry the current thresholds, in the
    active language (the admin's filter and dashboard show them)."""
    days = stuck_no_tracking_days()
    kinds = [
        StuckKind(
            READY_NOT_ACKNOWLEDGED,
            gettext("Ready at VTEX, not acknowledged after %(minutes)s min") % {"minutes": stuck_ready_minutes()},
            _ready_not_acknowledged,
        ),
        StuckKind(ACK_FAILED, gettext("Start-handling failed"), _ack_failed),
        StuckKind(INVOICE_SEND_FAILED, gettext("Invoice send failed"), _invoice_send_failed),
        StuckKind(
            NO_TRACKING,
            ngettext("Invoiced, no tracking after %(days)s day", "Invoiced, no tracking after %(days)s days", days)
            % {"days": days},
            _no_tracking,
        ),
        StuckKind(
            CANCELLATION_UNCONFIRMED,
            gettext("Cancellation not confirmed after %(duration)s")
            % {"duration": _hours(CANCELLATION_CONFIRM_WITHIN)},
            _cancellation_unconfirmed,
        ),
        StuckKind(INTAKE_FAILED, gettext("Intake failed"), _intake_failed),
    ]
    if waits_for_erp_ack():
        kinds.append(StuckKind(WAITING_FOR_ERP, gettext("Waiting for the ERP"), _waiting_for_erp, is_problem=False))
    return kinds


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return ngettext("%(count)s hour", "%(count)s hours", 1 if hours == 1 else 2) % {"count": f"{hours:g}"}


def stuck_kind(key: str) -> StuckKind | None:
    return next((kind for kind in stuck_kinds() if kind.key == key), None)


def orders_stuck(*, key: str, queryset: QuerySet[Order] | None = None, now: datetime | None = None) -> QuerySet[Order]:
    """The orders of one stuck kind. Related rows are tested with EXISTS, so the rows are not repeated
    and a list of them costs the same number of queries for 3 orders or 3,000. Unknown key: none."""
    queryset = Order.objects.all() if queryset is None else queryset
    kind = stuck_kind(key)
    if kind is None:
        return queryset.none()
    return queryset.filter(kind.condition(now or timezone.now()))


@dataclass(frozen=True)
class StuckCount:
    kind: StuckKind
    count: int


@dataclass(frozen=True)
class StuckSummary:
    counts: list[StuckCount]
    #: Distinct orders with at least one problem (the work queue "waiting for the ERP" excluded).
    total: int

    def by_key(self) -> dict[str, int]:
        return {entry.kind.key: entry.count for entry in self.counts}


class _Count(Subquery):
    """(SELECT COUNT(*) FROM (subquery)): a count that is one column of another query."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _count)"
    output_field = IntegerField()


def stuck_counts(*, now: datetime | None = None) -> list[StuckCount]:
    """Every kind's count in one query: one scalar subquery per kind, each using its own index
    (the start-handling rows, vtex_status, the invoices' send_state...). Not one aggregate with a conditional
    count per kind, which would evaluate every condition for every order."""
    now = now or timezone.now()
    kinds = stuck_kinds()
    columns = {
        f"count_{n}": _Count(Order.objects.filter(kind.condition(now)).order_by().values("pk"))
        for n, kind in enumerate(kinds)
    }
    row = Order.objects.order_by().annotate(**columns).values(*columns).first()
    return [StuckCount(kind, row[f"count_{n}"] if row else 0) for n, kind in enumerate(kinds)]


def stuck_summary(*, now: datetime | None = None) -> StuckSummary:
    """The counts per kind, and the orders with any problem counted once (one more query)."""
    now = now or timezone.now()
    counts = stuck_counts(now=now)
    found = [entry for entry in counts if entry.kind.is_problem and entry.count]
    if len(found) <= 1:  # no query: one kind's orders are counted already
        return StuckSummary(counts=counts, total=found[0].count if found else 0)
    # A UNION of each kind's order ids, each found through its own index, not one scan of every
    # order testing an OR of all the conditions (50 ms at 35k orders).
    ids = [Order.objects.filter(entry.kind.condition(now)).order_by().values("pk") for entry in found]
    return StuckSummary(counts=counts, total=ids[0].union(*ids[1:]).count())


# ---- intake ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeSource:
    name: str
    last_success_at: datetime | None
    based_on: str


@dataclass(frozen=True)
class IntakeStatus:
    sources: list[IntakeSource]
    last_imported_at: datetime | None
    last_acknowledged_at: datetime | None
    hook_last_received_at: datetime | None
    hook_pending: int


def intake_status() -> IntakeStatus:
    # Per operation, newest first along the (operation, created_at) index up to the first 2xx: not
    # a MAX over every call of the log (40 ms at 35k orders, and the log keeps 30 days of calls).
    calls = {
        operation: VtexCall.objects.filter(operation=operation, status_code__gte=200, status_code__lt=300)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
        for operation in ("list_orders", "read_feed")
    }
    # The newest import event, read backwards along the events' created_at index (imports are
    # frequent, so it stops at once), not a MAX over every event of the kind (40 ms at 35k orders).
    last_imported_at = (
        OrderEvent.objects.filter(kind=OrderEvent.Kind.IMPORTED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    # VTEX's acceptance of start-handling is its outbox row's sent_at (the outbox sends it, so the
    # events name the system, not the intake): the (kind, sent_at) index answers the MAX (sent_at
    # is set when, and only when, the row was sent).
    last_acknowledged_at = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.START_HANDLING, sent_at__isnull=False
    ).aggregate(last=Max("sent_at"))["last"]
    hook = HookNotification.objects.aggregate(
        processed=Max("processed_at"),
        received=Max("received_at"),
        pending=Count("pk", filter=Q(processed_at__isnull=True)),
    )
    return IntakeStatus(
        sources=[
            IntakeSource("list", calls.get("list_orders"), gettext("last successful List orders call")),
            IntakeSource("feed", calls.get("read_feed"), gettext("last successful feed read")),
            IntakeSource("hook", hook["processed"], gettext("last hook notification processed")),
        ],
        last_imported_at=last_imported_at,
        last_acknowledged_at=last_acknowledged_at,
        hook_last_received_at=hook["received"],
        hook_pending=hook["pending"],
    )


@dataclass(frozen=True)
class PullRun:
    """The last sign of the intake running: its django-q2 task or its last call to VTEX's order list
    or feed (pull_orders from the command line leaves no task)."""

    at: datetime | None
    what: str


def pull_last_run() -> PullRun:
    task = Task.objects.filter(func=PULL_TASK_FUNC).order_by("-stopped").values("stopped", "success").first()
    call = (
        VtexCall.objects.filter(operation__in=["list_orders", "read_feed"])
        .order_by("-created_at")
        .values("created_at", "operation", "status_code", "error")
        .first()
    )
    candidates: list[PullRun] = []
    if task is not None:
        what = gettext("the scheduled pull (succeeded)") if task["success"] else gettext("the scheduled pull (failed)")
        candidates.append(PullRun(task["stopped"], what))
    if call is not None:
        outcome = str(call["status_code"] or call["error"] or gettext("no answer"))
        what = gettext("a %(operation)s call to VTEX (%(outcome)s)") % {
            "operation": call["operation"],
            "outcome": outcome,
        }
        candidates.append(PullRun(call["created_at"], what))
    if not candidates:
        return PullRun(None, "")
    return max(candidates, key=lambda run: run.at)


def feed_state() -> FeedState | None:
    return FeedState.objects.filter(name="orders").first()


# ---- outbox, rate limit, tasks, drifts ----------------------------------------------------------------


#: The states a send is still owed in; sent and stopped rows are history.
BACKLOG_STATES = (OutboxMessage.State.PENDING, OutboxMessage.State.SENDING, OutboxMessage.State.FAILED)


@dataclass(frozen=True)
class OutboxBacklogRow:
    kind: str
    label: str
    pending: int = 0
    sending: int = 0
    failed: int = 0
    oldest_at: datetime | None = None

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.failed


def outbox_backlog() -> list[OutboxBacklogRow]:
    """Sends still owed to VTEX, per kind and state, every kind listed (zeros included)."""
    rows = {
        row["kind"]: row
        for row in OutboxMessage.objects.filter(state__in=BACKLOG_STATES)
        .values("kind")
        .annotate(
            pending=Count("pk", filter=Q(state=OutboxMessage.State.PENDING)),
            sending=Count("pk", filter=Q(state=OutboxMessage.State.SENDING)),
            failed=Count("pk", filter=Q(state=OutboxMessage.State.FAILED)),
            oldest_at=Min("created_at"),
        )
        .order_by()
    }
    return [
        OutboxBacklogRow(
            kind=kind.value,
            label=kind.label,
            **{name: rows[kind.value][name] for name in ("pending", "sending", "failed", "oldest_at")}
            if kind.value in rows
            else {},
        )
        for kind in OutboxMessage.Kind
    ]


@dataclass(frozen=True)
class RateLimitStatus:
    answers_429_24h: int
    pauses_total: int
    paused_for_s: float


def rate_limit_status(*, now: datetime | None = None) -> RateLimitStatus:
    now = now or timezone.now()
    return RateLimitStatus(
        answers_429_24h=VtexCall.objects.filter(status_code=429, created_at__gte=now - timedelta(hours=24)).count(),
        pauses_total=RateBudget.objects.aggregate(total=Sum("pauses"))["total"] or 0,
        paused_for_s=vtex_budget_paused_for(),
    )


@dataclass(frozen=True)
class FailedTask:
    id: str
    name: str
    func: str
    stopped: datetime
    error: str


@dataclass(frozen=True)
class FailedTasks:
    count_24h: int
    latest: list[FailedTask]


#: A failed task's result is its traceback; the dashboard shows this much of it.
TASK_ERROR_EXCERPT = 200


def failed_tasks(*, now: datetime | None = None, latest: int = 5) -> FailedTasks:
    now = now or timezone.now()
    rows = Failure.objects.order_by("-stopped").values("id", "name", "func", "stopped", "result")[:latest]
    return FailedTasks(
        count_24h=Failure.objects.filter(stopped__gte=now - timedelta(hours=24)).count(),
        latest=[
            FailedTask(
                id=row["id"],
                name=row["name"],
                func=row["func"],
                stopped=row["stopped"],
                error=_excerpt(str(row["result"] or "")),
            )
            for row in rows
        ],
    )


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= TASK_ERROR_EXCERPT else text[: TASK_ERROR_EXCERPT - 1] + "…"


@dataclass(frozen=True)
class DriftCount:
    kind: str
    label: str
    count: int


def open_drift_counts() -> list[DriftCount]:
    counts = dict(
        Drift.objects.filter(resolved_at__isnull=True)
        .values("kind")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("kind", "n")
    )
    return [DriftCount(kind.value, kind.label, counts.get(kind.value, 0)) for kind in Drift.Kind]


def failed_sends_count() -> int:
    return OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED).count()


# ---- orders per hour --------------------------------------------------------------------------------

ACTIVITY_HOURS = 7 * 24


@dataclass(frozen=True)
class HourlySeries:
    key: str
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Activity:
    #: Start of the first hourly bucket (UTC); the last bucket is the current hour.
    start: datetime
    hours: int
    series: list[HourlySeries] = field(default_factory=list)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.hours)

    def hour_start(self, index: int) -> datetime:
        return self.start + timedelta(hours=index)

    @property
    def is_empty(self) -> bool:
        return not any(series.total for series in self.series)


class _SqliteUtcHour(Func):
    """SQLite: the hour a moment falls in, in UTC, as text "YYYY-MM-DD HH". Django stores aware
    datetimes there as UTC text ("2026-12-07 08:45:12.123456"): the hour is its first 13
    characters, cut without parsing a date. Django's TruncHour calls a Python function for every
    row on SQLite (0.2 s for each series at 35k orders of the week, issue 19)."""

    output_field = CharField()
    template = "substr(%(expressions)s, 1, 13)"


def _per_hour(queryset: QuerySet, field_name: str, start: datetime, end: datetime) -> Mapping[datetime, int]:
    # Truncated in UTC: every bucket is a real hour, also on the night a time zone changes its
    # offset. The admin labels the buckets in the store's zone. PostgreSQL's date_trunc is its own
    # (and cheaper than formatting the hour as text).
    if connections[queryset.db].vendor == "sqlite":
        hour = _SqliteUtcHour(field_name)
    else:
        hour = TruncHour(field_name, tzinfo=UTC)
    rows = (
        queryset.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
        .annotate(hour=hour)
        .values("hour")
        .annotate(n=Count("*"))  # not COUNT(id): the time's index alone answers (an index-only scan)
        .order_by()
        .values_list("hour", "n")
    )
    return {_utc_hour(hour): n for hour, n in rows}


def _utc_hour(value: datetime | str) -> datetime:
    if isinstance(value, str):
        return datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _cancellations_per_hour(start: datetime, end: datetime) -> Mapping[datetime, int]:
    """Cancellations per UTC hour. A cancellation confirmed at VTEX always arrives as a status
    change of the order (the intake confirms the CancellationRequest from it), so the events alone
    count every cancellation once; "cancel" followed by "canceled" is one cancellation, not two.

    Only an order VTEX shows canceled now can have been canceled (canceled is final, `cancel`
    leads only there), and it was saved (updated_at) when its status changed: the events of those
    few orders are read, found by their order alone. With the kind and the time in the query,
    SQLite walks every status change of the week instead and reads its JSON (0.1 s at 35k orders);
    the few rows read are sorted here."""
    recently_canceled = Order.objects.filter(vtex_status__in=CANCELED, updated_at__gte=start).values("pk")
    rows = OrderEvent.objects.filter(order__in=recently_canceled).order_by().values_list("kind", "created_at", "data")
    per_hour: Counter[datetime] = Counter()
    for kind, created_at, data in rows:
        if kind != OrderEvent.Kind.STATUS_CHANGED or not start <= created_at < end or not isinstance(data, dict):
            continue
        if data.get("to") in CANCELED and data.get("from") not in CANCELED:
            per_hour[created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)] += 1
    return per_hour


def orders_activity(*, now: datetime | None = None, hours: int = ACTIVITY_HOURS) -> Activity:
    """Orders received, acknowledged, invoiced and canceled per hour: one query per series, the
    hours without any filled with 0."""
    now = now or timezone.now()
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    # sent_at is set when, and only when, VTEX took the row (the outbox never moves a sent row
    # again): the (kind, sent_at) index alone answers, without reading each row's state.
    start_handlings_sent = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.START_HANDLING, sent_at__isnull=False)
    per_hour = [
        ("received", gettext("Received"), _per_hour(Order.objects.all(), "imported_at", start, end)),
        ("acknowledged", gettext("Acknowledged"), _per_hour(start_handlings_sent, "sent_at", start, end)),
        (
            "invoiced",
            gettext("Invoiced"),
            _per_hour(Invoice.objects.filter(kind=Invoice.Kind.OUTPUT), "created_at", start, end),
        ),
        ("canceled", gettext("Canceled"), _cancellations_per_hour(start, end)),
    ]
    series = [
        HourlySeries(key, label, [counts.get(start + timedelta(hours=index), 0) for index in range(hours)])
        for key, label, counts in per_hour
    ]
    return Activity(start=start, hours=hours, series=series)


def orders_exist() -> bool:
    return Order.objects.exists()


# ---- the headline -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    stuck: int
    waiting_for_erp: int | None
    failed_sends: int
    open_drifts: int
    #: Age of the oldest message in the feed, when the intake reads the feed and VTEX said.
    feed_lag_s: int | None
    intake: str


def health_headline(*, now: datetime | None = None) -> Headline:
    stuck = stuck_summary(now=now)
    feed_lag = None
    intake = settings.VTEX_INTAKE
    if intake == "feed":
        state = feed_state()
        feed_lag = state.oldest_message_age_s if state is not None else None
    return Headline(
        stuck=stuck.total,
        waiting_for_erp=stuck.by_key().get(WAITING_FOR_ERP),
        failed_sends=failed_sends_count(),
        open_drifts=Drift.objects.filter(resolved_at__isnull=True).count(),
        feed_lag_s=feed_lag,
        intake=intake,
    )
