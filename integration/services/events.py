"""Timeline entries of an order: one helper so every service writes them the same way.

A message is stored once and read by everyone, whatever their language, like a log line: it is
written in English. The admin translates the entry's kind when it shows it, not the message.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation

from integration.models import Order, OrderEvent


def stored_text(value: object) -> str:
    """A label as the stored messages write it: in English, whatever the language of the request
    that triggered the change. `value` is a lazy label (a field's verbose_name) or a function that
    returns one (`invoice.get_kind_display`, which translates when called)."""
    with translation.override("en"):
        return str(value() if callable(value) else value)


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
