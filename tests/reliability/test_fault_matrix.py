"""Fault matrix (issue 6 §1): a sandbox failing 20 % of requests (429 with Retry-After, 500, 503,
answers slower than the read timeout, dropped connections) and losing 5 % of the answers to
writes, for the whole life of 500 orders: intake, partial and full invoices, tracking, carrier
events, cancellations. Then the sandbox heals and erp-bridge catches up on its own schedule
(intake cycles, the outbox's retries, the daily reconciliation).

Asserted: each order imported once; at the sandbox each start-handling, invoice, tracking update,
events call and cancel took effect exactly once; nothing left pending.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from integration.infra.vtex_client import reset_vtex_client, vtex_client
from integration.models import Order, OutboxMessage
from integration.selectors.start_handling import start_handling_done_q
from integration.services.feed import feed_config_ensure
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send_due
from integration.services.reconciliation import reconciliation_run
from tests.reliability.workload import run_workload, verify_exactly_once
from vtex_sandbox import FaultConfig

# The outbox is sent as push_pending sends it; no django-q2 cluster runs in this test.
pytestmark = [pytest.mark.heavy, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_task_queue")]

ORDERS = 500
FAULTS = FaultConfig(fail_rate=0.20, lost_rate=0.05, retry_after_s=1, slow_s=1.5, seed=6)
State = OutboxMessage.State


def send_outbox_rounds(client, *, rounds: int, until_empty: bool, settle_s: float) -> int:
    """Send what is due, as the push-pending schedule does once a minute, skipping the backoff waits
    (each round makes the waiting rows due) but not the settle time after an unanswered write."""
    for round_number in range(1, rounds + 1):
        if OutboxMessage.objects.filter(state=State.PENDING, outcome_unknown=True).exists():
            time.sleep(settle_s)
        OutboxMessage.objects.filter(state=State.PENDING).update(next_attempt_at=timezone.now())
        outbox_send_due(client=client)
        if until_empty and not OutboxMessage.objects.filter(state__in=[State.PENDING, State.SENDING]).exists():
            return round_number
    return rounds


@pytest.mark.parametrize("source", ["list", "feed"])
def test_fault_matrix_every_effect_exactly_once_and_nothing_left(source, sandbox, settings, matrix_report):
    report = matrix_report(
        "fault-matrix", f"Fault matrix: {ORDERS} orders, 20 % faults (429/500/503/slow/drop) + 5 % lost answers"
    )
    started = time.monotonic()
    server = sandbox(orders=0 if source == "feed" else ORDERS, faults=FaultConfig(seed=FAULTS.seed))
    settings.VTEX_INTAKE = source
    settings.VTEX_GET_ATTEMPTS = 2  # fewer in-call retries: the cycles and the outbox must cope
    reset_vtex_client()
    client = vtex_client()
    if source == "feed":
        feed_config_ensure(client=client)  # VTEX only queues events once the feed exists
        server.store.add_orders(ORDERS)
    expected = set(server.store.orders_by_status("ready-for-handling"))
    assert len(expected) == ORDERS

    # 1. intake under faults: cycles (the 2-minute schedule) until every order is in and handled
    server.set_faults(**{k: v for k, v in FAULTS.as_dict().items() if k != "kinds"})
    cycles, failed_under_faults = 0, 0
    while cycles < 10:
        cycles += 1
        result = intake_run(source=source, client=client)
        failed_under_faults += result.failed
        if Order.objects.filter(start_handling_done_q()).count() == ORDERS:
            break
        if source == "feed":
            server.clock.advance(settings.VTEX_FEED_VISIBILITY_TIMEOUT_S)  # uncommitted events come back
    imported_under_faults = Order.objects.filter(start_handling_done_q()).count()

    # 2. the back office works (still under faults): invoices, tracking, events, cancellations
    run_workload()
    send_outbox_rounds(client, rounds=4, until_empty=False, settle_s=2.0)
    sent_under_faults = OutboxMessage.objects.filter(state=State.SENT).count()

    # 3. the sandbox heals; erp-bridge catches up by itself
    server.set_faults(fail_rate=0.0, lost_rate=0.0)
    for _ in range(4):
        server.clock.advance(settings.VTEX_FEED_VISIBILITY_TIMEOUT_S)
        intake_run(source=source, client=client)
        if Order.objects.filter(start_handling_done_q()).count() == ORDERS:
            break
    run_workload()  # the orders that came in only now
    drain_rounds = send_outbox_rounds(client, rounds=30, until_empty=True, settle_s=2.0)
    reconciliation_run(client=client)  # the daily read-back confirms cancellations whose read-back failed

    verdict = verify_exactly_once(server.store, expected_orders=expected)
    requests = server.store.requests_count
    report.case(
        f"source={source}",
        verdict.ok,
        f"{verdict.describe()}; under faults: {imported_under_faults} orders handled in {cycles} cycles "
        f"({failed_under_faults} order failures retried), {sent_under_faults} outbox rows sent; "
        f"after healing: {drain_rounds} send rounds; sandbox requests {requests['total']}, 429s {requests['429']}",
        time.monotonic() - started,
    )
    assert verdict.ok, verdict.problems
    assert verdict.counts["invoices_from_nfe"] > 0  # NF-e imports went through the same faults
    assert failed_under_faults > 0 and requests["429"] > 0, "the faults must actually have hit the run"
