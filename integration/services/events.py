"""Timeline entries of an order: one helper so every service writes them the same way."""

from __future__ import annotations

from typing import Any

from integration.models import Order, OrderEvent


def order_event_record(
    *,
    order: Order,
    kind: str,
    message: str,
    actor=None,
    actor_label: str = "system",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        kind=kind,
        message=message,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label if not getattr(actor, "pk", None) else actor.get_username(),
        data=data or {},
    )
