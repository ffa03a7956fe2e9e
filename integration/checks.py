"""System checks: production (DJANGO_DEBUG off) must not run with credentials this repository
publishes. `manage.py check --deploy` reports each as an error; the web process refuses to start
with the published key or a host wildcard (erp_bridge/wsgi.py, asgi.py)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from integration.auth import PUBLISHED_PASSWORDS

#: The development key printed in erp_bridge/settings.py.
PUBLISHED_SECRET_KEYS = frozenset({"dev-only-insecure-key-set-DJANGO_SECRET_KEY-in-production"})


def _settings_errors() -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    if settings.SECRET_KEY in PUBLISHED_SECRET_KEYS:
        errors.append(
            Error(
                "DJANGO_SECRET_KEY is the development key published in erp-bridge's settings.",
                hint="Set DJANGO_SECRET_KEY to a long random value of your own (the same for every process).",
                id="erp_bridge.E001",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "DJANGO_ALLOWED_HOSTS contains '*': any Host header is accepted, and links the API builds "
                "(pagination) follow it.",
                hint="List the host names erp-bridge is served under, e.g. DJANGO_ALLOWED_HOSTS=erp.example.com.",
                id="erp_bridge.E002",
            )
        )
    return errors


@register(Tags.security)
def published_credentials(app_configs=None, **kwargs) -> list[Error]:
    errors = _settings_errors()
    if settings.DEBUG:
        return errors
    try:
        users = list(get_user_model().objects.filter(is_active=True, is_staff=True))
    except DatabaseError:
        return errors  # no tables yet (before the first migrate): nothing to check
    weak = [user.get_username() for user in users if any(user.check_password(word) for word in PUBLISHED_PASSWORDS)]
    if weak:
        errors.append(
            Error(
                f"Staff user(s) {', '.join(sorted(weak))} have the demo's published password.",
                hint="Give them a password of their own (manage.py changepassword NAME); it logs nobody in while "
                "DJANGO_DEBUG is off.",
                id="erp_bridge.E003",
            )
        )
    return errors


def refuse_published_credentials() -> None:
    """For the web process at start: the settings' errors above stop it."""
    errors = _settings_errors()
    if errors:
        raise ImproperlyConfigured(" ".join(f"{error.msg} {error.hint}" for error in errors))
