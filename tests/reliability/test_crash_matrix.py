"""Crash matrix (issue 6 §2): the real commands, SIGKILLed at 20 points of intake and sending, then
restarted. Same result as the fault matrix: every order imported once, every VTEX effect exactly
once, nothing lost or left pending.

Each case runs `manage.py pull_orders`, `manage.py push_pending` or the back-office workload
(`manage.py shell`) as a child process on the test's database, against a sandbox on a real port,
with ERP_BRIDGE_CRASH_POINT naming the point (integration/infra/crashpoints.py). The child must
die by SIGKILL. Before the restart, the time a dead holder's claims take to expire is skipped by
moving those claims back in time (the intake lease, a start-handling claim, an outbox row left
"sending" all expire after 5 minutes); the feed's unacknowledged events come back after its
visibility timeout, skipped by moving the sandbox's clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from integration.infra.crashpoints import CRASH_POINTS
from integration.infra.vtex_client import vtex_client
from integration.models import Lease, Order, OutboxMessage
from integration.selectors.start_handling import start_handling_done_q
from integration.services.feed import feed_config_ensure
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due
from integration.services.reconciliation import reconciliation_run
from tests.reliability.conftest import child_env, run_manage
from tests.reliability.workload import run_workload, verify_exactly_once, workload_left

ORDERS = 20
WORKLOAD_COMMAND = ["shell", "-c", "from tests.reliability.workload import run_workload; run_workload()"]

# In this (the test's) process the outbox is sent explicitly; the children queue as usual.
pytestmark = pytest.mark.usefixtures("no_task_queue")


@dataclass(frozen=True)
class Case:
    point: str
    after: int  # die on this pass of the point: some work is done before the crash
    stage: str  # "list" or "feed" (intake), "workload" (entering invoices), "push" (sending)


CASES = [
    Case("intake.lease_taken", 1, "list"),
    Case("intake.list_page_read", 1, "list"),
    Case("intake.order_fetched", 6, "list"),
    Case("intake.store_in_transaction", 1, "list"),
    Case("intake.order_stored", 6, "list"),
    Case("intake.start_handling_queued", 1, "list"),
    Case("intake.feed_read", 2, "feed"),
    Case("intake.feed_before_commit", 1, "feed"),
    Case("intake.feed_committed", 1, "feed"),
    Case("invoicing.outbox_row_written", 6, "workload"),
    Case("outbox.committed_before_queue", 6, "workload"),
    Case("outbox.claimed", 6, "push"),
    Case("outbox.sent.start_handling", 6, "list"),
    Case("outbox.sent.invoice", 4, "push"),
    Case("outbox.sent.tracking", 2, "push"),
    Case("outbox.sent.tracking_events", 1, "push"),
    Case("outbox.sent.cancel", 1, "push"),
    Case("outbox.recorded", 6, "push"),
    Case("outbox.read_back", 2, "push"),
]


def test_the_matrix_covers_every_crash_point():
    assert [case.point for case in CASES] == list(CRASH_POINTS)


def let_dead_claims_expire(server, settings) -> None:
    """What waiting out the TTLs would do: a dead process's lease and claims become free."""
    past = timezone.now() - timedelta(hours=1)
    Lease.objects.update(expires_at=past)
    OutboxMessage.objects.filter(state=OutboxMessage.State.SENDING).update(claimed_at=past)
    OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(next_attempt_at=timezone.now())
    server.clock.advance(settings.VTEX_FEED_VISIBILITY_TIMEOUT_S + 1)


def all_acknowledged() -> bool:
    return Order.objects.filter(start_handling_done_q()).count() == ORDERS


def outbox_empty() -> bool:
    return not OutboxMessage.objects.filter(
        state__in=[OutboxMessage.State.PENDING, OutboxMessage.State.SENDING]
    ).exists()


@pytest.mark.heavy
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", CASES, ids=[case.point for case in CASES])
def test_crash_at_a_point_then_restart_loses_and_duplicates_nothing(case, sandbox, settings, matrix_report):
    report = matrix_report("crash-matrix", f"Crash matrix: SIGKILL at {len(CASES)} points, {ORDERS} orders each")
    started = time.monotonic()
    source = "feed" if case.stage == "feed" else "list"
    server = sandbox(orders=0 if source == "feed" else ORDERS)
    client = vtex_client()
    if source == "feed":
        feed_config_ensure(client=client)
        server.store.add_orders(ORDERS)
    expected = set(server.store.orders_by_status("ready-for-handling"))
    env = child_env(server)
    crash_env = {**env, "ERP_BRIDGE_CRASH_POINT": case.point, "ERP_BRIDGE_CRASH_AFTER": str(case.after)}
    restarts = 0

    def restart_until(command: list[str], done) -> None:
        nonlocal restarts
        for _ in range(4):
            let_dead_claims_expire(server, settings)
            restarts += 1
            rerun = run_manage(command, env)
            assert rerun.returncode in (0, 1), rerun.output  # 1: some order or row failed; retried next
            if done():
                return
        raise AssertionError(f"{' '.join(command)} never finished the work after the crash")

    # the stage that crashes, then its restart
    if case.stage in ("list", "feed"):
        pull = ["pull_orders", "--source", source]
        crashed = run_manage(pull, crash_env)
        state_after_crash = f"{Order.objects.filter(start_handling_done_q()).count()} orders handled"
        restart_until(pull, all_acknowledged)
    else:
        assert intake_run(source="list", client=client).acknowledged == ORDERS
        if case.stage == "workload":
            crashed = run_manage(WORKLOAD_COMMAND, crash_env)
            state_after_crash = f"{OutboxMessage.objects.count()} outbox rows written"
            restart_until(WORKLOAD_COMMAND, lambda: not workload_left())
        else:
            run_workload()
            crashed = run_manage(["push_pending"], crash_env)
            state_after_crash = f"{OutboxMessage.objects.filter(state='sent').count()} rows sent"
            restart_until(["push_pending"], outbox_empty)

    # the rest of the day, without crashes: the back office, the sends, the daily reconciliation
    run_workload()
    outbox_send_due(client=client)
    reconciliation_run(client=client)

    verdict = verify_exactly_once(server.store, expected_orders=expected)
    report.case(
        case.point,
        crashed.killed and verdict.ok,
        f"{'killed by SIGKILL' if crashed.killed else f'NOT killed (exit {crashed.returncode})'} on pass "
        f"{case.after} ({state_after_crash}), {restarts} restart(s); {verdict.describe()}",
        time.monotonic() - started,
    )
    assert crashed.killed, f"the child did not die at {case.point}: exit {crashed.returncode}\n{crashed.output}"
    assert verdict.ok, verdict.problems
