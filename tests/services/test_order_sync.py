"""order_sync: the one path that stores VTEX's copy of orders, a batch at a time (one order is a
list of one), and follows VTEX's status."""

from __future__ import annotations

import copy

import pytest
from django.db import IntegrityError
from django.utils import timezone

from integration.models import CancellationRequest, Order, OrderEvent, OrderItem, OutboxMessage, Payment
from integration.selectors.start_handling import start_handling_done_q
from integration.services import order_sync
from integration.services.order_sync import FetchedOrder, orders_store_from_vtex
from integration.services.outbox import outbox_enqueue_start_handling
from integration.vtex.mapping import order_data_from_vtex
from vtex_sandbox import SandboxStore

pytestmark = pytest.mark.django_db(transaction=True)


def vtex_documents(count: int) -> list[dict]:
    store = SandboxStore(orders=count, seed=3)
    return [store.order(order_id) for order_id in store.order_ids()]


def fetched(doc: dict) -> FetchedOrder:
    return FetchedOrder(raw=doc, data=order_data_from_vtex(doc))


def changed(doc: dict, *, status: str | None = None, item_name: str | None = None, email: str | None = None) -> dict:
    doc = copy.deepcopy(doc)
    if status:
        doc["status"] = status
    if item_name:
        doc["items"][0]["name"] = item_name
    if email:
        doc["clientProfileData"]["email"] = email
    return doc


def test_a_batch_stores_new_orders_with_their_rows_and_each_order_once():
    docs = vtex_documents(5)
    orders_store_from_vtex(fetched=[fetched(docs[0])])  # stored before: unchanged now

    batch = [fetched(doc) for doc in [*docs, docs[1]]]  # the second one twice
    outcomes = orders_store_from_vtex(fetched=batch)

    assert [o.order.order_id for o in outcomes] == [entry.order_id for entry in batch]
    assert [(o.created, o.changed) for o in outcomes] == [(False, False)] + [(True, True)] * 5
    assert Order.objects.count() == 5
    for doc in docs:
        data = order_data_from_vtex(doc)
        order = Order.objects.get(order_id=data.order_id)
        assert (order.raw, order.raw_hash, order.is_complete) == (doc, data.raw_hash, True)
        assert order.state == Order.State.RECEIVED
        assert OrderItem.objects.filter(order=order).count() == len(data.items)
        assert Payment.objects.filter(order=order).count() == len(data.payments)
        assert order.events.filter(kind=OrderEvent.Kind.IMPORTED).count() == 1


def test_stored_orders_take_vtex_changes_keep_staff_corrections_and_follow_a_cancellation():
    # given six stored orders, one with staff's corrected street, one with an old intake error,
    # one with a cancellation request and a start-handling waiting to be sent
    docs = vtex_documents(6)
    orders_store_from_vtex(fetched=[fetched(doc) for doc in docs])
    ids = [doc["orderId"] for doc in docs]
    Order.objects.filter(order_id=ids[1]).update(street="Staff corrected street", shipping_address_edited=True)
    Order.objects.filter(order_id=ids[5]).update(intake_error="old error")
    canceled = Order.objects.get(order_id=ids[4])
    request = CancellationRequest.objects.create(order=canceled, reason="customer asked")
    (waiting,) = outbox_enqueue_start_handling(orders=[canceled])

    # when VTEX's new versions are stored together
    outcomes = orders_store_from_vtex(
        fetched=[
            fetched(docs[0]),  # unchanged
            fetched(changed(docs[1], status="invoiced")),  # a new status; staff's address stays
            fetched(changed(docs[2], item_name="Renamed at VTEX")),  # an item's new data, same status
            fetched(changed(docs[3], email="new@example.com")),  # the order's new data
            fetched(changed(docs[4], status="canceled")),  # canceled at VTEX
            fetched(docs[5]),  # unchanged, its old error cleared
        ]
    )

    # then
    assert [o.changed for o in outcomes] == [False, True, True, True, True, False]
    orders = {order.order_id: order for order in Order.objects.all()}
    assert orders[ids[1]].vtex_status == "invoiced" and orders[ids[1]].state == Order.State.INVOICED
    assert orders[ids[1]].street == "Staff corrected street"
    assert orders[ids[2]].items.get(item_index=0).name == "Renamed at VTEX"
    assert orders[ids[3]].customer_email == "new@example.com"
    assert orders[ids[5]].intake_error == ""
    assert orders[ids[4]].state == Order.State.CANCELED
    request.refresh_from_db()
    waiting.refresh_from_db()
    assert request.state == CancellationRequest.State.CONFIRMED
    assert waiting.state == OutboxMessage.State.STOPPED and "canceled at VTEX" in waiting.last_error
    events = OrderEvent.objects.exclude(kind=OrderEvent.Kind.IMPORTED)
    kinds = sorted(events.values_list("kind", flat=True))
    assert kinds == ["status_changed", "status_changed", "updated", "updated"]


def test_an_order_another_process_inserted_meanwhile_is_updated_not_inserted_twice(monkeypatch):
    docs = vtex_documents(3)
    insert = order_sync._insert
    raced = []

    def insert_after_another_process(new, now):
        if not raced:  # the other process stores the first order between our read and our insert
            raced.append(insert(new[:1], now))
        return insert(new, now)

    monkeypatch.setattr(order_sync, "_insert", insert_after_another_process)

    outcomes = orders_store_from_vtex(fetched=[fetched(doc) for doc in docs])

    assert raced and len(outcomes) == 3
    assert Order.objects.count() == 3
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.IMPORTED).count() == 3
    assert [o.created for o in outcomes] == [False, True, True]  # the first one was theirs


def test_a_failed_batch_insert_writes_nothing(monkeypatch):
    docs = vtex_documents(2)

    def break_in_the_middle(*args, **kwargs):
        raise IntegrityError("duplicate key")

    monkeypatch.setattr(Payment.objects, "bulk_create", break_in_the_middle)
    with pytest.raises(IntegrityError):
        orders_store_from_vtex(fetched=[fetched(doc) for doc in docs])
    assert not Order.objects.exists() and not OrderItem.objects.exists()


def test_start_handling_rows_are_written_once_and_only_for_orders_ready_for_handling():
    docs = vtex_documents(3)
    docs[2] = changed(docs[2], status="handling")
    orders = [outcome.order for outcome in orders_store_from_vtex(fetched=[fetched(doc) for doc in docs])]

    first = outbox_enqueue_start_handling(orders=orders)
    again = outbox_enqueue_start_handling(orders=orders)

    assert sorted(row.order.order_id for row in first) == sorted(doc["orderId"] for doc in docs[:2])
    assert again == []
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.START_HANDLING).count() == 2


def test_an_answer_older_than_the_stored_one_never_moves_the_order_back():
    # given: an intake thread read the order while ready; a start-handling's read-back then stored
    # it in handling, a second later at VTEX
    (ready,) = vtex_documents(1)
    ready["lastChange"] = "2026-12-07T10:00:00.0000000+00:00"
    handling = changed(ready, status="handling")
    handling["lastChange"] = "2026-12-07T10:00:01.0000000+00:00"
    orders_store_from_vtex(fetched=[fetched(handling)])
    # when: the older answer comes to be stored last
    (outcome,) = orders_store_from_vtex(fetched=[fetched(ready)])
    # then: it changes nothing
    assert not outcome.changed
    assert Order.objects.get(order_id=ready["orderId"]).vtex_status == "handling"
    # and a newer answer still does
    invoiced = changed(handling, status="invoiced")
    invoiced["lastChange"] = "2026-12-07T10:00:02.0000000+00:00"
    orders_store_from_vtex(fetched=[fetched(invoiced)])
    assert Order.objects.get(order_id=ready["orderId"]).vtex_status == "invoiced"


def test_a_cancellation_records_as_sent_what_vtex_shows_took_effect_and_stops_the_rest():
    # given three orders in handling at VTEX whose start-handling answers were lost (the rows wait
    # to read back), one with our cancellation sent without an answer, one with a cancellation not
    # sent yet, and one still ready for handling with its start-handling waiting
    docs = vtex_documents(4)
    orders_store_from_vtex(fetched=[fetched(changed(doc, status="handling")) for doc in docs[:3]])
    orders_store_from_vtex(fetched=[fetched(docs[3])])
    orders = [Order.objects.get(order_id=doc["orderId"]) for doc in docs]
    lost_answers = [
        OutboxMessage.objects.create(
            kind=OutboxMessage.Kind.START_HANDLING, order=order, payload={}, attempts=1, next_attempt_at=timezone.now()
        )
        for order in orders[:3]
    ]
    OutboxMessage.objects.filter(pk__in=[row.pk for row in lost_answers]).update(outcome_unknown=True)
    requests = [CancellationRequest.objects.create(order=order, reason="customer asked") for order in orders[:2]]
    our_cancel, unsent_cancel = (
        OutboxMessage.objects.create(
            kind=OutboxMessage.Kind.CANCEL,
            order=order,
            cancellation=request,
            payload={},
            attempts=attempts,
            next_attempt_at=timezone.now(),
        )
        for order, request, attempts in zip(orders[:2], requests, [1, 0], strict=True)
    )
    OutboxMessage.objects.filter(pk=our_cancel.pk).update(outcome_unknown=True)
    (ready_row,) = outbox_enqueue_start_handling(orders=[orders[3]])

    # when VTEX shows all four canceled
    orders_store_from_vtex(fetched=[fetched(changed(doc, status="canceled")) for doc in docs])

    # then the start-handlings that took (the orders were in handling) and our unanswered
    # cancellation are sent; the cancellation never sent and the start-handling of an order VTEX
    # canceled while ready for handling are stopped
    states = {
        row.pk: OutboxMessage.objects.get(pk=row.pk).state
        for row in [*lost_answers, our_cancel, unsent_cancel, ready_row]
    }
    sent, stopped = OutboxMessage.State.SENT, OutboxMessage.State.STOPPED
    assert [states[row.pk] for row in lost_answers] == [sent, sent, sent]
    assert (states[our_cancel.pk], states[unsent_cancel.pk], states[ready_row.pk]) == (sent, stopped, stopped)
    assert Order.objects.filter(start_handling_done_q()).count() == 3
    acknowledged = OrderEvent.objects.filter(kind=OrderEvent.Kind.ACKNOWLEDGED, order=orders[0]).get()
    assert "Handling" in acknowledged.message or "handling" in acknowledged.message
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.SENT, order=orders[0]).count() == 1
    assert all(r.state == CancellationRequest.State.CONFIRMED for r in CancellationRequest.objects.all())
