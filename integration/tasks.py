"""django-q2 entry points. Thin: they call a service. The ORM broker delivers at least once, so
each of them is safe to run twice (the intake holds a lease; outbox rows are claimed)."""

from django.conf import settings

from integration.infra.vtex_client import vtex_client
from integration.services.housekeeping import vtex_calls_prune
from integration.services.intake import intake_run
from integration.services.outbox import outbox_send, outbox_send_due
from integration.services.reconciliation import reconciliation_run


def pull_orders() -> str:
    return intake_run(source=settings.VTEX_INTAKE).summary()


def sweep_orders() -> str:
    return intake_run(source="sweep").summary()


def process_hook_notifications() -> str:
    return intake_run(source="hook").summary()


def send_outbox_message(message_id: int) -> str:
    outcome = outbox_send(message_id=message_id, client=vtex_client())
    return "nothing to do (sent, claimed elsewhere or not due)" if outcome is None else outcome.detail


def push_pending() -> str:
    summary = outbox_send_due(client=vtex_client())
    return f"sent {summary.sent}, retrying {summary.retrying}, failed {summary.failed}"


def reconcile() -> str:
    return reconciliation_run(client=vtex_client()).summary()


def prune_vtex_calls() -> str:
    return f"deleted {vtex_calls_prune()} VTEX call records"
