"""Cancellation requests, read only: they are made on the order (its button, or the list's action)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integration.admin.base import ReadOnlyAdmin
from integration.admin.inlines import requested_by
from integration.admin.links import order_link
from integration.models import CancellationRequest


@admin.register(CancellationRequest)
class CancellationRequestAdmin(ReadOnlyAdmin):
    list_display = ("order_column", "state", "reason", "who", "requested_at", "vtex_answer")
    list_filter = ("state",)
    list_select_related = ("order", "requested_by")
    search_fields = ("order__order_id",)
    search_help_text = _("Order id.")
    date_hierarchy = "requested_at"
    fields = (
        ("order_column", "state"),
        "reason",
        ("who", "requested_at"),
        ("vtex_receipt", "confirmed_at"),
        "vtex_answer",
    )
    readonly_fields = ("order_column", "who")

    @admin.display(description=_("order"), ordering="order__order_id")
    def order_column(self, row: CancellationRequest) -> str:
        return order_link(row.order)

    @admin.display(description=_("requested by"))
    def who(self, row: CancellationRequest) -> str:
        return requested_by(row)
