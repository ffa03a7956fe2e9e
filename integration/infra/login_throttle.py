"""Slow down password guessing on the admin login: after too many failures for one username, or
from one address, further attempts are refused for a while. Counts live in the database so every
process of the installation shares them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from integration.models import LoginThrottle


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    return [
        (f"user:{username.strip().lower()[:150]}", settings.LOGIN_MAX_FAILURES_PER_USER),
        (f"ip:{address[:45]}", settings.LOGIN_MAX_FAILURES_PER_ADDRESS),
    ]


def login_locked_until(*, username: str, address: str) -> datetime | None:
    now = timezone.now()
    keys = [key for key, _ in _keys(username, address)]
    locks = LoginThrottle.objects.filter(key__in=keys, locked_until__gt=now).values_list("locked_until", flat=True)
    return max(locks, default=None)


def login_failed(*, username: str, address: str) -> None:
    now = timezone.now()
    window = timedelta(minutes=settings.LOGIN_THROTTLE_WINDOW_MINUTES)
    for key, limit in _keys(username, address):
        with transaction.atomic():
            row = LoginThrottle.objects.select_for_update().filter(key=key).first()
            if row is None:
                try:
                    with transaction.atomic():
                        LoginThrottle.objects.create(key=key, failures=1, window_start=now)
                    continue
                except IntegrityError:
                    row = LoginThrottle.objects.select_for_update().get(key=key)
            if row.window_start < now - window:
                row.failures, row.window_start, row.locked_until = 1, now, None
            else:
                row.failures = F("failures") + 1
            row.save()
            row.refresh_from_db()
            if row.failures >= limit:
                LoginThrottle.objects.filter(pk=row.pk).update(locked_until=now + window)


def login_succeeded(*, username: str) -> None:
    LoginThrottle.objects.filter(key=f"user:{username.strip().lower()[:150]}").delete()
