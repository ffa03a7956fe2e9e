"""The CSV downloads of the order and invoice lists (issue 8 §3): an action for the selected rows and
a button for the whole filtered list. What goes in the file is integration.selectors.exports.

Both need only the view permission: an export shows what the list already shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integration.selectors.exports import CsvExport

# Two sentences, not one with the model's name in it: Portuguese agrees the adjective with the noun
# ("pedidos selecionados", "notas fiscais selecionadas").
EXPORT_SELECTED_ORDERS = gettext_lazy("Export selected orders to CSV")
EXPORT_SELECTED_INVOICES = gettext_lazy("Export selected invoices to CSV")


def csv_download(export: CsvExport) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    # A customer list must not stay in a shared proxy's or the browser's cache.
    response["Cache-Control"] = "no-store"
    return response


class CsvExportMixin:
    """For a ModelAdmin: the "export the filtered list" URL (``<app>_<model>_export_csv``) and the
    helpers of its export action, which each admin declares with its own wording."""

    #: The service that writes the file: staticmethod(order_export_csv) or staticmethod(invoice_export_csv).
    csv_export: Callable[..., CsvExport]

    # Provided by ModelAdmin.
    admin_site: admin.AdminSite
    opts: Any

    def export_csv_urls(self) -> list:
        return [
            path(
                "export-csv/",
                self.admin_site.admin_view(self.export_list_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_export_csv",
            )
        ]

    def export_selected(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        return csv_download(self.csv_export(queryset=queryset, actor=request.user))

    def export_list_view(self, request: HttpRequest) -> HttpResponse:
        """Every row of the list as filtered and searched (the list's own query string), on all pages."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        query = request.GET.copy()
        query.pop(PAGE_VAR, None)  # every page, not the one the button was pressed on
        request.GET = query
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{changelist_url}?{ERROR_FLAG}=1")
        queryset = changelist.get_queryset(request)
        if not queryset.exists():
            messages.info(request, _("Nothing to export: no row matches these filters."))
            return HttpResponseRedirect(f"{changelist_url}?{query.urlencode()}" if query else changelist_url)
        return csv_download(self.csv_export(queryset=queryset, actor=request.user))
