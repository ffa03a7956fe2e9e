"""The invoicing side of the back office (issue 3 §4): invoices with their tracking and delivery,
cancellation requests and the outbox of sends to VTEX.

Thin by design (STYLE.md §3.1, §3.7): every write is one service call (invoice_create,
invoice_set_tracking, tracking_events_add, invoice_mark_delivered, cancellation_request_create,
outbox_retry). A ServiceError means nothing was changed; its messages are shown beside the fields
they name. The order page's part (buttons, inlines, views, the list action) is OrderInvoicingMixin,
which OrderAdmin mixes in.

Permissions: integration.enter_invoices (invoices, tracking, delivery),
integration.request_cancellation, integration.retry_sends.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integration.admin.base import ReadOnlyAdmin, ReadOnlyTabularInline, day_and_hour
from integration.admin.exports import EXPORT_SELECTED_INVOICES, CsvExportMixin
from integration.admin.forms import (
    CancellationForm,
    DeliveredForm,
    InvoiceForm,
    TrackingEventFormSet,
    TrackingForm,
    add_events_service_error,
    item_field_name,
    now_to_the_minute,
    tracking_events_from,
)
from integration.admin.money import format_cents, money_format
from integration.models import (
    CancellationRequest,
    Invoice,
    InvoiceItem,
    Order,
    OutboxMessage,
    SendState,
    TrackingEvent,
)
from integration.services.cancellation import (
    cancellation_reason_check,
    cancellation_request_create,
    order_cancellation_blocker,
)
from integration.services.errors import ServiceError, ValidationFailed
from integration.services.exports import invoice_export_csv
from integration.services.invoicing import (
    ItemQuantities,
    invoice_create,
    invoice_plan,
    invoice_validate,
    order_invoicing_blocker,
    order_item_quantities,
)
from integration.services.outbox import outbox_retry
from integration.services.tracking import (
    invoice_mark_delivered,
    invoice_set_tracking,
    invoice_tracking_blocker,
    tracking_events_add,
)

ENTER_INVOICES = "integration.enter_invoices"
REQUEST_CANCELLATION = "integration.request_cancellation"
RETRY_SENDS = "integration.retry_sends"

#: The confirmation page works out, for each selected order, whether VTEX would cancel it (a few
#: queries per order); past this many the page is slow and too long to read before confirming.
MAX_ORDERS_PER_CANCELLATION = 100


def can_enter_invoices(request: HttpRequest) -> bool:
    return request.user.has_perm(ENTER_INVOICES)


def can_request_cancellation(request: HttpRequest) -> bool:
    return request.user.has_perm(REQUEST_CANCELLATION)


def can_retry_sends(request: HttpRequest) -> bool:
    return request.user.has_perm(RETRY_SENDS)


def order_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[quote(order.pk)])


def invoice_url(invoice: Invoice) -> str:
    return reverse("admin:integration_invoice_change", args=[quote(invoice.pk)])


def order_link(order: Order | None) -> str:
    return format_html('<a href="{}">{}</a>', order_url(order), order.order_id) if order else "-"


def invoice_link(invoice: Invoice | None) -> str:
    return format_html('<a href="{}">{}</a>', invoice_url(invoice), invoice.number) if invoice else "-"


#: The id of the invoice page's notice of sends VTEX did not accept (the order page links to it).
REFUSED_ANCHOR = "vtex-refused"


def sentence(text: str) -> str:
    """The text ending with one full stop: a date such as "2:21 p.m." brings its own."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def store_datetime(moment: datetime | None) -> str:
    """A time as the admin shows it (DATETIME_FORMAT), in store time."""
    if moment is None:
        return "-"
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


#: How the outbox writes VTEX's refusal (VtexError.__str__, maybe after outbox's "gave up"):
#: "[gave up after N attempts: ][POST /path: ][HTTP 400 ][[code] ]message".
_ANSWER = re.compile(
    r"(?:(?P<note>gave up after \d+ attempts?): )?"
    r"(?:(?P<request>(?:GET|POST|PUT|PATCH|DELETE) \S+): )?"
    r"(?:HTTP (?P<status>\d{3})(?: |$))?"
    r"(?:\[(?P<code>[^\]]*)\] )?"
    r"(?P<message>.*)",
    re.DOTALL,
)


@dataclass(frozen=True)
class VtexAnswer:
    """VTEX's answer to a send, in parts: the HTTP status once, VTEX's words, and the request."""

    status: int | None
    message: str
    request: str = ""
    note: str = ""

    @property
    def headline(self) -> str:
        """The status said once, then VTEX's words: "HTTP 400: Order is canceled and cannot be invoiced".
        VTEX's words stay as VTEX wrote them (English): they are what its support and docs quote."""
        parts = [f"HTTP {self.status}"] if self.status else []
        if self.message:
            parts.append(self.message)
        return ": ".join(parts) or "-"


def vtex_answer(status_code: int | None, error: str) -> VtexAnswer:
    """Split what the outbox kept of VTEX's answer, so the page shows the status once.

    The stored text repeats the status ("POST …: HTTP 400 [400] …": the client's prefix, then
    VTEX's error code, which is the status again); a text in another shape is shown as it is.
    """
    match = _ANSWER.fullmatch((error or "").strip())
    if match is None:  # pragma: no cover - every part is optional, so the pattern always matches
        return VtexAnswer(status=status_code, message=error)
    status = status_code or (int(match["status"]) if match["status"] else None)
    message = match["message"].strip()
    code = match["code"]
    if code and code != str(status):
        message = f"[{code}] {message}"
    return VtexAnswer(status=status, message=message, request=match["request"] or "", note=match["note"] or "")


def outbox_label(message: OutboxMessage) -> str:
    """What a send carries, from its payload: VTEX takes events and delivery through one call, so
    the kind alone ("Tracking events") would hide a delivery."""
    if message.kind == OutboxMessage.Kind.TRACKING_EVENTS and isinstance(message.payload, dict):
        if message.payload.get("isDelivered"):
            return gettext("Tracking events and delivery") if message.payload.get("events") else gettext("Delivery")
    return str(message.get_kind_display())


@dataclass(frozen=True)
class SendRow:
    """One send of the invoice page's "Sends to VTEX" (and, failed, of its notice at the top)."""

    message: OutboxMessage
    label: str
    answer: VtexAnswer | None
    accepted: str

    @property
    def failed(self) -> bool:
        return self.message.state == OutboxMessage.State.FAILED


def send_row(message: OutboxMessage) -> SendRow:
    accepted = ""
    if message.state == OutboxMessage.State.SENT:
        values = {"receipt": message.vtex_receipt, "when": store_datetime(message.sent_at)}
        # One whole sentence per case, so that translators can order its parts.
        if message.vtex_receipt and message.sent_at:
            accepted = gettext("Accepted (receipt %(receipt)s) on %(when)s") % values
        elif message.vtex_receipt:
            accepted = gettext("Accepted (receipt %(receipt)s)") % values
        elif message.sent_at:
            accepted = gettext("Accepted on %(when)s") % values
        else:
            accepted = gettext("Accepted")
        accepted = sentence(accepted)
    answer = None
    if message.last_status_code or message.last_error:
        answer = vtex_answer(message.last_status_code, message.last_error)
    return SendRow(message=message, label=outbox_label(message), answer=answer, accepted=accepted)


def refused_sends(invoice: Invoice, rows: list[SendRow]) -> list[SendRow]:
    """The sends the invoice page's notice shows at the top: every failed one and, when the invoice
    itself stands failed without a failed send (its send was stopped since), its last send."""
    refused = [row for row in rows if row.failed]
    if invoice.send_state == SendState.FAILED and not any(
        row.message.kind == OutboxMessage.Kind.INVOICE for row in refused
    ):
        last = next((row for row in reversed(rows) if row.message.kind == OutboxMessage.Kind.INVOICE), None)
        if last is not None:
            refused.insert(0, last)
    return refused


def retry_outbox_message(request: HttpRequest, message: OutboxMessage) -> None:
    """Ask for one send to be tried again now, and say how it went (one message per row)."""
    values = {"kind": message.get_kind_display(), "order": message.order.order_id}
    if message.invoice_id:
        values["invoice"] = message.invoice.number
        about = gettext("%(kind)s of order %(order)s, invoice %(invoice)s") % values
    else:
        about = gettext("%(kind)s of order %(order)s") % values
    try:
        retried = outbox_retry(message=message, actor=request.user)
    except ServiceError as error:
        messages.warning(request, gettext("%(about)s: not retried. %(error)s") % {"about": about, "error": error})
        return
    if retried:
        messages.success(request, gettext("%(about)s: it will be sent to VTEX again now.") % {"about": about})
    else:
        message.refresh_from_db(fields=["state"])
        messages.warning(
            request,
            gettext("%(about)s: not retried; it is %(state)s (only failed or waiting sends can be retried).")
            % {"about": about, "state": str(message.get_state_display()).lower()},
        )


# ---- inlines of the order page ----------------------------------------------------------------------------


class InvoiceInline(ReadOnlyTabularInline):
    model = Invoice
    fields = ("invoice_number", "kind", "value", "issued_at", "sending", "tracking_number", "delivered_at")
    readonly_fields = fields
    ordering = ("created_at", "id")
    empty_text = _("No invoices yet.")

    def get_queryset(self, request):
        failed = Count("outbox_messages", filter=Q(outbox_messages__state=OutboxMessage.State.FAILED))
        return super().get_queryset(request).select_related("order").annotate(failed_sends=failed)

    @admin.display(description=_("number"))
    def invoice_number(self, invoice: Invoice) -> str:
        return invoice_link(invoice)

    @admin.display(description=_("send state"))
    def sending(self, invoice: Invoice) -> str:
        """The send state; a failure links to the invoice page's notice, with VTEX's answer and Retry."""
        failed = getattr(invoice, "failed_sends", 0)
        if invoice.send_state != SendState.FAILED and not failed:
            return invoice.get_send_state_display()
        if invoice.send_state == SendState.FAILED:
            text = invoice.get_send_state_display()
        else:  # the invoice went through; a later send (tracking, events, delivery) did not
            text = ngettext(
                "%(state)s; %(count)s later send failed",
                "%(state)s; %(count)s later sends failed",
                failed,
            ) % {"state": invoice.get_send_state_display(), "count": failed}
        return format_html(
            '<a href="{}#{}" class="failed-link">{}</a> <span class="help">{}</span>',
            invoice_url(invoice),
            REFUSED_ANCHOR,
            text,
            gettext("(see VTEX's answer)"),
        )

    @admin.display(description=_("value"))
    def value(self, invoice: Invoice) -> str:
        return format_cents(invoice.value_cents, invoice.order.currency_code)


class CancellationRequestInline(ReadOnlyTabularInline):
    model = CancellationRequest
    fields = ("state", "reason", "who", "requested_at", "vtex_answer")
    readonly_fields = fields
    empty_text = _("No cancellation requested.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by")

    @admin.display(description=_("requested by"))
    def who(self, request_row: CancellationRequest) -> str:
        return _requested_by(request_row)


def _requested_by(request_row: CancellationRequest) -> str:
    if request_row.requested_by_id:
        return request_row.requested_by.get_username()
    return request_row.requested_via


# ---- the order page: Add invoice and Request cancellation ----------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """One order item on the add-invoice page: its quantities, its quantity field and line value.

    `quantity` is what was typed, even when refused (more than is left), so the row shows the value
    of what staff typed, marked invalid; None when it is not a whole number.
    """

    entry: ItemQuantities
    field: BoundField
    quantity: int | None

    @property
    def invalid(self) -> bool:
        return bool(self.field.errors) or self.quantity is None

    @property
    def line_cents(self) -> int | None:
        if self.quantity is None:
            return None
        return self.entry.item.selling_price_cents * self.quantity


def add_invoice_offer(quantities: dict[int, ItemQuantities]) -> tuple[str, str, str]:
    """The order page's invoice button: (label, kind, why not).

    A sale while anything is left to invoice; once everything is invoiced, a return while anything
    can be returned (the page would open on a return anyway, so the button says so); otherwise
    nothing, and why.
    """
    if not quantities or any(entry.remaining > 0 for entry in quantities.values()):
        return gettext("Add invoice"), Invoice.Kind.OUTPUT, ""
    if any(entry.returnable > 0 for entry in quantities.values()):
        return gettext("Add return invoice"), Invoice.Kind.INPUT, ""
    return "", "", gettext("every item was invoiced and returned; there is nothing left to invoice or return.")


class OrderInvoicingMixin:
    """The order admin's invoices and cancellations: context for its buttons, two views, one action."""

    # Provided by ModelAdmin.
    admin_site: admin.AdminSite
    opts: object

    def invoicing_urls(self) -> list:
        return [
            path(
                "<path:object_id>/add-invoice/",
                self.admin_site.admin_view(self.add_invoice_view),
                name="integration_order_add_invoice",
            ),
            path(
                "<path:object_id>/request-cancellation/",
                self.admin_site.admin_view(self.request_cancellation_view),
                name="integration_order_request_cancellation",
            ),
        ]

    def invoicing_context(self, request: HttpRequest, order: Order) -> dict[str, object]:
        """What the order page needs for its two buttons: each shows, or why it cannot (or nothing
        for staff without the permission)."""
        context: dict[str, object] = {
            "can_enter_invoices": can_enter_invoices(request),
            "can_request_cancellation": can_request_cancellation(request),
        }
        if context["can_enter_invoices"]:
            blocker = order_invoicing_blocker(order)
            if not blocker:
                label, kind, blocker = add_invoice_offer(order_item_quantities(order))
                url = reverse("admin:integration_order_add_invoice", args=[quote(order.pk)])
                context["add_invoice_label"] = label
                context["add_invoice_url"] = f"{url}?{urlencode({'kind': kind})}" if kind == Invoice.Kind.INPUT else url
            context["invoicing_blocker"] = blocker
        if context["can_request_cancellation"]:
            context["cancellation_blocker"] = order_cancellation_blocker(order)
            context["request_cancellation_url"] = reverse(
                "admin:integration_order_request_cancellation", args=[quote(order.pk)]
            )
        return context

    def _order_or_none(self, request: HttpRequest, object_id: str) -> Order | None:
        order = self.get_object(request, unquote(object_id))
        if order is None:
            messages.warning(request, gettext("There is no order with ID %(id)r.") % {"id": object_id})
        return order

    # ---- Add invoice ----------------------------------------------------------------------------------

    def add_invoice_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: the form, prefilled. POST "_preview": the server's figures and any refusal; POST
        "_save": invoice_create, then back to the order."""
        if not can_enter_invoices(request):
            raise PermissionDenied
        order = self._order_or_none(request, object_id)
        if order is None:
            return HttpResponseRedirect(reverse("admin:integration_order_changelist"))
        quantities = order_item_quantities(order)
        default_kind = Invoice.Kind.OUTPUT if any(q.remaining > 0 for q in quantities.values()) else Invoice.Kind.INPUT
        checked = False
        if request.method == "POST":
            form = InvoiceForm(request.POST, quantities=quantities, kind=default_kind)
            saving = "_save" in request.POST
            if form.is_valid():
                data = form.invoice_input()
                try:
                    if saving:
                        invoice = invoice_create(order=order, data=data, actor=request.user, via="admin")
                    else:
                        invoice_validate(order=order, data=data.cleaned())
                except ServiceError as error:
                    form.add_service_error(error)
                else:
                    if saving:
                        messages.success(
                            request,
                            gettext("Invoice %(number)s saved; it will be sent to VTEX.") % {"number": invoice.number},
                        )
                        return HttpResponseRedirect(order_url(order))
                    checked = True
        else:
            kind = request.GET.get("kind")
            kind = kind if kind in Invoice.Kind.values else default_kind
            form = InvoiceForm(
                quantities=quantities, kind=kind, initial={"kind": kind, "issued_at": now_to_the_minute()}
            )
        kind = form.chosen_kind()
        chosen = form.chosen_quantities()
        plan = invoice_plan(order=order, kind=kind, quantities_by_index=chosen, value_cents=form.chosen_value_cents())
        rows = [
            ItemRow(entry=entry, field=form[item_field_name(index)], quantity=form.typed_quantity(index))
            for index, entry in sorted(quantities.items())
        ]
        other_kind = Invoice.Kind.INPUT if kind == Invoice.Kind.OUTPUT else Invoice.Kind.OUTPUT
        if other_kind == Invoice.Kind.OUTPUT:
            other_possible = any(entry.remaining > 0 for entry in quantities.values())
        else:
            other_possible = any(entry.returnable > 0 for entry in quantities.values())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Add an invoice to order %(order)s") % {"order": order.order_id},
            "order": order,
            "original": order,
            "has_view_permission": self.has_view_permission(request, order),
            "form": form,
            "rows": rows,
            # A refused quantity leaves the server's figures without its item: they are not shown.
            "quantities_invalid": any(row.invalid for row in rows),
            "plan": plan,
            "kind": kind,
            "is_output": kind == Invoice.Kind.OUTPUT,
            "checked": checked,
            "blocker": order_invoicing_blocker(order),
            "other_kind_text": (
                gettext("Enter a return (input) invoice instead")
                if other_kind == Invoice.Kind.INPUT
                else gettext("Enter a sale (output) invoice instead")
            ),
            "other_kind_url": (request.path + "?" + urlencode({"kind": other_kind})) if other_possible else "",
            "order_url": order_url(order),
            # The live estimate writes amounts as format_cents does, in the page's language.
            "money": money_format(order.currency_code),
        }
        return TemplateResponse(request, "admin/integration/order/add_invoice.html", context)

    # ---- Request cancellation -----------------------------------------------------------------------------

    def has_request_cancellation_permission(self, request: HttpRequest) -> bool:
        return can_request_cancellation(request)

    @admin.action(description=_("Request cancellation at VTEX…"), permissions=["request_cancellation"])
    def request_cancellation(self, request: HttpRequest, queryset: QuerySet[Order]) -> HttpResponse | None:
        orders = list(queryset.order_by("pk")[: MAX_ORDERS_PER_CANCELLATION + 1])
        if len(orders) > MAX_ORDERS_PER_CANCELLATION:
            messages.warning(
                request,
                gettext("Select at most %(max)s orders to cancel at a time; nothing was done.")
                % {"max": MAX_ORDERS_PER_CANCELLATION},
            )
            return None
        return self._cancellation_page(request, orders, done_url=request.get_full_path(), from_action=True)

    def request_cancellation_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not can_request_cancellation(request):
            raise PermissionDenied
        order = self._order_or_none(request, object_id)
        if order is None:
            return HttpResponseRedirect(reverse("admin:integration_order_changelist"))
        return self._cancellation_page(request, [order], done_url=order_url(order), from_action=False)

    def _cancellation_page(
        self, request: HttpRequest, orders: list[Order], *, done_url: str, from_action: bool
    ) -> HttpResponse:
        """The confirmation page (GET, or the action's first POST); with "confirm" posted, the requests."""
        confirming = request.method == "POST" and "confirm" in request.POST
        form = CancellationForm(request.POST if confirming else None)
        if confirming and form.is_valid() and self._request_cancellations(request, orders, form):
            return HttpResponseRedirect(done_url)
        rows = [(order, order_cancellation_blocker(order)) for order in orders]
        cancellable = [order for order, blocker in rows if not blocker]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Request cancellation at VTEX"),
            "rows": rows,
            "cancellable": cancellable,
            "skipped": len(rows) - len(cancellable),
            "form": form,
            "from_action": from_action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "back_url": done_url,
            "single_order": orders[0] if not from_action else None,
        }
        return TemplateResponse(request, "admin/integration/order/request_cancellation.html", context)

    def _request_cancellations(self, request: HttpRequest, orders: list[Order], form: CancellationForm) -> bool:
        """cancellation_request_create per order, each reported. False (nothing reported, the page
        shows again) when the service refused the reason before any order was requested."""
        try:
            cancellation_reason_check(form.cleaned_data["reason"])  # the same for every order: check once
        except ValidationFailed as error:
            form.add_service_error(error)
            return False
        reports: list[tuple[int, str]] = []
        for order in orders:
            try:
                cancellation_request_create(
                    order=order, reason=form.cleaned_data["reason"], actor=request.user, via="admin"
                )
            except ServiceError as error:
                text = gettext("%(order)s: not canceled: %(error)s") % {"order": order.order_id, "error": error.message}
                reports.append((messages.WARNING, text))
            else:
                text = gettext("%(order)s: cancellation requested; it will be sent to VTEX.") % {
                    "order": order.order_id
                }
                reports.append((messages.SUCCESS, text))
        for level, text in reports:
            messages.add_message(request, level, text)
        return True


# ---- the invoice admin --------------------------------------------------------------------------------------


class InvoiceItemInline(ReadOnlyTabularInline):
    model = InvoiceItem
    fields = ("item_number", "sku", "name", "quantity", "unit_price", "line_total")
    readonly_fields = fields
    empty_text = _("No items.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_item", "invoice__order")

    @admin.display(description=_("item #"))
    def item_number(self, row: InvoiceItem) -> int:
        return row.order_item.item_index

    @admin.display(description=_("SKU"))
    def sku(self, row: InvoiceItem) -> str:
        return row.order_item.sku_id

    @admin.display(description=_("name"))
    def name(self, row: InvoiceItem) -> str:
        return row.order_item.name

    @admin.display(description=_("unit price"))
    def unit_price(self, row: InvoiceItem) -> str:
        return format_cents(row.unit_price_cents, row.invoice.order.currency_code)

    @admin.display(description=_("line total"))
    def line_total(self, row: InvoiceItem) -> str:
        return format_cents(row.unit_price_cents * row.quantity, row.invoice.order.currency_code)


class TrackingEventInline(ReadOnlyTabularInline):
    model = TrackingEvent
    fields = ("occurred_at", "city", "state", "description", "created_by", "created_at")
    readonly_fields = fields
    verbose_name_plural = _("tracking events")
    empty_text = _("No tracking events yet.")


class DeliveredFilter(admin.SimpleListFilter):
    title = _("delivered")
    parameter_name = "delivered"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(delivered_at__isnull=True)
        return queryset


@admin.register(Invoice)
class InvoiceAdmin(CsvExportMixin, ReadOnlyAdmin):
    """Invoices are entered on their order ("Add invoice"); this page reads them and takes their
    tracking, events and delivery, each through its service."""

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
    readonly_fields = ("order_column", "value", "url_link", "embedded_xml_text")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "created_by")

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
        return format_cents(invoice.value_cents, invoice.order.currency_code)

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
        return invoice.get_send_state_display()

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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        invoice = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if invoice is not None:
            context = {**self._page_context(request, invoice), **context}
        return super().change_view(request, object_id, form_url, context)

    def _page_context(self, request: HttpRequest, invoice: Invoice) -> dict[str, object]:
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
                    "courier": invoice.courier,
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
            "tracking_action": reverse("admin:integration_invoice_tracking", args=[pk]),
            "events_action": reverse("admin:integration_invoice_tracking_events", args=[pk]),
            "delivered_action": reverse("admin:integration_invoice_delivered", args=[pk]),
        }

    def _show_page_again(self, request: HttpRequest, object_id: str, forms: dict[str, object]) -> HttpResponse:
        """The invoice page with a refused form (and its errors) in place of the empty one.

        The admin's change view binds its model form when the request is a POST; this page saves
        nothing of its own, so it is rendered as for a GET, from a copy of the request.
        """
        page_request = copy.copy(request)
        page_request.method = "GET"
        return self.change_view(page_request, object_id, extra_context=forms)

    def get_urls(self):
        # Before the default URLs: their "<path:object_id>/" catch-all would take these.
        return [
            *self.export_csv_urls(),
            path(
                "<path:object_id>/tracking/",
                self.admin_site.admin_view(self.tracking_view),
                name="integration_invoice_tracking",
            ),
            path(
                "<path:object_id>/tracking-events/",
                self.admin_site.admin_view(self.tracking_events_view),
                name="integration_invoice_tracking_events",
            ),
            path(
                "<path:object_id>/delivered/",
                self.admin_site.admin_view(self.delivered_view),
                name="integration_invoice_delivered",
            ),
            path(
                "<path:object_id>/outbox/<int:message_id>/retry/",
                self.admin_site.admin_view(self.retry_view),
                name="integration_invoice_retry",
            ),
            *super().get_urls(),
        ]

    def _invoice_for_post(self, request: HttpRequest, object_id: str, permission: str) -> Invoice | HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(permission):
            raise PermissionDenied
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None:
            messages.warning(
                request, gettext("There is no invoice with ID %(id)r; nothing was changed.") % {"id": object_id}
            )
            return HttpResponseRedirect(reverse("admin:integration_invoice_changelist"))
        return invoice

    def tracking_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        invoice = self._invoice_for_post(request, object_id, ENTER_INVOICES)
        if isinstance(invoice, HttpResponse):
            return invoice
        form = TrackingForm(request.POST)
        if form.is_valid():
            try:
                changed = invoice_set_tracking(invoice=invoice, actor=request.user, via="admin", **form.cleaned_data)
            except ServiceError as error:
                form.add_service_error(error)
            else:
                values = {"number": invoice.number}
                if changed:
                    messages.success(
                        request, gettext("Tracking of invoice %(number)s saved; it will be sent to VTEX.") % values
                    )
                else:
                    messages.info(
                        request, gettext("Tracking of invoice %(number)s unchanged; nothing to send.") % values
                    )
                return HttpResponseRedirect(invoice_url(invoice))
        return self._show_page_again(request, object_id, {"tracking_form": form})

    def tracking_events_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        invoice = self._invoice_for_post(request, object_id, ENTER_INVOICES)
        if isinstance(invoice, HttpResponse):
            return invoice
        formset = TrackingEventFormSet(request.POST, prefix="events")
        errors: list[str] = []
        if formset.is_valid():
            events, filled = tracking_events_from(formset)
            if not events:
                errors = [gettext("Fill in at least one event: its date and time and what happened.")]
            else:
                try:
                    created = tracking_events_add(invoice=invoice, events=events, actor=request.user, via="admin")
                except ServiceError as error:
                    errors = add_events_service_error(filled, error)
                else:
                    ignored = len(events) - len(created)
                    values = {"count": len(created), "number": invoice.number, "ignored": ignored}
                    if created and ignored:
                        text = ngettext(
                            "%(count)s tracking event added to invoice %(number)s (%(ignored)s already there, "
                            "ignored); it will be sent to VTEX.",
                            "%(count)s tracking events added to invoice %(number)s (%(ignored)s already there, "
                            "ignored); they will be sent to VTEX.",
                            len(created),
                        )
                        messages.success(request, text % values)
                    elif created:
                        text = ngettext(
                            "%(count)s tracking event added to invoice %(number)s; it will be sent to VTEX.",
                            "%(count)s tracking events added to invoice %(number)s; they will be sent to VTEX.",
                            len(created),
                        )
                        messages.success(request, text % values)
                    else:
                        messages.info(
                            request, gettext("Nothing added to invoice %(number)s: every event was there.") % values
                        )
                    return HttpResponseRedirect(invoice_url(invoice))
        return self._show_page_again(request, object_id, {"events_formset": formset, "events_errors": errors})

    def delivered_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        invoice = self._invoice_for_post(request, object_id, ENTER_INVOICES)
        if isinstance(invoice, HttpResponse):
            return invoice
        form = DeliveredForm(request.POST)
        if form.is_valid():
            try:
                invoice_mark_delivered(
                    invoice=invoice, delivered_at=form.cleaned_data["delivered_at"], actor=request.user, via="admin"
                )
            except ServiceError as error:
                form.add_service_error(error)
            else:
                messages.success(
                    request,
                    gettext("Invoice %(number)s marked delivered; it will be sent to VTEX.")
                    % {"number": invoice.number},
                )
                return HttpResponseRedirect(invoice_url(invoice))
        return self._show_page_again(request, object_id, {"delivered_form": form})

    def retry_view(self, request: HttpRequest, object_id: str, message_id: int) -> HttpResponse:
        invoice = self._invoice_for_post(request, object_id, RETRY_SENDS)
        if isinstance(invoice, HttpResponse):
            return invoice
        message = invoice.outbox_messages.select_related("order", "invoice").filter(pk=message_id).first()
        if message is None:
            messages.warning(
                request,
                gettext("Invoice %(number)s has no send with ID %(id)s.")
                % {"number": invoice.number, "id": message_id},
            )
        else:
            retry_outbox_message(request, message)
        return HttpResponseRedirect(invoice_url(invoice))


# ---- cancellation requests and the outbox (read-only lists) ----------------------------------------------------


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
        return _requested_by(row)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "what",
        "state",
        "order_column",
        "invoice_column",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error_excerpt",
    )
    list_filter = ("kind", "state")
    list_select_related = ("order", "invoice")
    search_fields = ("=order__order_id", "=invoice__number")
    search_help_text = _("Exact order id or invoice number.")
    actions = ("retry_now",)
    fields = (
        ("kind", "state"),
        ("order_column", "invoice_column", "cancellation"),
        ("attempts", "next_attempt_at", "claimed_at"),
        ("outcome_unknown", "last_status_code"),
        "last_error",
        ("vtex_receipt", "sent_at"),
        ("created_by", "created_at"),
        "payload_json",
    )
    readonly_fields = ("order_column", "invoice_column", "payload_json")

    def has_retry_sends_permission(self, request: HttpRequest) -> bool:
        return can_retry_sends(request)

    @admin.action(description=_("Retry now"), permissions=["retry_sends"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        for message in queryset.select_related("order", "invoice").order_by("pk"):
            retry_outbox_message(request, message)

    @admin.display(description=_("order"), ordering="order__order_id")
    def order_column(self, message: OutboxMessage) -> str:
        return order_link(message.order)

    @admin.display(description=_("invoice"), ordering="invoice__number")
    def invoice_column(self, message: OutboxMessage) -> str:
        return invoice_link(message.invoice)

    @admin.display(description=_("what"), ordering="kind")
    def what(self, message: OutboxMessage) -> str:
        return outbox_label(message)

    @admin.display(description=_("last error"))
    def last_error_excerpt(self, message: OutboxMessage) -> str:
        # The status has its own column: VTEX's words only (the whole text is on the row's page).
        answer = vtex_answer(None, message.last_error)
        text = f"{answer.note}: {answer.message}" if answer.note else answer.message
        return text if len(text) <= 120 else text[:119] + "…"

    @admin.display(description=_("payload"))
    def payload_json(self, message: OutboxMessage) -> str:
        text = json.dumps(message.payload, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text)
