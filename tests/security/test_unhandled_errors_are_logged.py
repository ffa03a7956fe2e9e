"""Issue 16, defect 8: an unhandled error of the admin or the hook is logged, with its traceback
and the request's id, also with DJANGO_DEBUG off (Django's own handlers print only in debug)."""

from __future__ import annotations

import io
import logging

import pytest
from django.test import Client
from django.urls import reverse

from erp_bridge.observability import RequestIdFilter

pytestmark = pytest.mark.django_db


def boom(*args, **kwargs):
    raise RuntimeError("a bug nobody saw coming")


@pytest.mark.parametrize("where", ["admin", "hook"])
def test_an_unhandled_error_is_logged_with_its_request_id(where, admin_user, settings, monkeypatch):
    # What the console handler that settings.LOGGING puts on django.request writes.
    console = next(
        handler
        for handler in logging.getLogger("django.request").handlers
        if any(isinstance(f, RequestIdFilter) for f in handler.filters)
    )
    written = io.StringIO()
    monkeypatch.setattr(console, "stream", written)
    settings.DEBUG = False
    settings.VTEX_HOOK_SECRET = "s3cret"
    client = Client(raise_request_exception=False)
    if where == "admin":
        # A method the list calls on each request (the URLs hold the view itself, bound once).
        monkeypatch.setattr("integration.admin.orders.OrderAdmin.get_queryset", boom)
        client.force_login(admin_user)
        response = client.get(reverse("admin:integration_order_changelist"), HTTP_X_REQUEST_ID="req-admin-1")
    else:
        monkeypatch.setattr("integration.views.hook_receive", boom)
        response = client.post("/vtex/hook/", b"{}", content_type="application/json", HTTP_X_REQUEST_ID="req-hook-1")

    assert response.status_code == 500
    logged = written.getvalue()
    assert "ERROR django.request [req-" in logged, logged[-2000:]
    assert response["X-Request-ID"] in logged
    assert "RuntimeError: a bug nobody saw coming" in logged  # the traceback
