"""vtex_threads: a plain executor whose threads buffer their VTEX call records and close their
database connections when the pool ends."""

import threading

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from integration.infra.vtex_client import call_log, reset_vtex_client
from integration.infra.workers import vtex_threads
from integration.models import VtexCall
from integration.services.intake import intake_run
from integration.vtex import CallRecord

pytestmark = pytest.mark.django_db(transaction=True)


def _record(order_id: str) -> CallRecord:
    return CallRecord(
        operation="get_order",
        order_id=order_id,
        method="GET",
        path=f"/api/oms/pvt/orders/{order_id}",
        status_code=200,
        error="",
        duration_ms=1,
        attempt=1,
        request_excerpt="",
        response_excerpt="",
        created_at=timezone.now(),
    )


def test_threads_buffer_call_records_until_the_owner_flushes_them():
    with vtex_threads(lambda: 2) as executor:
        list(executor.map(lambda n: call_log(_record(f"order-{n}")), range(5)))
        assert VtexCall.objects.count() == 0  # nothing written by the threads themselves
    assert call_log.flush() == 5
    assert VtexCall.objects.count() == 5


def test_every_started_thread_closes_its_database_connection_at_the_end():
    opened: list = []
    lock = threading.Lock()

    def touch_database(_):
        connection.ensure_connection()
        with lock:
            opened.append(connection)
        return connection.connection is not None

    with vtex_threads(lambda: 3) as executor:
        assert all(executor.map(touch_database, range(12)))
    assert opened and all(conn.connection is None for conn in opened)


def test_the_number_of_threads_follows_the_target_while_work_waits():
    wanted = {"threads": 2}
    release = threading.Event()
    with vtex_threads(lambda: wanted["threads"]) as executor:
        jobs = [executor.submit(release.wait, 10) for _ in range(10)]
        assert executor.threads == 2  # ten jobs wait, two threads run
        wanted["threads"] = 5  # VTEX slowed down: more calls must be in flight
        jobs.append(executor.submit(release.wait, 10))
        assert executor.threads == 5
        wanted["threads"] = 1  # VTEX is fast again: threads end after their job
        release.set()
        assert all(job.result(timeout=10) for job in jobs)
        executor.submit(lambda: None).result(timeout=10)
        deadline = threading.Event()
        for _ in range(100):  # threads leave as they finish; give them the moment to go
            if executor.threads <= 1:
                break
            deadline.wait(0.05)
        assert executor.threads <= 1
        assert executor.peak_threads == 5


def test_a_job_that_raises_hands_its_error_to_the_caller_and_the_thread_goes_on():
    def fail():
        raise ValueError("broken answer")

    with vtex_threads(lambda: 1) as executor:
        failed = executor.submit(fail)
        after = executor.submit(lambda: "next")
        with pytest.raises(ValueError, match="broken answer"):
            failed.result(timeout=10)
        assert after.result(timeout=10) == "next"


def test_work_submitted_first_runs_before_the_work_already_waiting():
    # given: the one thread busy, two orders' reads waiting
    release, ran = threading.Event(), []
    with vtex_threads(lambda: 1) as executor:
        busy = executor.submit(release.wait, 10)
        waiting = [executor.submit(ran.append, name) for name in ("order 1", "order 2")]
        # when: the read that brings the next lot comes
        feed_read = executor.submit_first(ran.append, "feed read")
        release.set()
        for job in [busy, *waiting, feed_read]:
            job.result(timeout=10)
    # then it went ahead of them
    assert ran == ["feed read", "order 1", "order 2"]


def test_a_pool_holds_one_database_connection_however_many_threads_it_runs(make_sandbox, settings):
    # given: an intake that keeps 16 calls in flight, each taking a token of the shared budget
    make_sandbox(orders=80, latency_ms=20)
    settings.VTEX_CONCURRENCY = 16
    settings.VTEX_RATE_LIMIT_RPM = 600_000
    reset_vtex_client()
    opened = []

    def note(sender, connection, **kwargs):
        opened.append(threading.current_thread().name)

    connection_created.connect(note)
    try:
        # when
        result = intake_run(source="list")
    finally:
        connection_created.disconnect(note)

    # then: the worker threads' database work (the budget's row) went through one thread
    assert result.imported == 80 and result.peak_threads >= 8
    from_pool = [name for name in opened if name != threading.main_thread().name]
    assert len(from_pool) <= 1, from_pool
