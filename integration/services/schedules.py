"""The django-q2 schedules erp-bridge needs, kept equal to the settings.

Created with update_or_create on the name (django-q2's Schedule.name is not unique in the
database), so migrations, restarts and several clusters never add a second copy.
"""

from __future__ import annotations

from django.conf import settings
from django_q.models import Schedule

PULL_ORDERS_SCHEDULE = "erp-bridge: pull orders"
PRUNE_CALLS_SCHEDULE = "erp-bridge: prune old VTEX call records"
PUSH_PENDING_SCHEDULE = "erp-bridge: send due outbox messages"
SWEEP_SCHEDULE = "erp-bridge: list sweep behind the feed"
RECONCILE_SCHEDULE = "erp-bridge: reconcile with VTEX"


def schedules_ensure() -> list[str]:
    wanted = {
        PULL_ORDERS_SCHEDULE: dict(
            func="integration.tasks.pull_orders",
            schedule_type=Schedule.MINUTES,
            minutes=settings.VTEX_PULL_EVERY_MINUTES,
            repeats=-1,
        ),
        # Each change queues its own send; this catches retries after backoff and anything whose
        # task was lost (the broker was down, a worker died).
        PUSH_PENDING_SCHEDULE: dict(
            func="integration.tasks.push_pending",
            schedule_type=Schedule.MINUTES,
            minutes=1,
            repeats=-1,
        ),
        RECONCILE_SCHEDULE: dict(
            func="integration.tasks.reconcile",
            schedule_type=Schedule.DAILY,
            repeats=-1,
        ),
        PRUNE_CALLS_SCHEDULE: dict(
            func="integration.tasks.prune_vtex_calls",
            schedule_type=Schedule.DAILY,
            repeats=-1,
        ),
    }
    if settings.VTEX_INTAKE == "feed":
        wanted[SWEEP_SCHEDULE] = dict(
            func="integration.tasks.sweep_orders",
            schedule_type=Schedule.MINUTES,
            minutes=settings.VTEX_SWEEP_EVERY_MINUTES,
            repeats=-1,
        )
    else:
        Schedule.objects.filter(name=SWEEP_SCHEDULE).delete()  # the regular pull lists already
    for name, fields in wanted.items():
        duplicates = Schedule.objects.filter(name=name).order_by("id")
        keep = duplicates.first()
        if keep is not None:
            duplicates.exclude(pk=keep.pk).delete()
        Schedule.objects.update_or_create(name=name, defaults=fields)
    return list(wanted)
