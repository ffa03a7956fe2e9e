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
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
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


def hook_receive(*, raw_body: bytes, headers: dict[str, str]) -> HookAnswer:
    """`headers` with lower-case names. Never raises for bad input: the answer says what is wrong."""
    if not settings.VTEX_HOOK_SECRET:
        return HookAnswer(503, {"error": "The hook is disabled: set VTEX_HOOK_SECRET."})
    try:
        body = json.loads(raw_body or b"null")
    except ValueError:
        return HookAnswer(400, {"error": "The body is not valid JSON."})
    if not isinstance(body, dict):
        return HookAnswer(400, {"error": "The body must be a JSON object."})
    if body.get("hookConfig") == "ping":
        return HookAnswer(200, {"ok": True, "ping": True})  # VTEX checks the address when the hook is saved
    if not _secret_ok(headers):
        logger.warning("hook: refused a notification without the right %s header", settings.VTEX_HOOK_SECRET_HEADER)
        return HookAnswer(403, {"error": f"Missing or wrong {settings.VTEX_HOOK_SECRET_HEADER} header."})
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
            transaction.on_commit(_queue_processing)
    except IntegrityError:
        return HookAnswer(200, {"ok": True, "duplicate": True})  # VTEX delivered it again
    return HookAnswer(200, {"ok": True, "id": notification.pk})


def _queue_processing() -> None:
    try:
        async_task("integration.tasks.process_hook_notifications", group="hook")
    except Exception:  # every intake cycle also takes pending notifications
        logger.exception("could not queue hook processing; the next intake cycle will do it")


def hook_pending_order_ids(limit: int = 500) -> list[str]:
    return list(
        HookNotification.objects.filter(processed_at__isnull=True)
        .order_by("received_at")
        .values_list("order_id", flat=True)
        .distinct()[:limit]
    )


def hook_config_payload(*, url: str) -> dict[str, Any]:
    return {
        "filter": {"type": "FromWorkflow", "status": [str(status) for status in FEED_FILTER]},
        "hook": {"url": url, "headers": {settings.VTEX_HOOK_SECRET_HEADER: settings.VTEX_HOOK_SECRET}},
    }
