"""VTEX's order hook: take a notification, check who sent it, store it, answer at once.

VTEX expects a 200 within 5 s and retries otherwise (VTEX-API.md §9, §12.6), so the request does
no VTEX work: it stores the notification and queues a task; the intake cycle (source "hook") reads
the order back and handles it by its present status, as the feed does.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from integration.models import HookNotification
from integration.vtex.statuses import FEED_FILTER

logger = logging.getLogger(__name__)


@dataclass
class HookAnswer:
    status: int
    body: dict[str, Any]


def _secret_ok(headers: dict[str, str]) -> bool:
    given = headers.get(settings.VTEX_HOOK_SECRET_HEADER.lower(), "")
    return hmac.compare_digest(given.encode(), settings.VTEX_HOOK_SECRET.encode())


#: VTEX's ping when the hook is saved (it needs no secret); nothing else is read without the secret.
PING_MAX_BYTES = 100
#: A notification is a flat object; anything nested deeper is not VTEX's.
MAX_DEPTH = 20


def hook_receive(*, raw_body: bytes, headers: dict[str, str]) -> HookAnswer:
    """`headers` with lower-case names. Never raises for bad input: the answer says what is wrong.

    The secret is checked before the body is parsed: a stranger's body is never read, except a
    body small enough to be VTEX's ping."""
    if not settings.VTEX_HOOK_SECRET:
        return HookAnswer(503, {"error": "The hook is disabled: set VTEX_HOOK_SECRET."})
    if not _secret_ok(headers):
        if len(raw_body) <= PING_MAX_BYTES and _parse(raw_body) == {"hookConfig": "ping"}:
            return HookAnswer(200, {"ok": True, "ping": True})  # VTEX checks the address when the hook is saved
        logger.warning("hook: refused a notification without the right %s header", settings.VTEX_HOOK_SECRET_HEADER)
        return HookAnswer(403, {"error": f"Missing or wrong {settings.VTEX_HOOK_SECRET_HEADER} header."})
    body = _parse(raw_body)
    if isinstance(body, HookAnswer):
        return body
    if not isinstance(body, dict):
        return HookAnswer(400, {"error": "The body must be a JSON object."})
    if body.get("hookConfig") == "ping":
        return HookAnswer(200, {"ok": True, "ping": True})
    origin = body.get("Origin") if isinstance(body.get("Origin"), dict) else {}
    account = str(origin.get("Account") or "")
    if settings.VTEX_ACCOUNT_NAME and account != settings.VTEX_ACCOUNT_NAME:
        return HookAnswer(403, {"error": f"Origin.Account {account!r} is not this store's account."})
    order_id, state = body.get("OrderId"), body.get("State")
    if not isinstance(order_id, str) or not order_id or not isinstance(state, str) or not state:
        return HookAnswer(400, {"error": "OrderId and State are required strings."})
    try:
        with transaction.atomic():
            notification = HookNotification.objects.create(
                order_id=order_id[:64],
                state=state[:64],
                last_state=str(body.get("LastState") or "")[:64],
                domain=str(body.get("Domain") or "")[:32],
                current_change=str(body.get("CurrentChange") or "")[:64],
                origin_account=account[:100],
                body=body,
            )
            if not _pending(timezone.now()).filter(attempts=0, pk__lt=notification.pk).exists():
                # One task for a burst: a fresh notification still pending has its task queued
                # or a cycle taking it, and that cycle takes this one too (it looks again before
                # it ends). A task per notification crowded the outbox's sends out of the queue.
                transaction.on_commit(hook_queue_processing)
    except IntegrityError:
        return HookAnswer(200, {"ok": True, "duplicate": True})  # VTEX delivered it again
    return HookAnswer(200, {"ok": True, "id": notification.pk})


def _parse(raw_body: bytes) -> Any:
    """The JSON body, or the answer that refuses it: not JSON, nested beyond MAX_DEPTH, or holding
    text a database cannot store (a NUL, a lone UTF-16 surrogate)."""
    try:
        body = json.loads(raw_body or b"null")
    except RecursionError:
        return HookAnswer(400, {"error": f"The body is nested more than {MAX_DEPTH} levels deep."})
    except ValueError:
        return HookAnswer(400, {"error": "The body is not valid JSON."})
    problem = _unstorable(body, depth=0)
    return HookAnswer(400, {"error": problem}) if problem else body


def _unstorable(value: Any, *, depth: int) -> str:
    if depth > MAX_DEPTH:
        return f"The body is nested more than {MAX_DEPTH} levels deep."
    if isinstance(value, str):
        if "\x00" in value:
            return "The body contains a NUL character."
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "The body contains a lone UTF-16 surrogate."
        return ""
    children = list(value.items()) if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        for part in child if isinstance(value, dict) else (child,):
            problem = _unstorable(part, depth=depth + 1)
            if problem:
                return problem
    return ""


def hook_queue_processing() -> None:
    try:
        async_task("integration.tasks.process_hook_notifications", group="hook")
    except Exception:  # every intake cycle also takes pending notifications
        logger.exception("could not queue hook processing; the next intake cycle will do it")


#: Waits before a notification whose order could not be taken in is tried again; after the last,
#: it is given up (shown with its error in the admin).
HOOK_RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


def _pending(now) -> QuerySet[HookNotification]:
    return HookNotification.objects.filter(processed_at__isnull=True, gave_up_at__isnull=True).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def hook_pending_order_ids(limit: int = 500) -> list[str]:
    return list(_pending(timezone.now()).order_by("received_at").values_list("order_id", flat=True).distinct()[:limit])


def hook_notifications_done(*, order_ids: list[str], received_before: datetime | None = None) -> None:
    """The orders were read back and handled: their notifications are done, except those received
    after `received_before` (the moment the orders were asked for), which may say something newer."""
    notifications = HookNotification.objects.filter(order_id__in=order_ids, processed_at__isnull=True)
    if received_before is not None:
        notifications = notifications.filter(received_at__lte=received_before)
    notifications.update(processed_at=timezone.now(), error="")


def hook_notifications_failed(*, errors: dict[str, str]) -> None:
    """The orders (id → why) of pending notifications could not be taken in: each notification is
    tried again after its backoff, or given up after the last."""
    now = timezone.now()
    with transaction.atomic():
        for notification in _pending(now).select_for_update().filter(order_id__in=list(errors)):
            notification.attempts += 1
            notification.error = errors[notification.order_id][:2000]
            if notification.attempts > len(HOOK_RETRY_DELAYS):
                notification.gave_up_at, notification.next_attempt_at = now, None
            else:
                notification.next_attempt_at = now + HOOK_RETRY_DELAYS[notification.attempts - 1]
            notification.save(update_fields=["attempts", "error", "next_attempt_at", "gave_up_at"])


def hook_config_payload(*, url: str) -> dict[str, Any]:
    return {
        "filter": {"type": "FromWorkflow", "status": [str(status) for status in FEED_FILTER]},
        "hook": {"url": url, "headers": {settings.VTEX_HOOK_SECRET_HEADER: settings.VTEX_HOOK_SECRET}},
    }
