"""Who may call what, and how often.

The API uses the same Django permissions as the admin, so one user (or group) setting covers both:
an ERP user in the "Back office" group can do through the API what back-office staff do in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Permission
from django.utils.translation import gettext, gettext_lazy
from rest_framework.permissions import BasePermission
from rest_framework.throttling import UserRateThrottle

VIEW_ORDERS = "integration.view_order"
ACKNOWLEDGE_ORDERS = "integration.change_order"
ENTER_INVOICES = "integration.enter_invoices"
REQUEST_CANCELLATION = "integration.request_cancellation"


def permission_label(perm: str) -> str:
    app_label, _, codename = perm.partition(".")
    name = (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .values_list("name", flat=True)
        .first()
    )
    return f"“{name}” ({perm})" if name else perm


class HasRequiredPermission(BasePermission):
    """Allows the request when the user has the permission the view names in `required_permission`.

    Closed by default: a view that names none is refused. Anonymous requests get 401 (DRF turns a
    refusal without credentials into NotAuthenticated), authenticated ones without the permission 403.
    """

    message = gettext_lazy("Your user lacks the permission this endpoint needs.")

    def has_permission(self, request, view) -> bool:
        perm = getattr(view, "required_permission", None)
        user = request.user
        if not (perm and user and user.is_authenticated):
            return False
        if user.has_perm(perm):
            return True
        self.message = gettext("Your user lacks the permission %(permission)s this endpoint needs.") % {
            "permission": permission_label(perm)
        }
        return False


class ApiUserThrottle(UserRateThrottle):
    """Per-user request budget, settings.API_THROTTLE_RATE (read per request, so tests can change it)."""

    scope = "erp_api"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE
