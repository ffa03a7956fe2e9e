"""The call log (VtexCall rows from CallRecords) and the process's one VTEX client built from settings."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import responses

from integration.infra import vtex_client as vtex_service
from integration.infra.rate_budget import DatabaseRateBudget
from integration.infra.vtex_client import CallLog, buffer_calls_in_this_thread, reset_vtex_client, vtex_client
from integration.models import VtexCall
from integration.vtex import CallRecord, VtexClient, VtexConfigurationError, VtexConflict
from integration.vtex.budget import tokens_per_second

TOKEN = "SECRET-app-token-never-logged"


def make_record(n: int = 1, **overrides) -> CallRecord:
    values = dict(
        operation="get_order",
        order_id=f"14382705198{n:02d}-01",
        method="GET",
        path=f"/api/oms/pvt/orders/14382705198{n:02d}-01",
        status_code=200,
        error="",
        duration_ms=120 + n,
        attempt=1,
        request_excerpt="",
        response_excerpt='{"orderId": "x"}',
        created_at=datetime(2024, 5, 14, 13, 22, n, tzinfo=UTC),
    )
    values.update(overrides)
    return CallRecord(**values)


def _in_thread(target) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # surface a failure inside the thread to the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


# ---- CallLog -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_call_log_writes_one_vtex_call_row_per_record():
    # given
    log = CallLog()
    first = make_record(1)
    second = make_record(
        2,
        operation="send_invoice",
        method="POST",
        path="/api/oms/pvt/orders/1438270519802-01/invoice",
        status_code=None,
        error="VtexTimeout",
        attempt=1,
        request_excerpt='{"invoiceNumber": "NF-000123"}',
        response_excerpt="POST /api/oms/pvt/orders/1438270519802-01/invoice: no answer within 30s",
    )
    # when
    log(first)
    log(second)
    # then
    assert VtexCall.objects.count() == 2
    row = VtexCall.objects.get(operation="send_invoice")
    assert row.order_id == "1438270519802-01"
    assert row.method == "POST"
    assert row.path == "/api/oms/pvt/orders/1438270519802-01/invoice"
    assert row.status_code is None
    assert row.error == "VtexTimeout"
    assert row.duration_ms == 122
    assert row.attempt == 1
    assert row.request_excerpt == '{"invoiceNumber": "NF-000123"}'
    assert row.response_excerpt.endswith("no answer within 30s")
    assert row.created_at == datetime(2024, 5, 14, 13, 22, 2, tzinfo=UTC)
    assert row.succeeded is False
    assert VtexCall.objects.get(operation="get_order").succeeded is True


@pytest.mark.django_db
def test_call_log_in_a_buffering_thread_writes_nothing_until_flush():
    # given
    log = CallLog()

    def worker() -> None:
        buffer_calls_in_this_thread()
        for n in range(3):
            log(make_record(n))

    # when
    _in_thread(worker)
    # then
    assert VtexCall.objects.count() == 0
    assert log.flush() == 3
    assert VtexCall.objects.count() == 3
    assert sorted(VtexCall.objects.values_list("order_id", flat=True)) == [
        "1438270519800-01",
        "1438270519801-01",
        "1438270519802-01",
    ]
    assert log.flush() == 0  # nothing written twice
    assert VtexCall.objects.count() == 3


@pytest.mark.django_db
def test_call_log_buffering_is_per_thread():
    # given: a worker thread buffers
    log = CallLog()
    _in_thread(lambda: (buffer_calls_in_this_thread(), log(make_record(1))))
    # when: the main thread records
    log(make_record(2))
    # then: the main thread's record was written at once, the worker's waits for flush
    assert list(VtexCall.objects.values_list("order_id", flat=True)) == ["1438270519802-01"]
    assert log.flush() == 1
    assert VtexCall.objects.count() == 2


@pytest.mark.django_db
def test_call_log_collects_from_many_buffering_threads():
    log = CallLog()
    threads = []
    for worker in range(4):

        def run(worker: int = worker) -> None:
            buffer_calls_in_this_thread()
            for n in range(25):
                log(make_record(n, operation=f"worker-{worker}"))

        threads.append(threading.Thread(target=run))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert VtexCall.objects.count() == 0
    assert log.flush() == 100
    assert VtexCall.objects.count() == 100


# ---- vtex_client() -------------------------------------------------------------------------------------


def test_vtex_client_is_built_from_settings(vtex_settings):
    # given
    vtex_settings.VTEX_CONNECT_TIMEOUT_S = 2.5
    vtex_settings.VTEX_READ_TIMEOUT_S = 12.0
    vtex_settings.VTEX_GET_ATTEMPTS = 3
    vtex_settings.VTEX_MAX_RETRY_AFTER_S = 90.0
    vtex_settings.VTEX_CONCURRENCY = 24
    # when
    client = vtex_client()
    # then
    config = client.config
    assert config.oms_url == "https://teststore.vtexcommercestable.com.br"
    assert config.payments_url == "https://teststore.vtexpayments.com.br"
    assert config.app_key == "vtexappkey-teststore-ABCDEF"
    assert config.app_token == TOKEN
    assert (config.connect_timeout, config.read_timeout) == (2.5, 12.0)
    assert config.get_attempts == 3
    assert config.max_retry_after == 90.0
    assert config.pool_size == 24
    assert isinstance(client.budget, DatabaseRateBudget)
    assert client.budget.per_second == tokens_per_second(600000)
    assert client.recorder is vtex_service._record_call  # the call log, and the in-flight target
    assert TOKEN not in repr(config)


def test_vtex_client_is_one_instance_per_process_until_reset(vtex_settings):
    # given
    first = vtex_client()
    # when
    seen: list[VtexClient] = []
    threads = [threading.Thread(target=lambda: seen.append(vtex_client())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # then
    assert len(seen) == 8
    assert all(client is first for client in seen)
    assert vtex_client() is first
    # and a reset picks up new settings
    vtex_settings.VTEX_APP_KEY = "vtexappkey-teststore-ROTATED"
    assert vtex_client().config.app_key == "vtexappkey-teststore-ABCDEF"  # still the old one
    reset_vtex_client()
    second = vtex_client()
    assert second is not first
    assert second.config.app_key == "vtexappkey-teststore-ROTATED"
    assert second.session is not first.session


def test_vtex_client_without_configuration_refuses_to_call(settings):
    # given
    settings.VTEX_OMS_URL = ""
    settings.VTEX_PAYMENTS_URL = ""
    settings.VTEX_APP_KEY = ""
    settings.VTEX_APP_TOKEN = ""
    reset_vtex_client()
    # when / then
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        with pytest.raises(VtexConfigurationError, match="VTEX_ACCOUNT_NAME"):
            vtex_client().get_order("1438270519843-01")
        assert len(rsps.calls) == 0


@pytest.mark.django_db
def test_vtex_client_records_each_call_as_a_vtex_call_row_without_the_token(vtex_settings):
    # given: VTEX answers an error that echoes the token
    url = "https://teststore.vtexcommercestable.com.br/api/oms/pvt/orders/1438270519843-01/start-handling"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(
            responses.POST,
            url,
            status=409,
            json={"error": {"code": "OMS003", "message": f"not ready ({TOKEN})", "exception": None}},
        )
        # when
        with pytest.raises(VtexConflict) as caught:
            vtex_client().start_handling("1438270519843-01")
    # then
    assert TOKEN not in str(caught.value)
    row = VtexCall.objects.get()
    assert row.operation == "start_handling"
    assert row.order_id == "1438270519843-01"
    assert row.method == "POST"
    assert row.path == "/api/oms/pvt/orders/1438270519843-01/start-handling"
    assert row.status_code == 409
    assert row.error == "VtexConflict"
    assert TOKEN not in row.response_excerpt
    assert "[redacted]" in row.response_excerpt
