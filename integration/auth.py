"""Logging in: the credentials erp-bridge itself publishes, refused in production.

The demo (`make demo`) creates the login admin / admin and the settings carry a development
secret key; both are printed in this repository, so anyone can try them. While DJANGO_DEBUG is
off, the demo password logs nobody in, and the system checks (integration/checks.py) report the
published key, a host wildcard and any staff user whose password is the demo's.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"  # noqa: S105 - the local demo's login, published on purpose
#: Passwords anyone can read in this repository: never accepted while DEBUG is off.
PUBLISHED_PASSWORDS = frozenset({DEMO_PASSWORD})


class NoPublishedPasswordBackend(ModelBackend):
    """Django's model backend, refusing the published passwords in production."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.DEBUG and password in PUBLISHED_PASSWORDS:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
