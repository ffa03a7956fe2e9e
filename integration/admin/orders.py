"""The order admin: the list, the order page with its staff edits, and its buttons and actions.

Thin by design (STYLE.md §3.1, §3.7): edits go through order_update_local_fields; the buttons
and actions (refresh from VTEX, retry start-handling, add invoice, request cancellation) are in
integration.admin.views and integration.admin.actions, each one service call per order.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, quote
from django.contrib.admin.views.main import ChangeList
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integration.admin import bulk, views
from integration.admin.actions import refresh_from_vtex, request_cancellation, retry_start_handling
from integration.admin.base import admin_page, day_and_hour
from integration.admin.exports import EXPORT_SELECTED_ORDERS, CsvExportMixin
from integration.admin.filters import (
    NeedsAttentionFilter,
    StartHandlingFilter,
    StuckFilter,
    VtexStatusFilter,
    WorkQueueFilter,
)
from integration.admin.inlines import (
    CancellationRequestInline,
    InvoiceInline,
    ItemFulfillmentInline,
    OrderChangeInline,
    OrderItemInline,
    PaymentInline,
)
from integration.admin.links import REFUSED_ANCHOR, invoice_url, order_url
from integration.admin.money import format_order_cents
from integration.admin.outbox import outbox_error_display
from integration.admin.permissions import can_enter_invoices, can_request_cancellation
from integration.admin.picking import print_picking_list
from integration.admin.queue import queue_links, with_list_filters
from integration.admin.timeline import order_timeline
from integration.models import Invoice, Order, SendState
from integration.selectors.exports import document_text, order_export_csv
from integration.selectors.labels import DOCUMENT_TYPES, coded_text, vtex_status_text
from integration.selectors.queue import (
    order_delivery,
    order_invoices,
    order_list_prefetches,
    order_refused_invoices,
    order_refused_sends,
    work_queue_ordering,
)
from integration.selectors.sellers import order_fulfilled_elsewhere, order_seller_label, order_siblings
from integration.selectors.start_handling import StartHandlingState, order_start_handling, start_handling_prefetch
from integration.services.cancellation import order_cancellation_blocker
from integration.services.invoicing import invoice_kinds_open, order_invoicing_blocker
from integration.services.orders import STAFF_EDITABLE_FIELDS, order_update_local_fields
from integration.vtex.statuses import CANCELED

#: "seq123", "seq 123", "seq#123": the sequence as staff say it (the number alone works too).
SEQUENCE_TERM = re.compile(r"seq\s*[#:-]?\s*(\d+)", re.IGNORECASE)
#: A CPF/CNPJ (or state registration) typed with punctuation, e.g. 123.456.789-09 or
#: 12.345.678/0001-95; letters for the alphanumeric CNPJ (12.ABC.345/01DE-35).
DOCUMENT_TERM = re.compile(r"[\dA-Za-z./\-\s]*\d[\dA-Za-z./\-\s]*")
#: The punctuation stripped from such a term (the stored CPF/CNPJ has none).
DOCUMENT_PUNCTUATION = re.compile(r"[./\-\s]")

# ---- the list's status column ------------------------------------------------------------------------------

#: Badge colours (integration/static/integration/admin.css) of the local state and of start-handling.
STATE_TONES = {
    Order.State.RECEIVED: "neutral",
    Order.State.HANDLING: "info",
    Order.State.PARTIALLY_INVOICED: "info",
    Order.State.INVOICED: "success",
    Order.State.SHIPPED: "success",
    Order.State.DELIVERED: "success",
    Order.State.CANCELLATION_REQUESTED: "warning",
    Order.State.CANCELED: "neutral",
    Order.State.REPLACED: "neutral",
}
START_HANDLING_TONES = {
    StartHandlingState.PENDING: "neutral",
    StartHandlingState.SENDING: "info",
    StartHandlingState.DONE: "success",
    StartHandlingState.FAILED: "danger",
}


def badge(text: str, tone: str, *, title: str = "") -> str:
    """A small coloured label; the text says it all, the colour only helps to scan a list."""
    return format_html(
        '<span class="badge badge-{}"{}>{}</span>', tone, format_html(' title="{}"', title) if title else "", text
    )


def order_status_badges(order: Order) -> str:
    """The list's status column: the local state, VTEX's status under it, and start-handling when
    it is not done (the usual case says nothing)."""
    refused = order_refused_invoices(order)  # prefetched by the list
    if refused:
        # Never a green "Invoiced" beside an invoice VTEX did not take: the refusal is the state.
        numbers = ", ".join(invoice.number for invoice in refused)
        parts = [
            badge(gettext("Refused by VTEX"), "danger", title=gettext("Invoice %(numbers)s") % {"numbers": numbers})
        ]
    else:
        state_label = str(order.get_state_display())
        # "Received (VTEX not yet told)": the ack line says the rest. Every translation keeps the
        # explanation in parentheses after the short label, so the cut works in each language.
        short = state_label.split(" (")[0]
        title = state_label if short != state_label else ""
        parts = [badge(short, STATE_TONES.get(order.state, "neutral"), title=title)]
    start_handling = order_start_handling(order)  # its outbox row, prefetched by the list
    if order_fulfilled_elsewhere(order):
        # Never acknowledged from here: its seller handles it.
        seller = badge(order_seller_label(order), "neutral")
        parts.append(format_html('<span class="vtex-status">{} {}</span>', gettext("Seller:"), seller))
    # Not said of an order VTEX canceled: it will never be handled.
    elif start_handling.state != StartHandlingState.DONE and order.vtex_status not in CANCELED:
        parts.append(
            format_html(
                '<span class="vtex-status">{} {}</span>',
                gettext("Start-handling:"),
                badge(start_handling.label, START_HANDLING_TONES[start_handling.state], title=start_handling.error),
            )
        )
    parts.append(
        format_html('<span class="vtex-status">{} {}</span>', gettext("VTEX:"), vtex_status_text(order.vtex_status))
    )
    parts.extend(invoice_lines(order))
    return format_html('<div class="status-cell">{}</div>', format_html_join("", "{}", ((part,) for part in parts)))


def invoice_lines(order: Order) -> list[str]:
    """Each invoice (NF) number with its tracking code beside it, under the order's status: they
    say where the order stands, and a column of their own would not fit 1280 px beside the filters.
    One VTEX refused is marked so."""
    lines = []
    for invoice in order_invoices(order):  # prefetched by the list
        if invoice.send_state == SendState.FAILED:
            number = format_html(
                '<span class="refused" title="{}">{} ✕</span>', gettext("Refused by VTEX"), invoice.number
            )
        else:
            number = invoice.number
        tracking = (
            format_html(' · <span class="tracking">{}</span>', invoice.tracking_number)
            if invoice.tracking_number
            else ""
        )
        lines.append(format_html('<span class="invoice-line">{} {}{}</span>', gettext("NF"), number, tracking))
    return lines


# ---- the order page's invoice and cancellation buttons ---------------------------------------------------------


def invoicing_context(request: HttpRequest, order: Order, model_admin: admin.ModelAdmin) -> dict[str, object]:
    """What the order page needs for its two buttons: each shows, or why it cannot (or nothing
    for staff without the permission). The invoice link carries the list's filters, so that the
    clerk comes back to the same list (and "Save and go to the next" walks it)."""
    context: dict[str, object] = {
        "can_enter_invoices": can_enter_invoices(request),
        "can_request_cancellation": can_request_cancellation(request),
    }
    if context["can_enter_invoices"]:
        kinds = invoice_kinds_open(order)
        url = reverse("admin:integration_order_add_invoice", args=[quote(order.pk)])
        if Invoice.Kind.OUTPUT in kinds:
            context["add_invoice_label"] = gettext("Add invoice")
            context["add_invoice_url"] = with_list_filters(request, model_admin, url)
        elif Invoice.Kind.INPUT in kinds:  # the page would open on a return anyway: the button says so
            context["add_invoice_label"] = gettext("Add return invoice")
            context["add_invoice_url"] = with_list_filters(
                request, model_admin, f"{url}?{urlencode({'kind': Invoice.Kind.INPUT})}"
            )
        context["import_nfe_url"] = reverse("admin:integration_order_import_nfe", args=[quote(order.pk)])
        if not kinds:
            context["invoicing_blocker"] = order_invoicing_blocker(order) or views.nothing_left_to_invoice()
    if context["can_request_cancellation"]:
        context["cancellation_blocker"] = order_cancellation_blocker(order)
        context["request_cancellation_url"] = reverse(
            "admin:integration_order_request_cancellation", args=[quote(order.pk)]
        )
    return context


# ---- the admin -------------------------------------------------------------------------------------------------


class OrderChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # The list never shows the VTEX JSON (about 15 KB an order): not read, not decoded.
        queryset = super().get_queryset(request, exclude_parameters).defer("raw")
        # Start-handling, invoices and per-item delivery: three queries for the page, whatever its size.
        return queryset.prefetch_related(start_handling_prefetch(), *order_list_prefetches())


@admin.register(Order)
class OrderAdmin(CsvExportMixin, admin.ModelAdmin):
    # Fits 1280 px beside the admin's menu and the filters: the local state, VTEX's status and
    # start-handling (only when not done) share one column of badges; money and ids never wrap.
    list_display = (
        "order",
        "customer",
        "total",
        "status",
        "created",
    )
    list_display_links = ("order",)
    list_filter = (
        WorkQueueFilter,
        StuckFilter,
        NeedsAttentionFilter,
        VtexStatusFilter,
        "state",
        StartHandlingFilter,
        "created_at_vtex",
    )
    # No date_hierarchy: its year links cost a DISTINCT over every order on each page (1.2 s at
    # 100k orders on SQLite); the "created at VTEX" filter gives the same ranges. The full count
    # beside a filtered count is a second COUNT(*) of every order: not shown.
    show_full_result_count = False
    search_fields = (
        "order_id",
        "sequence",
        "customer_name",
        "customer_email",
        "customer_document",
        "customer_corporate_name",
        "customer_trade_name",
        "customer_state_inscription",
    )
    search_help_text = _(
        "Order id, sequence (123 or seq123), invoice (NF) number, customer name, e-mail, company name, trade name, "
        "CPF/CNPJ or state registration (with or without dots)."
    )
    list_per_page = 50
    inlines = (
        OrderItemInline,
        ItemFulfillmentInline,
        OrderChangeInline,
        PaymentInline,
        InvoiceInline,
        CancellationRequestInline,
    )
    actions = (refresh_from_vtex, retry_start_handling, request_cancellation, "export_csv", print_picking_list)
    change_form_template = "admin/integration/order/change_form.html"
    change_list_template = "admin/integration/order/change_list.html"

    # The page opens on what the clerk works with: the customer, the items (the template puts
    # them right under the customer), the delivery and the address, the status. The integration's
    # internals (ids, group, channel, start-handling attempts, dates, VTEX's JSON) are folded at the
    # bottom ("collapse": the template renders those fieldsets after the tables, by their class).
    fieldsets = (
        (
            _("Customer"),
            {
                "classes": ("order-customer",),
                "fields": (
                    ("customer_name", "customer_email"),
                    ("document_type_label", "buyer_document", "customer_document_check"),
                    "customer_phone",
                    ("customer_is_corporate", "customer_corporate_name"),
                    ("customer_trade_name", "customer_state_inscription"),
                    "customer_corporate_phone",
                ),
            },
        ),
        (_("Delivery"), {"fields": ("delivery_summary",)}),
        (
            _("Shipping address"),
            {
                "description": _(
                    "Corrections are kept: once edited, a refresh from VTEX no longer overwrites the "
                    "address (VTEX's original stays in the order JSON)."
                ),
                "fields": (
                    ("delivery_channel", "address_type"),
                    "receiver_name",
                    ("postal_code", "country"),
                    ("street", "number"),
                    ("complement", "neighborhood"),
                    ("city", "state_code"),
                    "shipping_address_edited",
                ),
            },
        ),
        (_("Pickup"), {"fields": ("pickup_point",)}),
        (
            _("Status"),
            {
                # The template puts "Recent activity" under this fieldset, found by this class
                # (its name is translated).
                "classes": ("order-status",),
                "fields": (("order_id", "sequence"), ("vtex_status_label", "state")),
            },
        ),
        (
            _("Totals"),
            {
                "fields": (
                    ("total", "currency_code"),
                    ("items_total", "discounts_total"),
                    ("shipping_total", "tax_total"),
                )
            },
        ),
        (_("Back-office notes"), {"fields": ("notes",)}),
        (
            _("Integration"),
            {
                "classes": ("collapse", "order-internals"),
                "fields": (
                    ("order_group", "sibling_orders"),
                    ("seller", "marketplace_order_id"),
                    ("marketplace", "affiliate_id"),
                    ("origin", "sales_channel"),
                    "start_handling",
                    ("is_complete", "intake_failed_at"),
                    "intake_error",
                ),
            },
        ),
        (
            _("Dates"),
            {
                "classes": ("collapse", "order-internals"),
                "fields": (
                    ("created_at_vtex", "authorized_at"),
                    ("last_change_at_vtex", "invoiced_at_vtex"),
                    ("imported_at", "last_synced_at", "updated_at"),
                ),
            },
        ),
        (_("VTEX order JSON"), {"classes": ("collapse", "order-internals"), "fields": ("raw_json",)}),
    )

    # ---- permissions and URLs -----------------------------------------------------------------------

    def has_add_permission(self, request, obj=None):
        return False  # orders come from VTEX only

    def has_delete_permission(self, request, obj=None):
        return False  # an order's history is kept; VTEX is the system of record

    def has_request_cancellation_permission(self, request: HttpRequest) -> bool:
        return can_request_cancellation(request)

    def get_fieldsets(self, request, obj=None):
        """A pickup order shows where it is picked up instead of a shipping address; an order
        without a pickup point has no pickup section (an order of both channels shows both)."""
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None or not obj.pickup_point_name and not obj.pickup_point_id and not obj.is_pickup:
            return [entry for entry in fieldsets if entry[1]["fields"] != ("pickup_point",)]
        if obj.is_pickup:
            return [entry for entry in fieldsets if "shipping_address_edited" not in entry[1]["fields"]]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # Everything on the page except what the service lets staff edit: the form then holds
        # only those fields, so a crafted POST cannot write anything else.
        return [name for name in flatten_fieldsets(self.fieldsets) if name not in STAFF_EDITABLE_FIELDS]

    def get_urls(self):
        # Before the default URLs: their "<path:object_id>/" catch-all would take these.
        return [
            admin_page(self, "<path:object_id>/refresh-from-vtex/", views.order_refresh, "integration_order_refresh"),
            admin_page(
                self, "<path:object_id>/retry-start-handling/", views.order_acknowledge, "integration_order_acknowledge"
            ),
            admin_page(self, "<path:object_id>/add-invoice/", views.order_add_invoice, "integration_order_add_invoice"),
            admin_page(self, "<path:object_id>/import-nfe/", views.order_import_nfe, "integration_order_import_nfe"),
            admin_page(
                self,
                "<path:object_id>/request-cancellation/",
                views.order_request_cancellation,
                "integration_order_request_cancellation",
            ),
            *self.export_csv_urls(),
            admin_page(self, "import-invoices/", bulk.import_invoices, "integration_order_import_invoices"),
            *super().get_urls(),
        ]

    # ---- list ----------------------------------------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        return OrderChangeList

    def get_ordering(self, request):
        """A work queue's own order ("To invoice": oldest first); a column the clerk sorts by wins."""
        return work_queue_ordering(request.GET.get("queue", "")) or super().get_ordering(request)

    def changelist_view(self, request, extra_context=None):
        context = {"queue_links": queue_links(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    @admin.display(description=_("total"), ordering="total_cents")
    def total(self, order: Order) -> str:
        return format_order_cents(order.total_cents, order)

    @admin.display(description=_("order"), ordering="sequence")
    def order(self, order: Order) -> str:
        """The VTEX order id, and the sequence (as staff say it: "seq 123") under it."""
        if not order.sequence:
            return order.order_id
        # "seq" stays as it is in every language: it is what staff type in the search box.
        return format_html('{}<span class="sequence">seq {}</span>', order.order_id, order.sequence)

    @admin.display(description=_("customer"), ordering="customer_name")
    def customer(self, order: Order) -> str:
        """The customer, and under the name where and how the order goes: the state (UF), VTEX's
        carrier (logisticsInfo[].deliveryCompany) and delivery method (the SLA); a carrier entered
        on an invoice wins, as it is the one that took the parcel. In this column rather than
        columns of their own: those would not fit 1280 px beside the menu and the filters."""
        delivery = order_delivery(order)  # prefetched by the list
        couriers = list(dict.fromkeys(invoice.courier for invoice in order_invoices(order) if invoice.courier))
        parts = [order.state_code, ", ".join(couriers or delivery.carriers), ", ".join(delivery.methods)]
        where = " · ".join(part for part in parts if part)
        if not where:
            return order.customer_name
        return format_html('{}<span class="delivery">{}</span>', order.customer_name, where)

    @admin.display(description=_("status"), ordering="state")
    def status(self, order: Order) -> str:
        return order_status_badges(order)

    @admin.display(description=_("created"), ordering="created_at_vtex")
    def created(self, order: Order) -> str:
        zone = timezone.get_current_timezone_name()
        return day_and_hour(
            order.created_at_vtex, title=gettext("Created at VTEX; store time (%(zone)s)") % {"zone": zone}
        )

    def get_search_results(self, request, queryset, search_term):
        unfiltered = queryset
        match = SEQUENCE_TERM.fullmatch(search_term.strip())
        if match:
            return queryset.filter(sequence=match[1]), False
        term = search_term.strip()
        if term:
            # An NF number matches exactly before any substring: "123" finds the order of NF 123,
            # not every order whose id, sequence or document holds 123.
            by_invoice = queryset.filter(pk__in=Invoice.objects.filter(number__iexact=term).values("order_id"))
            if by_invoice.exists():
                return by_invoice, False
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if DOCUMENT_TERM.fullmatch(term):
            compact = DOCUMENT_PUNCTUATION.sub("", term)
            if compact != term:  # punctuation the stored CPF/CNPJ (and a typed-in IE) may not have
                queryset |= unfiltered.filter(
                    Q(customer_document__contains=compact.upper()) | Q(customer_state_inscription__contains=compact)
                )
        return queryset, may_have_duplicates

    csv_export = staticmethod(order_export_csv)

    @admin.action(description=EXPORT_SELECTED_ORDERS, permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Order]):
        return self.export_selected(request, queryset)

    # ---- order page ---------------------------------------------------------------------------------

    @admin.display(description=_("items"))
    def items_total(self, order: Order) -> str:
        return format_order_cents(order.items_total_cents, order)

    @admin.display(description=_("discounts"))
    def discounts_total(self, order: Order) -> str:
        return format_order_cents(order.discounts_total_cents, order)

    @admin.display(description=_("shipping"))
    def shipping_total(self, order: Order) -> str:
        return format_order_cents(order.shipping_total_cents, order)

    @admin.display(description=_("tax"))
    def tax_total(self, order: Order) -> str:
        return format_order_cents(order.tax_total_cents, order)

    @admin.display(description=_("VTEX order JSON"))
    def raw_json(self, order: Order) -> str:
        if not order.raw:
            return "-"
        text = json.dumps(order.raw, indent=2, ensure_ascii=False, sort_keys=True)
        lines = text.count("\n") + 1
        return format_html(
            '<details class="raw-json"><summary>{}</summary><pre>{}</pre></details>',
            ngettext(
                "Show the order as VTEX sent it (%(count)s line)",
                "Show the order as VTEX sent it (%(count)s lines)",
                lines,
            )
            % {"count": lines},
            text,
        )

    @admin.display(description=_("other orders of the group"))
    def sibling_orders(self, order: Order) -> str:
        """The purchase's other orders stored here (one per seller), as links."""
        siblings = list(order_siblings(order).only("pk", "order_id", "seller_id", "seller_name"))
        if not siblings:
            return "-"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            ((order_url(sibling), sibling.order_id, order_seller_label(sibling) or "-") for sibling in siblings),
        )

    @admin.display(description=_("seller"))
    def seller(self, order: Order) -> str:
        label = order_seller_label(order)
        if not label:
            return "-"
        if order_fulfilled_elsewhere(order):
            return format_html(
                '{} <span class="help">{}</span>',
                label,
                gettext("(another seller fulfils this order: it is not handled, invoiced or canceled here)"),
            )
        return label

    @admin.display(description=_("marketplace"))
    def marketplace(self, order: Order) -> str:
        if not order.marketplace_name and not order.marketplace_base_url:
            return "-"
        if order.marketplace_base_url:
            return format_html(
                '{} <span class="long-id" title="{}">{}</span>',
                order.marketplace_name,
                order.marketplace_base_url,
                order.marketplace_base_url,
            )
        return order.marketplace_name

    @admin.display(description=_("VTEX status"), ordering="vtex_status")
    def vtex_status_label(self, order: Order) -> str:
        """As VTEX's own admin names it, the API string beside ("Preparando entrega (handling)")."""
        return vtex_status_text(order.vtex_status)

    @admin.display(description=_("customer document type"))
    def document_type_label(self, order: Order) -> str:
        return coded_text(order.customer_document_type, DOCUMENT_TYPES)

    @admin.display(description=_("customer document"))
    def buyer_document(self, order: Order) -> str:
        """A CPF or CNPJ with its punctuation, as staff read and type it."""
        if order.customer_document_type.lower() in ("cpf", "cnpj"):
            return document_text(order.customer_document) or "-"
        return order.customer_document or "-"

    @admin.display(description=_("pickup point"))
    def pickup_point(self, order: Order) -> str:
        name = order.pickup_point_name or order.pickup_point_id or gettext("a pickup point")
        lines = [gettext("Pickup at %(point)s") % {"point": name}]
        if order.pickup_point_address:
            lines.append(order.pickup_point_address)
        if order.pickup_point_id and order.pickup_point_name:
            lines.append(gettext("Pickup point id: %(id)s") % {"id": order.pickup_point_id})
        if order.receiver_name:
            lines.append(gettext("Picked up by: %(name)s") % {"name": order.receiver_name})
        return format_html(
            '<div class="pickup-point">{}</div>', format_html_join("", "<div>{}</div>", ((line,) for line in lines))
        )

    @admin.display(description=_("carrier and method"))
    def delivery_summary(self, order: Order) -> str:
        """What VTEX says of the delivery: carrier (deliveryCompany) and method (the selected SLA)."""
        delivery = order_delivery(order)
        if not delivery.carriers and not delivery.methods:
            return gettext("VTEX named no carrier or delivery method.")
        return format_html(
            '<span id="vtex-carrier">{}</span> · <span id="vtex-method">{}</span>',
            ", ".join(delivery.carriers) or "-",
            ", ".join(delivery.methods) or "-",
        )

    @admin.display(description=_("start-handling"))
    def start_handling(self, order: Order) -> str:
        if order_fulfilled_elsewhere(order):
            return gettext("Not sent: seller %(seller)s fulfils this order.") % {"seller": order_seller_label(order)}
        start_handling = order_start_handling(order)
        text = format_html("{}", start_handling.label)
        if start_handling.acknowledged_at:
            text = format_html("{}, {}", text, day_and_hour(start_handling.acknowledged_at))  # safe: a <time>
        if start_handling.attempts:
            attempts = ngettext("%(count)s attempt", "%(count)s attempts", start_handling.attempts)
            text = format_html("{} ({})", text, attempts % {"count": start_handling.attempts})
        return text

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["timeline"] = order_timeline(obj)
            context["call_log_url"] = (
                reverse("admin:integration_vtexcall_changelist") + "?" + urlencode({"order_id__exact": obj.order_id})
            )
            context.update(invoicing_context(request, obj, self))
            context["refused_invoices"] = [
                {
                    "invoice": invoice,
                    "url": f"{invoice_url(invoice)}#{REFUSED_ANCHOR}",
                    "answer": outbox_error_display(message).headline if message else "",
                }
                for invoice, message in order_refused_sends(obj)
            ]
            context["start_handling"] = order_start_handling(obj)
            context["fulfilled_elsewhere"] = order_fulfilled_elsewhere(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj, form, change):
        """Write staff edits through the service, so each one is on the timeline with who and when."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in STAFF_EDITABLE_FIELDS}
        if changes:
            order_update_local_fields(order=obj, changes=changes, actor=request.user)
