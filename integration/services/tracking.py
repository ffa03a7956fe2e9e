"""Tracking: the number, address and carrier of an invoice first (PATCH), then its events up to
delivered (PUT). VTEX refuses events before a tracking number (VTEX-API.md §5, §6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.models import Invoice, OrderEvent, OutboxMessage, TrackingEvent
from integration.services.errors import FieldErrors, NotAllowed, ValidationFailed
from integration.services.events import order_event_record
from integration.services.invoicing import CLOCK_SKEW, _url_validator, check_tracking_fields
from integration.services.order_state import order_recompute_state
from integration.services.outbox import outbox_enqueue
from integration.vtex.payloads import TrackingEventPayload, invoice_tracking_payload, tracking_events_payload
from integration.vtex.statuses import CANCELED


def invoice_tracking_blocker(invoice: Invoice) -> str:
    """Why the invoice takes no tracking, events or delivery now, or "" when it does."""
    if invoice.kind != Invoice.Kind.OUTPUT:
        return _("Only sale (output) invoices are shipped and tracked.")
    if invoice.order.vtex_status in CANCELED:
        return _("The order is canceled.")
    if invoice.is_delivered:
        return _("Invoice %(number)s is delivered already; it takes no more tracking.") % {"number": invoice.number}
    return ""


def _check_trackable(invoice: Invoice) -> None:
    blocker = invoice_tracking_blocker(invoice)
    if blocker:
        raise NotAllowed(blocker)


def _future(moment: datetime | None) -> bool:
    return moment is not None and moment > timezone.now() + CLOCK_SKEW


#: The column's size (Invoice.tracking_url): PostgreSQL refuses a longer address.
TRACKING_URL_MAX_LENGTH = 500


def check_invoice_tracking(
    errors: FieldErrors, *, tracking_number: str, tracking_url: str, courier: str, dispatched_at: datetime | None
) -> None:
    """Every field rule of an invoice's tracking (values already stripped): the one statement of
    them, for invoice_set_tracking and for the bulk import's preview (services/bulk_entry.py)."""
    check_tracking_fields(errors, tracking_number=tracking_number, courier=courier, required=True)
    if len(tracking_url) > TRACKING_URL_MAX_LENGTH:
        errors.add(
            "tracking_url",
            _("The tracking URL has at most %(max)s characters.") % {"max": TRACKING_URL_MAX_LENGTH},
        )
    elif tracking_url:
        try:
            _url_validator(tracking_url)
        except ValidationError:
            errors.add("tracking_url", _("Enter a full http(s) address."))
    if dispatched_at is not None and timezone.is_naive(dispatched_at):
        errors.add("dispatched_at", _("The dispatch time needs a time zone."))
    elif _future(dispatched_at):
        errors.add("dispatched_at", _("The dispatch time cannot be in the future."))


def invoice_set_tracking(
    *,
    invoice: Invoice,
    tracking_number: str,
    tracking_url: str = "",
    courier: str = "",
    dispatched_at: datetime | None = None,
    actor=None,
    via: str = "admin",
) -> bool:
    """Set the tracking number (and URL, carrier, dispatch time).

    Returns False for a replay: the same tracking again (an ERP retrying, staff saving twice) changes
    nothing and sends nothing, even once the invoice is delivered, where anything else is refused.
    """
    tracking_number, tracking_url, courier = (
        (tracking_number or "").strip(),
        (tracking_url or "").strip(),
        (courier or "").strip(),
    )
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("order").get(pk=invoice.pk)
        new = (tracking_number, tracking_url, courier, dispatched_at)
        if tracking_number and new == (
            invoice.tracking_number,
            invoice.tracking_url,
            invoice.courier,
            invoice.dispatched_at,
        ):
            return False  # a replay of what is stored already: nothing to do, even once delivered
        _check_trackable(invoice)
        errors = FieldErrors()
        check_invoice_tracking(
            errors,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            courier=courier,
            dispatched_at=dispatched_at,
        )
        errors.raise_if_any()
        invoice.tracking_number, invoice.tracking_url, invoice.courier, invoice.dispatched_at = new
        invoice.save(update_fields=["tracking_number", "tracking_url", "courier", "dispatched_at"])
        outbox_enqueue(
            kind=OutboxMessage.Kind.TRACKING,
            order=invoice.order,
            invoice=invoice,
            payload=invoice_tracking_payload(
                tracking_number=tracking_number, tracking_url=tracking_url, courier=courier, dispatched_at=dispatched_at
            ),
            actor=actor,
        )
        order_event_record(
            order=invoice.order,
            kind=OrderEvent.Kind.TRACKING_ADDED,
            params={"invoice": invoice.number, "courier": courier, "tracking_number": tracking_number},
            actor=actor,
            actor_label=via,
        )
        order_recompute_state(invoice.order)
    return True


@dataclass(frozen=True)
class TrackingEventInput:
    occurred_at: datetime | None
    description: str
    city: str = ""
    state: str = ""

    def key(self) -> tuple:
        return (self.occurred_at, self.description.strip(), self.city.strip(), self.state.strip())


#: A parcel's journey is a few dozen events; these bound what one request adds and what an
#: invoice keeps, so its page stays quick and each send to VTEX (the whole list) stays small.
EVENTS_PER_REQUEST = 100
EVENTS_PER_INVOICE = 300


def tracking_events_add(
    *,
    invoice: Invoice,
    events: list[TrackingEventInput],
    delivered: bool = False,
    delivered_at: datetime | None = None,
    actor=None,
    via: str = "admin",
) -> list[TrackingEvent]:
    """Add carrier events (duplicates are ignored), optionally marking the invoice delivered: with
    `delivered`, at `delivered_at` (now when not given; a `delivered_at` alone means delivered too).

    Events are kept in date order; delivery closes the list, so it must not be earlier than any
    event, and a delivered invoice takes no more events. Returns the events added: [] for a replay
    (events it has already; on a delivered invoice, with its delivery again, at its time or none).
    """
    delivered = delivered or delivered_at is not None
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().select_related("order").get(pk=invoice.pk)
        if invoice.is_delivered and _is_replay(invoice, events, delivered_at):
            return []  # the carrier sent the same thing again after delivery: nothing to do
        if delivered and delivered_at is None:
            delivered_at = timezone.now()
        _check_trackable(invoice)
        if not invoice.tracking_number:
            raise NotAllowed(
                _("Add the tracking number of invoice %(number)s before its events.") % {"number": invoice.number}
            )
        errors = FieldErrors()
        if len(events) > EVENTS_PER_REQUEST:
            errors.add(
                "events",
                _("At most %(max)s events at a time; send the others in another request.")
                % {"max": EVENTS_PER_REQUEST},
            )
            errors.raise_if_any()
        for position, event in enumerate(events):
            key = f"events[{position}]"
            if event.occurred_at is None:
                errors.add(f"{key}.date", _("The date is required."))
            elif timezone.is_naive(event.occurred_at):
                errors.add(f"{key}.date", _("The date needs a time zone."))
            elif _future(event.occurred_at):
                errors.add(f"{key}.date", _("The date cannot be in the future."))
            if not event.description.strip():
                errors.add(f"{key}.description", _("The description is required."))
            elif len(event.description.strip()) > 300:
                errors.add(f"{key}.description", _("The description has at most 300 characters."))
            if len(event.city.strip()) > 100:
                errors.add(f"{key}.city", _("The city has at most 100 characters."))
            if len(event.state.strip()) > 50:
                errors.add(f"{key}.state", _("The state has at most 50 characters."))
        if delivered_at is not None:
            if timezone.is_naive(delivered_at):
                errors.add("delivered_at", _("The delivery time needs a time zone."))
            elif _future(delivered_at):
                errors.add("delivered_at", _("The delivery time cannot be in the future."))
        errors.raise_if_any()

        existing = {(e.occurred_at, e.description, e.city, e.state) for e in invoice.tracking_events.all()}
        created: list[TrackingEvent] = []
        for event in events:
            occurred_at, description, city, state = event.key()
            if (occurred_at, description, city, state) in existing:
                continue  # a replay or a duplicate in the batch
            existing.add((occurred_at, description, city, state))
            created.append(
                TrackingEvent(
                    invoice=invoice,
                    occurred_at=occurred_at,
                    description=description,
                    city=city,
                    state=state,
                    created_by=actor if getattr(actor, "pk", None) else None,
                )
            )
        if delivered_at is not None and existing:
            latest = max(occurred for occurred, *_ in existing)
            if delivered_at < latest:
                raise NotAllowed(
                    "Delivery comes last: the delivery time is earlier than an event of this invoice.",
                    fields={"delivered_at": ["Earlier than the latest tracking event."]},
                )
        if not created and delivered_at is None:
            return []
        if len(existing) > EVENTS_PER_INVOICE:  # existing holds the new ones too by now
            raise ValidationFailed(
                _("Please correct the errors below."),
                fields={
                    "events": [
                        _("An invoice keeps at most %(max)s tracking events; with these it would have %(count)s.")
                        % {"max": EVENTS_PER_INVOICE, "count": len(existing)}
                    ]
                },
            )
        TrackingEvent.objects.bulk_create(created)
        if delivered_at is not None:
            invoice.delivered_at = delivered_at
            invoice.save(update_fields=["delivered_at"])
        all_events = [
            TrackingEventPayload(e.occurred_at, e.city, e.state, e.description) for e in invoice.tracking_events.all()
        ]
        outbox_enqueue(
            kind=OutboxMessage.Kind.TRACKING_EVENTS,
            order=invoice.order,
            invoice=invoice,
            payload=tracking_events_payload(
                events=all_events, delivered_at=invoice.delivered_at, zone=timezone.get_default_timezone()
            ),
            actor=actor,
        )
        order_event_record(
            order=invoice.order,
            kind=OrderEvent.Kind.DELIVERED if delivered_at is not None else OrderEvent.Kind.TRACKING_ADDED,
            params={"invoice": invoice.number, "events": len(created), "delivered": delivered_at is not None},
            actor=actor,
            actor_label=via,
        )
        order_recompute_state(invoice.order)
    return created


def _is_replay(invoice: Invoice, events: list[TrackingEventInput], delivered_at: datetime | None) -> bool:
    """The events are all stored already, and the delivery time, if given, is the stored one."""
    stored = {(e.occurred_at, e.description, e.city, e.state) for e in invoice.tracking_events.all()}
    return all(event.key() in stored for event in events) and delivered_at in (None, invoice.delivered_at)


def invoice_mark_delivered(*, invoice: Invoice, delivered_at: datetime | None = None, actor=None, via="admin") -> None:
    """Mark the invoice delivered, at `delivered_at` or now: a second one without a time is refused,
    not taken as a replay (staff asked for "now", which is not when it was delivered)."""
    tracking_events_add(invoice=invoice, events=[], delivered_at=delivered_at or timezone.now(), actor=actor, via=via)
