"""The local state of an order, derived from the data: one set of rules for one order or many.

Nobody sets Order.state by hand. Every service that changes what the rules read (VTEX's status,
invoices, their tracking and delivery, cancellation requests) calls orders_recompute_states (or
order_recompute_state, the same for a list of one) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import timezone

from integration.models import CancellationRequest, Invoice, InvoiceItem, Order, OrderItem
from integration.vtex.statuses import CANCELED, HANDLED, VtexStatus


@dataclass
class _Facts:
    """What the rules read besides the order's own fields, for a set of stored orders (by pk)."""

    with_open_request: set[int] = field(default_factory=set)
    #: Output invoices per order: (tracking number, delivered at).
    outputs: dict[int, list[tuple[str, object]]] = field(default_factory=dict)
    ordered: dict[int, int] = field(default_factory=dict)
    invoiced: dict[int, int] = field(default_factory=dict)


def _read_facts(pks: list[int]) -> _Facts:
    """At most four queries, whatever the number of orders (none for an empty list)."""
    facts = _Facts()
    if not pks:
        return facts
    facts.with_open_request = set(
        CancellationRequest.objects.filter(order_id__in=pks, state__in=CancellationRequest.OPEN_STATES).values_list(
            "order_id", flat=True
        )
    )
    for order_id, tracking_number, delivered_at in Invoice.objects.filter(
        order_id__in=pks, kind=Invoice.Kind.OUTPUT
    ).values_list("order_id", "tracking_number", "delivered_at"):
        facts.outputs.setdefault(order_id, []).append((tracking_number, delivered_at))
    if facts.outputs:  # the quantities only matter for orders with an output invoice
        with_outputs = list(facts.outputs)
        facts.ordered = dict(
            # What is left after the order's changes at VTEX: removed units are never invoiced.
            OrderItem.objects.filter(order_id__in=with_outputs)
            .values("order_id")
            .annotate(total=Sum("quantity_after_changes"))
            .values_list("order_id", "total")
        )
        facts.invoiced = dict(
            InvoiceItem.objects.filter(invoice__order_id__in=with_outputs, invoice__kind=Invoice.Kind.OUTPUT)
            .values("invoice__order_id")
            .annotate(total=Sum("quantity"))
            .values_list("invoice__order_id", "total")
        )
    return facts


def _state(order: Order, facts: _Facts) -> str:
    if order.vtex_status in CANCELED:
        return Order.State.CANCELED
    if order.vtex_status == VtexStatus.REPLACED:
        return Order.State.REPLACED  # a new order carries it on (order_sync links the two)
    if order.vtex_status == VtexStatus.CANCELLATION_REQUESTED or order.pk in facts.with_open_request:
        return Order.State.CANCELLATION_REQUESTED
    outputs = facts.outputs.get(order.pk)
    if outputs:
        if (facts.invoiced.get(order.pk) or 0) < (facts.ordered.get(order.pk) or 0):
            return Order.State.PARTIALLY_INVOICED
        if all(delivered_at for _, delivered_at in outputs):
            return Order.State.DELIVERED
        if all(tracking_number for tracking_number, _ in outputs):
            return Order.State.SHIPPED
        return Order.State.INVOICED
    if order.vtex_status == VtexStatus.INVOICED:
        return Order.State.INVOICED  # invoiced elsewhere (VTEX's admin, another system)
    if order.vtex_status in HANDLED:  # recording an accepted start-handling sets the status
        return Order.State.HANDLING
    return Order.State.RECEIVED


def orders_derive_states(orders: list[Order]) -> list[str]:
    """Each order's state, in the list's order. An order not saved yet has no rows to read."""
    pks = [
        order.pk
        for order in orders
        if order.pk is not None and order.vtex_status not in CANCELED and order.vtex_status != VtexStatus.REPLACED
    ]
    facts = _read_facts(pks)
    return [_state(order, facts) for order in orders]


def order_derive_state(order: Order) -> str:
    return orders_derive_states([order])[0]


def orders_recompute_states(orders: list[Order]) -> None:
    """Derive and store the state of stored orders: the reads above, then one UPDATE per state.

    updated_at moves too, so that an ERP polling the API with updated_since sees the change."""
    unique = list({order.pk: order for order in orders}.values())
    now = timezone.now()
    by_state: dict[str, list[int]] = {}
    states = dict(zip((order.pk for order in unique), orders_derive_states(unique), strict=True))
    for pk, state in states.items():
        by_state.setdefault(state, []).append(pk)
    for state, pks in by_state.items():
        Order.objects.filter(pk__in=pks).update(state=state, updated_at=now)
    for order in orders:
        order.state, order.updated_at = states[order.pk], now


def order_recompute_state(order: Order) -> str:
    orders_recompute_states([order])
    return order.state
