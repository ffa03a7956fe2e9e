"""Cancellation requests: staff (or the ERP) ask VTEX to cancel an order that has no invoice yet."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from integration.models import CancellationRequest, Order, OrderEvent, OutboxMessage
from integration.selectors.sellers import order_fulfilled_elsewhere, order_seller_label
from integration.services.errors import FieldErrors, NotAllowed
from integration.services.events import order_event_record
from integration.services.order_state import order_recompute_state
from integration.services.outbox import outbox_enqueue
from integration.vtex.payloads import cancel_payload
from integration.vtex.statuses import CANCELED, CANCELLABLE

REASON_MIN_LENGTH = 5
REASON_MAX_LENGTH = 500


def order_cancellation_blocker(order: Order) -> str:
    """Why the order cannot be canceled now, or "" when it can (shown instead of the button)."""
    if order.vtex_status in CANCELED:
        return _("The order is canceled already.")
    if order_fulfilled_elsewhere(order):
        return _(
            "Seller %(seller)s fulfils this order; a cancellation is asked of that seller (or in VTEX), not from here."
        ) % {"seller": order_seller_label(order)}
    if order.cancellation_requests.filter(state__in=CancellationRequest.OPEN_STATES).exists():
        return _("A cancellation was requested already; VTEX's confirmation is awaited.")
    if order.invoices.exists():
        return _("The order has an invoice; VTEX cancels only orders without any invoice (issue a return instead).")
    if order.vtex_status not in CANCELLABLE:
        if not order.vtex_status:
            return _("VTEX does not cancel orders in an unknown status.")
        return _("VTEX does not cancel orders in status %(status)s.") % {"status": order.vtex_status}
    if order.raw.get("allowCancellation") is False:
        return _("VTEX does not allow cancelling this order now (allowCancellation is off).")
    return ""


def cancellation_reason_check(reason: str) -> str:
    """The reason, stripped; raises ValidationFailed naming the field when it will not do."""
    reason = (reason or "").strip()
    errors = FieldErrors()
    if len(reason) < REASON_MIN_LENGTH:
        errors.add(
            "reason", _("Say why the order is canceled (at least %(min)s characters).") % {"min": REASON_MIN_LENGTH}
        )
    elif len(reason) > REASON_MAX_LENGTH:
        errors.add("reason", _("The reason has at most %(max)s characters.") % {"max": REASON_MAX_LENGTH})
    errors.raise_if_any()
    return reason


def cancellation_request_create(*, order: Order, reason: str, actor=None, via: str = "admin") -> CancellationRequest:
    reason = cancellation_reason_check(reason)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        blocker = order_cancellation_blocker(order)
        if blocker:
            raise NotAllowed(blocker)
        try:
            with transaction.atomic():
                request = CancellationRequest.objects.create(
                    order=order,
                    reason=reason,
                    requested_by=actor if getattr(actor, "pk", None) else None,
                    requested_via=via,
                )
        except IntegrityError:
            raise NotAllowed(_("A cancellation was requested already; VTEX's confirmation is awaited.")) from None
        outbox_enqueue(
            kind=OutboxMessage.Kind.CANCEL,
            order=order,
            cancellation=request,
            payload=cancel_payload(reason=reason),
            actor=actor,
        )
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.CANCELLATION_REQUESTED,
            params={"reason": reason},
            actor=actor,
            actor_label=via,
        )
        order_recompute_state(order)
    return request
