"""The batched writes of intake (orders_store_from_vtex, orders_claim_acknowledgement,
orders_record_acknowledgements): the same rows and events as the one-by-one functions."""

from __future__ import annotations

import copy

import pytest
from django.utils import timezone

from integration.models import CancellationRequest, Order, OrderEvent, OrderItem, Payment
from integration.services.orders import (
    AckResult,
    order_claim_acknowledgement,
    order_store_from_vtex,
    orders_claim_acknowledgement,
    orders_record_acknowledgements,
    orders_store_from_vtex,
)
from integration.vtex.mapping import order_data_from_vtex
from vtex_sandbox import SandboxStore

pytestmark = pytest.mark.django_db(transaction=True)


def vtex_orders(count: int) -> list[tuple]:
    store = SandboxStore(orders=count, seed=3)
    docs = [store.order(order_id) for order_id in store.order_ids()]
    return [(order_data_from_vtex(doc), doc, None) for doc in docs]


def test_a_batch_stores_new_orders_with_their_rows_and_leaves_known_ones_to_the_usual_path():
    batch = vtex_orders(5)
    known_data, known_raw, _ = batch[0]
    order_store_from_vtex(data=known_data, raw=known_raw)  # stored before: unchanged now

    outcomes = orders_store_from_vtex(batch=[*batch, batch[1]])  # the second one twice

    assert [o.order.order_id for o in outcomes] == [data.order_id for data, _, _ in [*batch, batch[1]]]
    assert [(o.created, o.changed) for o in outcomes] == [(False, False)] + [(True, True)] * 4 + [(False, False)]
    assert Order.objects.count() == 5
    for data, raw, _ in batch:
        order = Order.objects.get(order_id=data.order_id)
        assert (order.raw, order.raw_hash, order.is_complete) == (raw, data.raw_hash, True)
        assert order.state == Order.State.RECEIVED and order.ack_state == Order.AckState.PENDING
        assert OrderItem.objects.filter(order=order).count() == len(data.items)
        assert Payment.objects.filter(order=order).count() == len(data.payments)
        assert order.events.filter(kind=OrderEvent.Kind.IMPORTED).count() == 1


def test_a_batch_claim_takes_only_the_orders_nobody_is_acknowledging():
    batch = vtex_orders(4)
    orders_store_from_vtex(batch=batch)
    ids = [data.order_id for data, _, _ in batch]
    assert order_claim_acknowledgement(order_id=ids[0])  # another sender has this one

    assert orders_claim_acknowledgement(order_ids=ids) == ids[1:]
    assert orders_claim_acknowledgement(order_ids=ids) == []
    assert set(Order.objects.values_list("ack_state", flat=True)) == {Order.AckState.SENDING}


def test_two_batch_claims_at_the_same_instant_each_get_only_their_own_orders(monkeypatch):
    batch = vtex_orders(3)
    orders_store_from_vtex(batch=batch)
    ids = [data.order_id for data, _, _ in batch]
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)  # two processes, one microsecond

    first = orders_claim_acknowledgement(order_ids=ids[:2])
    second = orders_claim_acknowledgement(order_ids=ids[1:])

    assert first == ids[:2]
    assert second == ids[2:]  # not ids[1], which the first claim holds with the same claim time


def test_batch_acknowledgements_match_the_one_by_one_rules():
    batch = vtex_orders(4)
    orders_store_from_vtex(batch=batch)
    ids = [data.order_id for data, _, _ in batch]
    orders_claim_acknowledgement(order_ids=ids)
    with_request = Order.objects.get(order_id=ids[2])
    CancellationRequest.objects.create(order=with_request, reason="customer asked")

    orders_record_acknowledgements(
        results=[
            AckResult(ids[0], done=True, vtex_status="handling", message="VTEX accepted start-handling."),
            AckResult(ids[1], done=True, vtex_status="invoiced", message="VTEX shows the order in invoiced."),
            AckResult(ids[2], done=True, vtex_status="handling", message="VTEX accepted start-handling."),
            AckResult(ids[3], done=False, message="VTEX refused", reason="vtex"),
        ]
    )

    orders = {order.order_id: order for order in Order.objects.all()}
    assert [orders[i].ack_state for i in ids] == ["done", "done", "done", "failed"]
    assert [orders[i].state for i in ids] == [
        Order.State.HANDLING,
        Order.State.INVOICED,
        Order.State.CANCELLATION_REQUESTED,  # the one-by-one path saw its request
        Order.State.RECEIVED,
    ]
    assert orders[ids[0]].acknowledged_at is not None and orders[ids[3]].ack_error == "VTEX refused"
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.ACKNOWLEDGED).count() == 3
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.ACK_FAILED, order=orders[ids[3]]).count() == 1


def test_new_orders_can_be_stored_already_claimed_for_start_handling():
    batch = vtex_orders(3)
    canceled_data, canceled_raw = (
        order_data_from_vtex({**batch[2][1], "status": "canceled"}),
        {
            **batch[2][1],
            "status": "canceled",
        },
    )

    outcomes = orders_store_from_vtex(
        batch=[batch[0], batch[1], (canceled_data, canceled_raw, None)], claim_acknowledgement=True
    )

    assert [o.claimed for o in outcomes] == [True, True, False]  # only ready-for-handling is claimed
    claimed = Order.objects.filter(ack_state=Order.AckState.SENDING)
    assert sorted(claimed.values_list("order_id", flat=True)) == sorted(data.order_id for data, _, _ in batch[:2])
    assert set(claimed.values_list("ack_attempts", flat=True)) == {1}
    assert all(order.ack_claimed_at is not None for order in claimed)
    # exactly as a claim by order_claim_acknowledgement: nobody else can take them now
    assert orders_claim_acknowledgement(order_ids=[data.order_id for data, _, _ in batch[:2]]) == []
    assert Order.objects.get(order_id=canceled_data.order_id).ack_state == Order.AckState.PENDING


def _changed(doc: dict, *, status: str | None = None, item_name: str | None = None, email: str | None = None):
    doc = copy.deepcopy(doc)
    if status:
        doc["status"] = status
    if item_name:
        doc["items"][0]["name"] = item_name
    if email:
        doc["clientProfileData"]["email"] = email
    return doc


def _stored_snapshot() -> list:
    rows = []
    for order in Order.objects.order_by("order_id"):
        rows.append(
            (
                order.order_id,
                order.vtex_status,
                order.state,
                # not raw: the sandbox's documents carry the time they were made
                order.raw_hash == order_data_from_vtex(order.raw).raw_hash,
                order.street,
                order.intake_error,
                order.raw["status"],
                order.customer_email,
                sorted((i.item_index, i.quantity, i.sku_id, i.name) for i in order.items.all()),
                sorted((p.payment_id, p.value_cents) for p in order.payments.all()),
                sorted((e.kind, e.message, e.actor_label, tuple(sorted(e.data.items()))) for e in order.events.all()),
            )
        )
    return rows


def _update_scenario(store) -> list:
    """Stored orders, then VTEX's new versions of them stored by `store` (a list of batch entries)."""
    batch = vtex_orders(6)
    for data, raw, _ in batch:
        order_store_from_vtex(data=data, raw=raw)
    first = Order.objects.get(order_id=batch[1][0].order_id)
    first.street, first.shipping_address_edited = "Staff corrected street", True
    first.save()
    Order.objects.filter(order_id=batch[5][0].order_id).update(intake_error="old error")
    docs = [
        batch[0][1],  # unchanged
        _changed(batch[1][1], status="invoiced"),  # a new status; staff's address must stay
        _changed(batch[2][1], item_name="Renamed at VTEX"),  # an item's new data, same status
        _changed(batch[3][1], email="new@example.com"),  # the order's new data
        _changed(batch[4][1], status="canceled"),  # canceled at VTEX: the one-by-one path
        batch[5][1],  # unchanged, an old error cleared
    ]
    store([(order_data_from_vtex(doc), doc, None) for doc in docs])
    return _stored_snapshot()


def test_a_batch_of_stored_orders_changes_what_the_one_by_one_path_changes(monkeypatch):
    from integration.services import orders as orders_module

    one_by_one = _update_scenario(
        lambda entries: [order_store_from_vtex(data=data, raw=raw) for data, raw, _ in entries]
    )
    for model in (OrderEvent, OrderItem, Payment, Order):
        model.objects.all().delete()
    taken = []
    update_stored = orders_module._update_stored_orders
    monkeypatch.setattr(orders_module, "_update_stored_orders", lambda b, now: taken.append(b) or update_stored(b, now))

    batched = _update_scenario(lambda entries: orders_store_from_vtex(batch=entries))

    for mine, theirs in zip(batched, one_by_one, strict=True):
        assert mine == theirs, [(n, a, b) for n, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b]
    assert len(taken) == 1 and len(taken[0]) == 6  # the batched path saw them all (and left the canceled one)
    statuses = {row[0]: row[1] for row in batched}
    assert sorted(statuses.values()).count("canceled") == 1 and "invoiced" in statuses.values()
    assert any(row[4] == "Staff corrected street" for row in batched)
    assert any("Renamed at VTEX" in str(row[8]) for row in batched) and any(
        row[7] == "new@example.com" for row in batched
    )
