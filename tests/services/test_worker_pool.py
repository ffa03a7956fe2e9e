"""vtex_threads: a plain executor whose threads buffer their VTEX call records and close their
database connections when the pool ends."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from integration.infra.vtex_client import call_log
from integration.infra.workers import vtex_threads
from integration.models import VtexCall
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
    with vtex_threads(2) as executor:
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

    with vtex_threads(3) as executor:
        assert all(executor.map(touch_database, range(12)))
    assert opened and all(conn.connection is None for conn in opened)
