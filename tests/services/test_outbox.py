"""The outbox against the sandbox store on a real port: every effect at VTEX exactly once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integration.infra.vtex_client import vtex_client
from integration.models import CancellationRequest, Invoice, Order, OrderEvent, OutboxMessage, SendState
from integration.services.cancellation import cancellation_request_create
from integration.services.intake import intake_run
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.order_sync import order_refresh_from_vtex
from integration.services.outbox import (
    outbox_claim,
    outbox_enqueue_start_handling,
    outbox_retry,
    outbox_send,
    outbox_send_due,
)
from integration.services.tracking import (
    TrackingEventInput,
    invoice_mark_delivered,
    invoice_set_tracking,
    tracking_events_add,
)
from vtex_sandbox import FaultConfig

# Tests send explicitly (as push_pending does) instead of through a django-q2 cluster.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("no_task_queue")]


def sends():
    """The rows of invoices, tracking and cancellations (not the orders' start-handlings)."""
    return OutboxMessage.objects.exclude(kind=OutboxMessage.Kind.START_HANDLING)


State = OutboxMessage.State


def imported(make_sandbox, *, orders: int = 3, **options):
    server = make_sandbox(orders=orders, **options)
    faults = server.faults
    server.set_faults(fail_rate=0.0, lost_rate=0.0)  # a clean intake; faults apply to the sends
    assert intake_run().acknowledged == orders
    server.set_faults(fail_rate=faults.fail_rate, lost_rate=faults.lost_rate)
    return server


def imported_without_start_handling(make_sandbox):
    server = make_sandbox(orders=1)
    assert intake_run().imported == 1 and not OutboxMessage.objects.exists()
    return server


def order_with_items(minimum: int) -> Order:
    for order in Order.objects.order_by("order_id"):
        if order.items.count() >= minimum:
            return order
    raise AssertionError(f"no sandbox order with {minimum} items; change the seed")


def all_lines(order: Order, *, skip_first: int = 0) -> list[tuple[int, int]]:
    return [(item.item_index, item.quantity) for item in order.items.order_by("item_index")][skip_first:]


def make_everything_due() -> None:
    OutboxMessage.objects.filter(state=State.PENDING).update(next_attempt_at=timezone.now())


def drain(client, *, settle_s: float, rounds: int = 40) -> None:
    """Send until nothing waits, skipping the backoff but not the settle time of unanswered calls."""
    for _ in range(rounds):
        if OutboxMessage.objects.filter(state=State.PENDING, outcome_unknown=True).exists():
            time.sleep(settle_s)  # what unknown_outcome_settle_time() guarantees in production
        make_everything_due()
        outbox_send_due(client=client)
        if not OutboxMessage.objects.filter(state__in=[State.PENDING, State.SENDING]).exists():
            return
    raise AssertionError("the outbox never emptied")


def test_two_partial_invoices_make_the_sandbox_order_invoiced_for_its_exact_value(make_sandbox):
    server = imported(make_sandbox, orders=6)
    order = order_with_items(3)
    client = vtex_client()
    lines = all_lines(order)

    first = invoice_create(order=order, data=InvoiceInput("NF-100", timezone.now(), lines[:2]))
    outbox_send_due(client=client)
    assert server.store.order(order.order_id)["status"] == "handling", "a partial invoice keeps it in handling"

    second = invoice_create(order=order, data=InvoiceInput("NF-101", timezone.now(), lines[2:]))
    outbox_send_due(client=client)

    vtex_order = server.store.order(order.order_id)
    assert vtex_order["status"] == "invoiced"
    packages = vtex_order["packageAttachment"]["packages"]
    assert sum(int(p["invoiceValue"]) for p in packages) == vtex_order["value"] == order.total_cents
    assert first.value_cents + second.value_cents == order.total_cents
    assert server.store.effects["invoice"][order.order_id] == {"NF-100": 1, "NF-101": 1}
    for invoice in (first, second):
        invoice.refresh_from_db()
        assert invoice.send_state == SendState.SENT and invoice.vtex_receipt


def test_tracking_events_and_delivery_reach_the_sandbox_once_each_in_order(make_sandbox):
    server = imported(make_sandbox, orders=1)
    order = Order.objects.get()
    client = vtex_client()
    invoice = invoice_create(
        order=order, data=InvoiceInput("NF-1", timezone.now() - timedelta(days=2), all_lines(order))
    )
    invoice_set_tracking(invoice=invoice, tracking_number="BR55", courier="Correios")
    tracking_events_add(
        invoice=invoice, events=[TrackingEventInput(timezone.now() - timedelta(days=1), "Em trânsito", "Recife", "PE")]
    )
    invoice_mark_delivered(invoice=invoice)

    # one pass sends the four rows in order (the events wait for the number, the number for the invoice)
    summary = outbox_send_due(client=client)

    assert summary.sent == 3 and summary.failed == 0  # the first events row was replaced by the delivered one
    package = server.store.order(order.order_id)["packageAttachment"]["packages"][0]
    assert package["trackingNumber"] == "BR55"
    assert package["courierStatus"]["finished"] is True
    assert [event["description"] for event in package["courierStatus"]["data"]] == ["Em trânsito"]
    effects = server.store.effects
    assert effects["tracking"][order.order_id] == {"NF-1": 1}
    assert effects["tracking_events"][order.order_id] == {"NF-1": 1}


def test_rows_of_one_invoice_wait_for_the_invoice(make_sandbox):
    imported(make_sandbox, orders=1)
    order = Order.objects.get()
    invoice = invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    invoice_message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.INVOICE)
    tracking_message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.TRACKING)
    OutboxMessage.objects.filter(pk=invoice_message.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    assert not outbox_claim(message_id=tracking_message.pk)
    assert outbox_send_due(client=vtex_client()).sent == 0


def test_a_return_waits_for_the_sale_that_completes_the_order_even_when_that_failed(make_sandbox):
    # given a completing sale invoice that VTEX refused, and a return entered right after it
    server = imported(make_sandbox, orders=1)
    order = Order.objects.get()
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    sale = OutboxMessage.objects.get(kind=OutboxMessage.Kind.INVOICE)
    OutboxMessage.objects.filter(pk=sale.pk).update(state=State.FAILED, last_error="refused for the test")
    invoice_create(
        order=order, data=InvoiceInput("NF-DEV-1", timezone.now(), all_lines(order), kind=Invoice.Kind.INPUT)
    )
    refund = OutboxMessage.objects.get(kind=OutboxMessage.Kind.INVOICE, invoice__number="NF-DEV-1")

    # when everything due is sent: the return is not, while the sale waits for staff
    assert outbox_send_due(client=vtex_client()).sent == 0
    assert OutboxMessage.objects.get(pk=refund.pk).state == State.PENDING
    assert not server.store.effects["invoice"].get(order.order_id)

    # then, once staff retry the sale, both go, the sale first
    outbox_retry(message=sale)
    assert outbox_send_due(client=vtex_client()).sent == 2
    assert list(server.store.effects["invoice"][order.order_id]) == ["NF-1", "NF-DEV-1"]


def test_an_invoice_waits_for_the_orders_start_handling(make_sandbox, settings):
    settings.VTEX_START_HANDLING = "on_erp_ack"
    server = imported_without_start_handling(make_sandbox)
    order = Order.objects.get()
    Order.objects.filter(pk=order.pk).update(vtex_status="handling")  # as if the ERP's ack were on its way
    order.refresh_from_db()
    (start_handling,) = outbox_enqueue_start_handling(orders=[Order(pk=order.pk, vtex_status="ready-for-handling")])
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    OutboxMessage.objects.filter(pk=start_handling.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))

    assert outbox_send_due(client=vtex_client()).sent == 0
    assert not server.store.effects["invoice"].get(order.order_id)


def test_a_row_is_claimed_by_one_sender_only(make_sandbox):
    imported(make_sandbox, orders=1)
    order = Order.objects.get()
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    message = sends().get()

    assert outbox_claim(message_id=message.pk)
    assert not outbox_claim(message_id=message.pk)
    assert outbox_send(message_id=message.pk, client=vtex_client()) is None


def test_a_lost_answer_is_resolved_by_reading_back_without_a_second_post(make_sandbox):
    server = imported(make_sandbox, orders=1)
    order = Order.objects.get()
    client = vtex_client()
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    server.set_faults(lost_rate=1.0)

    first = outbox_send_due(client=client)
    message = sends().get()
    assert first.retrying == 1 and message.outcome_unknown and message.state == State.PENDING

    server.set_faults(lost_rate=0.0)
    make_everything_due()
    outbox_send_due(client=client)

    message.refresh_from_db()
    assert message.state == State.SENT
    assert server.store.effects["invoice"][order.order_id] == {"NF-1": 1}
    assert server.store.requests_count.get("send_invoice", server.store.requests_count.get("invoice", 1)) >= 1
    event = order.events.filter(kind=OrderEvent.Kind.SENT).get()
    assert "read back" in event.message


def test_transient_failures_are_retried_with_backoff(make_sandbox):
    server = imported(make_sandbox, orders=1)
    order = Order.objects.get()
    client = vtex_client()
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    server.set_faults(fail_rate=1.0, kinds=("503",))
    client.config = client.config.__class__(**{**client.config.__dict__, "get_attempts": 1})

    outbox_send_due(client=client)

    message = sends().get()
    assert message.state == State.PENDING and message.attempts == 1 and message.last_status_code == 503
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=0.9), "a 5xx waits the settle time"
    assert outbox_send_due(client=client).sent == 0, "not due before its backoff"

    server.set_faults(fail_rate=0.0)
    make_everything_due()
    outbox_send_due(client=client)
    message.refresh_from_db()
    assert message.state == State.SENT
    assert server.store.effects["invoice"][order.order_id] == {"NF-1": 1}


def test_a_refusal_stops_the_row_with_vtex_message_until_staff_retry(make_sandbox, capsys):
    server = imported(make_sandbox, orders=1)
    order = Order.objects.get()
    invoice = invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    server.store.set_status(order.order_id, "canceled")  # VTEX will refuse the invoice with a 400

    with pytest.raises(SystemExit) as exit_info:
        call_command("push_pending")

    assert exit_info.value.code == 1
    assert "failed: 1" in capsys.readouterr().out
    message = sends().get()
    invoice.refresh_from_db()
    assert message.state == State.FAILED and message.last_status_code == 400
    assert "canceled" in message.last_error
    assert invoice.send_state == SendState.FAILED
    assert order.events.filter(kind=OrderEvent.Kind.SEND_FAILED).exists()
    assert outbox_send_due(client=vtex_client()).sent == 0, "a refused row is not retried by itself"

    server.store.set_status(order.order_id, "handling")  # staff sorted it out with VTEX
    assert outbox_retry(message=message)
    assert outbox_send_due(client=vtex_client()).sent == 1
    assert server.store.effects["invoice"][order.order_id] == {"NF-1": 1}


def test_cancellation_reaches_the_sandbox_once_and_is_confirmed_by_the_status_sync(make_sandbox):
    server = imported(make_sandbox, orders=2, cancel_delay_s=60.0)  # VTEX confirms it later
    order = Order.objects.order_by("order_id").first()
    client = vtex_client()
    request = cancellation_request_create(order=order, reason="Cliente desistiu")

    outbox_send_due(client=client)
    request.refresh_from_db()
    order.refresh_from_db()
    assert request.state == CancellationRequest.State.REQUESTED and request.vtex_receipt
    assert order.vtex_status == "cancellation-requested", "read back right after sending"
    assert server.store.effects["cancel"] == {order.order_id: 1}

    server.store.set_status(order.order_id, "canceled")  # VTEX's confirmation
    order_refresh_from_vtex(client=client, order=order)
    request.refresh_from_db()
    order.refresh_from_db()
    assert order.vtex_status == "canceled" and order.state == Order.State.CANCELED
    assert request.state == CancellationRequest.State.CONFIRMED


def test_an_order_canceled_at_vtex_stops_its_waiting_rows(make_sandbox):
    server = imported(make_sandbox, orders=1)
    order = Order.objects.get()
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))
    sends().update(next_attempt_at=timezone.now() + timedelta(hours=1))
    server.store.set_status(order.order_id, "canceled")  # the customer canceled in the window

    order_refresh_from_vtex(client=vtex_client(), order=order)

    assert sends().get().state == State.STOPPED
    assert Order.objects.get().state == Order.State.CANCELED


def test_a_start_handling_whose_answer_was_lost_counts_as_taken_on_an_order_canceled_after_handling(make_sandbox):
    # given: start-handling took at VTEX but its answer was lost; erp-bridge then stored the order
    # in handling (a later read), and the customer canceled it before the row was retried
    server = make_sandbox(orders=1)
    server.set_faults(lost_rate=1.0)
    intake_run()
    row = OutboxMessage.objects.get(kind=OutboxMessage.Kind.START_HANDLING)
    assert row.state == State.PENDING and row.outcome_unknown
    server.set_faults(lost_rate=0.0)
    order = Order.objects.get()
    assert server.store.effects["start_handling"] == {order.order_id: 1}
    Order.objects.update(vtex_status="handling")
    server.store.set_status(order.order_id, "canceled")

    # when the row is retried
    make_everything_due()
    outbox_send_due(client=vtex_client())

    # then it is recorded as taken (the order was past ready-for-handling before the cancellation)
    row.refresh_from_db()
    assert row.state == State.SENT
    assert server.store.effects["start_handling"] == {order.order_id: 1}
    assert not order.events.filter(kind=OrderEvent.Kind.ACK_FAILED).exists(), "never shown as refused"


def test_faults_and_lost_answers_still_give_every_effect_exactly_once(make_sandbox):
    server = imported(
        make_sandbox,
        orders=8,
        faults=FaultConfig(fail_rate=0.3, lost_rate=0.2, retry_after_s=1, slow_s=1.5, seed=11),
    )
    client = vtex_client()
    orders = list(Order.objects.order_by("order_id"))
    invoiced, to_cancel = orders[:6], orders[6:]
    for number, order in enumerate(invoiced):
        lines = all_lines(order)
        invoices = [invoice_create(order=order, data=InvoiceInput(f"NF-{number}-a", timezone.now(), lines[:1]))]
        if lines[1:]:
            invoices.append(invoice_create(order=order, data=InvoiceInput(f"NF-{number}-b", timezone.now(), lines[1:])))
        invoice_set_tracking(invoice=invoices[0], tracking_number=f"BR{number}")
        invoice_mark_delivered(invoice=invoices[0])
    for order in to_cancel:
        cancellation_request_create(order=order, reason="Pedido duplicado pelo cliente")

    drain(client, settle_s=2.0)  # longer than the sandbox's slow answers (1.5 s)

    effects = server.store.effects
    assert not sends().exclude(state__in=[State.SENT, State.STOPPED]).exists()
    for invoice in Invoice.objects.select_related("order"):
        assert effects["invoice"][invoice.order.order_id][invoice.number] == 1, invoice.number
    assert all(count == 1 for per_order in effects["tracking"].values() for count in per_order.values()), {
        k: v for k, v in effects["tracking"].items() if set(v.values()) != {1}
    }
    assert all(count == 1 for per_order in effects["tracking_events"].values() for count in per_order.values()), {
        k: v for k, v in effects["tracking_events"].items() if set(v.values()) != {1}
    }
    assert effects["cancel"] == {order.order_id: 1 for order in to_cancel}
    for order in invoiced:
        assert server.store.order(order.order_id)["status"] == "invoiced"


def test_the_vtex_status_is_read_back_after_the_completing_invoice(make_sandbox):
    imported(make_sandbox, orders=1)
    order = Order.objects.get()
    invoice_create(order=order, data=InvoiceInput("NF-1", timezone.now(), all_lines(order)))

    outbox_send_due(client=vtex_client())

    order.refresh_from_db()
    assert order.vtex_status == "invoiced" and order.invoiced_at_vtex is not None
