"""Timeline entries of an order: one helper so every service writes them the same way.

An entry is its kind and its parameters (OrderEvent.params), rendered per kind in the reader's
language by integration.selectors.timeline. Its English text is stored as well (`message`), like
a log line: the event list searches it, and it is what older entries, without parameters, show.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation

from integration.models import Order, OrderEvent
from integration.selectors.timeline import render_event


def stored_text(value: object) -> str:
    """A label as the stored messages write it: in English, whatever the language of the request
    that triggered the change. `value` is a lazy label (a field's verbose_name) or a function that
    returns one (`invoice.get_kind_display`, which translates when called)."""
    with translation.override("en"):
        return str(value() if callable(value) else value)


def order_event_build(
    *,
    order: Order,
    kind: str,
    params: dict[str, Any],
    actor=None,
    actor_label: str = "system",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """The entry, not saved (for bulk_create). `params` must be JSON values: what the kind's
    renderer reads; `data` what other code queries (a status change's from/to, an outbox id)."""
    with translation.override("en"):
        message = render_event(kind, params)
    has_user = bool(getattr(actor, "pk", None))
    return OrderEvent(
        order=order,
        kind=kind,
        message=message,
        params=params,
        actor=actor if has_user else None,
        actor_label=actor.get_username() if has_user else actor_label,
        data=data or {},
    )


def order_event_record(
    *,
    order: Order,
    kind: str,
    params: dict[str, Any],
    actor=None,
    actor_label: str = "system",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    event = order_event_build(order=order, kind=kind, params=params, actor=actor, actor_label=actor_label, data=data)
    event.save()
    return event
