"""The order admin: the back office's view of an order, its fixes and its two VTEX actions.

Thin by design (STYLE.md §3.1, §3.7): edits go through order_update_local_fields, the actions
through order_refresh_from_vtex and order_acknowledge, one order at a time, each reported.
Invoices and cancellations (buttons, inlines, views, the cancel action) come from
OrderInvoicingMixin in integration.admin.invoicing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integration.admin.base import ReadOnlyTabularInline, day_and_hour
from integration.admin.exports import EXPORT_SELECTED_ORDERS, CsvExportMixin
from integration.admin.invoicing import CancellationRequestInline, InvoiceInline, OrderInvoicingMixin
from integration.admin.money import format_cents
from integration.infra.rate_budget import vtex_budget_paused_for
from integration.infra.vtex_client import vtex_client
from integration.models import Order, OrderEvent, OrderItem, Payment, VtexCall
from integration.selectors.start_handling import (
    StartHandlingState,
    order_start_handling,
    start_handling_done_q,
    start_handling_failed_q,
    start_handling_prefetch,
)
from integration.services.exports import order_export_csv
from integration.services.health import orders_stuck, stuck_counts
from integration.services.order_sync import error_message, order_refresh_from_vtex
from integration.services.orders import STAFF_EDITABLE_FIELDS, order_start_handling_now, order_update_local_fields
from integration.vtex import VtexError
from integration.vtex.mapping import VtexDataError

#: Each action talks to VTEX once or twice per order inside the web request; beyond this many
#: orders the request would outlive a proxy's timeout, so the action refuses and says why.
MAX_ORDERS_PER_ACTION = 100
#: Timeline rows read per source (events, calls). An order retried for days can have thousands
#: of calls; the full log stays in the VTEX call list, filtered by order.
TIMELINE_LIMIT = 200

#: "seq123", "seq 123", "seq#123": the sequence as staff say it (the number alone works too).
SEQUENCE_TERM = re.compile(r"seq\s*[#:-]?\s*(\d+)", re.IGNORECASE)
#: A CPF/CNPJ typed with punctuation, e.g. 123.456.789-09 or 12.345.678/0001-95.
DOCUMENT_TERM = re.compile(r"[\d./\-\s]*\d[\d./\-\s]*")


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes: intake or start-handling failed")), ("no", _("No"))]

    def queryset(self, request, queryset):
        problem = ~Q(intake_error="") | start_handling_failed_q()
        if self.value() == "yes":
            return queryset.filter(problem)
        if self.value() == "no":
            return queryset.exclude(problem)
        return queryset


class StuckFilter(admin.SimpleListFilter):
    """Orders stuck somewhere between VTEX, erp-bridge and the ERP, one choice per reason, each with
    its count (integration.services.health; the health dashboard links here)."""

    title = _("stuck")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        # The counts cover every order, whatever the other filters: they answer "how many are
        # stuck", as the dashboard does. Django's facets ("Show counts") give the filtered ones.
        return [(entry.kind.key, f"{entry.kind.label} ({entry.count})") for entry in stuck_counts()]

    def queryset(self, request, queryset):
        if self.value():
            return orders_stuck(key=self.value(), queryset=queryset)
        return queryset


#: The VTEX statuses an order stored here can have (from ready-for-handling on, VTEX-API.md §10),
#: in VTEX's order; anything else falls under "other".
VTEX_STATUS_CHOICES = (
    "ready-for-handling",
    "start-handling",
    "handling",
    "invoice",
    "invoiced",
    "cancellation-requested",
    "cancel",
    "canceled",
)
OTHER_VTEX_STATUS = "other"


class VtexStatusFilter(admin.SimpleListFilter):
    """VTEX's status, from a fixed list: Django's own filter reads every order's status (a
    DISTINCT over the whole table, 25 ms at 100k orders on PostgreSQL) on every page."""

    title = _("VTEX status")
    parameter_name = "vtex_status"

    def lookups(self, request, model_admin):
        return [*((status, status) for status in VTEX_STATUS_CHOICES), (OTHER_VTEX_STATUS, _("other"))]

    def queryset(self, request, queryset):
        if self.value() == OTHER_VTEX_STATUS:
            return queryset.exclude(vtex_status__in=VTEX_STATUS_CHOICES)
        if self.value():
            return queryset.filter(vtex_status=self.value())
        return queryset


class OrderItemInline(ReadOnlyTabularInline):
    model = OrderItem
    empty_text = _("The order has no items.")
    fields = (
        "item_index",
        "sku_id",
        "ref_id",
        "ean",
        "name",
        "quantity",
        "unit_price",
        "selling_price",
        "line_total",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        # The money columns need the order's currency; one join instead of a query per line.
        return super().get_queryset(request).select_related("order")

    @admin.display(description=_("unit price"))
    def unit_price(self, item: OrderItem) -> str:
        return format_cents(item.unit_price_cents, item.order.currency_code)

    @admin.display(description=_("selling price"))
    def selling_price(self, item: OrderItem) -> str:
        return format_cents(item.selling_price_cents, item.order.currency_code)

    @admin.display(description=_("line total"))
    def line_total(self, item: OrderItem) -> str:
        return format_cents(item.selling_total_cents, item.order.currency_code)


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    # The three VTEX ids share one column, each cut to its width with the whole id kept in the page
    # (title, copy, search): side by side they made the order page scroll sideways.
    fields = (
        "payment_system_name",
        "group",
        "amount",
        "installments",
        "ids",
        "statuses",
        "fetched_at",
    )
    readonly_fields = fields
    empty_text = _("No payments read from VTEX.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    @admin.display(description=_("value"))
    def amount(self, payment: Payment) -> str:
        return format_cents(payment.value_cents, payment.order.currency_code)

    @admin.display(description=_("transaction, payment and TID"))
    def ids(self, payment: Payment) -> str:
        rows = [
            (gettext("transaction"), payment.transaction_id),
            (gettext("payment"), payment.payment_id),
            (gettext("TID"), payment.tid),
        ]
        return format_html(
            '<div class="id-list">{}</div>',
            format_html_join(
                "",
                '<div><span class="id-name">{}:</span> <span class="long-id" title="{}">{}</span></div>',
                ((name, value, value) for name, value in rows if value),
            )
            or "-",
        )

    @admin.display(description=_("status (transaction)"))
    def statuses(self, payment: Payment) -> str:
        if not payment.status and not payment.transaction_status:
            return "-"
        if payment.transaction_status and payment.transaction_status != payment.status:
            return f"{payment.status or '-'} ({payment.transaction_status})"
        return payment.status or payment.transaction_status


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's timeline: an OrderEvent or a VtexCall, in one shape for the template."""

    when: datetime
    who: str
    what: str
    event: OrderEvent | None = None
    call: VtexCall | None = None
    #: Pretty-printed event data (an edit's from/to), shown folded.
    details: str = ""


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    events_truncated: bool
    calls_truncated: bool


def order_timeline(order: Order, *, limit: int = TIMELINE_LIMIT) -> Timeline:
    """The order's events and its VTEX calls, merged newest first (DESIGN.md: "one timeline")."""
    events = list(order.events.select_related("actor").order_by("-created_at", "-id")[: limit + 1])
    calls = list(VtexCall.objects.filter(order_id=order.order_id).order_by("-created_at", "-id")[: limit + 1])
    entries = [
        TimelineEntry(
            when=event.created_at,
            who=event.who,
            what=f"{event.get_kind_display()}: {event.message}",
            event=event,
            details=json.dumps(event.data, indent=2, ensure_ascii=False, default=str) if event.data else "",
        )
        for event in events[:limit]
    ]
    entries += [
        TimelineEntry(when=call.created_at, who=gettext("erp-bridge → VTEX"), what=call.operation, call=call)
        for call in calls[:limit]
    ]
    # Calls before events at the same instant: an event records the outcome of the call.
    entries.sort(key=lambda entry: (entry.when, entry.event is not None), reverse=True)
    return Timeline(entries=entries, events_truncated=len(events) > limit, calls_truncated=len(calls) > limit)


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
}
START_HANDLING_TONES = {
    StartHandlingState.PENDING: "neutral",
    StartHandlingState.SENDING: "info",
    StartHandlingState.DONE: "success",
    StartHandlingState.FAILED: "danger",
}


class StartHandlingFilter(admin.SimpleListFilter):
    """Start-handling as its outbox row and VTEX's status say (StartHandlingState)."""

    title = _("start-handling")
    parameter_name = "start_handling"

    def lookups(self, request, model_admin):
        return [
            (StartHandlingState.DONE, StartHandlingState.DONE.label),
            (StartHandlingState.FAILED, StartHandlingState.FAILED.label),
            ("not_done", _("Not done")),
        ]

    def queryset(self, request, queryset):
        if self.value() == StartHandlingState.DONE:
            return queryset.filter(start_handling_done_q())
        if self.value() == StartHandlingState.FAILED:
            return queryset.filter(start_handling_failed_q())
        if self.value() == "not_done":
            return queryset.exclude(start_handling_done_q())
        return queryset


def badge(text: str, tone: str, *, title: str = "") -> str:
    """A small coloured label; the text says it all, the colour only helps to scan a list."""
    return format_html(
        '<span class="badge badge-{}"{}>{}</span>', tone, format_html(' title="{}"', title) if title else "", text
    )


def order_status_badges(order: Order) -> str:
    """The list's status column: the local state, VTEX's status under it, and start-handling when
    it is not done (the usual case says nothing)."""
    state_label = str(order.get_state_display())
    # "Received (VTEX not yet told)": the ack line says the rest. Every translation keeps the
    # explanation in parentheses after the short label, so the cut works in each language.
    short = state_label.split(" (")[0]
    parts = [badge(short, STATE_TONES.get(order.state, "neutral"), title=state_label if short != state_label else "")]
    start_handling = order_start_handling(order)
    if start_handling.state != StartHandlingState.DONE:
        parts.append(
            format_html(
                '<span class="vtex-status">{} {}</span>',
                gettext("Start-handling:"),
                badge(start_handling.label, START_HANDLING_TONES[start_handling.state], title=start_handling.error),
            )
        )
    parts.append(format_html('<span class="vtex-status">{} {}</span>', gettext("VTEX:"), order.vtex_status or "-"))
    return format_html('<div class="status-cell">{}</div>', format_html_join("", "{}", ((part,) for part in parts)))


class OrderChangeList(ChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        # The list never shows the VTEX JSON (about 15 KB an order): not read, not decoded.
        return (
            super().get_queryset(request, exclude_parameters).defer("raw").prefetch_related(start_handling_prefetch())
        )


@admin.register(Order)
class OrderAdmin(CsvExportMixin, OrderInvoicingMixin, admin.ModelAdmin):
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
    search_fields = ("order_id", "sequence", "customer_name", "customer_email", "customer_document")
    search_help_text = _(
        "Order id, sequence (123 or seq123), customer name, e-mail or CPF/CNPJ (with or without dots)."
    )
    list_per_page = 50
    inlines = (OrderItemInline, PaymentInline, InvoiceInline, CancellationRequestInline)
    actions = ("refresh_from_vtex", "retry_start_handling", "request_cancellation", "export_csv")
    change_form_template = "admin/integration/order/change_form.html"

    fieldsets = (
        (
            _("Order"),
            {
                "fields": (
                    ("order_id", "sequence"),
                    ("order_group", "marketplace_order_id"),
                    ("origin", "sales_channel"),
                )
            },
        ),
        (
            _("Status"),
            {
                # The template puts "Recent activity" under this fieldset, found by this class
                # (its name is translated).
                "classes": ("order-status",),
                "fields": (
                    ("vtex_status", "state"),
                    "start_handling",
                    ("is_complete", "intake_failed_at"),
                    "intake_error",
                ),
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
        (
            _("Dates"),
            {
                "fields": (
                    ("created_at_vtex", "authorized_at"),
                    ("last_change_at_vtex", "invoiced_at_vtex"),
                    ("imported_at", "last_synced_at", "updated_at"),
                )
            },
        ),
        (
            _("Customer"),
            {
                "fields": (
                    ("customer_name", "customer_email"),
                    ("customer_document_type", "customer_document"),
                    "customer_phone",
                    ("customer_is_corporate", "customer_corporate_name"),
                )
            },
        ),
        (
            _("Shipping address"),
            {
                "description": _(
                    "Corrections are kept: once edited, a refresh from VTEX no longer overwrites the "
                    "address (VTEX's original stays in the order JSON)."
                ),
                "fields": (
                    "receiver_name",
                    ("postal_code", "country"),
                    ("street", "number"),
                    ("complement", "neighborhood"),
                    ("city", "state_code"),
                    "shipping_address_edited",
                ),
            },
        ),
        (_("Back-office notes"), {"fields": ("notes",)}),
        (_("VTEX order JSON"), {"fields": ("raw_json",)}),
    )

    # ---- permissions ------------------------------------------------------------------------------

    def has_add_permission(self, request, obj=None):
        return False  # orders come from VTEX only

    def has_delete_permission(self, request, obj=None):
        return False  # an order's history is kept; VTEX is the system of record

    def get_readonly_fields(self, request, obj=None):
        # Everything on the page except what the service lets staff edit: the form then holds
        # only those fields, so a crafted POST cannot write anything else.
        return [name for name in flatten_fieldsets(self.fieldsets) if name not in STAFF_EDITABLE_FIELDS]

    @admin.display(description=_("start-handling"))
    def start_handling(self, order: Order) -> str:
        start_handling = order_start_handling(order)
        text = str(start_handling.label)
        if start_handling.acknowledged_at:
            text = f"{text}, {day_and_hour(start_handling.acknowledged_at)}"
        if start_handling.attempts:
            text = ngettext(
                "%(text)s (%(count)s attempt)", "%(text)s (%(count)s attempts)", start_handling.attempts
            ) % {
                "text": text,
                "count": start_handling.attempts,
            }
        return text

    # ---- list ----------------------------------------------------------------------------------------

    def get_changelist(self, request, **kwargs):
        return OrderChangeList

    @admin.display(description=_("total"), ordering="total_cents")
    def total(self, order: Order) -> str:
        return format_cents(order.total_cents, order.currency_code)

    @admin.display(description=_("order"), ordering="sequence")
    def order(self, order: Order) -> str:
        """The VTEX order id, and the sequence (as staff say it: "seq 123") under it."""
        if not order.sequence:
            return order.order_id
        # "seq" stays as it is in every language: it is what staff type in the search box.
        return format_html('{}<span class="sequence">seq {}</span>', order.order_id, order.sequence)

    @admin.display(description=_("customer"), ordering="customer_name")
    def customer(self, order: Order) -> str:
        return order.customer_name

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
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if DOCUMENT_TERM.fullmatch(term):
            digits = re.sub(r"\D", "", term)
            if digits != term:  # punctuation the stored document (digits only) does not have
                queryset |= unfiltered.filter(customer_document__contains=digits)
        return queryset, may_have_duplicates

    # ---- order page ---------------------------------------------------------------------------------

    @admin.display(description=_("items"))
    def items_total(self, order: Order) -> str:
        return format_cents(order.items_total_cents, order.currency_code)

    @admin.display(description=_("discounts"))
    def discounts_total(self, order: Order) -> str:
        return format_cents(order.discounts_total_cents, order.currency_code)

    @admin.display(description=_("shipping"))
    def shipping_total(self, order: Order) -> str:
        return format_cents(order.shipping_total_cents, order.currency_code)

    @admin.display(description=_("tax"))
    def tax_total(self, order: Order) -> str:
        return format_cents(order.tax_total_cents, order.currency_code)

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

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["timeline"] = order_timeline(obj)
            context["call_log_url"] = (
                reverse("admin:integration_vtexcall_changelist") + "?" + urlencode({"order_id__exact": obj.order_id})
            )
            context.update(self.invoicing_context(request, obj))
            context["start_handling"] = order_start_handling(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj, form, change):
        """Write staff edits through the service, so each one is on the timeline with who and when."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in STAFF_EDITABLE_FIELDS}
        if changes:
            order_update_local_fields(order=obj, changes=changes, actor=request.user)

    # ---- actions (list) and buttons (order page) ---------------------------------------------------

    @admin.action(description=_("Refresh from VTEX"), permissions=["change"])
    def refresh_from_vtex(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        orders = self._orders_for_action(request, queryset)
        if orders:
            client = vtex_client()
            for order in orders:
                self._refresh_one(request, order, client)

    @admin.action(description=_("Retry start-handling"), permissions=["change"])
    def retry_start_handling(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        orders = self._orders_for_action(request, queryset)
        if orders:
            client = vtex_client()
            for order in orders:
                self._acknowledge_one(request, order, client)

    csv_export = staticmethod(order_export_csv)

    @admin.action(description=EXPORT_SELECTED_ORDERS, permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Order]):
        return self.export_selected(request, queryset)

    def _orders_for_action(self, request: HttpRequest, queryset: QuerySet[Order]) -> list[Order]:
        orders = list(queryset.order_by("pk")[: MAX_ORDERS_PER_ACTION + 1])
        if len(orders) > MAX_ORDERS_PER_ACTION:
            messages.warning(
                request,
                gettext(
                    "Select at most %(max)s orders at a time; nothing was sent to VTEX. "
                    "(The regular pull refreshes and acknowledges every order in the background.)"
                )
                % {"max": MAX_ORDERS_PER_ACTION},
            )
            return []
        if not self._vtex_available(request):
            return []
        return orders

    def _vtex_available(self, request: HttpRequest) -> bool:
        """False (and say so) while VTEX's rate limit pauses every process.

        The client would otherwise wait out the pause (up to VTEX_MAX_RETRY_AFTER_S) inside this
        web request; staff are better told to come back.
        """
        wait = vtex_budget_paused_for()
        if wait <= 0:
            return True
        messages.warning(
            request,
            gettext("VTEX asked erp-bridge to slow down (HTTP 429); nothing was sent. Try again in %(seconds)s s.")
            % {"seconds": math.ceil(wait)},
        )
        return False

    def _refresh_one(self, request: HttpRequest, order: Order, client) -> None:
        try:
            outcome = order_refresh_from_vtex(client=client, order=order, actor=request.user)
        except (VtexError, VtexDataError) as exc:
            messages.warning(
                request,
                gettext("%(order)s: refresh failed: %(error)s")
                % {"order": order.order_id, "error": error_message(exc)},
            )
            return
        values = {"order": order.order_id, "status": outcome.order.vtex_status}
        if outcome.changed:
            text = gettext("%(order)s: refreshed from VTEX, status %(status)s.") % values
        else:
            text = gettext("%(order)s: already up to date with VTEX (status %(status)s).") % values
        messages.success(request, text)

    def _acknowledge_one(self, request: HttpRequest, order: Order, client) -> None:
        result = order_start_handling_now(client=client, order=order, actor=request.user)
        if result.done:
            messages.success(
                request,
                gettext("%(order)s: start-handling done. %(detail)s")
                % {"order": order.order_id, "detail": result.text()},
            )
        else:
            messages.warning(
                request,
                gettext("%(order)s: start-handling not done. %(detail)s")
                % {"order": order.order_id, "detail": result.text()},
            )

    def get_urls(self):
        # Before the default URLs: their "<path:object_id>/" catch-all would take these.
        return [
            path(
                "<path:object_id>/refresh-from-vtex/",
                self.admin_site.admin_view(self.refresh_view),
                name="integration_order_refresh",
            ),
            path(
                "<path:object_id>/retry-start-handling/",
                self.admin_site.admin_view(self.acknowledge_view),
                name="integration_order_acknowledge",
            ),
            *self.invoicing_urls(),
            *self.export_csv_urls(),
            *super().get_urls(),
        ]

    def refresh_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._button(request, object_id, self._refresh_one)

    def acknowledge_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._button(request, object_id, self._acknowledge_one)

    def _button(self, request: HttpRequest, object_id: str, run: Any) -> HttpResponse:
        """A button on the order page: POST only (admin_view adds CSRF), then back to the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self.get_object(request, unquote(object_id))
        if order is None:
            messages.warning(
                request, gettext("There is no order with ID %(id)r; nothing was sent to VTEX.") % {"id": object_id}
            )
            return HttpResponseRedirect(reverse("admin:integration_order_changelist"))
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        if self._vtex_available(request):
            run(request, order, vtex_client())
        return HttpResponseRedirect(reverse("admin:integration_order_change", args=[quote(order.pk)]))
