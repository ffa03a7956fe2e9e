"""The back office's own permissions (integration/models, Meta.permissions), beyond Django's
view/change of each model: who may enter invoices, tracking and delivery, request cancellations,
and retry sends to VTEX (and reconcile)."""

from __future__ import annotations

from django.http import HttpRequest

ENTER_INVOICES = "integration.enter_invoices"
REQUEST_CANCELLATION = "integration.request_cancellation"
RETRY_SENDS = "integration.retry_sends"


def can_enter_invoices(request: HttpRequest) -> bool:
    return request.user.has_perm(ENTER_INVOICES)


def can_request_cancellation(request: HttpRequest) -> bool:
    return request.user.has_perm(REQUEST_CANCELLATION)


def can_retry_sends(request: HttpRequest) -> bool:
    return request.user.has_perm(RETRY_SENDS)
