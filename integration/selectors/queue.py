"""The clerk's work queues on the order list, and what the list, the order page and the picking
list read of an order's delivery and invoices (issue 19).

Read only. The list reads an order's carriers, delivery methods and invoices from two prefetches
(order_list_prefetches), so a page of 50 orders costs the same queries as a page of 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from integration.models import Invoice, ItemFulfillment, Order, OrderItem, OutboxMessage, SendState
from integration.selectors.sellers import fulfilled_elsewhere_q
from integration.selectors.start_handling import start_handling_failed_q
from integration.vtex.statuses import START_HANDLING_TOOK_EFFECT

#: The attributes order_list_prefetches() fills on each order.
INVOICES_ATTR = "list_invoices"
FULFILLMENTS_ATTR = "list_fulfillments"


class WorkQueue(models.TextChoices):
    """The saved views at the top of the order list."""

    TO_INVOICE = "to_invoice", _("To invoice")
    NO_TRACKING = "no_tracking", _("No tracking")
    # A context of its own: "Failed" elsewhere is a send's state ("Falha"); the view is "Com falha".
    FAILED = "failed", pgettext_lazy("work queue", "Failed")


def _to_invoice() -> Q:
    # What invoice_kinds_open offers a sale for, as far as one query over every order can tell:
    # VTEX took start-handling, the order was read in full, it is ours, and items are left.
    return (
        Q(state__in=[Order.State.HANDLING, Order.State.PARTIALLY_INVOICED])
        & Q(vtex_status__in=START_HANDLING_TOOK_EFFECT, is_complete=True)
        & ~fulfilled_elsewhere_q()
    )


def _no_tracking() -> Q:
    # Output invoices still waiting for their tracking number (a refused one is in "Failed").
    invoices = Invoice.objects.filter(
        kind=Invoice.Kind.OUTPUT,
        tracking_number="",
        delivered_at__isnull=True,
        send_state__in=[SendState.PENDING, SendState.SENDING, SendState.SENT],
    )
    closed = [Order.State.DELIVERED, Order.State.CANCELED, Order.State.CANCELLATION_REQUESTED, Order.State.REPLACED]
    return Q(pk__in=invoices.values("order_id")) & ~Q(state__in=closed)


def _failed() -> Q:
    # Conditions on related rows as `pk IN (their order ids)` (selectors/health.py says why).
    sends = OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED).exclude(
        kind=OutboxMessage.Kind.START_HANDLING
    )
    return ~Q(intake_error="") | start_handling_failed_q() | Q(pk__in=sends.values("order_id"))


_CONDITIONS = {WorkQueue.TO_INVOICE: _to_invoice, WorkQueue.NO_TRACKING: _no_tracking, WorkQueue.FAILED: _failed}
#: A queue worked from its oldest order: the one that waited longest goes first.
_ORDERING = {WorkQueue.TO_INVOICE: ("created_at_vtex", "id")}


def work_queue_q(queue: str) -> Q | None:
    """The orders of a queue; None for an unknown one."""
    condition = _CONDITIONS.get(queue)
    return condition() if condition else None


def work_queue_ordering(queue: str) -> tuple[str, ...] | None:
    """The queue's own order, when it has one (else the list's)."""
    return _ORDERING.get(queue)


# ---- what the list shows of each order ------------------------------------------------------------


def order_list_prefetches() -> list[Prefetch]:
    """Each order's invoices and per-item delivery, one query each for the whole page."""
    return [
        Prefetch(
            "invoices",
            queryset=Invoice.objects.only(
                "id", "order_id", "number", "kind", "send_state", "tracking_number", "courier", "delivered_at"
            ).order_by("id"),
            to_attr=INVOICES_ATTR,
        ),
        Prefetch(
            "item_fulfillments",
            queryset=ItemFulfillment.objects.only(
                "id", "order_id", "item_index", "delivery_channel", "sla", "carrier", "pickup_point_name"
            ).order_by("item_index"),
            to_attr=FULFILLMENTS_ATTR,
        ),
    ]


def _invoices(order: Order) -> list[Invoice]:
    rows = getattr(order, INVOICES_ATTR, None)
    return list(order.invoices.order_by("id")) if rows is None else rows


def _fulfillments(order: Order) -> list[ItemFulfillment]:
    rows = getattr(order, FULFILLMENTS_ATTR, None)
    return list(order.item_fulfillments.order_by("item_index")) if rows is None else rows


def _distinct(values) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


@dataclass(frozen=True)
class OrderDelivery:
    """How VTEX says the order reaches the buyer: its carriers (logisticsInfo[].deliveryCompany)
    and delivery methods (the selected SLA), each once, in the items' order."""

    carriers: list[str]
    methods: list[str]

    @property
    def carrier(self) -> str:
        """The one carrier of the order, "" when VTEX named none or several."""
        return self.carriers[0] if len(self.carriers) == 1 else ""


def order_delivery(order: Order, *, item_indexes: set[int] | None = None) -> OrderDelivery:
    """The order's delivery as VTEX sent it (of some items only, given their item_index)."""
    rows = [row for row in _fulfillments(order) if item_indexes is None or row.item_index in item_indexes]
    return OrderDelivery(carriers=_distinct(row.carrier for row in rows), methods=_distinct(row.sla for row in rows))


def invoice_vtex_carrier(invoice: Invoice) -> str:
    """The carrier VTEX chose for an invoice's items: what the tracking form starts with when the
    invoice has none. "" when VTEX named none, or several (staff then choose)."""
    indexes = set(invoice.items.values_list("order_item__item_index", flat=True))
    return order_delivery(invoice.order, item_indexes=indexes or None).carrier


def order_invoices(order: Order) -> list[Invoice]:
    """The order's invoices, oldest first (prefetched by the list)."""
    return _invoices(order)


def order_refused_invoices(order: Order) -> list[Invoice]:
    """The invoices VTEX did not accept: their send failed for good (refused, or given up)."""
    return [invoice for invoice in _invoices(order) if invoice.send_state == SendState.FAILED]


def order_refused_sends(order: Order) -> list[tuple[Invoice, OutboxMessage | None]]:
    """Each invoice VTEX did not accept, with the last send of it (VTEX's answer), for the order
    page's banner: two queries."""
    refused = list(order.invoices.filter(send_state=SendState.FAILED).order_by("id"))
    last: dict[int, OutboxMessage] = {}
    for message in OutboxMessage.objects.filter(invoice__in=refused, kind=OutboxMessage.Kind.INVOICE).order_by("id"):
        last[message.invoice_id] = message
    return [(invoice, last.get(invoice.pk)) for invoice in refused]


# ---- the picking list --------------------------------------------------------------------------------


def orders_for_picking(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """The selected orders with their items and delivery, oldest first (the warehouse picks the
    order that waited longest first): three queries for the whole list."""
    return (
        queryset.defer("raw")
        .prefetch_related(None)  # the list's own prefetches, replaced by these
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.order_by("item_index")), *order_list_prefetches()
        )
        .order_by("created_at_vtex", "id")
    )
