from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from integration.infra.leases import lease, lease_acquire, lease_renew
from integration.models import Lease
from integration.services.schedules import PULL_ORDERS_SCHEDULE, schedules_ensure

pytestmark = pytest.mark.django_db


def test_schedule_exists_once_after_repeated_migrations_and_follows_the_setting(settings):
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    schedules_ensure()
    assert Schedule.objects.filter(name=PULL_ORDERS_SCHEDULE).count() == 1

    settings.VTEX_PULL_EVERY_MINUTES = 7
    schedules_ensure()

    schedule = Schedule.objects.get(name=PULL_ORDERS_SCHEDULE)
    assert schedule.minutes == 7 and schedule.func == "integration.tasks.pull_orders"


def test_duplicate_schedules_left_by_hand_are_removed():
    Schedule.objects.create(name=PULL_ORDERS_SCHEDULE, func="integration.tasks.pull_orders")
    schedules_ensure()
    assert Schedule.objects.filter(name=PULL_ORDERS_SCHEDULE).count() == 1


def test_a_held_lease_refuses_a_second_holder_until_it_expires():
    ttl = timedelta(minutes=5)
    assert lease_acquire(name="intake", holder="a", ttl=ttl)
    assert not lease_acquire(name="intake", holder="b", ttl=ttl)
    assert lease_acquire(name="intake", holder="a", ttl=ttl), "the holder may take it again"

    Lease.objects.filter(name="intake").update(expires_at=timezone.now() - timedelta(seconds=1))

    assert lease_acquire(name="intake", holder="b", ttl=ttl), "an expired lease is free"
    assert not lease_renew(name="intake", holder="a", ttl=ttl), "the old holder lost it"


def test_lease_context_releases_and_reports_when_taken():
    with lease("job", ttl=timedelta(minutes=1)) as first:
        assert first is not None
        with lease("job", ttl=timedelta(minutes=1)) as second:
            assert second is None
    assert not Lease.objects.filter(name="job").exists()


def test_old_vtex_call_records_are_pruned_and_recent_ones_kept():
    from integration.models import VtexCall
    from integration.services.housekeeping import vtex_calls_prune

    now = timezone.now()
    for age_days in (1, 29, 31, 400):
        VtexCall.objects.create(
            operation="get_order", method="GET", path=f"/{age_days}", created_at=now - timedelta(days=age_days)
        )

    assert vtex_calls_prune(older_than_days=30) == 2
    assert sorted(VtexCall.objects.values_list("path", flat=True)) == ["/1", "/29"]
