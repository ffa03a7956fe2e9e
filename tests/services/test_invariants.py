"""Random sequences of invoices, tracking, delivery and cancellation keep the order's invariants.

A hypothesis state machine calls the services in any order with any quantities, values and
numbers, as staff and the ERP might; refusals are fine, but after every step:
- no item is invoiced beyond what was ordered, nor returned beyond what was invoiced;
- the output invoices never add up to more than the order total, and equal it once every item is invoiced;
- an order with an invoice never has a live cancellation request, and vice versa;
- each invoice, cancellation and tracking change has exactly one outbox row that carries it;
- the local state is the one the data implies.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from integration.models import CancellationRequest, InvoiceItem, Order, OutboxMessage
from integration.services.cancellation import cancellation_request_create
from integration.services.errors import ServiceError
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.order_state import order_derive_state
from integration.services.tracking import (
    TrackingEventInput,
    invoice_mark_delivered,
    invoice_set_tracking,
    tracking_events_add,
)
from tests.factories import make_item, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_task_queue")]

# Mostly valid input, as real use is, with a share of everything that must be refused.
numbers = st.one_of(
    st.from_regex(r"NF-[0-9]{1,3}", fullmatch=True),
    st.from_regex(r"NF-[0-9]{1,3}", fullmatch=True),
    st.text(alphabet="NF-0123456789/ ", min_size=0, max_size=8),
)
invoice_lines = st.one_of(
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3, unique_by=lambda line: line[0]),
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3, unique_by=lambda line: line[0]),
    st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 4)), min_size=0, max_size=4),
)
values = st.one_of(st.none(), st.none(), st.none(), st.integers(-100, 12_000))


class OrderLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.order = make_order(
            vtex_status="handling",
            start_handling="done",
            state=Order.State.HANDLING,
            total_cents=10_001,
            discounts_total_cents=-300,
        )
        make_item(self.order, sku_id="A", name="Panela", quantity=3, unit_price_cents=1999, selling_price_cents=1899)
        make_item(self.order, sku_id="B", name="Tampa", quantity=1, unit_price_cents=999, selling_price_cents=999)
        make_item(self.order, sku_id="C", name="Pano", quantity=2, unit_price_cents=555, selling_price_cents=555)
        self.tracked_changes = 0

    @rule(number=numbers, lines=invoice_lines, value=values, kind=st.sampled_from(["output", "output", "input"]))
    def enter_invoice(self, number, lines, value, kind):
        data = InvoiceInput(number=number, issued_at=timezone.now(), lines=lines, kind=kind, value_cents=value)
        try:
            invoice_create(order=self.order, data=data)
        except ServiceError:
            return
        event("an invoice was accepted")

    @precondition(lambda self: self.order.invoices.filter(kind="output").exists())
    @rule(index=st.integers(0, 5), number=st.text(alphabet="BR0123456789", min_size=0, max_size=6))
    def enter_tracking(self, index, number):
        invoices = list(self.order.invoices.filter(kind="output"))
        try:
            if invoice_set_tracking(invoice=invoices[index % len(invoices)], tracking_number=number):
                self.tracked_changes += 1
        except ServiceError:
            pass

    @precondition(lambda self: self.order.invoices.filter(kind="output").exists())
    @rule(index=st.integers(0, 5), hours_ago=st.integers(-2, 48), deliver=st.booleans())
    def enter_events(self, index, hours_ago, deliver):
        invoices = list(self.order.invoices.filter(kind="output"))
        invoice = invoices[index % len(invoices)]
        when = timezone.now() - timedelta(hours=hours_ago)
        try:
            if deliver:
                invoice_mark_delivered(invoice=invoice, delivered_at=when)
            else:
                tracking_events_add(invoice=invoice, events=[TrackingEventInput(when, "Em trânsito", "Natal", "RN")])
        except ServiceError:
            pass

    @rule(reason=st.sampled_from(["", "ok", "Cliente desistiu", "Pagamento em duplicidade"]))
    def request_cancellation(self, reason):
        try:
            cancellation_request_create(order=self.order, reason=reason)
        except ServiceError:
            pass

    # ---- invariants --------------------------------------------------------------------------------

    @invariant()
    def quantities_stay_within_the_order(self):
        for item in self.order.items.all():
            rows = InvoiceItem.objects.filter(order_item=item)
            invoiced = rows.filter(invoice__kind="output").aggregate(t=Sum("quantity"))["t"] or 0
            returned = rows.filter(invoice__kind="input").aggregate(t=Sum("quantity"))["t"] or 0
            assert 0 <= returned <= invoiced <= item.quantity

    @invariant()
    def output_invoices_add_up_to_the_total_at_most_and_exactly_when_complete(self):
        outputs = self.order.invoices.filter(kind="output")
        total = outputs.aggregate(t=Sum("value_cents"))["t"] or 0
        assert total <= self.order.total_cents
        invoiced_quantity = InvoiceItem.objects.filter(invoice__in=outputs).aggregate(t=Sum("quantity"))["t"] or 0
        if invoiced_quantity == sum(item.quantity for item in self.order.items.all()):
            assert total == self.order.total_cents
        assert all(invoice.value_cents > 0 and "/" not in invoice.number for invoice in self.order.invoices.all())

    @invariant()
    def no_cancellation_alongside_an_invoice(self):
        live = self.order.cancellation_requests.exclude(state=CancellationRequest.State.FAILED).exists()
        assert not (live and self.order.invoices.exists())
        assert self.order.cancellation_requests.count() <= 1

    @invariant()
    def every_change_has_exactly_one_outbox_row(self):
        for invoice in self.order.invoices.all():
            assert invoice.outbox_messages.filter(kind=OutboxMessage.Kind.INVOICE).count() == 1
        for request in self.order.cancellation_requests.all():
            assert request.outbox_messages.filter(kind=OutboxMessage.Kind.CANCEL).count() == 1
        tracking_rows = OutboxMessage.objects.filter(order=self.order, kind=OutboxMessage.Kind.TRACKING)
        assert tracking_rows.count() == self.tracked_changes
        for invoice in self.order.invoices.all():
            waiting = invoice.outbox_messages.filter(
                kind=OutboxMessage.Kind.TRACKING_EVENTS, state=OutboxMessage.State.PENDING
            )
            assert waiting.count() <= 1, "newer events replace the unsent list"

    @invariant()
    def the_state_follows_from_the_data(self):
        self.order.refresh_from_db()
        assert self.order.state == order_derive_state(self.order)


def test_order_lifecycle_invariants_hold_in_any_order():
    run = OrderLifecycle.TestCase
    run.settings = settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    run().runTest()
