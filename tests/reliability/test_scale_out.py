"""Scale-out and the rate budget under load (issue 6 §3, §4), PostgreSQL only.

Three `manage.py qcluster` processes share one PostgreSQL database and one django-q2 queue (the
ORM broker; same Q_CLUSTER_NAME and secret key, as the README requires). django-q2 hands each
queued task to one cluster with a conditional UPDATE on its lock, and every cluster's scheduler
takes the due schedules under SELECT ... FOR UPDATE, so the clusters share the work instead of
repeating it; erp-bridge's own rules (the intake lease, start-handling and outbox claims) keep
the VTEX effects exactly once even when a task does run twice.

Each cluster talks to its own front end of one sandbox store (same orders, same rate limit), so
the sandbox can tell the three clusters apart in its request log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django_q.tasks import async_task

from integration.infra.rate_budget import BUDGET_NAME
from integration.infra.vtex_client import reset_vtex_client
from integration.models import Order, OutboxMessage, RateBudget, VtexCall
from integration.selectors.start_handling import start_handling_done_q
from integration.services.intake import intake_run
from tests.conftest import PROJECT_ROOT, SANDBOX_APP_KEY, SANDBOX_APP_TOKEN
from tests.reliability.conftest import child_env
from tests.reliability.workload import run_workload, verify_exactly_once, workload_left
from vtex_sandbox import SandboxServer, SandboxStore
from vtex_sandbox.routing import error_answer

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.postgres,
    pytest.mark.usefixtures("require_postgres"),
    pytest.mark.django_db(transaction=True),
]

CLUSTERS = 3


@dataclass
class RequestLog:
    """Every VTEX request the front ends received: (arrival time, cluster, route, status)."""

    entries: list[tuple[float, int, str, int | None]] = field(default_factory=list)
    forced_429: list[tuple[float, int, float]] = field(default_factory=list)  # (answered at, cluster, retry after)
    force_next_429_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_forced_429(self) -> float:
        with self.lock:
            seconds, self.force_next_429_s = self.force_next_429_s, 0.0
            return seconds


class ClusterFrontEnd(SandboxServer):
    """One port of the shared sandbox store, logging which cluster sent what and when."""

    def __init__(self, store, *, cluster: int, log: RequestLog, shared: SandboxServer | None = None, **options):
        super().__init__(store, host="127.0.0.1", port=0, **options)
        self.cluster, self.log = cluster, log
        if shared is not None:  # one rate limit and one fault injector for the whole "account"
            self.rate_limiter, self._faults = shared.rate_limiter, shared._faults

    def handle_vtex(self, handler, method, path, query, raw_body):
        arrived = time.time()
        super().handle_vtex(handler, method, path, query, raw_body)
        with self.log.lock:
            self.log.entries.append((arrived, self.cluster, f"{method} {path}", handler._status_sent))

    def _vtex_answer(self, handler, method, route, params, query, raw_body):
        seconds = self.log.take_forced_429()
        if seconds:
            with self.log.lock:
                self.log.forced_429.append((time.time(), self.cluster, seconds))
            return error_answer(429, "Too Many Requests (injected)", headers={"Retry-After": str(int(seconds))})
        return super()._vtex_answer(handler, method, route, params, query, raw_body)


@dataclass
class Account:
    store: SandboxStore
    front_ends: list[ClusterFrontEnd]
    log: RequestLog

    @property
    def requests(self) -> dict[str, int]:
        return self.store.requests_count


@pytest.fixture
def account(settings):
    servers: list[ClusterFrontEnd] = []

    def start(*, orders: int, rate_limit_rpm: int | None) -> Account:
        store = SandboxStore(orders=orders, seed=3, app_key=SANDBOX_APP_KEY, app_token=SANDBOX_APP_TOKEN)
        log = RequestLog()
        first = ClusterFrontEnd(store, cluster=0, log=log, rate_limit_rpm=rate_limit_rpm)
        servers.append(first)
        servers.extend(ClusterFrontEnd(store, cluster=n, log=log, shared=first) for n in range(1, CLUSTERS))
        for server in servers:
            server.start()
        # this process (the back office entering invoices) uses the first front end
        settings.VTEX_OMS_URL = settings.VTEX_PAYMENTS_URL = first.url
        settings.VTEX_APP_KEY, settings.VTEX_APP_TOKEN = SANDBOX_APP_KEY, SANDBOX_APP_TOKEN
        settings.VTEX_FETCH_PAYMENTS = False
        reset_vtex_client()
        return Account(store, servers, log)

    yield start
    for server in servers:
        server.stop()


class Clusters:
    """Three `manage.py qcluster` processes, each in its own process group (stopped by its id)."""

    def __init__(self, account: Account, *, rpm: int, log_dir) -> None:
        self.children: list[subprocess.Popen] = []
        self.logs = []
        for number, front_end in enumerate(account.front_ends):
            env = child_env(
                front_end,
                Q_CLUSTER_NAME=settings.Q_CLUSTER["name"],  # equal on every cluster (README)
                Q_WORKERS="2",
                Q_POLL_S="0.2",
                VTEX_INTAKE="list",
                VTEX_RATE_LIMIT_RPM=str(rpm),
                VTEX_CONCURRENCY="8",
            )
            log = open(log_dir / f"qcluster-{number}.log", "w")  # noqa: SIM115 - closed in stop()
            self.logs.append(log)
            self.children.append(
                subprocess.Popen(
                    [sys.executable, str(PROJECT_ROOT / "manage.py"), "qcluster"],
                    env=env,
                    cwd=PROJECT_ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def alive(self) -> bool:
        return all(child.poll() is None for child in self.children)

    def stop(self) -> list[int]:
        """SIGTERM to the cluster's main process (django-q2 then stops its own processes and lets
        running tasks finish), as the README says to stop a cluster. Not to the whole process
        group: a sentinel or worker that gets SIGTERM itself dies under the main process, which
        then never finishes stopping (seen here: all three hung until SIGKILL)."""
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        codes = []
        for child in self.children:
            try:
                codes.append(child.wait(timeout=60))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                codes.append(child.wait())
        for log in self.logs:
            log.close()
        return codes


@pytest.fixture
def clusters(tmp_path):
    started: list[Clusters] = []

    def start(account: Account, *, rpm: int) -> Clusters:
        group = Clusters(account, rpm=rpm, log_dir=tmp_path)
        started.append(group)
        return group

    yield start
    for group in started:
        if any(child.poll() is None for child in group.children):
            group.stop()


def wait_until(condition, *, timeout_s: float, clusters: Clusters, every_s: float = 2.0, tick=None) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        assert clusters.alive(), "a cluster died"
        if tick is not None:
            tick()
        time.sleep(every_s)
    raise AssertionError(f"not done within {timeout_s:.0f}s")


def queue_pull_on_every_cluster() -> None:
    # What the pull schedule does, once per cluster: they race for the intake lease.
    for _ in range(CLUSTERS):
        async_task("integration.tasks.pull_orders")


def watch_for_the_shared_pause(*, timeout_s: float) -> float:
    """When the pause after the 429 became visible in the shared budget (polled every 2 ms: the
    moment found is at or after the moment it was written)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        paused_until = RateBudget.objects.filter(name=BUDGET_NAME).values_list("paused_until", flat=True).first()
        now = time.time()
        if paused_until and paused_until > now:
            return now
        time.sleep(0.002)
    raise AssertionError("no process recorded a pause after the 429")


def outbox_done() -> bool:
    return not OutboxMessage.objects.exclude(state=OutboxMessage.State.SENT).exists()


def test_three_clusters_pull_2000_orders_and_send_their_invoices_exactly_once_within_the_budget(
    account, clusters, settings, matrix_report, tmp_path
):
    orders, rpm = 2000, 6000
    report = matrix_report("scale-out", f"Scale-out: {CLUSTERS} qclusters on one PostgreSQL database")
    started = time.monotonic()
    settings.VTEX_RATE_LIMIT_RPM = rpm
    shop = account(orders=orders, rate_limit_rpm=rpm)  # the sandbox limits at VTEX_RATE_LIMIT_RPM
    expected = set(shop.store.orders_by_status("ready-for-handling"))
    group = clusters(shop, rpm=rpm)

    queue_pull_on_every_cluster()
    intake_s = wait_until(
        lambda: Order.objects.filter(start_handling_done_q()).count() == orders,
        timeout_s=420,
        clusters=group,
        every_s=5.0,
    )
    work_started = time.monotonic()
    run_workload(invoices_only=True)  # each invoice queues its send; the three clusters take them
    async_task("integration.tasks.push_pending")
    wait_until(outbox_done, timeout_s=420, clusters=group, every_s=2.0)
    work_s = time.monotonic() - work_started
    exit_codes = group.stop()

    verdict = verify_exactly_once(shop.store, expected_orders=expected)
    per_cluster = Counter(cluster for _at, cluster, route, _status in shop.log.entries if route.startswith("POST"))
    requests = shop.requests
    left = workload_left(invoices_only=True)
    ok = verdict.ok and requests["429"] == 0 and not left and all(per_cluster[n] for n in range(CLUSTERS))
    report.case(
        f"{orders} orders, sandbox limit {rpm} rpm",
        ok,
        f"{verdict.describe()}; intake {intake_s:.0f}s, back office and sends {work_s:.0f}s; writes per cluster "
        f"{dict(sorted(per_cluster.items()))}; sandbox requests {requests['total']}, 429s {requests['429']}; "
        f"clusters stopped with SIGTERM, exit codes {exit_codes}",
        time.monotonic() - started,
    )
    assert verdict.ok, verdict.problems
    assert not left, f"back-office work not done: {left}"
    assert requests["429"] == 0, "erp-bridge exceeded its own budget"
    assert all(per_cluster[n] for n in range(CLUSTERS)), f"a cluster did no work: {per_cluster}"


def test_after_a_429_no_cluster_sends_anything_before_retry_after(account, clusters, settings, matrix_report):
    orders, rpm, retry_after = 300, 6000, 3
    report = matrix_report("rate-budget", f"Rate budget under load: {CLUSTERS} qclusters, one injected 429")
    started = time.monotonic()
    settings.VTEX_RATE_LIMIT_RPM = rpm
    shop = account(orders=orders, rate_limit_rpm=rpm)
    expected = set(shop.store.orders_by_status("ready-for-handling"))
    # A backlog first (orders taken in here, about 900 sends queued), so that the three clusters
    # all start sending at once and are all busy when the 429 comes.
    assert intake_run(source="list").acknowledged == orders
    run_workload()
    group = clusters(shop, rpm=rpm)

    def all_clusters_busy() -> bool:
        now = time.time()
        with shop.log.lock:
            recent = {cluster for at, cluster, _route, _status in shop.log.entries[-200:] if at > now - 0.5}
        return len(recent) == CLUSTERS

    wait_until(
        lambda: OutboxMessage.objects.filter(state=OutboxMessage.State.SENT).count() >= 100 and all_clusters_busy(),
        timeout_s=120,
        clusters=group,
        every_s=0.05,
    )
    shop.log.force_next_429_s = retry_after
    pause_seen_at = watch_for_the_shared_pause(timeout_s=10)
    wait_until(outbox_done, timeout_s=300, clusters=group)
    group.stop()

    answered_at, hit_cluster, _ = shop.log.forced_429[0]
    # Requests may still arrive after the 429 was answered: in flight (their token was taken
    # before), or started while the 429 travelled back and its process wrote the pause (nobody
    # could know yet). Each attempt's VtexCall row is stamped right after its token was taken:
    # an attempt stamped after the pause was visible in the shared budget broke the pause.
    arrived_during_pause = [
        (at, cluster, route)
        for at, cluster, route, _status in shop.log.entries
        if answered_at < at < answered_at + retry_after
    ]
    during_pause = []
    for at, cluster, route in arrived_during_pause:
        method, path = route.split(" ", 1)
        stamped = (
            VtexCall.objects.filter(
                method=method,
                path__startswith=path,
                created_at__lte=datetime.fromtimestamp(at + 0.01, tz=UTC),
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if stamped is None or stamped.timestamp() >= pause_seen_at:
            token_at = "never recorded" if stamped is None else f"token {stamped.timestamp() - answered_at:+.3f}s"
            during_pause.append((round(at - answered_at, 3), cluster, route, token_at))
    before_pause_was_known = len(arrived_during_pause) - len(during_pause)
    after = Counter(cluster for at, cluster, _route, _status in shop.log.entries if answered_at + retry_after <= at)
    before = Counter(cluster for at, cluster, _route, _status in shop.log.entries if at < answered_at)
    verdict = verify_exactly_once(shop.store, expected_orders=expected)
    ok = not during_pause and verdict.ok and shop.requests["429"] == 1
    report.case(
        f"429 (Retry-After {retry_after}s) to cluster {hit_cluster} under load",
        ok,
        f"requests started during the pause: {len(during_pause)} {during_pause[:5]} (and "
        f"{before_pause_was_known} in flight or started in the {pause_seen_at - answered_at:.3f}s before the "
        f"pause was visible to all); requests per cluster before "
        f"{dict(sorted(before.items()))}, after {dict(sorted(after.items()))}; 429s {shop.requests['429']}; "
        f"{verdict.describe()}",
        time.monotonic() - started,
    )
    assert all(before[n] for n in range(CLUSTERS)), "every cluster must have been sending before the 429"
    assert not during_pause, f"requests sent while every process should wait: {during_pause[:10]}"
    assert shop.requests["429"] == 1, "erp-bridge caused 429s of its own"
    assert verdict.ok, verdict.problems
