"""Feed v3 intake against the sandbox: duplicates, disorder and redelivery never import twice."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from integration.infra.vtex_client import vtex_client
from integration.models import FeedState, Order, VtexCall
from integration.services.feed import feed_config_ensure
from integration.services.intake import intake_run
from integration.services.order_sync import order_record_intake_failure
from integration.vtex import VtexConnectionError, VtexError, VtexServerError
from integration.vtex.statuses import FEED_FILTER
from tests.conftest import MovableClock

pytestmark = pytest.mark.django_db(transaction=True)


def feed_queue(server) -> dict:
    return server.store.state()["feed"]


def test_the_first_cycle_creates_the_feed_configuration_then_keeps_it(make_sandbox):
    server = make_sandbox(orders=0)

    assert feed_config_ensure(client=vtex_client()) == "created"
    config = server.store.feed_config()
    assert config["filter"] == {"type": "FromWorkflow", "status": list(FEED_FILTER)}
    assert config["queue"]["visibilityTimeoutInSeconds"] == 250
    assert feed_config_ensure(client=vtex_client()) == "ok"
    assert FeedState.objects.get().config_checked_at is not None


def test_a_configuration_that_differs_is_repaired_and_a_deleted_one_recreated(make_sandbox):
    server = make_sandbox(orders=0)
    client = vtex_client()
    client.save_feed_config(
        {
            "filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]},
            "queue": {"visibilityTimeoutInSeconds": 60, "MessageRetentionPeriodInSeconds": 345600},
        }
    )
    assert feed_config_ensure(client=client) == "repaired"
    assert set(server.store.feed_config()["filter"]["status"]) == set(FEED_FILTER)

    client.delete_feed_config()  # VTEX removes a feed that stayed idle for its retention period
    server.store.add_orders(2)  # lost: no feed existed
    result = intake_run(source="feed")

    assert result.failed == 0
    assert server.store.feed_config()["filter"]["type"] == "FromWorkflow"


def test_feed_imports_and_acknowledges_each_order_once_and_commits_every_event(make_sandbox):
    server = make_sandbox(orders=0)
    intake_run(source="feed")  # creates the feed
    new_ids = server.store.add_orders(25)

    result = intake_run(source="feed")

    assert (result.imported, result.acknowledged, result.failed) == (25, 25, 0)
    assert set(Order.objects.values_list("order_id", flat=True)) == set(new_ids)
    assert server.store.effects["start_handling"] == {order_id: 1 for order_id in new_ids}
    # the acknowledgement itself is not in the filter, so nothing is left in the queue
    assert feed_queue(server)["queued"] == 0 and feed_queue(server)["in_flight"] == 0
    assert result.committed >= 25
    assert FeedState.objects.get().last_event_at is not None


def test_duplicate_and_shuffled_events_import_each_order_once(make_sandbox):
    server = make_sandbox(orders=0, feed_duplicate_rate=0.6, feed_shuffle=True)
    intake_run(source="feed")
    new_ids = server.store.add_orders(30)

    result = intake_run(source="feed")
    again = intake_run(source="feed")

    assert result.imported == 30 and result.failed == 0
    assert again.imported == 0 and again.acknowledged == 0
    assert Order.objects.count() == 30
    assert server.store.effects["start_handling"] == {order_id: 1 for order_id in new_ids}
    assert feed_queue(server)["queued"] == 0 and feed_queue(server)["in_flight"] == 0


def test_an_event_whose_order_failed_is_not_committed_and_comes_back(make_sandbox, settings):
    clock = MovableClock()
    server = make_sandbox(orders=0, clock=clock)
    intake_run(source="feed")
    ids = server.store.add_orders(3)
    broken = ids[1]
    client = vtex_client()
    real_get_order = client.get_order

    def get_order(order_id):
        if order_id == broken:
            raise VtexServerError("temporarily unavailable", status=503, method="GET", path="/x")
        return real_get_order(order_id)

    client.get_order = get_order
    first = intake_run(source="feed", client=client)
    assert (first.imported, first.failed) == (2, 1)
    assert feed_queue(server)["in_flight"] == 1, "the failed order's event waits, uncommitted"

    del client.get_order
    clock.advance(settings.VTEX_FEED_VISIBILITY_TIMEOUT_S + 1)  # VTEX hands the event out again
    second = intake_run(source="feed", client=client)

    assert (second.imported, second.failed) == (1, 0)
    assert server.store.effects["start_handling"] == {order_id: 1 for order_id in ids}
    assert feed_queue(server)["queued"] == 0 and feed_queue(server)["in_flight"] == 0


def test_a_cancellation_at_vtex_reaches_the_order_through_the_feed(make_sandbox):
    server = make_sandbox(orders=0)
    intake_run(source="feed")
    order_id = server.store.add_orders(1)[0]
    intake_run(source="feed")

    server.store.set_status(order_id, "canceled")  # the customer canceled
    result = intake_run(source="feed")

    order = Order.objects.get(order_id=order_id)
    assert result.updated == 1
    assert order.vtex_status == "canceled" and order.state == Order.State.CANCELED


def test_an_order_that_was_never_ours_is_ignored_but_its_event_committed(make_sandbox):
    server = make_sandbox(orders=0)
    intake_run(source="feed")
    order_id = server.store.add_orders(1)[0]
    server.store.set_status(order_id, "canceled")  # canceled before we ever saw it ready

    result = intake_run(source="feed")

    # two events (ready, then canceled) in one lot name one order, read back once: canceled
    assert (result.imported, result.ignored, result.committed) == (0, 1, 2)
    assert not Order.objects.filter(order_id=order_id).exists()
    assert feed_queue(server)["queued"] == 0 and feed_queue(server)["in_flight"] == 0


def test_pull_orders_takes_the_source_from_the_setting(make_sandbox, settings, capsys):
    server = make_sandbox(orders=0)
    settings.VTEX_INTAKE = "feed"
    call_command("pull_orders")
    server.store.add_orders(2)
    call_command("pull_orders")
    assert "imported: 2" in capsys.readouterr().out


def test_the_first_feed_cycle_takes_the_orders_already_waiting(make_sandbox):
    # given: an account with ready orders and no feed yet (VTEX's feed carries later changes only)
    server = make_sandbox(orders=0)
    waiting = server.store.add_orders(3)
    # when
    result = intake_run(source="feed")
    # then: the list is swept once, each order stored and acknowledged once
    assert result.imported == 3 and result.acknowledged == 3
    assert server.store.effects["start_handling"] == dict.fromkeys(waiting, 1)
    # and the next cycle reads only the feed
    VtexCall.objects.all().delete()
    intake_run(source="feed")
    assert not VtexCall.objects.filter(operation="list_orders").exists()


def test_a_feed_vtex_deleted_is_made_again_and_the_orders_waiting_meanwhile_are_taken(make_sandbox):
    server = make_sandbox(orders=0)
    intake_run(source="feed")  # the feed is configured
    server.store.delete_feed_config()  # VTEX deletes a feed that saw no events for its retention
    missed = server.store.add_orders(2)  # ready while there was no feed

    result = intake_run(source="feed")

    assert result.imported == 2 and server.store.effects["start_handling"] == dict.fromkeys(missed, 1)
    assert server.store.feed_config()["filter"]["type"] == "FromWorkflow"  # made again


def test_the_sweep_catches_an_order_the_feed_lost(make_sandbox, settings):
    server = make_sandbox(orders=0)
    intake_run(source="feed")  # the feed is configured
    lost = server.store.add_orders(1)[0]
    server.store._feed.messages.clear()  # its events never reach us (lost, or expired)
    intake_run(source="feed")
    assert not Order.objects.exists()
    VtexCall.objects.all().delete()

    result = intake_run(source="sweep")

    assert result.imported == 1 and server.store.effects["start_handling"] == {lost: 1}
    list_calls = VtexCall.objects.filter(operation="list_orders")
    assert all("f_creationDate=creationDate" in call.path for call in list_calls)


def test_the_sweep_schedule_exists_only_with_the_feed(settings):
    from django_q.models import Schedule

    from integration.services.schedules import SWEEP_SCHEDULE, schedules_ensure

    settings.VTEX_INTAKE = "feed"
    schedules_ensure()
    assert Schedule.objects.get(name=SWEEP_SCHEDULE).func == "integration.tasks.sweep_orders"
    settings.VTEX_INTAKE = "list"
    schedules_ensure()
    assert not Schedule.objects.filter(name=SWEEP_SCHEDULE).exists()


def test_a_failed_commit_of_the_last_lot_is_reported_and_its_orders_stay_stored(make_sandbox, settings):
    # given 25 orders on the feed (three lots) and a commit that fails for the last lot
    clock = MovableClock()
    server = make_sandbox(orders=0, clock=clock)
    intake_run(source="feed")  # creates the feed
    new_ids = server.store.add_orders(25)
    client = vtex_client()
    commit = client.commit_feed
    commits = []

    def commit_or_fail(handles):
        commits.append(handles)
        if len(commits) == 3:
            raise VtexConnectionError("the connection dropped", method="POST", path="/api/orders/feed")
        return commit(handles)

    client.commit_feed = commit_or_fail

    # when
    result = intake_run(source="feed", client=client)

    # then the cycle ends normally, says what failed, and every order is stored and acknowledged
    assert result.failed == 1 and "connection dropped" in result.failures[0][1]
    assert result.imported == 25 and result.acknowledged == 25
    assert set(Order.objects.values_list("order_id", flat=True)) == set(new_ids)
    # the last lot's events were not committed: the feed hands them out again, and the next cycle
    # reads their orders back and commits them, importing nothing twice
    del client.commit_feed
    assert feed_queue(server)["in_flight"] > 0
    clock.advance(settings.VTEX_FEED_VISIBILITY_TIMEOUT_S + 1)
    again = intake_run(source="feed", client=client)
    assert again.imported == 0 and again.failed == 0 and again.committed > 0
    assert feed_queue(server)["queued"] == 0 and feed_queue(server)["in_flight"] == 0


def test_an_order_whose_first_import_failed_is_read_again_by_the_next_cycle_without_its_feed_event(
    make_sandbox,
):
    # given: an order whose first read failed (its stub stored) and whose feed event is gone
    server = make_sandbox(orders=0)
    intake_run(source="feed")  # the feed is configured
    (order_id,) = server.store.add_orders(1)
    server.store._feed.messages.clear()
    order_record_intake_failure(order_id=order_id, summary={"orderId": order_id}, error=VtexError("timeout"))
    stub = Order.objects.get(order_id=order_id)
    assert not stub.is_complete and stub.vtex_status == "ready-for-handling"

    # when
    result = intake_run(source="feed")

    # then
    order = Order.objects.get(order_id=order_id)
    assert order.is_complete and order.intake_error == ""
    assert result.imported == 1 and result.acknowledged == 1
    assert server.store.effects["start_handling"] == {order_id: 1}
