"""VTEX's orders Feed v3: erp-bridge keeps its own configuration right and reads the queue.

The feed is VTEX's recommended intake (VTEX-API.md §9, §12.5): it runs before VTEX's search index,
delivers every status change in the filter, but repeats events and mixes their order. VTEX deletes
a feed that saw no events for its retention period, so the configuration is checked (and made
again) on every cycle.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from integration.models import FeedState
from integration.vtex import VtexClient, VtexNotFound
from integration.vtex.statuses import FEED_FILTER

FEED_MAX_LOT = 10


def feed_config_wanted() -> dict[str, Any]:
    return {
        "filter": {"type": "FromWorkflow", "status": [str(status) for status in FEED_FILTER]},
        "queue": {
            "visibilityTimeoutInSeconds": settings.VTEX_FEED_VISIBILITY_TIMEOUT_S,
            "MessageRetentionPeriodInSeconds": settings.VTEX_FEED_RETENTION_S,
        },
    }


def _matches(current: dict[str, Any]) -> bool:
    wanted = feed_config_wanted()
    current_filter = current.get("filter") or {}
    queue = current.get("queue") or {}
    # VTEX's GET spells the retention field in lower camel case; the spec's POST example does not.
    retention = queue.get("messageRetentionPeriodInSeconds", queue.get("MessageRetentionPeriodInSeconds"))
    return (
        current_filter.get("type") == "FromWorkflow"
        and set(current_filter.get("status") or []) == set(FEED_FILTER)
        and queue.get("visibilityTimeoutInSeconds") == wanted["queue"]["visibilityTimeoutInSeconds"]
        and retention == wanted["queue"]["MessageRetentionPeriodInSeconds"]
    )


def _state() -> FeedState:
    return FeedState.objects.get_or_create(name="orders")[0]


def feed_config_ensure(*, client: VtexClient) -> str:
    """Create the feed configuration, or repair one that differs; returns "ok", "created" or "repaired"."""
    now = timezone.now()
    try:
        current = client.get_feed_config()
    except VtexNotFound:
        current = None
    state = _state()
    state.config_checked_at = now
    if current is not None and _matches(current):
        state.queued = _whole(current.get("quantity"))
        state.oldest_message_age_s = _whole(current.get("approximateAgeOfOldestMessageInSeconds"))
        state.save()
        return "ok"
    client.save_feed_config(feed_config_wanted())
    state.configured_at = now
    state.save()
    return "created" if current is None else "repaired"


def feed_read(*, client: VtexClient) -> list[dict[str, Any]]:
    """One lot of at most 10 events. A 404 means VTEX deleted the configuration: make it again."""
    try:
        events = client.read_feed(max_lot=FEED_MAX_LOT)
    except VtexNotFound:
        feed_config_ensure(client=client)
        events = client.read_feed(max_lot=FEED_MAX_LOT)
    return feed_record_read(events)


def feed_record_read(events: list[Any]) -> list[dict[str, Any]]:
    """Note a read of the feed (the health page shows when the feed last gave events)."""
    now = timezone.now()
    updates: dict[str, Any] = {"last_read_at": now}
    if events:
        updates["last_event_at"] = now
    FeedState.objects.filter(name="orders").update(**updates)
    return [event for event in events if isinstance(event, dict)]


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
