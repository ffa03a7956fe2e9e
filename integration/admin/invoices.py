"""The invoice admin: the list, and the invoice page with its tracking, events, delivery and sends.

Invoices are entered on their order (integration.admin.views.order_add_invoice). This page reads
them (every model field read only) and offers their tracking, events and delivery, and Retry of a
refused send, each a form posting to its own view (integration.admin.views).

Permissions: integration.enter_invoices (tracking, events, delivery), integration.retry_sends.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import flatten_fieldsets, quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import Media
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integration.admin import bulk, views
from integration.admin.base import ReadOnlyAdmin, admin_page, day_and_hour, sentence, store_datetime
from integration.admin.exports import EXPORT_SELECTED_INVOICES, CsvExportMixin
from integration.admin.filters import DeliveredFilter
from integration.admin.forms import DeliveredForm, TrackingEventFormSet, TrackingForm, now_to_the_minute
from integration.admin.inlines import InvoiceItemInline, TrackingEventInline
from integration.admin.links import REFUSED_ANCHOR, order_link
from integration.admin.money import format_order_cents
from integration.admin.outbox import refused_sends, send_row
from integration.admin.permissions import can_enter_invoices, can_retry_sends
from integration.admin.queue import with_list_filters
from integration.models import Invoice, SendState
from integration.selectors.exports import invoice_export_csv
from integration.selectors.queue import invoice_vtex_carrier
from integration.services.tracking import invoice_tracking_blocker


@admin.register(Invoice)
class InvoiceAdmin(CsvExportMixin, ReadOnlyAdmin):
    #: Short labels and dates on two lines, so that the list fits 1280 px in pt-BR too.
    list_display = (
        "order_column",
        "number",
        "kind",
        "value",
        "issued",
        "sending_column",
        "shipping",
    )
    list_display_links = ("number",)
    list_filter = ("send_state", "kind", DeliveredFilter)
    list_select_related = ("order",)
    search_fields = ("number", "order__order_id", "tracking_number")
    search_help_text = _("Invoice number, order id or tracking number.")
    list_per_page = 50
    inlines = (InvoiceItemInline, TrackingEventInline)
    actions = ("export_csv",)
    change_form_template = "admin/integration/invoice/change_form.html"
    fieldsets = (
        (
            _("Invoice"),
            {
                "fields": (
                    ("order_column", "number"),
                    ("kind", "value"),
                    ("issued_at", "created_at"),
                    "access_key",
                    "nfe_column",
                    "url_link",
                    "embedded_xml_text",
                )
            },
        ),
        (
            _("Shipping"),
            {"fields": (("courier", "tracking_number"), "tracking_url", ("dispatched_at", "delivered_at"))},
        ),
        (_("VTEX"), {"fields": (("send_state", "vtex_receipt"), ("created_by", "created_via"))}),
    )
    readonly_fields = ("order_column", "value", "nfe_column", "url_link", "embedded_xml_text")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "created_by")

    def get_urls(self):
        # Before the default URLs: their "<path:object_id>/" catch-all would take these.
        return [
            *self.export_csv_urls(),
            admin_page(self, "import-tracking/", bulk.import_tracking, "integration_invoice_import_tracking"),
            admin_page(self, "import-nfe/", views.invoice_import_nfe_files, "integration_invoice_import_nfe"),
            admin_page(self, "<path:object_id>/tracking/", views.invoice_tracking, "integration_invoice_tracking"),
            admin_page(
                self,
                "<path:object_id>/tracking-events/",
                views.invoice_tracking_events,
                "integration_invoice_tracking_events",
            ),
            admin_page(self, "<path:object_id>/delivered/", views.invoice_delivered, "integration_invoice_delivered"),
            admin_page(self, "<path:object_id>/danfe/", views.invoice_danfe, "integration_invoice_danfe"),
            admin_page(self, "<path:object_id>/nfe-xml/", views.invoice_nfe_xml, "integration_invoice_nfe_xml"),
            admin_page(
                self,
                "<path:object_id>/outbox/<int:message_id>/retry/",
                views.invoice_retry,
                "integration_invoice_retry",
            ),
            *super().get_urls(),
        ]

    csv_export = staticmethod(invoice_export_csv)

    @admin.action(description=EXPORT_SELECTED_INVOICES, permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Invoice]):
        return self.export_selected(request, queryset)

    # ---- columns and fields ----------------------------------------------------------------------------

    @admin.display(description=_("order"), ordering="order__order_id")
    def order_column(self, invoice: Invoice) -> str:
        return order_link(invoice.order)

    @admin.display(description=_("value"), ordering="value_cents")
    def value(self, invoice: Invoice) -> str:
        return format_order_cents(invoice.value_cents, invoice.order)

    @admin.display(description=_("issued"), ordering="issued_at")
    def issued(self, invoice: Invoice) -> str:
        return day_and_hour(invoice.issued_at)

    @admin.display(description=_("tracking"), ordering="tracking_number")
    def shipping(self, invoice: Invoice) -> str:
        """The tracking number and, once delivered, the day of the delivery under it (store time)."""
        number = invoice.tracking_number or "-"
        if invoice.delivered_at is None:
            return number
        day = formats.date_format(timezone.localtime(invoice.delivered_at), "SHORT_DATE_FORMAT")
        return format_html(
            '{} <span class="delivered">{}</span>', number, gettext("Delivered on %(day)s") % {"day": day}
        )

    @admin.display(description=_("sending"), ordering="send_state")
    def sending_column(self, invoice: Invoice) -> str:
        if invoice.send_state == SendState.FAILED:
            # Said as what it means for the clerk, in red: VTEX does not have this invoice.
            return format_html(
                '<span class="badge badge-danger" title="{}">{}</span>',
                invoice.get_send_state_display(),
                gettext("Refused by VTEX"),
            )
        return invoice.get_send_state_display()

    @admin.display(description=_("NF-e"))
    def nfe_column(self, invoice: Invoice) -> str:
        """For an invoice imported from its NF-e: its series, the homologation mark, the DANFE and the XML."""
        if not invoice.nfe_xml:
            return gettext("Not imported from an NF-e")
        pk = quote(invoice.pk)
        homologation = (
            format_html(' <strong class="nfe-homologation">{}</strong>', gettext("Homologation NF-e: no fiscal value."))
            if invoice.nfe_homologation
            else ""
        )
        return format_html(
            '{}{} · <a href="{}" id="download-danfe">{}</a> · <a href="{}" id="download-nfe-xml">{}</a>',
            gettext("Series %(series)s.") % {"series": invoice.nfe_series or "-"},
            homologation,
            reverse("admin:integration_invoice_danfe", args=[pk]),
            gettext("Download the DANFE (PDF)"),
            reverse("admin:integration_invoice_nfe_xml", args=[pk]),
            gettext("Download the NF-e XML"),
        )

    def get_search_results(self, request, queryset, search_term):
        """An invoice number matches exactly before any substring ("123" is NF 123, not 1234)."""
        term = search_term.strip()
        if term:
            exact = queryset.filter(number__iexact=term)
            if exact.exists():
                return exact, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("invoice URL"))
    def url_link(self, invoice: Invoice) -> str:
        if not invoice.url:
            return "-"
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', invoice.url, invoice.url)

    @admin.display(description=_("embedded XML"))
    def embedded_xml_text(self, invoice: Invoice) -> str:
        if not invoice.embedded_xml:
            return "-"
        size = len(invoice.embedded_xml)
        return format_html(
            '<details><summary>{}</summary><pre style="white-space: pre-wrap">{}</pre></details>',
            ngettext("Show the XML (%(count)s character)", "Show the XML (%(count)s characters)", size)
            % {"count": size},
            invoice.embedded_xml,
        )

    # ---- the page: read-only fields plus the tracking forms and the sends -------------------------------

    def changelist_view(self, request, extra_context=None):
        context = {"can_enter_invoices": can_enter_invoices(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invoice = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if invoice is not None:
            context = {**self.page_context(request, invoice), **context}
        return super().change_view(request, object_id, form_url, context)

    def page_context(self, request: HttpRequest, invoice: Invoice) -> dict[str, object]:
        """The page's own part, with empty forms: a refused POST puts its bound form in their place."""
        blocker = invoice_tracking_blocker(invoice)
        if not blocker and not invoice.tracking_number:
            events_blocker = gettext("Enter the tracking number first: VTEX takes no events or delivery before it.")
        else:
            events_blocker = blocker
        pk = quote(invoice.pk)
        rows = [send_row(message) for message in invoice.outbox_messages.order_by("id")]
        return {
            "can_enter_invoices": can_enter_invoices(request),
            "can_retry_sends": can_retry_sends(request),
            "tracking_blocker": blocker,
            "events_blocker": events_blocker,
            "tracking_form": TrackingForm(
                initial={
                    "tracking_number": invoice.tracking_number,
                    "tracking_url": invoice.tracking_url,
                    # What VTEX chose for the invoice's items until a carrier is entered (issue 19).
                    "courier": invoice.courier or invoice_vtex_carrier(invoice),
                    "dispatched_at": invoice.dispatched_at,
                }
            ),
            "events_formset": TrackingEventFormSet(prefix="events"),
            "events_errors": [],
            "delivered_form": DeliveredForm(initial={"delivered_at": now_to_the_minute()}),
            "delivered_text": sentence(
                gettext("Delivered on %(when)s") % {"when": store_datetime(invoice.delivered_at)}
            )
            if invoice.delivered_at
            else "",
            "send_rows": rows,
            "refused_rows": refused_sends(invoice, rows),
            "refused_anchor": REFUSED_ANCHOR,
            # The list's filters travel with each form, so the page comes back as it was reached.
            "tracking_action": with_list_filters(
                request, self, reverse("admin:integration_invoice_tracking", args=[pk])
            ),
            "events_action": with_list_filters(
                request, self, reverse("admin:integration_invoice_tracking_events", args=[pk])
            ),
            "delivered_action": with_list_filters(
                request, self, reverse("admin:integration_invoice_delivered", args=[pk])
            ),
        }

    def invoice_page(
        self, request: HttpRequest, object_id: str, invoice: Invoice, forms: dict[str, object]
    ) -> HttpResponse:
        """The page as its GET shows it, with `forms` (a refused form and its errors) in place of the
        empty ones: the answer to a refused POST of one of its forms.

        change_view cannot show it from that POST: its POST path binds the invoice's own form to
        save it, and this page saves nothing of its own. So the page is put together here as
        change_view puts it together for a view-only GET, from the ModelAdmin's public parts.
        """
        if not self.has_view_or_change_permission(request, invoice):
            raise PermissionDenied
        fieldsets = self.get_fieldsets(request, invoice)
        fields = flatten_fieldsets(fieldsets)
        form = self.get_form(request, invoice, change=True, fields=fields)(instance=invoice)
        admin_form = helpers.AdminForm(form, list(fieldsets), {}, fields, model_admin=self)
        inlines = self.get_inline_instances(request, invoice)
        formsets = [
            inline.get_formset(request, invoice)(instance=invoice, queryset=inline.get_queryset(request))
            for inline in inlines
        ]
        inline_formsets = self.get_inline_formsets(request, formsets, inlines, invoice)
        media = sum((inline.media for inline in inline_formsets), self.media + admin_form.media + Media())
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("View %s") % self.opts.verbose_name,
            "subtitle": str(invoice),
            "adminform": admin_form,
            "object_id": object_id,
            "original": invoice,
            "is_popup": IS_POPUP_VAR in request.GET,
            "to_field": None,
            "media": media,
            "inline_admin_formsets": inline_formsets,
            "errors": helpers.AdminErrorList(form, formsets),
            "preserved_filters": self.get_preserved_filters(request),
            **self.page_context(request, invoice),
            **forms,
        }
        return self.render_change_form(request, context, change=True, obj=invoice)
