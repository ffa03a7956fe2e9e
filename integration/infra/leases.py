"""Named, expiring leases taken with conditional UPDATEs: one holder at a time across processes.

A holder that dies simply lets its lease expire; a live holder renews it while it works.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integration.models import Lease


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_acquire(*, name: str, holder: str, ttl: timedelta) -> bool:
    now = timezone.now()
    free_or_mine = Q(expires_at__lte=now) | Q(holder=holder)
    if Lease.objects.filter(free_or_mine, name=name).update(holder=holder, expires_at=now + ttl, acquired_at=now):
        return True
    try:
        with transaction.atomic():
            Lease.objects.create(name=name, holder=holder, expires_at=now + ttl, acquired_at=now)
    except IntegrityError:
        return False  # someone holds it
    return True


def lease_renew(*, name: str, holder: str, ttl: timedelta) -> bool:
    return bool(Lease.objects.filter(name=name, holder=holder).update(expires_at=timezone.now() + ttl))


def lease_release(*, name: str, holder: str) -> None:
    Lease.objects.filter(name=name, holder=holder).delete()


def lease_holder(name: str) -> Lease | None:
    return Lease.objects.filter(name=name, expires_at__gt=timezone.now()).first()


@dataclass
class HeldLease:
    name: str
    holder: str
    ttl: timedelta

    def renew(self) -> bool:
        return lease_renew(name=self.name, holder=self.holder, ttl=self.ttl)


@contextmanager
def lease(name: str, *, ttl: timedelta) -> Iterator[HeldLease | None]:
    """Yields the lease, or None when another process holds it."""
    holder = new_holder_id()
    if not lease_acquire(name=name, holder=holder, ttl=ttl):
        yield None
        return
    try:
        yield HeldLease(name=name, holder=holder, ttl=ttl)
    finally:
        lease_release(name=name, holder=holder)
