"""Admin logins: django-axes locks a username from one address after five failures, so nobody locks
a real user out from elsewhere; behind the proxy the client's own address counts; staff unlock in
the admin. Issue 16, defect 3."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ana", password="right-password-123", is_staff=True)


def attempt(client, username, password, address="203.0.113.7", **headers):
    return client.post(
        "/admin/login/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **headers,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_after_five_failures_from_one_address_even_the_right_password_is_refused_there(client, staff):
    for _ in range(4):
        assert attempt(client, "ana", "wrong").status_code == 200
    assert attempt(client, "ana", "wrong").status_code == 429  # the fifth locks

    response = attempt(client, "ana", "right-password-123")

    assert response.status_code == 429 and not logged_in(client)
    assert "Too many failed logins. Try again in 15 minutes." in response.content.decode()


def test_the_same_user_still_logs_in_from_another_address(client, staff):
    for _ in range(5):
        attempt(client, "ana", "wrong", address="198.51.100.9")  # someone else, guessing

    response = attempt(client, "ana", "right-password-123", address="192.0.2.1")

    assert response.status_code == 302 and logged_in(client)


def test_a_few_failures_then_success_logs_in_and_clears_the_count(client, staff):
    for _ in range(4):
        attempt(client, "ana", "wrong")
    assert attempt(client, "ana", "right-password-123").status_code == 302
    assert not AccessAttempt.objects.filter(username="ana").exists()


def test_behind_the_proxy_each_client_counts_by_its_forwarded_address(client, staff, settings):
    # Every request comes from the proxy's address; the client's is in X-Forwarded-For.
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for _ in range(5):
        attempt(client, "ana", "wrong", address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.9, 10.0.0.2")

    locked = attempt(client, "ana", "right-password-123", address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.9, 10.0.0.2")
    other = attempt(client, "ana", "right-password-123", address=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 10.0.0.2")

    assert locked.status_code == 429
    assert other.status_code == 302


def test_the_lock_ends_with_its_cool_off(client, staff, settings):
    for _ in range(5):
        attempt(client, "ana", "wrong")
    settings.AXES_COOLOFF_TIME = timedelta(0)  # what waiting out the lockout does

    assert attempt(client, "ana", "right-password-123").status_code == 302


def test_staff_unlock_a_login_in_the_admin(client, admin_client, staff):
    for _ in range(5):
        attempt(client, "ana", "wrong")
    (locked,) = AccessAttempt.objects.filter(username="ana")

    listing = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "ana" in listing.content.decode()
    admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [locked.pk], "post": "yes"},
    )

    assert attempt(client, "ana", "right-password-123").status_code == 302
