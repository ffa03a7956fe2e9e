"""Addresses of the admin pages that other pages link to, and the links themselves."""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import format_html

from integration.models import Invoice, Order

#: The id of the invoice page's notice of sends VTEX did not accept (the order page links to it).
REFUSED_ANCHOR = "vtex-refused"


def order_url(order: Order) -> str:
    return reverse("admin:integration_order_change", args=[quote(order.pk)])


def invoice_url(invoice: Invoice) -> str:
    return reverse("admin:integration_invoice_change", args=[quote(invoice.pk)])


def order_link(order: Order | None) -> str:
    return format_html('<a href="{}">{}</a>', order_url(order), order.order_id) if order else "-"


def invoice_link(invoice: Invoice | None) -> str:
    return format_html('<a href="{}">{}</a>', invoice_url(invoice), invoice.number) if invoice else "-"
