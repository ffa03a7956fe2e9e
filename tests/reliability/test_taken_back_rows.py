"""A row left "sending" by a sender that died after VTEX applied it is taken back without a second
send (found by the crash matrix: killed after the send, the restarted push sent every such
invoice, tracking number and events call a second time). Quick; part of make test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.infra.vtex_client import vtex_client
from integration.models import Order, OrderEvent, OutboxMessage
from integration.services.intake import intake_run
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.outbox import CLAIM_STALE_AFTER, outbox_claim, outbox_send, outbox_send_due

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_task_queue")]


def a_row_a_dead_sender_had_sent(make_sandbox):
    server = make_sandbox(orders=1)
    assert intake_run().acknowledged == 1
    order = Order.objects.get()
    lines = [(item.item_index, item.quantity) for item in order.items.all()]
    invoice = invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), lines))
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.INVOICE)
    # the sender claimed it and VTEX took it; then the process was killed before recording
    assert outbox_claim(message_id=message.pk)
    vtex_client().send_invoice(order.order_id, message.payload)
    assert server.store.effects["invoice"][order.order_id] == {"NF-1": 1}
    # ...and the claim went stale
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - CLAIM_STALE_AFTER - timedelta(1))
    return server, order, invoice, message


@pytest.mark.parametrize("sender", ["push_pending", "task"])
def test_a_row_taken_back_from_a_dead_sender_is_read_back_not_sent_again(sender, make_sandbox):
    server, order, invoice, message = a_row_a_dead_sender_had_sent(make_sandbox)

    if sender == "push_pending":
        assert outbox_send_due(client=vtex_client()).sent == 1
    else:
        assert outbox_send(message_id=message.pk, client=vtex_client()).state == OutboxMessage.State.SENT

    assert server.store.effects["invoice"][order.order_id] == {"NF-1": 1}, "sent a second time"
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.SENT and not message.outcome_unknown
    assert "read back" in order.events.filter(kind=OrderEvent.Kind.SENT).get().message


def test_a_row_taken_back_that_never_reached_vtex_is_sent(make_sandbox):
    server = make_sandbox(orders=1)
    intake_run()
    order = Order.objects.get()
    lines = [(item.item_index, item.quantity) for item in order.items.all()]
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), lines))
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.INVOICE)
    assert outbox_claim(message_id=message.pk)  # the sender died before sending
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now() - CLAIM_STALE_AFTER - timedelta(1))

    assert outbox_send_due(client=vtex_client()).sent == 1

    assert server.store.effects["invoice"][order.order_id] == {"NF-1": 1}
