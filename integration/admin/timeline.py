"""An order's timeline: its events (OrderEvent) and its VTEX calls (VtexCall), merged newest first
(DESIGN.md: "one timeline"), for the order page (templates/admin/integration/order/_timeline.html)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext

from integration.models import Order, OrderEvent, VtexCall
from integration.selectors.labels import actor_text
from integration.selectors.timeline import event_text

#: Timeline rows read per source (events, calls). An order retried for days can have thousands
#: of calls; the full log stays in the VTEX call list, filtered by order.
TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's timeline: an OrderEvent or a VtexCall, in one shape for the template."""

    when: datetime
    who: str
    what: str
    event: OrderEvent | None = None
    call: VtexCall | None = None
    #: Pretty-printed event data (an edit's from/to), shown folded.
    details: str = ""


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    events_truncated: bool
    calls_truncated: bool


def order_timeline(order: Order, *, limit: int = TIMELINE_LIMIT) -> Timeline:
    events = list(order.events.select_related("actor").order_by("-created_at", "-id")[: limit + 1])
    calls = list(VtexCall.objects.filter(order_id=order.order_id).order_by("-created_at", "-id")[: limit + 1])
    entries = [
        TimelineEntry(
            when=event.created_at,
            who=event.actor.get_username() if event.actor_id else actor_text(event.actor_label),
            # Both in the reader's language: the kind, and the entry rendered from its parameters.
            what=f"{event.get_kind_display()}: {event_text(event)}",
            event=event,
            details=json.dumps(event.data, indent=2, ensure_ascii=False, default=str) if event.data else "",
        )
        for event in events[:limit]
    ]
    entries += [
        TimelineEntry(when=call.created_at, who=gettext("erp-bridge → VTEX"), what=call.operation, call=call)
        for call in calls[:limit]
    ]
    # Calls before events at the same instant: an event records the outcome of the call.
    entries.sort(key=lambda entry: (entry.when, entry.event is not None), reverse=True)
    return Timeline(entries=entries, events_truncated=len(events) > limit, calls_truncated=len(calls) > limit)
