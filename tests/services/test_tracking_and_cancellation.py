"""Tracking (number first, events in order, delivered last) and cancellation (only without invoices)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import CancellationRequest, Invoice, Order, OutboxMessage, TrackingEvent
from integration.services.cancellation import cancellation_request_create, order_cancellation_blocker
from integration.services.errors import NotAllowed, ValidationFailed
from integration.services.invoicing import InvoiceInput, invoice_create
from integration.services.tracking import (
    EVENTS_PER_INVOICE,
    EVENTS_PER_REQUEST,
    TrackingEventInput,
    invoice_mark_delivered,
    invoice_set_tracking,
    tracking_events_add,
)
from tests.factories import make_item, make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_task_queue")]


def acknowledged_order(**fields) -> Order:
    order = make_order(vtex_status="handling", start_handling="done", total_cents=4500, **fields)
    make_item(order, sku_id="A", name="Livro", quantity=1, unit_price_cents=3000, selling_price_cents=3000)
    make_item(order, sku_id="B", name="Marcador", quantity=1, unit_price_cents=1000, selling_price_cents=1000)
    return order


def invoice_all(order: Order, number: str = "NF-1") -> Invoice:
    lines = [(item.item_index, item.quantity) for item in order.items.all()]
    return invoice_create(order=order, data=InvoiceInput(number=number, issued_at=timezone.now(), lines=lines))


def at(hours_ago: float):
    return timezone.now() - timedelta(hours=hours_ago)


# ---- tracking ------------------------------------------------------------------------------------------


def test_events_before_a_tracking_number_are_refused_and_nothing_is_stored():
    invoice = invoice_all(acknowledged_order())
    with pytest.raises(NotAllowed, match="tracking number"):
        tracking_events_add(invoice=invoice, events=[TrackingEventInput(at(2), "Coletado")])
    assert not TrackingEvent.objects.exists()
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING_EVENTS).exists()


def test_tracking_number_is_sent_once_and_a_replay_changes_nothing():
    invoice = invoice_all(acknowledged_order())

    assert invoice_set_tracking(
        invoice=invoice, tracking_number="BR123", tracking_url="https://rastreio.example/BR123", courier="Correios"
    )
    assert not invoice_set_tracking(
        invoice=invoice, tracking_number="BR123", tracking_url="https://rastreio.example/BR123", courier="Correios"
    )

    messages = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING)
    assert messages.count() == 1
    assert messages.get().payload == {
        "trackingNumber": "BR123",
        "trackingUrl": "https://rastreio.example/BR123",
        "courier": "Correios",
        "dispatchedDate": None,
    }
    invoice.order.refresh_from_db()
    assert invoice.order.state == Order.State.SHIPPED


def test_tracking_input_errors_name_their_fields():
    invoice = invoice_all(acknowledged_order())
    with pytest.raises(ValidationFailed) as error:
        invoice_set_tracking(invoice=invoice, tracking_number=" ", tracking_url="not a url", dispatched_at=at(-3))
    assert set(error.value.fields) == {"tracking_number", "tracking_url", "dispatched_at"}


def test_events_are_kept_in_date_order_without_duplicates_and_sent_whole():
    invoice = invoice_all(acknowledged_order())
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    first, second = at(5), at(2)

    tracking_events_add(
        invoice=invoice,
        events=[
            TrackingEventInput(second, "Em trânsito", "Curitiba", "PR"),
            TrackingEventInput(first, "Coletado", "São Paulo", "SP"),
            TrackingEventInput(first, "Coletado", "São Paulo", "SP"),
        ],
    )
    replay = tracking_events_add(invoice=invoice, events=[TrackingEventInput(first, "Coletado", "São Paulo", "SP")])

    assert replay == []
    assert list(invoice.tracking_events.values_list("description", flat=True)) == ["Coletado", "Em trânsito"]
    message = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING_EVENTS).get()
    assert [event["description"] for event in message.payload["events"]] == ["Coletado", "Em trânsito"]
    assert message.payload["isDelivered"] is False and message.payload["deliveredDate"] is None
    assert len(message.payload["events"][0]["date"]) == len("2026-11-28")


def test_events_are_capped_per_request_and_per_invoice_with_a_clear_error():
    # Issue 16, defect 5: 5,000 events in one request made the invoice page take 26 s.
    invoice = invoice_all(acknowledged_order())
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")

    def events(count, offset=0):
        return [TrackingEventInput(at(200 - (offset + n) / 10), f"Evento {offset + n}") for n in range(count)]

    with pytest.raises(ValidationFailed) as too_many:
        tracking_events_add(invoice=invoice, events=events(EVENTS_PER_REQUEST + 1))
    assert "At most 100 events at a time" in too_many.value.fields["events"][0]
    assert not TrackingEvent.objects.exists()

    for batch in range(EVENTS_PER_INVOICE // EVENTS_PER_REQUEST):
        tracking_events_add(invoice=invoice, events=events(EVENTS_PER_REQUEST, offset=batch * EVENTS_PER_REQUEST))
    with pytest.raises(ValidationFailed) as full:
        tracking_events_add(invoice=invoice, events=events(1, offset=EVENTS_PER_INVOICE))
    assert f"at most {EVENTS_PER_INVOICE} tracking events" in full.value.fields["events"][0]
    assert invoice.tracking_events.count() == EVENTS_PER_INVOICE
    sent = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING_EVENTS).latest("id")
    assert len(sent.payload["events"]) == EVENTS_PER_INVOICE  # VTEX gets the bounded list, whole


def test_newer_events_replace_an_unsent_older_list():
    invoice = invoice_all(acknowledged_order())
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    tracking_events_add(invoice=invoice, events=[TrackingEventInput(at(5), "Coletado")])
    tracking_events_add(invoice=invoice, events=[TrackingEventInput(at(1), "Saiu para entrega")])

    states = dict(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING_EVENTS).values_list("id", "state"))
    assert sorted(states.values()) == [OutboxMessage.State.PENDING, OutboxMessage.State.STOPPED]
    pending = OutboxMessage.objects.get(kind=OutboxMessage.Kind.TRACKING_EVENTS, state=OutboxMessage.State.PENDING)
    assert len(pending.payload["events"]) == 2


def test_delivery_comes_last_and_closes_the_invoice():
    invoice = invoice_all(acknowledged_order())
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    tracking_events_add(invoice=invoice, events=[TrackingEventInput(at(3), "Saiu para entrega")])

    with pytest.raises(NotAllowed, match="Delivery comes last"):
        invoice_mark_delivered(invoice=invoice, delivered_at=at(4))

    invoice_mark_delivered(invoice=invoice, delivered_at=at(1))
    invoice.refresh_from_db()
    assert invoice.is_delivered
    invoice.order.refresh_from_db()
    assert invoice.order.state == Order.State.DELIVERED
    payload = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.TRACKING_EVENTS).last().payload
    assert payload["isDelivered"] is True and len(payload["deliveredDate"]) == len("2026-11-28 14:00")

    with pytest.raises(NotAllowed, match="delivered already"):
        tracking_events_add(invoice=invoice, events=[TrackingEventInput(at(0.5), "Tarde demais")])
    with pytest.raises(NotAllowed, match="delivered already"):
        invoice_set_tracking(invoice=invoice, tracking_number="BR2")


def test_event_errors_name_each_event_and_field():
    invoice = invoice_all(acknowledged_order())
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    with pytest.raises(ValidationFailed) as error:
        tracking_events_add(
            invoice=invoice,
            events=[
                TrackingEventInput(None, "Sem data"),
                TrackingEventInput(at(-2), " "),
                TrackingEventInput(at(1), "ok", city="x" * 101),
            ],
            delivered_at=at(-1),
        )
    assert set(error.value.fields) == {
        "events[0].date",
        "events[1].date",
        "events[1].description",
        "events[2].city",
        "delivered_at",
    }
    assert not TrackingEvent.objects.exists()


def test_a_return_invoice_is_not_tracked():
    order = acknowledged_order()
    invoice_all(order)
    refund = invoice_create(
        order=order, data=InvoiceInput(number="DEV-1", issued_at=timezone.now(), lines=[(0, 1)], kind="input")
    )
    with pytest.raises(NotAllowed, match="output"):
        invoice_set_tracking(invoice=refund, tracking_number="BR9")


def test_shipped_needs_every_output_invoice_tracked():
    order = acknowledged_order()
    first = invoice_create(order=order, data=InvoiceInput(number="NF-1", issued_at=timezone.now(), lines=[(0, 1)]))
    invoice_create(order=order, data=InvoiceInput(number="NF-2", issued_at=timezone.now(), lines=[(1, 1)]))
    invoice_set_tracking(invoice=first, tracking_number="BR1")
    order.refresh_from_db()
    assert order.state == Order.State.INVOICED


# ---- cancellation ---------------------------------------------------------------------------------------


def test_cancellation_is_recorded_with_who_and_why_and_queued_once(django_user_model):
    order = acknowledged_order()
    staff = django_user_model.objects.create_user("ana", password="x")

    request = cancellation_request_create(order=order, reason="Cliente desistiu da compra", actor=staff)

    assert request.state == CancellationRequest.State.PENDING and request.requested_by == staff
    message = OutboxMessage.objects.get(cancellation=request)
    assert message.kind == OutboxMessage.Kind.CANCEL and message.payload == {"reason": "Cliente desistiu da compra"}
    order.refresh_from_db()
    assert order.state == Order.State.CANCELLATION_REQUESTED
    assert order.events.get(kind="cancellation_requested").who == "ana"
    with pytest.raises(NotAllowed, match="requested already"):
        cancellation_request_create(order=order, reason="de novo, por engano")
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CANCEL).count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "ok", "x" * 501])
def test_cancellation_needs_a_real_reason(reason):
    order = acknowledged_order()
    with pytest.raises(ValidationFailed) as error:
        cancellation_request_create(order=order, reason=reason)
    assert "reason" in error.value.fields
    assert not CancellationRequest.objects.exists()


def test_cancellation_is_refused_after_a_partial_invoice_with_a_clear_message_and_no_vtex_call():
    order = acknowledged_order()
    invoice_create(order=order, data=InvoiceInput(number="NF-1", issued_at=timezone.now(), lines=[(0, 1)]))

    with pytest.raises(NotAllowed) as error:
        cancellation_request_create(order=order, reason="Cliente desistiu")

    assert "has an invoice" in error.value.message
    assert order_cancellation_blocker(order) == error.value.message
    assert not CancellationRequest.objects.exists()
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CANCEL).exists()


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        ("invoiced", {}, "status invoiced"),
        ("canceled", {}, "canceled already"),
        ("start-handling", {}, "status start-handling"),
        ("handling", {"allowCancellation": False}, "allowCancellation"),
    ],
)
def test_cancellation_is_refused_where_vtex_refuses_it(status, raw, expected):
    order = acknowledged_order(raw=raw)
    Order.objects.filter(pk=order.pk).update(vtex_status=status)
    order.refresh_from_db()
    with pytest.raises(NotAllowed, match=expected):
        cancellation_request_create(order=order, reason="Cliente desistiu")


def test_a_replay_after_delivery_is_accepted_and_changes_nothing():
    invoice = invoice_all(acknowledged_order())
    invoice_set_tracking(invoice=invoice, tracking_number="BR1", courier="Correios")
    event = TrackingEventInput(at(3), "Saiu para entrega", "Natal", "RN")
    tracking_events_add(invoice=invoice, events=[event])
    delivered_at = at(1)
    invoice_mark_delivered(invoice=invoice, delivered_at=delivered_at)
    rows = OutboxMessage.objects.count()

    assert not invoice_set_tracking(invoice=invoice, tracking_number="BR1", courier="Correios")
    assert tracking_events_add(invoice=invoice, events=[event], delivered_at=delivered_at) == []
    assert OutboxMessage.objects.count() == rows
    with pytest.raises(NotAllowed, match="delivered already"):
        tracking_events_add(invoice=invoice, events=[TrackingEventInput(at(0.5), "Novo evento")])


def test_delivered_without_a_time_is_a_replay_on_a_delivered_invoice_and_now_on_another():
    invoice = invoice_all(acknowledged_order())
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    event = TrackingEventInput(at(3), "Saiu para entrega")

    assert len(tracking_events_add(invoice=invoice, events=[event], delivered=True)) == 1
    invoice.refresh_from_db()
    assert timezone.now() - invoice.delivered_at < timedelta(minutes=1)
    rows = OutboxMessage.objects.count()

    assert tracking_events_add(invoice=invoice, events=[event], delivered=True) == []
    assert OutboxMessage.objects.count() == rows


def test_every_change_moves_the_order_updated_at_for_erp_polling():
    order = acknowledged_order()
    before = Order.objects.get(pk=order.pk).updated_at
    invoice = invoice_all(order)
    after_invoice = Order.objects.get(pk=order.pk).updated_at
    invoice_set_tracking(invoice=invoice, tracking_number="BR1")
    after_tracking = Order.objects.get(pk=order.pk).updated_at
    assert before < after_invoice < after_tracking
