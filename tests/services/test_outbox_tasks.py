"""How outbox rows reach a worker: queued only after commit, sent by the task, or by push_pending."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_q.models import OrmQ

from integration import tasks
from integration.models import Order, OutboxMessage
from integration.services.intake import intake_run
from integration.services.invoicing import InvoiceInput, invoice_create


def sends():
    """The rows of invoices, tracking and cancellations (not the orders' start-handlings)."""
    return OutboxMessage.objects.exclude(kind=OutboxMessage.Kind.START_HANDLING)


def _lines(order: Order) -> list[tuple[int, int]]:
    return [(item.item_index, item.quantity) for item in order.items.all()]


@pytest.mark.django_db(transaction=True)
def test_the_send_task_is_queued_only_once_the_invoice_is_committed(make_sandbox):
    make_sandbox(orders=1)
    intake_run()
    order = Order.objects.get()

    with transaction.atomic():
        invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), _lines(order)))
        assert not OrmQ.objects.exists(), "nothing may be queued before the change is committed"

    queued = OrmQ.objects.get()
    message = sends().get()
    assert queued.func() == "integration.tasks.send_outbox_message"
    assert queued.task["args"] == (message.pk,)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_queues_nothing(make_sandbox):
    make_sandbox(orders=1)
    intake_run()
    order = Order.objects.get()

    with pytest.raises(RuntimeError), transaction.atomic():
        invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), _lines(order)))
        raise RuntimeError("the ERP's request failed half way")

    assert not OrmQ.objects.exists() and not sends().exists()


@pytest.mark.django_db(transaction=True)
def test_the_task_sends_its_row_and_running_it_twice_sends_nothing_more(make_sandbox, no_task_queue):
    server = make_sandbox(orders=1)
    intake_run()
    order = Order.objects.get()
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), _lines(order)))
    message = sends().get()

    first = tasks.send_outbox_message(message.pk)
    second = tasks.send_outbox_message(message.pk)  # the ORM broker delivers at least once

    assert "accepted" in first and "nothing to do" in second
    assert server.store.effects["invoice"][order.order_id] == {"NF-1": 1}


@pytest.mark.django_db(transaction=True)
def test_push_pending_sends_what_is_due_and_says_so(make_sandbox, no_task_queue, capsys):
    server = make_sandbox(orders=2)
    intake_run()
    for number, order in enumerate(Order.objects.all()):
        invoice_create(order=order, data=InvoiceInput(f"NF-{number}", timezone.now(), _lines(order)))

    call_command("push_pending")

    assert "sent: 2  retrying later: 0  failed: 0" in capsys.readouterr().out
    assert sum(len(per_order) for per_order in server.store.effects["invoice"].values()) == 2
    assert tasks.push_pending() == "sent 0, retrying 0, failed 0"
