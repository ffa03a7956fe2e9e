"""Feed v3 (VTEX-API.md §9): its config, reading and committing events, and the filter it shares
with the hook.

``FeedApi`` is mixed into ``SandboxStore`` (store.py). The queue behaves like the SQS queue
behind VTEX's feed: a read event is hidden for the visibility timeout and comes back with a new
handle unless committed; events older than the retention period are dropped; with the store's
``feed_duplicate_rate`` and ``feed_shuffle`` it delivers duplicates and no order. The store calls
``_publish_to_feed`` on every status change. ``ROUTES`` are the feed routes.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from .errors import BadRequest, Conflict, NotFound, is_int, require_object
from .routing import Answer, Request, int_param, route
from .shapes import fulfilling_seller

FEED_MAX_LOT = 10  # VTEX-API.md §9
FEED_RETENTION_MIN_S = 345_600  # 4 days
FEED_RETENTION_MAX_S = 1_209_600  # 14 days
FEED_VISIBILITY_MAX_S = 43_200  # SQS's maximum; VTEX's feed is SQS-based (VTEX-API.md §9)


@dataclass
class FeedMessage:
    message_id: int
    event: dict[str, Any]  # the event without its handle
    enqueued_at: float
    visible_at: float = 0.0
    handle: str | None = None


@dataclass
class Feed:
    config: dict[str, Any]
    messages: dict[int, FeedMessage] = field(default_factory=dict)  # insertion order = FIFO
    handles: dict[str, int] = field(default_factory=dict)  # current handle -> message id


class FeedApi:
    """The Feed v3 config and queue (a SandboxStore mixin)."""

    def set_feed_config(self, body: Any) -> dict[str, Any]:
        """Create or replace the feed config (VTEX-API.md §9); the queue is kept."""
        fields = require_object(body)
        config = {"filter": parse_filter(fields.get("filter")), "queue": _parse_queue(fields.get("queue"))}
        with self._lock:
            if self._feed is None:
                self._feed = Feed(config=config)
            else:
                self._feed.config = config
            return self._feed_config_answer(self._feed)

    def feed_config(self) -> dict[str, Any]:
        with self._lock:
            self._apply_due_cancellations()
            return self._feed_config_answer(self._require_feed())

    def delete_feed_config(self) -> None:
        with self._lock:
            self._require_feed()
            self._feed = None

    def read_feed(self, maxlot: int) -> list[dict[str, Any]]:
        """Up to ``maxlot`` visible events; each is hidden for the visibility timeout and gets a
        new handle, and comes back unless committed (VTEX-API.md §9)."""
        if not 1 <= maxlot <= FEED_MAX_LOT:
            raise BadRequest(f"maxlot must be between 1 and {FEED_MAX_LOT}")
        with self._lock:
            self._apply_due_cancellations()
            feed = self._require_feed()
            now = self._clock()
            self._drop_expired_messages(feed, now)
            visible = [message for message in feed.messages.values() if message.visible_at <= now]
            if self.feed_shuffle:
                self._feed_rng.shuffle(visible)  # SQS guarantees no order (VTEX-API.md §9)
            batch = visible[:maxlot]
            for message in batch:
                if message.handle is not None:
                    feed.handles.pop(message.handle, None)
                message.handle = secrets.token_urlsafe(48)
                message.visible_at = now + feed.config["queue"]["visibilityTimeoutInSeconds"]
                feed.handles[message.handle] = message.message_id
            return [dict(message.event, handle=message.handle) for message in batch]

    def commit_feed(self, body: Any) -> None:
        """Delete the events with these handles; unknown or stale handles are ignored."""
        handles = require_object(body).get("handles")
        if not isinstance(handles, list) or not all(isinstance(handle, str) for handle in handles):
            raise BadRequest("handles is required and must be a list of strings")
        with self._lock:
            feed = self._require_feed()
            for handle in handles:
                message_id = feed.handles.pop(handle, None)
                if message_id is not None:
                    feed.messages.pop(message_id, None)

    def _require_feed(self) -> Feed:
        if self._feed is None:
            raise NotFound("Feed configuration not found for this appKey; POST /api/orders/feed/config first")
        return self._feed

    def _feed_config_answer(self, feed: Feed) -> dict[str, Any]:
        now = self._clock()
        self._drop_expired_messages(feed, now)
        oldest = next(iter(feed.messages.values()), None)
        answer = copy.deepcopy(feed.config)
        # The spec spells it with a capital M, the guide and real answers with a small m
        # (VTEX-API.md §9): answer both so a client written against either works.
        answer["queue"]["messageRetentionPeriodInSeconds"] = answer["queue"]["MessageRetentionPeriodInSeconds"]
        answer["quantity"] = len(feed.messages)
        answer["approximateAgeOfOldestMessageInSeconds"] = 0.0 if oldest is None else now - oldest.enqueued_at
        return answer

    @staticmethod
    def _drop_expired_messages(feed: Feed, now: float) -> None:
        retention = feed.config["queue"]["MessageRetentionPeriodInSeconds"]
        for message in list(feed.messages.values()):
            if now - message.enqueued_at < retention:
                break  # FIFO: the rest are younger
            feed.messages.pop(message.message_id)
            if message.handle is not None:
                feed.handles.pop(message.handle, None)

    def _enqueue_feed_event(self, feed: Feed, event: dict[str, Any]) -> None:
        # The feed guarantees delivery, not uniqueness (VTEX-API.md §9): a duplicate is the same
        # event (same eventId) delivered as a second message.
        copies = 2 if self._feed_rng.random() < self.feed_duplicate_rate else 1
        for _ in range(copies):
            self._feed_message_ids += 1
            feed.messages[self._feed_message_ids] = FeedMessage(
                message_id=self._feed_message_ids, event=event, enqueued_at=self._clock()
            )

    def _publish_to_feed(
        self, doc: dict[str, Any], *, state: str, last_state: str, last_change: str, current_change: str
    ) -> None:
        if self._feed is not None and filter_accepts(self._feed.config["filter"], state):
            event = {
                "eventId": uuid.uuid4().hex.upper(),
                "domain": event_domain(doc),
                "state": state,
                "lastState": last_state,
                "orderId": doc["orderId"],
                "lastChange": last_change,
                "currentChange": current_change,
            }
            self._enqueue_feed_event(self._feed, event)


def event_domain(doc: dict[str, Any]) -> str:
    """The domain of an order's feed and hook events: "Fulfillment" for the orders the account
    fulfils (seller "1"), "Marketplace" for those it sold and another seller fulfils (a split
    purchase's -02, shapes.py)."""
    return "Fulfillment" if fulfilling_seller(doc) == "1" else "Marketplace"


def parse_filter(value: Any) -> dict[str, Any]:
    """Feed/hook filter: FromWorkflow + status, or FromOrders + expression (+ disableSingleFire);
    mixing the two field sets is a 409 (VTEX-API.md §9). Status names are not validated, as on VTEX."""
    if not isinstance(value, dict):
        raise BadRequest("filter is required and must be an object")
    kind = value.get("type")
    if kind == "FromWorkflow":
        if "expression" in value or "disableSingleFire" in value:
            raise Conflict("A FromWorkflow filter takes 'status' only, not 'expression' or 'disableSingleFire'")
        status = value.get("status", [])
        if not isinstance(status, list) or not all(isinstance(name, str) for name in status):
            raise BadRequest("filter.status must be a list of order statuses")
        return {"type": kind, "status": list(status)}
    if kind == "FromOrders":
        if "status" in value:
            raise Conflict("A FromOrders filter takes 'expression' and 'disableSingleFire', not 'status'")
        expression = value.get("expression")
        if not isinstance(expression, str) or not expression:
            raise BadRequest("filter.expression (a JSONata expression) is required for FromOrders")
        single_fire = value.get("disableSingleFire", False)
        if not isinstance(single_fire, bool):
            raise BadRequest("filter.disableSingleFire must be a boolean")
        return {"type": kind, "expression": expression, "disableSingleFire": single_fire}
    raise BadRequest("filter.type must be 'FromWorkflow' or 'FromOrders'")


def _parse_queue(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise BadRequest("queue is required and must be an object")
    visibility = value.get("visibilityTimeoutInSeconds")
    if not is_int(visibility) or not 0 <= visibility <= FEED_VISIBILITY_MAX_S:
        raise BadRequest(f"queue.visibilityTimeoutInSeconds must be an integer between 0 and {FEED_VISIBILITY_MAX_S}")
    # The spec spells it with a capital M, the guide with a small m (VTEX-API.md §9).
    retention = value.get("MessageRetentionPeriodInSeconds", value.get("messageRetentionPeriodInSeconds"))
    if not is_int(retention) or not FEED_RETENTION_MIN_S <= retention <= FEED_RETENTION_MAX_S:
        raise BadRequest(
            f"queue.MessageRetentionPeriodInSeconds must be an integer between {FEED_RETENTION_MIN_S} (4 days) "
            f"and {FEED_RETENTION_MAX_S} (14 days)"
        )
    return {"visibilityTimeoutInSeconds": visibility, "MessageRetentionPeriodInSeconds": retention}


def filter_accepts(config_filter: dict[str, Any], state: str) -> bool:
    # FromOrders expressions are not evaluated: the sandbox has no JSONata, so every change passes.
    if config_filter["type"] == "FromWorkflow":
        return not config_filter["status"] or state in config_filter["status"]
    return True


# -- routes -----------------------------------------------------------------------------------------
def _feed_config_get(store: FeedApi, request: Request) -> Answer:
    return Answer(200, store.feed_config())


def _feed_config_post(store: FeedApi, request: Request) -> Answer:
    store.set_feed_config(request.body)
    return Answer(200)  # the spec documents a bare 200 "OK"


def _feed_config_delete(store: FeedApi, request: Request) -> Answer:
    store.delete_feed_config()
    return Answer(200)


def _feed_read(store: FeedApi, request: Request) -> Answer:
    if not request.query.get("maxlot"):
        raise BadRequest("maxlot is required (1 to 10)")
    return Answer(200, store.read_feed(int_param(request.query, "maxlot", 0)))


def _feed_commit(store: FeedApi, request: Request) -> Answer:
    store.commit_feed(request.body)
    return Answer(200)


ROUTES = (
    route("GET", "/api/orders/feed/config", "feed_config_get", _feed_config_get),
    route("POST", "/api/orders/feed/config", "feed_config_post", _feed_config_post),
    route("DELETE", "/api/orders/feed/config", "feed_config_delete", _feed_config_delete),
    route("GET", "/api/orders/feed", "feed_read", _feed_read),
    route("POST", "/api/orders/feed", "feed_commit", _feed_commit),
)
