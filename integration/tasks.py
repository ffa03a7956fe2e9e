"""django-q2 entry points. Thin: they call a service. The ORM broker delivers at least once, so
each of them is safe to run twice (the intake holds a lease; outbox rows are claimed)."""


def pull_orders() -> str:
    from django.conf import settings

    from integration.services.intake import intake_run

    return intake_run(source=settings.VTEX_INTAKE).summary()


def sweep_orders() -> str:
    from integration.services.intake import intake_run

    return intake_run(source="sweep").summary()


def process_hook_notifications() -> str:
    from integration.services.intake import intake_run

    return intake_run(source="hook").summary()


def send_outbox_message(message_id: int) -> str:
    from integration.infra.vtex_client import vtex_client
    from integration.services.outbox import outbox_send

    outcome = outbox_send(message_id=message_id, client=vtex_client())
    return "nothing to do (sent, claimed elsewhere or not due)" if outcome is None else outcome.detail


def push_pending() -> str:
    from integration.infra.vtex_client import vtex_client
    from integration.services.outbox import outbox_send_due

    summary = outbox_send_due(client=vtex_client())
    return f"sent {summary.sent}, retrying {summary.retrying}, failed {summary.failed}"


def reconcile() -> str:
    from integration.infra.vtex_client import vtex_client
    from integration.services.reconciliation import reconciliation_run

    return reconciliation_run(client=vtex_client()).summary()


def prune_vtex_calls() -> str:
    from integration.services.housekeeping import vtex_calls_prune

    return f"deleted {vtex_calls_prune()} VTEX call records"
