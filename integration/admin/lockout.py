"""The page django-axes answers with while a login is locked out (AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext, ngettext


def login_locked(request, original_response=None, credentials=None) -> HttpResponse:
    minutes = max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    message = ngettext(
        "Too many failed logins. Try again in %(minutes)s minute.",
        "Too many failed logins. Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}
    context = {**admin.site.each_context(request), "title": gettext("Log in"), "message": message}
    # Rendered now: django-axes reads the response after its middleware, not through the template machinery.
    page = render_to_string("admin/login_locked.html", context, request=request)
    return HttpResponse(page, status=settings.AXES_HTTP_RESPONSE_CODE)
