"""Fixtures of the API tests: users with tokens and permissions, orders built as rows, no task queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import Order
from tests.factories import make_item, make_order

ALL_API_PERMISSIONS = ("view_order", "change_order", "enter_invoices", "request_cancellation")


@pytest.fixture(autouse=True)
def _no_task_queue(no_task_queue):
    """Outbox rows are written, but no django-q2 task is queued to send them."""


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """The throttle counts in the cache, which outlives a test (the database does not)."""
    cache.clear()
    yield
    cache.clear()


def user_with(*codenames: str, username: str | None = None) -> User:
    user = User.objects.create_user(username=username or f"erp-{User.objects.count() + 1}")  # no password: no hashing
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="integration", codename__in=codenames))
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def erp_user(db) -> User:
    return user_with(*ALL_API_PERMISSIONS, username="erp")


@pytest.fixture
def api(erp_user) -> APIClient:
    """A client authenticated as a user with every API permission."""
    return client_for(erp_user)


@pytest.fixture
def make_client(db) -> Callable[..., APIClient]:
    """make_client("view_order") → a client whose user has only these permissions."""
    return lambda *codenames: client_for(user_with(*codenames))


def acknowledged_order(**fields: Any) -> Order:
    """Start-handling confirmed, ready to invoice.

    items: 0: 2 × 5000 · 1: 1 × 2990 · 2: 3 × 1000 (list 1200); shipping 1500; total 17490.
    """
    values: dict[str, Any] = {
        "vtex_status": "handling",
        "state": Order.State.HANDLING,
        "total_cents": 17_490,
        "items_total_cents": 16_590,
        "discounts_total_cents": -600,
        "shipping_total_cents": 1_500,
    }
    values.update(fields)
    order = make_order(**values)
    for sku_id, name, quantity, price in (("3021", "Camiseta azul M", 2, 5000), ("4410", "Boné preto", 1, 2990)):
        make_item(
            order,
            sku_id=sku_id,
            name=name,
            quantity=quantity,
            unit_price_cents=price,
            list_price_cents=price,
            selling_price_cents=price,
        )
    make_item(
        order,
        sku_id="5120",
        name="Meia",
        quantity=3,
        unit_price_cents=1200,
        list_price_cents=1200,
        selling_price_cents=1000,
    )
    return order


@pytest.fixture
def order(db) -> Order:
    return acknowledged_order()


def assert_error(response, status: int, code: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """The response is an error of this status and code; each named field's messages contain the text."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == code, error
    assert error["message"]
    for name, text in (fields or {}).items():
        assert name in error["fields"], (name, error["fields"])
        assert any(text in message for message in error["fields"][name]), (name, error["fields"][name])
    return error
