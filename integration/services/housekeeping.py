"""Keeping the installation's own logs bounded."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from integration.models import VtexCall

#: Deleting in slices keeps each transaction short, so SQLite's single writer is never held long.
PRUNE_BATCH = 5000


def vtex_calls_prune(*, older_than_days: int | None = None) -> int:
    """Delete VTEX call records older than the retention period; returns how many."""
    days = settings.VTEX_CALL_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(VtexCall.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PRUNE_BATCH])
        if not ids:
            return deleted
        deleted += VtexCall.objects.filter(pk__in=ids).delete()[0]
