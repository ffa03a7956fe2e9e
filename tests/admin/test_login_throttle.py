"""Admin login attempts are throttled per username and per address, with a clear message."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import LoginThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ana", password="right-password-123", is_staff=True)


def attempt(client, username, password, address="203.0.113.7"):
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def test_after_five_failures_even_the_right_password_is_refused_for_a_while(client, staff):
    for _ in range(5):
        assert attempt(client, "ana", "wrong").status_code == 200

    response = attempt(client, "ana", "right-password-123")

    assert response.status_code == 200, "not logged in"
    assert "Too many failed logins. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_ends_with_its_window(client, staff):
    for _ in range(5):
        attempt(client, "ana", "wrong")
    LoginThrottle.objects.update(locked_until=timezone.now() - timedelta(seconds=1))

    response = attempt(client, "ana", "right-password-123")

    assert response.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)
    assert not LoginThrottle.objects.filter(key="user:ana").exists(), "a success clears the user's count"


def test_a_few_failures_then_success_logs_in(client, staff):
    for _ in range(4):
        attempt(client, "ana", "wrong")
    assert attempt(client, "ana", "right-password-123").status_code == 302


def test_one_address_trying_many_usernames_is_locked(client, staff, settings):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    for number in range(6):
        attempt(client, f"guess{number}", "wrong", address="198.51.100.9")

    refused = attempt(client, "ana", "right-password-123", address="198.51.100.9")
    elsewhere = attempt(client, "ana", "right-password-123", address="192.0.2.1")

    assert "Too many failed logins" in refused.content.decode()
    assert elsewhere.status_code == 302
