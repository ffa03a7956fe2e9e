"""Helpers shared by the security tests."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables staff could touch through the admin or the API, permission links
    included, read with plain SQL (fast, and blind to what the models would hide)."""
    models = [
        *apps.get_app_config("integration").get_models(),
        *apps.get_app_config("django_q").get_models(),
        User,
        Group,
        Token,
        User.groups.through,
        User.user_permissions.through,
        Group.permissions.through,
        Permission,
    ]
    rows = {}
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")
            rows[table] = cursor.fetchall()
    return rows


def local_input(moment) -> str:
    """A time as the admin's datetime-local fields take it (store time, to the minute)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]
