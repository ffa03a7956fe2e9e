"""Drifts between erp-bridge and VTEX found by reconciliation (issue 5), and the operator's
"Reconcile with VTEX now" button.

Read-only: reconciliation opens, refreshes and resolves drifts; people read them and act on the
order. The button is thin (STYLE.md §3.1, §3.7): one call to reconciliation_run, its outcome told
with messages.
"""

from __future__ import annotations

import math

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.admin.base import ReadOnlyAdmin
from integration.admin.filters import DriftStatusFilter
from integration.admin.links import order_url
from integration.admin.permissions import RETRY_SENDS, can_retry_sends
from integration.infra.rate_budget import vtex_budget_paused_for
from integration.infra.vtex_client import vtex_client
from integration.models import Drift
from integration.services.order_sync import error_message
from integration.services.reconciliation import reconciliation_run
from integration.vtex import VtexError

#: Errors of single orders listed in the message after a run; the rest are counted.
MAX_ERRORS_SHOWN = 5


@admin.register(Drift)
class DriftAdmin(ReadOnlyAdmin):
    list_display = ("order_column", "kind", "detail", "action", "found_at", "last_seen_at", "resolved_at")
    list_filter = (DriftStatusFilter, "kind")
    list_select_related = ("order",)
    search_fields = ("=order_id_text",)
    search_help_text = _("Exact VTEX order id.")
    date_hierarchy = "last_seen_at"
    change_list_template = "admin/integration/drift/change_list.html"
    fields = (
        ("order_column", "kind"),
        "detail",
        "action",
        ("found_at", "last_seen_at", "resolved_at"),
    )
    readonly_fields = ("order_column",)

    @admin.display(description=_("order"), ordering="order_id_text")
    def order_column(self, drift: Drift) -> str:
        if drift.order_id is None:
            return drift.order_id_text
        return format_html('<a href="{}">{}</a>', order_url(drift.order), drift.order_id_text)

    def changelist_view(self, request, extra_context=None):
        extra = {"can_reconcile": can_retry_sends(request), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def get_urls(self):
        # Before the default URLs: their "<path:object_id>/" catch-all would take it.
        return [
            path(
                "reconcile/",
                self.admin_site.admin_view(self.reconcile_view),
                name="integration_drift_reconcile",
            ),
            *super().get_urls(),
        ]

    def reconcile_view(self, request: HttpRequest) -> HttpResponse:
        """Compare every open order with VTEX now, in this request (an operator's deliberate
        action; the daily schedule does the same in the background)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(RETRY_SENDS):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:integration_drift_changelist"))
        wait = vtex_budget_paused_for()
        if wait > 0:
            # The client would wait the pause out inside this request; better to say so.
            messages.warning(
                request,
                gettext(
                    "VTEX asked erp-bridge to slow down (HTTP 429); reconciliation did not run. "
                    "Try again in %(seconds)s s."
                )
                % {"seconds": math.ceil(wait)},
            )
            return back
        try:
            result = reconciliation_run(client=vtex_client())
        except VtexError as exc:
            messages.error(
                request, gettext("Reconciliation with VTEX failed: %(error)s") % {"error": error_message(exc)}
            )
            return back
        level = messages.SUCCESS if not result.found and not result.errors else messages.WARNING
        messages.add_message(
            request, level, gettext("Reconciliation with VTEX done: %(summary)s.") % {"summary": result.summary()}
        )
        if result.errors:
            shown = "; ".join(f"{order_id}: {error}" for order_id, error in result.errors[:MAX_ERRORS_SHOWN])
            more = len(result.errors) - MAX_ERRORS_SHOWN
            if more > 0:
                text = gettext("Could not read from VTEX: %(errors)s; and %(more)s more.") % {
                    "errors": shown,
                    "more": more,
                }
            else:
                text = gettext("Could not read from VTEX: %(errors)s.") % {"errors": shown}
            messages.warning(request, text)
        return back
