"""Orders here: what the ERP and staff do to an order itself (the ERP's receipt, start-handling
sent now, corrections of the shipping address and notes). Storing VTEX's copy is order_sync's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from integration.models import Order, OrderEvent, OutboxMessage
from integration.selectors.sellers import order_fulfilled_elsewhere, order_seller_label
from integration.selectors.start_handling import StartHandlingState, order_start_handling
from integration.services.events import order_event_record
from integration.services.outbox import outbox_enqueue_start_handling, outbox_send
from integration.vtex import VtexClient
from integration.vtex.mapping import SHIPPING_ADDRESS_FIELDS
from integration.vtex.statuses import VtexStatus

#: Fields staff may correct in the admin; each change is written to the timeline.
STAFF_EDITABLE_FIELDS = (*SHIPPING_ADDRESS_FIELDS, "notes")


ERP_RECEIPT_KEY = "erp_receipt"


def order_record_erp_receipt(*, order: Order, actor=None) -> bool:
    """Record, once, that the ERP stored the order (POST .../ack/). False when it was recorded before."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().defer("raw").get(pk=order.pk)  # two replays record one
        if locked.events.filter(kind=OrderEvent.Kind.ERP_RECEIVED).exists():
            return False
        order_event_record(
            order=locked,
            kind=OrderEvent.Kind.ERP_RECEIVED,
            params={},
            actor=actor,
            actor_label="api",
            data={ERP_RECEIPT_KEY: True},
        )
        Order.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
    return True


@dataclass
class StartHandlingAnswer:
    """What came of sending start-handling for one order now."""

    done: bool
    #: Why it is not done: "vtex" (VTEX refused it or did not answer), "busy" (another process is
    #: sending it now), "incomplete" (the order was never read in full), "not_ready" (VTEX's status
    #: is not ready-for-handling), "other_seller" (another seller fulfils the order). Empty when done.
    reason: str = ""
    #: An English template (gettext_noop) and its values: shown in the reader's language.
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return gettext(self.template) % self.params


def order_start_handling_now(*, client: VtexClient, order: Order, actor=None) -> StartHandlingAnswer:
    """Send start-handling for one stored order now, in this thread (the ERP's ack in on_erp_ack
    mode, the admin's "Retry start-handling"): through its outbox row, written if it has none and
    made due now if it waits, so the outbox's claim and read-back rules hold."""
    if order_start_handling(order).state == StartHandlingState.DONE:
        return StartHandlingAnswer(done=True, template=gettext_noop("Already acknowledged."))
    if not order.is_complete:
        return StartHandlingAnswer(
            done=False,
            reason="incomplete",
            template=gettext_noop("The order was never read in full; refresh it first."),
        )
    if order_fulfilled_elsewhere(order):
        return StartHandlingAnswer(
            done=False,
            reason="other_seller",
            template=gettext_noop("Seller %(seller)s fulfils this order; start-handling is that seller's to send."),
            params={"seller": order_seller_label(order)},
        )
    if order.vtex_status != VtexStatus.READY_FOR_HANDLING:
        return StartHandlingAnswer(
            done=False,
            reason="not_ready",
            template=gettext_noop("VTEX shows the order in %(status)s; start-handling is sent in ready-for-handling."),
            params={"status": order.vtex_status or "-"},
        )
    with transaction.atomic():
        outbox_enqueue_start_handling(orders=[order], actor=actor)
        row = order.outbox_messages.filter(kind=OutboxMessage.Kind.START_HANDLING).latest("id")
        OutboxMessage.objects.filter(
            pk=row.pk, state__in=[OutboxMessage.State.PENDING, OutboxMessage.State.FAILED]
        ).update(state=OutboxMessage.State.PENDING, next_attempt_at=timezone.now())
        # Who asked, on the timeline; the send itself is the system's, as every outbox send.
        order_event_record(
            order=order,
            kind=OrderEvent.Kind.SEND_RETRY,
            params={"outbox_kind": OutboxMessage.Kind.START_HANDLING, "retry": "now"},
            actor=actor,
            actor_label="api" if actor is not None else "system",
        )
    outcome = outbox_send(message_id=row.pk, client=client)
    if outcome is None:
        return StartHandlingAnswer(
            done=False, reason="busy", template=gettext_noop("Another process is acknowledging this order now.")
        )
    if outcome.state == OutboxMessage.State.SENT:
        return StartHandlingAnswer(done=True, template=gettext_noop("VTEX accepted start-handling."))
    return StartHandlingAnswer(
        done=False,
        reason="vtex",
        template=gettext_noop("VTEX did not confirm start-handling: %(detail)s"),
        params={"detail": outcome.detail},
    )


def order_update_local_fields(*, order: Order, changes: dict[str, Any], actor) -> list[str]:
    """Apply staff corrections (shipping address, notes) and record who changed what."""
    unknown = set(changes) - set(STAFF_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"these fields cannot be edited: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        changed = {
            name: {"from": getattr(locked, name), "to": value}
            for name, value in changes.items()
            if getattr(locked, name) != value
        }
        if not changed:
            return []
        for name, diff in changed.items():
            setattr(locked, name, diff["to"])
        if set(changed) & set(SHIPPING_ADDRESS_FIELDS):
            locked.shipping_address_edited = True
        locked.save()
        order_event_record(
            order=locked, kind=OrderEvent.Kind.EDITED, params={"fields": list(changed)}, actor=actor, data=changed
        )
    return list(changed)
