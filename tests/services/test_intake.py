"""Intake end to end against the sandbox store on a real port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import pytest
from django.core.management import call_command
from django.db import DataError, connections
from django.utils import timezone

from integration.infra.vtex_client import vtex_client
from integration.models import Order, OrderEvent, OutboxMessage, VtexCall
from integration.selectors.start_handling import start_handling_done_q
from integration.services import intake as intake_module
from integration.services import order_sync
from integration.services import outbox as outbox_module
from integration.services.intake import intake_run
from integration.services.outbox import outbox_enqueue_start_handling
from integration.vtex import VtexServerError
from tests.conftest import PROJECT_ROOT, SANDBOX_APP_KEY, SANDBOX_APP_TOKEN, database_url_for_children
from vtex_sandbox import FaultConfig
from vtex_sandbox.hostile import HOSTILE_SHAPES

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_STATUSES = ["payment-pending", "payment-approved", "window-to-cancel", "handling", "canceled"]


def start_handling_effects(server) -> dict[str, int]:
    return server.store.effects["start_handling"]


def acknowledged_ids() -> set[str]:
    return set(Order.objects.filter(start_handling_done_q()).values_list("order_id", flat=True))


def test_intake_imports_each_ready_order_once_and_acknowledges_it_once(make_sandbox):
    # given 150 ready orders and 20 in other statuses
    server = make_sandbox(orders=150, fetch_payments=True)
    ready = {order_id for order_id in server.store.orders_by_status("ready-for-handling")}
    for status in OTHER_STATUSES:
        server.store.add_orders(4, status=status)

    # when
    result = intake_run()

    # then exactly the 150 are stored and each was acknowledged once
    assert (result.imported, result.acknowledged, result.failed) == (150, 150, 0)
    assert set(Order.objects.values_list("order_id", flat=True)) == ready
    assert start_handling_effects(server) == {order_id: 1 for order_id in ready}
    assert acknowledged_ids() == ready
    start_handlings = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.START_HANDLING)
    assert start_handlings.count() == 150 and not start_handlings.exclude(state=OutboxMessage.State.SENT).exists()
    assert set(Order.objects.values_list("state", flat=True)) == {Order.State.HANDLING}
    assert Order.objects.filter(vtex_status="handling").count() == 150
    order = Order.objects.get(order_id=sorted(ready)[0])
    raw = server.store.order(order.order_id)
    assert order.total_cents == raw["value"]
    assert order.items.count() == len(raw["items"])
    assert sum(p.value_cents for p in order.payments.all()) == raw["value"]
    assert all(p.status for p in order.payments.all()), "payment status comes from the Payments API"
    assert order.events.filter(kind=OrderEvent.Kind.IMPORTED).count() == 1
    assert order.events.filter(kind=OrderEvent.Kind.ACKNOWLEDGED).count() == 1


def test_second_run_imports_nothing_and_sends_nothing_then_new_orders_are_picked_up(make_sandbox):
    server = make_sandbox(orders=30)
    assert intake_run().imported == 30
    calls_before = VtexCall.objects.exclude(operation="list_orders").count()

    second = intake_run()

    assert (second.imported, second.acknowledged, second.failed) == (0, 0, 0)
    assert VtexCall.objects.exclude(operation="list_orders").count() == calls_before
    assert not VtexCall.objects.filter(method__in=["POST", "PUT", "PATCH"]).exclude(operation="start_handling").exists()

    new_ids = server.store.add_orders(5)
    third = intake_run()

    assert (third.imported, third.acknowledged) == (5, 5)
    assert Order.objects.filter(order_id__in=new_ids).count() == 5
    assert all(start_handling_effects(server)[order_id] == 1 for order_id in new_ids)


def test_pages_beyond_the_first_are_all_read(make_sandbox, monkeypatch):
    # 250 orders is three pages of 100; acknowledging while paging must not hide any order
    server = make_sandbox(orders=250)
    result = intake_run()
    assert result.imported == 250
    assert len(start_handling_effects(server)) == 250


def test_accepted_start_handlings_are_recorded_together_and_every_one_once(make_sandbox, monkeypatch):
    server = make_sandbox(orders=130)
    recorded = []
    record = outbox_module._record_sent

    def record_a_batch(entries):
        recorded.append(len(entries))
        return record(entries)

    monkeypatch.setattr(outbox_module, "_record_sent", record_a_batch)

    result = intake_run()

    assert (result.imported, result.acknowledged, result.failed) == (130, 130, 0)
    assert sum(recorded) == 130
    assert acknowledged_ids() == set(server.store.order_ids())
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.ACKNOWLEDGED).count() == 130
    assert len(start_handling_effects(server)) == 130


def test_start_handlings_answered_before_an_error_ends_the_cycle_are_still_recorded(make_sandbox, monkeypatch):
    # given several list pages, and a database that fails while the second one is stored
    server = make_sandbox(orders=250)
    store = intake_module.orders_store_from_vtex
    lots = []

    def store_then_break(**kwargs):
        lots.append(1)
        if len(lots) == 2:
            raise RuntimeError("the database went away")
        return store(**kwargs)

    monkeypatch.setattr(intake_module, "orders_store_from_vtex", store_then_break)

    with pytest.raises(RuntimeError, match="the database went away"):
        intake_run()

    # then the first page's start-handlings, sent before the error, are all recorded, and no other
    first_page = set(Order.objects.values_list("order_id", flat=True))
    assert 0 < len(first_page) < 250
    assert acknowledged_ids() == first_page == set(start_handling_effects(server))
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.ACKNOWLEDGED).count() == len(first_page)


def test_faults_and_lost_responses_end_with_every_order_imported_and_acknowledged_once(make_sandbox):
    server = make_sandbox(
        orders=60, faults=FaultConfig(fail_rate=0.2, lost_rate=0.1, retry_after_s=1, slow_s=1.5, seed=7)
    )
    for _ in range(12):
        intake_run()
        if len(acknowledged_ids()) == Order.objects.count() == 60:
            break
        # What waiting out the backoff would do: start-handlings that failed are due again.
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(next_attempt_at=timezone.now())
    ready_ids = set(server.store.order_ids())
    assert Order.objects.count() == 60
    assert set(Order.objects.values_list("order_id", flat=True)) == ready_ids
    assert acknowledged_ids() == ready_ids
    assert start_handling_effects(server) == {order_id: 1 for order_id in ready_ids}
    assert server.store.requests_count.get("total", 0) > 0


def test_a_failing_order_does_not_stop_the_others_and_is_retried_next_run(make_sandbox):
    server = make_sandbox(orders=5)
    broken = sorted(server.store.order_ids())[2]
    real_get_order = vtex_client().get_order

    def get_order(order_id: str):
        if order_id == broken:
            raise VtexServerError("VTEX is having a bad day", status=500, method="GET", path="/x")
        return real_get_order(order_id)

    client = vtex_client()
    client.get_order = get_order
    first = intake_run(client=client)

    assert (first.imported, first.failed) == (4, 1)
    stub = Order.objects.get(order_id=broken)
    assert not stub.is_complete and "bad day" in stub.intake_error
    assert stub.events.filter(kind=OrderEvent.Kind.INTAKE_FAILED).exists()
    assert broken not in start_handling_effects(server)

    del client.get_order  # back to the real method
    second = intake_run(client=client)

    assert (second.imported, second.failed) == (1, 0)
    stub.refresh_from_db()
    assert stub.is_complete and stub.intake_error == "" and broken in acknowledged_ids()
    assert start_handling_effects(server)[broken] == 1


def test_malformed_order_fails_alone_with_the_reason_stored(make_sandbox):
    server = make_sandbox(orders=3)
    broken = sorted(server.store.order_ids())[0]
    client = vtex_client()
    real_get_order = client.get_order

    def get_order(order_id: str):
        raw = real_get_order(order_id)
        if order_id == broken:
            raw["items"][0]["quantity"] = -1
        return raw

    client.get_order = get_order
    result = intake_run(client=client)

    assert (result.imported, result.failed) == (2, 1)
    assert "items[0].quantity" in Order.objects.get(order_id=broken).intake_error


def test_order_stored_but_not_acknowledged_is_acknowledged_on_the_next_run(make_sandbox, settings):
    # given a crash between storing and acknowledging (here: acknowledging switched off)
    server = make_sandbox(orders=4)
    settings.VTEX_START_HANDLING = "on_erp_ack"
    assert intake_run().imported == 4
    assert start_handling_effects(server) == {}
    assert not OutboxMessage.objects.exists() and not acknowledged_ids()

    # when the next run acknowledges
    settings.VTEX_START_HANDLING = "on_import"
    result = intake_run()

    # then
    assert (result.imported, result.acknowledged) == (0, 4)
    assert set(start_handling_effects(server).values()) == {1}


def test_acknowledgement_whose_answer_was_lost_counts_as_done_after_read_back(make_sandbox, settings):
    server = make_sandbox(orders=2)
    settings.VTEX_START_HANDLING = "on_erp_ack"
    intake_run()
    # VTEX applied a start-handling whose answer never reached us
    order_id = sorted(server.store.order_ids())[0]
    server.store.set_status(order_id, "handling")
    (row,) = outbox_enqueue_start_handling(orders=[Order.objects.get(order_id=order_id)])
    OutboxMessage.objects.filter(pk=row.pk).update(attempts=1, last_error="timeout")

    settings.VTEX_START_HANDLING = "on_import"
    # the order still shows ready-for-handling locally, so the run sends start-handling: 409 → read back
    result = intake_run()

    order = Order.objects.get(order_id=order_id)
    assert order_id in acknowledged_ids() and order.vtex_status == "handling"
    assert OutboxMessage.objects.get(pk=row.pk).state == OutboxMessage.State.SENT
    assert result.failed == 0
    assert VtexCall.objects.filter(operation="start_handling", order_id=order_id, status_code=409).exists()


def test_order_canceled_at_vtex_before_acknowledgement_is_not_retried(make_sandbox, settings):
    server = make_sandbox(orders=1)
    settings.VTEX_START_HANDLING = "on_erp_ack"
    intake_run()
    order_id = server.store.order_ids()[0]
    server.store.set_status(order_id, "canceled")
    settings.VTEX_START_HANDLING = "on_import"

    first = intake_run()
    second = intake_run()

    order = Order.objects.get(order_id=order_id)
    assert first.failed == 1 and second.failed == 0
    assert order.vtex_status == "canceled" and order.state == Order.State.CANCELED
    assert VtexCall.objects.filter(operation="start_handling").count() == 1


def _run_in_thread(results: list, **kwargs):
    try:
        results.append(intake_run(**kwargs))
    finally:
        connections.close_all()


def test_two_runs_at_once_never_import_or_acknowledge_twice(make_sandbox):
    server = make_sandbox(orders=80, latency_ms=5)
    results: list = []
    threads = [threading.Thread(target=_run_in_thread, args=(results,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Order.objects.count() == 80
    assert sum(r.imported for r in results) == 80
    assert set(start_handling_effects(server).values()) == {1}
    assert len(start_handling_effects(server)) == 80


def test_without_the_lease_conditional_updates_still_prevent_duplicates(make_sandbox, monkeypatch):
    # two clusters that both believe they hold the lease (e.g. one was paused past its TTL)
    server = make_sandbox(orders=60, latency_ms=5)
    monkeypatch.setattr(intake_module, "lease", _always_granted)
    results: list = []
    threads = [threading.Thread(target=_run_in_thread, args=(results,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Order.objects.count() == 60
    assert sum(r.imported for r in results) == 60
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.IMPORTED).count() == 60
    assert start_handling_effects(server) == {order_id: 1 for order_id in server.store.order_ids()}


class _always_granted:
    def __init__(self, name, *, ttl):
        self.ttl = ttl

    def __enter__(self):
        return type("Held", (), {"renew": lambda self: True})()

    def __exit__(self, *exc):
        return False


def test_two_processes_pulling_at_once_never_import_or_acknowledge_twice(make_sandbox):
    server = make_sandbox(orders=120, latency_ms=5)
    env = dict(
        os.environ,
        DATABASE_URL=database_url_for_children(),
        VTEX_OMS_URL=server.url,
        VTEX_PAYMENTS_URL=server.url,
        VTEX_APP_KEY=SANDBOX_APP_KEY,
        VTEX_APP_TOKEN=SANDBOX_APP_TOKEN,
        VTEX_RATE_LIMIT_RPM="600000",
    )
    command = [sys.executable, str(PROJECT_ROOT / "manage.py"), "pull_orders", "--source", "list"]
    children = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]

    assert [child.returncode for child in children] == [0, 0], outputs
    assert Order.objects.count() == 120
    assert set(start_handling_effects(server).values()) == {1}
    assert len(start_handling_effects(server)) == 120
    imported = [int(m) for out in outputs for m in re.findall(r"imported: (\d+)", out)]
    assert sum(imported) == 120, outputs


def test_pull_orders_command_prints_a_summary_and_exits_1_when_an_order_failed(make_sandbox, capsys, monkeypatch):
    make_sandbox(orders=3)
    call_command("pull_orders", source="list")
    assert "imported: 3" in capsys.readouterr().out

    def failing_get_order(self, order_id):
        raise VtexServerError("boom", status=503, method="GET", path="/api/oms/pvt/orders/x")

    server_orders = make_sandbox(orders=2)
    del server_orders
    OutboxMessage.objects.all().delete()
    Order.objects.all().delete()
    monkeypatch.setattr("integration.vtex.client.VtexClient.get_order", failing_get_order)
    with pytest.raises(SystemExit) as exit_info:
        call_command("pull_orders", source="list")
    captured = capsys.readouterr()
    assert exit_info.value.code == 1
    assert "failed: 2" in captured.out
    assert "boom" in captured.err


def test_pull_orders_explains_a_missing_configuration(settings):
    from django.core.management.base import CommandError

    settings.VTEX_OMS_URL = ""
    settings.VTEX_APP_KEY = ""
    with pytest.raises(CommandError, match="VTEX_ACCOUNT_NAME"):
        call_command("pull_orders", source="list")


def test_payments_api_calls_are_on_the_order_timeline(make_sandbox):
    server = make_sandbox(orders=1, fetch_payments=True)
    intake_run()
    order_id = server.store.order_ids()[0]
    operations = set(VtexCall.objects.filter(order_id=order_id).values_list("operation", flat=True))
    assert {"get_order", "get_transaction", "get_transaction_payments", "start_handling"} <= operations


def _nested(levels: int) -> object:
    value: object = "deep"
    for _ in range(levels):
        value = [value]
    return value


HOSTILE = {
    "nul_in_the_buyer_name": lambda doc: doc["clientProfileData"].update(firstName="Ana\x00Maria"),
    "lone_surrogate": lambda doc: doc["items"][0].update(name="Camiseta \ud800"),
    "quantity_of_2_to_the_40": lambda doc: doc["items"][0].update(quantity=2**40),
    "value_of_2_to_the_63": lambda doc: doc.update(value=2**63),
    "infinite_unit_multiplier": lambda doc: doc["items"][0].update(unitMultiplier=float("inf")),
    "deeply_nested": lambda doc: doc.update(customData=_nested(500)),
}


def test_hostile_orders_fail_alone_and_every_good_one_is_imported_and_acknowledged(make_sandbox, monkeypatch):
    # given ten ready orders, six of which VTEX serves in a shape no database stores
    server = make_sandbox(orders=10)
    ids = sorted(server.store.order_ids())
    hostile = dict(zip(ids[:6], HOSTILE.values(), strict=True))
    client = vtex_client()
    real_get_order = client.get_order

    def get_order(order_id):
        doc = real_get_order(order_id)
        if order_id in hostile:
            hostile[order_id](doc)
        return doc

    client.get_order = get_order
    # and a seventh that the database itself refuses while its lot is stored
    refused = ids[6]
    insert = order_sync._insert

    def insert_refusing(new, now):
        if any(entry.order_id == refused for entry in new):
            raise DataError("value out of range for the test")
        return insert(new, now)

    monkeypatch.setattr(order_sync, "_insert", insert_refusing)

    # when
    result = intake_run(client=client)

    # then the three good ones are in and acknowledged, and each bad one is reported alone
    good = set(ids[7:])
    assert (result.imported, result.acknowledged, result.failed) == (3, 3, 7), result.failures
    assert set(Order.objects.filter(is_complete=True).values_list("order_id", flat=True)) == good
    assert set(start_handling_effects(server)) == good
    reasons = {order_id: reason for order_id, reason in result.failures}
    assert "NUL" in reasons[ids[0]] and "surrogate" in reasons[ids[1]]
    assert "out of range" in reasons[ids[2]] and "out of range" in reasons[ids[3]]
    assert "unitMultiplier" in reasons[ids[4]] and "nested" in reasons[ids[5]]
    assert "database refused" in reasons[refused]
    for order_id in [*ids[:6], refused]:  # each visible in the admin, with its reason
        assert Order.objects.get(order_id=order_id).intake_error


def test_the_sandboxs_hostile_orders_each_fail_alone_and_the_good_ones_are_taken_once(make_sandbox):
    # Issue 16's acceptance: the sandbox serves hostile orders (its six shapes) among good ones.
    server = make_sandbox(orders=40, hostile_rate=0.3, seed=4)
    hostile = dict(server.store.hostile)
    assert set(hostile.values()) == set(HOSTILE_SHAPES)  # every shape is served
    good = set(server.store.order_ids()) - set(hostile)

    first = intake_run()
    second = intake_run()  # the next run tries the hostile ones again, and only them

    assert first.imported == len(good) and first.acknowledged == len(good)
    assert {order_id for order_id, _ in first.failures} == set(hostile)
    assert second.imported == 0 and {order_id for order_id, _ in second.failures} == set(hostile)
    assert start_handling_effects(server) == dict.fromkeys(good, 1)
    assert set(Order.objects.filter(is_complete=True).values_list("order_id", flat=True)) == good
