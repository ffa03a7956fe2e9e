"""outbox_send_due's batches (outbox_claim_many, answers recorded together, the read-back stored in
batches): the same rows, states and timeline as outbox_send row by row; and the state derivation
of many orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.infra.vtex_client import vtex_client
from integration.models import (
    CancellationRequest,
    Invoice,
    Order,
    OrderEvent,
    OrderItem,
    OutboxMessage,
    Payment,
)
from integration.services.intake import intake_run
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.order_state import orders_derive_states
from integration.services.outbox import outbox_claim, outbox_claim_many, outbox_send, outbox_send_due
from integration.services.tracking import invoice_set_tracking

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_task_queue")]
State = OutboxMessage.State


def _invoice(order: Order, *, number: str, lines=None, tracking: bool = False) -> Invoice:
    lines = lines or [(item.item_index, item.quantity) for item in order.items.order_by("item_index")]
    invoice = invoice_create(
        order=order,
        data=InvoiceInput(
            number=number,
            issued_at=timezone.now() - timedelta(minutes=5),
            lines=lines,
            courier="Correios",
        ),
        via="erp",
    )
    if tracking:
        invoice_set_tracking(invoice=invoice, tracking_number=f"TR{order.order_id}", tracking_url="")
    return invoice


def _workload() -> None:
    """Invoices completing an order, a partial one, and rows of one invoice that must go in order."""
    orders = list(Order.objects.order_by("order_id"))  # not pk: intake stores in no fixed order
    for order in orders[:4]:
        _invoice(order, number=f"NF{order.sequence}")
    partial = next(order for order in orders[4:] if order.items.count() >= 2)
    first = partial.items.order_by("item_index").first()
    _invoice(partial, number="NF-PART", lines=[(first.item_index, first.quantity)])
    last = orders[-1]
    _invoice(last, number="NF-TRACKED", tracking=True)  # an invoice row, then its tracking row


def _snapshot() -> dict:
    """What the sends leave behind, without ids, times and VTEX's receipts (new each send)."""
    number = {invoice.pk: invoice.number for invoice in Invoice.objects.all()}
    return {
        "rows": sorted(
            (m.order.order_id, m.kind, number.get(m.invoice_id), m.state, m.attempts, m.outcome_unknown, m.last_error)
            for m in OutboxMessage.objects.select_related("order")
        ),
        "invoices": sorted(
            (i.order.order_id, i.number, i.send_state, bool(i.vtex_receipt))
            for i in Invoice.objects.select_related("order")
        ),
        "orders": sorted(
            # not raw_hash: VTEX's document carries the times of the sends
            (o.order_id, o.state, o.vtex_status, o.is_complete)
            for o in Order.objects.all()
        ),
        "items": sorted(
            (i.order.order_id, i.item_index, i.quantity, i.name) for i in OrderItem.objects.select_related("order")
        ),
        "payments": sorted((p.order.order_id, p.payment_id, p.status) for p in Payment.objects.select_related("order")),
        "events": sorted(
            (
                e.order.order_id,
                e.kind,
                e.message.split(" (receipt")[0],
                e.actor_label,
                tuple(sorted((k, v) for k, v in e.data.items() if k not in ("outbox", "receipt"))),
            )
            for e in OrderEvent.objects.select_related("order")
        ),
    }


def _send_one_by_one() -> None:
    client = vtex_client()
    while True:
        due = [m.pk for m in OutboxMessage.objects.filter(state=State.PENDING).order_by("pk")]
        sent = [outbox_send(message_id=pk, client=client) for pk in due]
        if not any(sent):
            return


def _run(make_sandbox, send) -> dict:
    make_sandbox(orders=8)
    assert intake_run().acknowledged == 8
    _workload()
    send()
    return _snapshot()


def test_the_batched_sender_leaves_what_the_one_by_one_sender_leaves(make_sandbox, settings, monkeypatch):
    from integration.services import outbox as outbox_module

    one_by_one = _run(make_sandbox, _send_one_by_one)
    for model in (OrderEvent, OutboxMessage):
        model.objects.all().delete()
    for model in (Invoice, CancellationRequest, OrderItem, Payment, Order):
        model.objects.all().delete()
    settings.VTEX_CONCURRENCY = 3
    recorded, read_back = [], []
    record_many, store = outbox_module._record_sent, outbox_module.orders_store_from_vtex
    monkeypatch.setattr(outbox_module, "_record_sent", lambda e: recorded.extend(e) or record_many(e))
    monkeypatch.setattr(
        outbox_module, "orders_store_from_vtex", lambda *, fetched: read_back.extend(fetched) or store(fetched=fetched)
    )

    batched = _run(make_sandbox, lambda: outbox_send_due(client=vtex_client()))

    # the batched paths did the work: 8 start-handlings (intake) and 7 invoice and tracking rows
    assert len(recorded) == OutboxMessage.objects.count() == 15
    assert len(read_back) == 5  # the completing invoices: their orders read back, stored in batches

    for key in one_by_one:
        only_batched = sorted(set(batched[key]) - set(one_by_one[key]))
        only_one_by_one = sorted(set(one_by_one[key]) - set(batched[key]))
        assert batched[key] == one_by_one[key], f"{key}: batched only {only_batched}; one by one only {only_one_by_one}"
    assert {row[3] for row in batched["rows"]} == {State.SENT}
    states = {order_id: state for order_id, state, *_ in batched["orders"]}
    assert Order.State.PARTIALLY_INVOICED in states.values() and Order.State.SHIPPED in states.values()
    # the read-back after a completing invoice stored VTEX's new status, as outbox_send does
    assert "invoiced" in {vtex_status for _, _, vtex_status, *_ in batched["orders"]}


def test_two_claims_at_the_same_instant_each_get_only_their_own_rows(make_sandbox, monkeypatch):
    make_sandbox(orders=3)
    intake_run()
    for n, order in enumerate(Order.objects.order_by("pk")):
        _invoice(order, number=f"NF-{n}")
    rows = list(
        OutboxMessage.objects.exclude(kind=OutboxMessage.Kind.START_HANDLING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)  # two senders, one microsecond

    first = outbox_claim_many(message_ids=rows[:2])
    second = outbox_claim_many(message_ids=rows[1:])

    assert [m.pk for m in first] == rows[:2]
    assert [m.pk for m in second] == rows[2:]  # not rows[1], which the first claim holds


def test_claim_many_takes_only_due_rows_and_never_a_later_row_of_an_invoice_being_sent(make_sandbox):
    make_sandbox(orders=3)
    intake_run()
    orders = list(Order.objects.order_by("pk"))
    tracked = _invoice(orders[0], number="NF-A", tracking=True)
    _invoice(orders[1], number="NF-B")
    _invoice(orders[2], number="NF-C")
    rows = list(OutboxMessage.objects.exclude(kind=OutboxMessage.Kind.START_HANDLING).order_by("pk"))
    invoice_row, tracking_row = [m for m in rows if m.invoice_id == tracked.pk]
    other = next(m for m in rows if m.invoice_id not in (tracked.pk,))
    assert outbox_claim(message_id=other.pk)  # another sender has this one

    claimed = outbox_claim_many(message_ids=[m.pk for m in rows])

    expected = [m.pk for m in rows if m.pk not in (other.pk, tracking_row.pk)]
    assert [m.pk for m in claimed] == expected
    assert all(m.state == State.SENDING and m.attempts == 1 for m in claimed)
    assert claimed[0].order.order_id == orders[0].order_id  # loaded with the row, for the workers
    assert outbox_claim_many(message_ids=[m.pk for m in rows]) == []
    assert OutboxMessage.objects.get(pk=tracking_row.pk).state == State.PENDING
    assert invoice_row.pk in expected


def test_the_states_of_many_orders_follow_the_rules_in_four_queries(make_sandbox, django_assert_max_num_queries):
    make_sandbox(orders=8)
    intake_run()
    orders = list(Order.objects.order_by("pk"))
    _invoice(orders[0], number="NF-1")  # invoiced
    _invoice(orders[1], number="NF-2", tracking=True)  # shipped
    partial = next(order for order in orders[2:] if order.items.count() >= 2)
    first = partial.items.order_by("item_index").first()
    _invoice(partial, number="NF-3", lines=[(first.item_index, first.quantity)])  # partially invoiced
    rest = [order for order in orders[2:] if order.pk != partial.pk]
    CancellationRequest.objects.create(order=rest[0], reason="customer asked")  # open request
    Order.objects.filter(pk=rest[1].pk).update(vtex_status="canceled")
    Order.objects.filter(pk=rest[2].pk).update(vtex_status="invoiced")  # invoiced elsewhere
    Order.objects.filter(pk=rest[3].pk).update(vtex_status="ready-for-handling")  # VTEX not told yet
    fresh = list(Order.objects.order_by("pk"))

    with django_assert_max_num_queries(4):
        states = dict(zip((order.pk for order in fresh), orders_derive_states(fresh), strict=True))

    expected = {
        orders[0].pk: Order.State.INVOICED,
        orders[1].pk: Order.State.SHIPPED,
        partial.pk: Order.State.PARTIALLY_INVOICED,
        rest[0].pk: Order.State.CANCELLATION_REQUESTED,
        rest[1].pk: Order.State.CANCELED,
        rest[2].pk: Order.State.INVOICED,
        rest[3].pk: Order.State.RECEIVED,
    }
    assert {pk: states[pk] for pk in expected} == expected
    assert {states[order.pk] for order in fresh if order.pk not in expected} == {Order.State.HANDLING}


def test_the_outbox_is_never_sent_inside_a_callers_transaction(make_sandbox):
    # Its threads would wait on the caller's locks (SQLite's one writer, the budget's row), and a
    # transaction would be held open across minutes of VTEX calls.
    from django.db import transaction

    make_sandbox(orders=3)
    intake_run()
    for order in Order.objects.order_by("order_id"):
        _invoice(order, number=f"NF{order.sequence}")

    with transaction.atomic(), pytest.raises(RuntimeError, match="outside any database transaction"):
        outbox_send_due(client=vtex_client())

    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.INVOICE, state=State.SENT).exists()
