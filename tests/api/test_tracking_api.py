"""POST …/invoices/{number}/tracking/ and …/tracking-events/: tracking number first, events, delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import Invoice, Order, OutboxMessage, TrackingEvent
from integration.services.invoicing import InvoiceInput, invoice_create
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

Kind = OutboxMessage.Kind


@pytest.fixture
def invoice(order: Order) -> Invoice:
    lines = [(item.item_index, item.quantity) for item in order.items.all()]
    return invoice_create(
        order=order, data=InvoiceInput(number="NF-1", issued_at=timezone.now() - timedelta(days=1), lines=lines)
    )


@pytest.fixture
def tracked(invoice: Invoice, api) -> Invoice:
    response = api.post(tracking_url(invoice), {"tracking_number": "AA1BR", "courier": "Correios"}, format="json")
    assert response.status_code == 200, response.content
    return invoice


def tracking_url(invoice: Invoice) -> str:
    return f"/api/v1/orders/{invoice.order.order_id}/invoices/{invoice.number}/tracking/"


def events_url(invoice: Invoice) -> str:
    return f"/api/v1/orders/{invoice.order.order_id}/invoices/{invoice.number}/tracking-events/"


def ago(hours: float) -> str:
    return (timezone.now() - timedelta(hours=hours)).isoformat()


def sends(kind: str) -> int:
    return OutboxMessage.objects.filter(kind=kind).count()


# ---- tracking number --------------------------------------------------------------------------------


def test_tracking_is_stored_and_queued_once_and_a_replay_answers_200(api, invoice):
    body = {
        "tracking_number": "AA123456789BR",
        "tracking_url": "https://rastreamento.correios.com.br/?objeto=AA123456789BR",
        "courier": "Correios",
        "dispatched_at": ago(2),
    }

    first = api.post(tracking_url(invoice), body, format="json")
    replay = api.post(tracking_url(invoice), body, format="json")

    assert first.status_code == replay.status_code == 200
    assert first.json() == replay.json()
    assert first.json()["tracking_number"] == "AA123456789BR" and first.json()["courier"] == "Correios"
    assert first.json()["dispatched_at"] is not None
    assert sends(Kind.TRACKING) == 1
    invoice.order.refresh_from_db()
    assert invoice.order.state == Order.State.SHIPPED


def test_new_tracking_values_replace_the_old_ones(api, tracked):
    response = api.post(tracking_url(tracked), {"tracking_number": "BB2BR", "courier": "Jadlog"}, format="json")

    assert response.status_code == 200
    assert (response.json()["tracking_number"], response.json()["courier"]) == ("BB2BR", "Jadlog")
    assert sends(Kind.TRACKING) == 2


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "tracking_number", "This field is required."),
        ({"tracking_number": ""}, "tracking_number", "may not be blank"),
        ({"tracking_number": "x" * 101}, "tracking_number", "no more than 100 characters"),
        ({"tracking_number": "A1", "tracking_url": "not a url"}, "tracking_url", "full http(s) address"),
        ({"tracking_number": "A1", "courier": "c" * 101}, "courier", "no more than 100 characters"),
        ({"tracking_number": "A1", "dispatched_at": "ontem"}, "dispatched_at", "Datetime has wrong format"),
        ({"tracking_number": "A1", "dispatched_at": "2024-05-03T10:00:00"}, "dispatched_at", "UTC offset"),
        (
            {"tracking_number": "A1", "dispatched_at": (timezone.now() + timedelta(days=1)).isoformat()},
            "dispatched_at",
            "cannot be in the future",
        ),
    ],
)
def test_invalid_tracking_is_a_400_naming_the_field(api, invoice, body, field, rule):
    assert_error(api.post(tracking_url(invoice), body, format="json"), 400, "invalid", {field: rule})
    assert sends(Kind.TRACKING) == 0


def test_a_return_invoice_takes_no_tracking(api, order, invoice):
    returned = invoice_create(
        order=order,
        data=InvoiceInput(number="DEV-1", kind="input", issued_at=timezone.now(), lines=[(0, 1)]),
    )

    error = assert_error(api.post(tracking_url(returned), {"tracking_number": "A1"}, format="json"), 409, "not_allowed")
    assert "output" in error["message"]


# ---- events and delivery ------------------------------------------------------------------------------


def test_events_are_added_once_even_when_the_whole_list_is_sent_again(api, tracked):
    first_batch = {"events": [{"date": ago(5), "description": "Coletado", "city": "São Paulo", "state": "SP"}]}
    first = api.post(events_url(tracked), first_batch, format="json")
    second_batch = {
        "events": [
            *first_batch["events"],
            {"date": ago(3), "description": "Em trânsito", "city": "Campinas", "state": "SP"},
        ]
    }

    second = api.post(events_url(tracked), second_batch, format="json")
    replay = api.post(events_url(tracked), second_batch, format="json")

    assert first.status_code == second.status_code == replay.status_code == 200
    assert [e["description"] for e in replay.json()["tracking_events"]] == ["Coletado", "Em trânsito"]
    assert TrackingEvent.objects.count() == 2
    assert sends(Kind.TRACKING_EVENTS) == 2  # the replay sent nothing
    assert replay.json()["delivered"] is False


def test_delivered_without_a_time_is_delivered_now(api, tracked):
    before = timezone.now()

    response = api.post(events_url(tracked), {"delivered": True}, format="json")

    assert response.status_code == 200 and response.json()["delivered"] is True
    tracked.refresh_from_db()
    assert before <= tracked.delivered_at <= timezone.now()
    tracked.order.refresh_from_db()
    assert tracked.order.state == Order.State.DELIVERED


def test_events_and_delivery_together_and_replays_after_delivery_answer_200(api, tracked):
    body = {
        "events": [{"date": ago(4), "description": "Saiu para entrega", "city": "São Paulo", "state": "SP"}],
        "delivered": True,
        "delivered_at": ago(1),
    }
    first = api.post(events_url(tracked), body, format="json")

    replay = api.post(events_url(tracked), body, format="json")
    replay_without_time = api.post(events_url(tracked), {**body, "delivered_at": None}, format="json")
    tracking_replay = api.post(
        tracking_url(tracked), {"tracking_number": "AA1BR", "courier": "Correios"}, format="json"
    )

    assert [r.status_code for r in (first, replay, replay_without_time, tracking_replay)] == [200] * 4
    assert replay.json() == first.json()
    assert sends(Kind.TRACKING_EVENTS) == 1 and sends(Kind.TRACKING) == 1
    assert TrackingEvent.objects.count() == 1


def test_after_delivery_new_events_or_another_delivery_time_are_refused(api, tracked):
    api.post(events_url(tracked), {"delivered": True, "delivered_at": ago(1)}, format="json")

    new_event = api.post(events_url(tracked), {"events": [{"date": ago(0.5), "description": "Extra"}]}, format="json")
    other_time = api.post(events_url(tracked), {"delivered": True, "delivered_at": ago(2)}, format="json")
    new_tracking = api.post(tracking_url(tracked), {"tracking_number": "CC3BR"}, format="json")

    for response in (new_event, other_time, new_tracking):
        error = assert_error(response, 409, "not_allowed")
        assert "delivered already" in error["message"]


def test_events_before_a_tracking_number_are_refused(api, invoice):
    response = api.post(events_url(invoice), {"events": [{"date": ago(1), "description": "Coletado"}]}, format="json")

    error = assert_error(response, 409, "not_allowed")
    assert "tracking number" in error["message"]
    assert not TrackingEvent.objects.exists()


def test_a_delivery_earlier_than_an_event_is_refused(api, tracked):
    api.post(events_url(tracked), {"events": [{"date": ago(2), "description": "Coletado"}]}, format="json")

    response = api.post(events_url(tracked), {"delivered": True, "delivered_at": ago(3)}, format="json")

    assert_error(response, 409, "not_allowed", {"delivered_at": "Earlier than the latest tracking event"})


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({}, "events", "Send at least one event, or delivered=true."),
        ({"events": []}, "events", "Send at least one event, or delivered=true."),
        ({"events": "Coletado"}, "events", "Expected a list"),
        ({"events": [{"description": "Coletado"}]}, "events[0].date", "This field is required."),
        ({"events": [{"date": "amanhã", "description": "Coletado"}]}, "events[0].date", "Datetime has wrong format"),
        ({"events": [{"date": "2024-05-03T10:00:00", "description": "Coletado"}]}, "events[0].date", "UTC offset"),
        ({"events": [{"date": "2024-05-03T10:00:00Z"}]}, "events[0].description", "This field is required."),
        (
            {"events": [{"date": "2024-05-03T10:00:00Z", "description": "ok"}, {"date": "x", "description": "ok"}]},
            "events[1].date",
            "Datetime has wrong format",
        ),
        (
            {"events": [{"date": "2024-05-03T10:00:00Z", "description": "d" * 301}]},
            "events[0].description",
            "no more than 300",
        ),
        (
            {"events": [{"date": (timezone.now() + timedelta(days=1)).isoformat(), "description": "Futuro"}]},
            "events[0].date",
            "cannot be in the future",
        ),
        ({"delivered": "talvez"}, "delivered", "Must be a valid boolean"),
        ({"delivered_at": "2024-05-03T10:00:00Z"}, "delivered_at", "only with delivered=true"),
        ({"delivered": True, "delivered_at": "2024-05-03"}, "delivered_at", "UTC offset"),
        (
            {"delivered": True, "delivered_at": (timezone.now() + timedelta(days=1)).isoformat()},
            "delivered_at",
            "cannot be in the future",
        ),
    ],
)
def test_invalid_events_are_a_400_naming_the_field(api, tracked, body, field, rule):
    assert_error(api.post(events_url(tracked), body, format="json"), 400, "invalid", {field: rule})
    assert not TrackingEvent.objects.exists()
    tracked.refresh_from_db()
    assert tracked.delivered_at is None
