"""Fixtures of the security tests: the four roles, the staff groups as the migrations define them,
a fake VTEX that answers every call (so nothing leaves the machine) and no task queue."""

from __future__ import annotations

import json
import re
from importlib import import_module

import pytest
import responses
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache

ANONYMOUS = "anonymous"
STAFF = "staff"  # is_staff, no group, no permission
BACK_OFFICE = "Back office"
INTEGRATION_ADMIN = "Integration admin"
ROLES = (ANONYMOUS, STAFF, BACK_OFFICE, INTEGRATION_ADMIN)

#: The fake VTEX's hosts (tests.conftest.vtex_settings).
FAKE_VTEX_URL = re.compile(r"https://teststore\.vtex(commercestable|payments)\.com\.br/.*")


def migration_groups() -> dict[str, dict[str, list[str]]]:
    """The staff groups' permissions as the data migration grants them."""
    groups = import_module("integration.migrations.0002_staff_groups").GROUPS
    return {name: {app: list(codenames) for app, codenames in apps.items()} for name, apps in groups.items()}


def ensure_staff_groups() -> dict[str, Group]:
    """The two groups. Their rows come from data migrations, which a transactional test elsewhere in
    the run may have emptied; then they are put back from the migrations' own definitions."""
    groups = {}
    for name, wanted in migration_groups().items():
        group, created = Group.objects.get_or_create(name=name)
        if created:
            for app_label, codenames in wanted.items():
                permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
                assert permissions.count() == len(codenames), f"permissions missing for {name!r}"
                group.permissions.add(*permissions)
        groups[name] = group
    return groups


@pytest.fixture
def staff_groups(db) -> dict[str, Group]:
    return ensure_staff_groups()


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """Outbox rows are written, but no django-q2 task is queued to send them."""


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The API throttle counts in the cache, which outlives a test."""
    cache.clear()
    yield
    cache.clear()


def not_found_answer(request):
    return 404, {"Content-Type": "application/json"}, json.dumps({"error": {"code": "404", "message": "Not here"}})


@pytest.fixture
def fake_vtex(vtex_settings):
    """VTEX answers 404 to everything (a refusal, never retried); any other host raises. Tests see
    what reached VTEX in mock.calls and in the VtexCall rows."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            mock.add_callback(method, FAKE_VTEX_URL, callback=not_found_answer)
        yield mock
