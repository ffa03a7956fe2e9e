"""Prometheus metrics, computed from the shared database when Prometheus scrapes /metrics.

Why a collector that reads the database at scrape time, and not counters kept in memory by the
code that does the work (the VTEX client's recorder, the intake): erp-bridge runs as several
gunicorn workers and one or more django-q2 clusters, on one machine or several. Almost all the
work, VTEX calls included, happens in the clusters, which serve no HTTP, and a scrape reaches one
gunicorn worker, which knows only its own counters. prometheus_client's multiprocess mode shares a
directory between the processes of one machine only, not between containers or machines. The
database already holds every fact, written by every process (VtexCall for each attempt, the outbox,
the orders, django-q2's tasks), so any worker can answer for all of them.

What follows from it:

- Totals that only grow (orders imported, 429 pauses) are counters. Figures of the present
  (backlogs, lags, ages) are gauges.
- VTEX calls are counted over a recent window (ERP_BRIDGE_METRICS_WINDOW_S, 5 minutes by default)
  and exposed as gauges and a gauge histogram, because the call log is pruned daily: a counter of
  its rows would go down. Graph them as they are (calls in the last 5 minutes), not with rate();
  quantiles: ``histogram_quantile(0.95, sum by (le) (erp_bridge_vtex_call_duration_seconds_bucket))``.
- A scrape costs about fifteen queries, each answered from an index or a small table; scrape every
  30 s or more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from integration.models import FeedState, HookNotification, Order, OutboxMessage, RateBudget, VtexCall
from integration.ops.health import (
    SOURCE_OPERATIONS,
    cluster_heartbeats,
    last_successful_read,
    last_task_finished_at,
)
from integration.selectors.health import BACKLOG_STATES, outbox_backlog, stuck_counts
from integration.selectors.start_handling import start_handling_done_q
from integration.vtex.statuses import VtexStatus

#: Upper bounds (seconds) of the VTEX call duration buckets.
DURATION_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


class ErpBridgeCollector(Collector):
    """Every erp-bridge metric, read from the database at each scrape (see the module's doc)."""

    def __init__(self, now: Callable[[], datetime] = timezone.now) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        now = self.now()
        yield from self._orders(now)
        yield from self._intake(now)
        yield from self._vtex_calls(now)
        yield from self._rate_budget(now)
        yield from self._outbox(now)
        yield from self._hooks()
        yield from self._clusters(now)

    # ---- orders ----

    def _orders(self, now: datetime) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "erp_bridge_orders_imported", "Orders taken in from VTEX (stored here).", value=Order.objects.count()
        )
        acknowledged = (
            OutboxMessage.objects.filter(kind=OutboxMessage.Kind.START_HANDLING, state=OutboxMessage.State.SENT)
            .values("order_id")
            .distinct()
            .count()
        )
        yield CounterMetricFamily(
            "erp_bridge_orders_acknowledged",
            "Orders acknowledged at VTEX (their start-handling sent and taken).",
            value=acknowledged,
        )
        by_state = dict(Order.objects.values("state").annotate(n=Count("pk")).order_by().values_list("state", "n"))
        orders = GaugeMetricFamily("erp_bridge_orders", "Orders by their state here.", labels=["state"])
        for state in Order.State:
            orders.add_metric([state.value], by_state.get(state.value, 0))
        yield orders
        stuck = GaugeMetricFamily(
            "erp_bridge_orders_stuck", "Orders of each stuck kind (the order list's Stuck filter).", labels=["kind"]
        )
        for entry in stuck_counts(now=now):
            stuck.add_metric([entry.kind.key], entry.count)
        yield stuck

    # ---- intake ----

    def _intake(self, now: datetime) -> Iterator[Metric]:
        oldest = (
            Order.objects.filter(Q(vtex_status=VtexStatus.READY_FOR_HANDLING) & ~start_handling_done_q())
            .order_by()
            .aggregate(oldest=Min("imported_at"))["oldest"]
        )
        yield GaugeMetricFamily(
            "erp_bridge_intake_lag_seconds",
            "Age of the oldest order ready for handling and not acknowledged at VTEX (0: none).",
            value=0 if oldest is None else max(0.0, (now - oldest).total_seconds()),
        )
        last_success = GaugeMetricFamily(
            "erp_bridge_intake_last_success_timestamp_seconds",
            "Unix time of the last successful read of each intake source (feed read, List orders, hook processed).",
            labels=["source"],
        )
        for source in SOURCE_OPERATIONS:
            last = last_successful_read(source)
            if last is not None:
                last_success.add_metric([source], last.timestamp())
        hook = HookNotification.objects.aggregate(last=Max("processed_at"))["last"]
        if hook is not None:
            last_success.add_metric(["hook"], hook.timestamp())
        yield last_success
        state = FeedState.objects.filter(name="orders").first()
        if state is not None:
            if state.oldest_message_age_s is not None:
                yield GaugeMetricFamily(
                    "erp_bridge_feed_lag_seconds",
                    "Age of the oldest message in VTEX's orders feed, as VTEX reported at the last read.",
                    value=state.oldest_message_age_s,
                )
            if state.queued is not None:
                yield GaugeMetricFamily(
                    "erp_bridge_feed_queued_messages",
                    "Messages waiting in VTEX's orders feed, as VTEX reported at the last read.",
                    value=state.queued,
                )
            if state.last_read_at is not None:
                yield GaugeMetricFamily(
                    "erp_bridge_feed_last_read_timestamp_seconds",
                    "Unix time of the last read of VTEX's orders feed.",
                    value=state.last_read_at.timestamp(),
                )

    # ---- VTEX calls ----

    def _vtex_calls(self, now: datetime) -> Iterator[Metric]:
        window = settings.METRICS_WINDOW_S
        recent = VtexCall.objects.filter(created_at__gte=now - timedelta(seconds=window)).order_by()
        yield GaugeMetricFamily(
            "erp_bridge_vtex_calls_window_seconds", "The window the VTEX call metrics count over.", value=window
        )
        calls = GaugeMetricFamily(
            "erp_bridge_vtex_calls_recent",
            "VTEX call attempts in the window, by client operation and HTTP status ('none': no answer).",
            labels=["operation", "status"],
        )
        by_status = recent.values("operation", "status_code").annotate(n=Count("pk"))
        for operation, status, count in by_status.values_list("operation", "status_code", "n"):
            calls.add_metric([operation, "none" if status is None else str(status)], count)
        yield calls
        durations = GaugeHistogramMetricFamily(
            "erp_bridge_vtex_call_duration_seconds",
            "Duration of the VTEX call attempts in the window, by client operation.",
            labels=["operation"],
        )
        columns = {
            f"le_{index}": Count("pk", filter=Q(duration_ms__lte=round(bound * 1000)))
            for index, bound in enumerate(DURATION_BUCKETS_S)
        }
        for row in recent.values("operation").annotate(total=Count("pk"), sum_ms=Sum("duration_ms"), **columns):
            buckets = [(str(bound), row[f"le_{index}"]) for index, bound in enumerate(DURATION_BUCKETS_S)]
            buckets.append(("+Inf", row["total"]))
            durations.add_metric([row["operation"]], buckets, (row["sum_ms"] or 0) / 1000)
        yield durations

    # ---- the rate budget ----

    def _rate_budget(self, now: datetime) -> Iterator[Metric]:
        pauses = CounterMetricFamily(
            "erp_bridge_vtex_rate_limit_pauses",
            "429 answers from VTEX, each of which paused every process.",
            labels=["budget"],
        )
        paused = GaugeMetricFamily(
            "erp_bridge_vtex_rate_limit_paused_seconds",
            "Seconds left in the present pause after a 429 (0: calling VTEX).",
            labels=["budget"],
        )
        for name, count, until in RateBudget.objects.values_list("name", "pauses", "paused_until"):
            pauses.add_metric([name], count)
            paused.add_metric([name], max(0.0, until - now.timestamp()))
        yield pauses
        yield paused

    # ---- the outbox ----

    def _outbox(self, now: datetime) -> Iterator[Metric]:
        messages = GaugeMetricFamily(
            "erp_bridge_outbox_messages",
            "Sends owed to VTEX, by kind and state (failed: stopped, waiting for staff).",
            labels=["kind", "state"],
        )
        oldest = GaugeMetricFamily(
            "erp_bridge_outbox_oldest_age_seconds",
            "Age of the oldest send still owed to VTEX, by kind.",
            labels=["kind"],
        )
        for row in outbox_backlog():
            for state in BACKLOG_STATES:
                messages.add_metric([row.kind, state.value], getattr(row, state.value))
            if row.oldest_at is not None:
                oldest.add_metric([row.kind], max(0.0, (now - row.oldest_at).total_seconds()))
        yield messages
        yield oldest
        retrying = GaugeMetricFamily(
            "erp_bridge_outbox_retrying",
            "Sends waiting for their next attempt after a failed one, by kind.",
            labels=["kind"],
        )
        counts = dict(
            OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING)
            .exclude(last_error="")
            .values("kind")
            .annotate(n=Count("pk"))
            .order_by()
            .values_list("kind", "n")
        )
        for kind in OutboxMessage.Kind:
            retrying.add_metric([kind.value], counts.get(kind.value, 0))
        yield retrying

    # ---- the hook ----

    def _hooks(self) -> Iterator[Metric]:
        counts = HookNotification.objects.aggregate(
            pending=Count("pk", filter=Q(processed_at__isnull=True)),
            processed=Count("pk", filter=Q(processed_at__isnull=False)),
            error=Count("pk", filter=~Q(error="")),
        )
        hooks = GaugeMetricFamily(
            "erp_bridge_hook_notifications",
            "VTEX hook notifications stored: pending (not processed yet), processed, error (an error recorded).",
            labels=["state"],
        )
        for state in ("pending", "processed", "error"):
            hooks.add_metric([state], counts[state])
        yield hooks

    # ---- the clusters ----

    def _clusters(self, now: datetime) -> Iterator[Metric]:
        beats = GaugeMetricFamily(
            "erp_bridge_qcluster_heartbeat_timestamp_seconds",
            "Unix time of each django-q2 cluster's last heartbeat (seen only when the cache is shared).",
            labels=["cluster_id", "host", "status"],
        )
        for beat in cluster_heartbeats():
            beats.add_metric([beat.cluster_id, beat.host, beat.status], beat.at.timestamp())
        yield beats
        last = last_task_finished_at()
        if last is not None:
            yield GaugeMetricFamily(
                "erp_bridge_qcluster_last_task_timestamp_seconds",
                "Unix time a cluster last finished a task (successful or not).",
                value=last.timestamp(),
            )
        yield GaugeMetricFamily(
            "erp_bridge_qcluster_queued_tasks",
            "Tasks waiting in the queue for a cluster.",
            value=get_broker().queue_size(),
        )
        window = settings.METRICS_WINDOW_S
        yield GaugeMetricFamily(
            "erp_bridge_qcluster_failed_tasks_recent",
            "Background tasks that failed in the window (erp_bridge_vtex_calls_window_seconds).",
            value=Failure.objects.filter(stopped__gte=now - timedelta(seconds=window)).count(),
        )


def metrics_registry(now: Callable[[], datetime] = timezone.now) -> CollectorRegistry:
    """A registry with erp-bridge's collector only: the process's own metrics (memory, CPU of the one
    gunicorn worker that answers) would say nothing about the installation."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ErpBridgeCollector(now))
    return registry
