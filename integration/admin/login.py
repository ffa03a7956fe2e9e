"""The admin login, with failed attempts throttled (issue 6: login attempts are throttled)."""

from __future__ import annotations

import math

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import ngettext

from integration.infra.login_throttle import login_failed, login_locked_until, login_succeeded


def client_address(request) -> str:
    # Behind a reverse proxy REMOTE_ADDR is the proxy; the proxy must set it right (see README).
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        locked_until = login_locked_until(username=username, address=address)
        if locked_until is not None:
            minutes = max(1, math.ceil((locked_until - timezone.now()).total_seconds() / 60))
            raise ValidationError(
                ngettext(
                    "Too many failed logins. Try again in %(minutes)s minute.",
                    "Too many failed logins. Try again in %(minutes)s minutes.",
                    minutes,
                )
                % {"minutes": minutes},
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            login_failed(username=username, address=address)
            raise
        login_succeeded(username=username)
        return cleaned
