"""The read-only tables of related rows on the order and invoice pages."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from integration.admin.base import ReadOnlyTabularInline, store_datetime
from integration.admin.links import REFUSED_ANCHOR, invoice_link, invoice_url, order_url
from integration.admin.money import format_order_cents
from integration.models import (
    CancellationRequest,
    Invoice,
    InvoiceItem,
    ItemFulfillment,
    Order,
    OrderChange,
    OrderItem,
    OutboxMessage,
    Payment,
    SendState,
    TrackingEvent,
)
from integration.selectors.labels import PAYMENT_GROUPS, PAYMENT_STATUSES, coded_text

# ---- the order page -----------------------------------------------------------------------------------


def item_notes(item: OrderItem) -> list[str]:
    """What makes an item more than "n units at a price": gift, kit, assembly option, weight or
    pack, attachments; each a short phrase in the reader's language."""
    notes = []
    if item.is_gift:
        notes.append(gettext("gift"))
    if item.components:
        notes.append(
            ngettext("kit of %(count)s component", "kit of %(count)s components", len(item.components))
            % {"count": len(item.components)}
        )
    if item.parent_item_index is not None:
        notes.append(
            gettext("assembly option of item %(index)s (%(binding)s)")
            % {"index": item.parent_item_index, "binding": item.parent_assembly_binding or "-"}
        )
    if item.unit_multiplier != 1:
        notes.append(
            gettext("each unit is %(multiplier)s %(unit)s")
            % {"multiplier": f"{item.unit_multiplier.normalize():f}", "unit": item.measurement_unit or ""}
        )
    for attachment in item.attachments:
        notes.append(gettext("attachment: %(name)s") % {"name": attachment.get("name") or "-"})
    return notes


class OrderItemInline(ReadOnlyTabularInline):
    model = OrderItem
    empty_text = _("The order has no items.")
    fields = (
        "item_index",
        "sku_id",
        "ref_id",
        "ean",
        "description",
        "quantities",
        "unit_price",
        "selling_price",
        "line_total",
    )
    readonly_fields = fields

    @admin.display(description=_("name"))
    def description(self, item: OrderItem) -> str:
        notes = item_notes(item)
        if not notes:
            return item.name
        return format_html('{}<br><span class="help">{}</span>', item.name, "; ".join(notes))

    @admin.display(description=_("quantity"))
    def quantities(self, item: OrderItem) -> str:
        """The quantity ordered, and what is left of it when a change at VTEX removed or added units."""
        if item.quantity_after_changes == item.quantity:
            return str(item.quantity)
        return format_html(
            '<span class="changed-quantity">{} → {}</span><br><span class="help">{}</span>',
            item.quantity,
            item.quantity_after_changes,
            gettext("changed at VTEX"),
        )

    def get_queryset(self, request):
        # The money columns need the order's currency; one join instead of a query per line.
        return super().get_queryset(request).select_related("order")

    @admin.display(description=_("unit price"))
    def unit_price(self, item: OrderItem) -> str:
        return format_order_cents(item.unit_price_cents, item.order)

    @admin.display(description=_("selling price"))
    def selling_price(self, item: OrderItem) -> str:
        return format_order_cents(item.selling_price_cents, item.order)

    @admin.display(description=_("line total"))
    def line_total(self, item: OrderItem) -> str:
        """VTEX's value of what the order holds of the item (after its changes)."""
        return format_order_cents(item.selling_total_cents, item.order)


def _changed_items_text(rows: list[dict]) -> str:
    return ", ".join(f"{row.get('quantity')} × {row.get('name') or row.get('sku_id')}" for row in rows)


class OrderChangeInline(ReadOnlyTabularInline):
    """The changes VTEX made to the order (what, when, why, value) and the order replacing it or
    that it replaces."""

    model = OrderChange
    fields = ("what", "when", "reason", "value")
    readonly_fields = fields
    verbose_name = _("change at VTEX")
    verbose_name_plural = _("changes at VTEX")
    empty_text = _("VTEX reports no change to this order.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order").order_by("kind", "position")

    @admin.display(description=_("what"))
    def what(self, change: OrderChange) -> str:
        if change.kind != OrderChange.Kind.CHANGE:
            other = Order.objects.filter(order_id=change.other_order_id).only("pk").first()
            label = (
                gettext("Replaced by order %(order)s")
                if change.kind == OrderChange.Kind.REPLACED_BY
                else gettext("Replaces order %(order)s")
            )
            if other is None:
                return format_html(
                    '{} <span class="help">{}</span>',
                    label % {"order": change.other_order_id},
                    gettext("(not imported here yet)"),
                )
            link = format_html('<a href="{}">{}</a>', order_url(other), change.other_order_id)
            return mark_safe(conditional_escape(label) % {"order": link})  # noqa: S308 (both parts escaped)
        parts = []
        if change.items_removed:
            parts.append(gettext("removed: %(items)s") % {"items": _changed_items_text(change.items_removed)})
        if change.items_added:
            parts.append(gettext("added: %(items)s") % {"items": _changed_items_text(change.items_added)})
        return "; ".join(parts) or gettext("value changed")

    @admin.display(description=_("when"))
    def when(self, change: OrderChange) -> str:
        return store_datetime(change.changed_at or change.created_at)

    @admin.display(description=_("value"))
    def value(self, change: OrderChange) -> str:
        if change.kind != OrderChange.Kind.CHANGE:
            return "-"
        return format_order_cents(change.value_cents, change.order)


class PaymentInline(ReadOnlyTabularInline):
    model = Payment
    # The three VTEX ids share one column, each cut to its width with the whole id kept in the page
    # (title, copy, search): side by side they made the order page scroll sideways.
    # In a split purchase VTEX shows every order the whole group's payment: the first amount is
    # what pays for this order, the second VTEX's figure, labelled as the group's.
    fields = (
        "payment_system_name",
        "payment_group",
        "amount",
        "group_value",
        "installments",
        "ids",
        "statuses",
        "fetched_at",
    )
    readonly_fields = fields
    empty_text = _("No payments read from VTEX.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")

    @admin.display(description=_("for this order"))
    def amount(self, payment: Payment) -> str:
        share = payment.value_cents if payment.order_share_cents is None else payment.order_share_cents
        return format_order_cents(share, payment.order)

    @admin.display(description=_("transaction value (whole order group)"))
    def group_value(self, payment: Payment) -> str:
        return format_order_cents(payment.value_cents, payment.order)

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

    @admin.display(description=_("group"))
    def payment_group(self, payment: Payment) -> str:
        """How the buyer paid, in the reader's language with VTEX's code beside ("Cartão de crédito (creditCard)")."""
        return coded_text(payment.group, PAYMENT_GROUPS)

    @admin.display(description=_("status (transaction)"))
    def statuses(self, payment: Payment) -> str:
        if not payment.status and not payment.transaction_status:
            return "-"
        status = coded_text(payment.status, PAYMENT_STATUSES)
        if payment.transaction_status and payment.transaction_status != payment.status:
            return f"{status} ({coded_text(payment.transaction_status, PAYMENT_STATUSES)})"
        return coded_text(payment.status or payment.transaction_status, PAYMENT_STATUSES)


class ItemFulfillmentInline(ReadOnlyTabularInline):
    """Per item: its seller and how it reaches the buyer (VTEX's logisticsInfo[])."""

    model = ItemFulfillment
    verbose_name = _("delivery of an item")
    verbose_name_plural = _("delivery per item")
    fields = ("item_index", "seller", "channel", "sla", "carrier", "shipping_estimate_date", "window", "pickup_point")
    readonly_fields = fields
    empty_text = _("VTEX sent no delivery data for the items.")

    @admin.display(description=_("delivery channel"))
    def channel(self, row: ItemFulfillment) -> str:
        labels = dict(Order.DeliveryChannel.choices)
        return str(labels.get(row.delivery_channel, row.delivery_channel)) or "-"

    @admin.display(description=_("delivery window"))
    def window(self, row: ItemFulfillment) -> str:
        if row.delivery_window_start is None:
            return "-"
        start = timezone.localtime(row.delivery_window_start)
        end = timezone.localtime(row.delivery_window_end) if row.delivery_window_end else None
        return f"{date_format(start, 'SHORT_DATETIME_FORMAT')} – {date_format(end, 'TIME_FORMAT') if end else '?'}"

    @admin.display(description=_("pickup point"))
    def pickup_point(self, row: ItemFulfillment) -> str:
        if not row.pickup_point_id and not row.pickup_point_name:
            return "-"
        if row.pickup_point_name and row.pickup_point_id:
            return f"{row.pickup_point_name} ({row.pickup_point_id})"
        return row.pickup_point_name or row.pickup_point_id


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
        return format_order_cents(invoice.value_cents, invoice.order)


def requested_by(request_row: CancellationRequest) -> str:
    """Who asked for a cancellation: the staff member, else the channel (api)."""
    if request_row.requested_by_id:
        return request_row.requested_by.get_username()
    return request_row.requested_via


class CancellationRequestInline(ReadOnlyTabularInline):
    model = CancellationRequest
    fields = ("state", "reason", "who", "requested_at", "vtex_answer")
    readonly_fields = fields
    empty_text = _("No cancellation requested.")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("requested_by")

    @admin.display(description=_("requested by"))
    def who(self, request_row: CancellationRequest) -> str:
        return requested_by(request_row)


# ---- the invoice page ---------------------------------------------------------------------------------


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
        return format_order_cents(row.unit_price_cents, row.invoice.order)

    @admin.display(description=_("line total"))
    def line_total(self, row: InvoiceItem) -> str:
        return format_order_cents(row.unit_price_cents * row.quantity, row.invoice.order)


class TrackingEventInline(ReadOnlyTabularInline):
    """The invoice's events, a page at a time (?events_page=N): an invoice keeps up to
    services.tracking.EVENTS_PER_INVOICE of them, and a page of all of them took seconds."""

    model = TrackingEvent
    fields = ("occurred_at", "city", "state", "description", "created_by", "created_at")
    readonly_fields = fields
    verbose_name_plural = _("tracking events")
    empty_text = _("No tracking events yet.")
    template = "admin/integration/invoice/tracking_events_inline.html"
    per_page = 50
    #: The page shown (set by get_queryset; the template draws its links).
    page = None

    def get_queryset(self, request):
        queryset = super().get_queryset(request).order_by("occurred_at", "id")
        match = request.resolver_match
        invoice_pk = match.kwargs.get("object_id") if match is not None else None
        if invoice_pk is None:
            return queryset
        events = queryset.filter(invoice_id=unquote(invoice_pk)).values_list("pk", flat=True)
        self.page = Paginator(events, self.per_page).get_page(request.GET.get("events_page"))
        return queryset.filter(pk__in=list(self.page.object_list))
