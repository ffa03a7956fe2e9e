"""Intake keeps the wire full and takes hook notifications that come in while a long cycle runs."""

from __future__ import annotations

import threading

import pytest
from django_q.models import OrmQ

from integration.infra.vtex_client import reset_vtex_client, vtex_client, vtex_in_flight_target
from integration.models import HookNotification, Order
from integration.services import intake
from integration.services.intake import intake_run

pytestmark = pytest.mark.django_db(transaction=True)


def notify(order_id: str) -> HookNotification:
    return HookNotification.objects.create(order_id=order_id, state="ready-for-handling", body={"OrderId": order_id})


def test_a_notification_that_comes_during_a_feed_cycle_is_taken_in_that_cycle(make_sandbox, monkeypatch):
    # given: a long feed cycle, and an order VTEX notifies through the hook while it runs
    # (the hook's own task would find the intake lease taken)
    server = make_sandbox(orders=0)
    intake_run(source="feed")  # the feed is configured
    on_feed = server.store.add_orders(25)
    (hooked,) = server.store.add_orders(1)
    server.store._feed.messages.pop(max(server.store._feed.messages))  # only the hook names it
    monkeypatch.setattr(intake, "HOOK_CHECK_EVERY_S", 0.0)
    notified = []

    def progress(result):
        if not notified:
            notified.append(notify(hooked))

    # when
    result = intake_run(source="feed", progress=progress)

    # then
    assert result.imported == 26 and result.acknowledged == 26
    assert server.store.effects["start_handling"] == dict.fromkeys([*on_feed, hooked], 1)
    assert HookNotification.objects.get().processed_at is not None


def test_a_notification_for_an_order_the_cycle_had_read_already_is_kept_and_queued(make_sandbox, monkeypatch):
    # given: the cycle reads an order, then VTEX notifies a change of that order
    server = make_sandbox(orders=1)
    (order_id,) = server.store.order_ids()
    monkeypatch.setattr(intake, "HOOK_CHECK_EVERY_S", 0.0)
    notified = []

    def progress(result):
        if result.imported and not notified:
            server.store.set_status(order_id, "canceled")
            notified.append(notify(order_id))

    # when
    intake_run(source="list", progress=progress)

    # then: the notification may say something newer than what was read: it stays pending, and
    # the hook's task is queued again now that the lease is free
    assert HookNotification.objects.get().processed_at is None
    assert OrmQ.objects.count() == 1
    intake_run(source="hook")
    assert Order.objects.get(order_id=order_id).state == Order.State.CANCELED
    assert HookNotification.objects.get().processed_at is not None


def test_answer_times_of_the_cycle_move_the_in_flight_target(make_sandbox, settings):
    make_sandbox(orders=20, latency_ms=40)
    settings.VTEX_CONCURRENCY = None
    settings.VTEX_RATE_LIMIT_RPM = 6000
    reset_vtex_client()
    target = vtex_in_flight_target()
    assert target.adaptive and target.mean_answer_s == pytest.approx(0.25)  # the guess before any answer

    intake_run(source="list")

    # every answer took about 40 ms on the loopback (not the 250 ms guess): 98/s × ~0.04 s × 1.5
    assert 0.03 <= target.mean_answer_s <= 0.2
    assert target.target() < 30


def test_a_slow_order_holds_back_only_its_own_feed_lot(make_sandbox):
    # given: 30 orders on the feed (three lots of 10), and VTEX answering the first order read
    # only once the other two lots are stored and acknowledged (or after 30 s, which fails)
    server = make_sandbox(orders=0)
    intake_run(source="feed")  # the feed is configured
    server.store.add_orders(30)
    client = vtex_client()
    answer_slow, slow, seen = threading.Event(), [], {}
    read_order = client.get_order

    def get_order(order_id):
        if not slow:
            slow.append(order_id)
            seen["released"] = answer_slow.wait(timeout=30)
        return read_order(order_id)

    def progress(result):
        if result.acknowledged >= 20:
            seen.setdefault("acknowledged_before", result.acknowledged)
            answer_slow.set()

    client.get_order = get_order

    # when
    result = intake_run(source="feed", client=client, progress=progress)

    # then: the lots read after the slow one were stored and acknowledged while it waited
    assert seen == {"released": True, "acknowledged_before": 20}
    assert result.imported == 30 and result.acknowledged == 30
    assert server.store.effects["start_handling"] == dict.fromkeys(server.store.order_ids(), 1)
