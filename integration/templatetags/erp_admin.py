"""Template helpers of the back office: `{% load erp_admin %}` then `{{ invoice.total_cents|money }}`,
`{{ cents|money:order.currency_code }}` or `{{ cents|money:order }}` (the order's currency with its
store's decimal digits: "COP 50.000"), and `{{ order.vtex_status|vtex_status }}`. The formatting
itself is integration.admin.money (the active language's shape, the given currency, else the
store's) and integration.selectors.labels."""

from typing import Any

from django import template

from integration.admin.money import format_cents, format_order_cents
from integration.selectors.labels import vtex_status_text

register = template.Library()


@register.filter
def money(cents: int | None, currency: Any = None) -> str:
    if hasattr(currency, "currency_code"):
        return format_order_cents(cents, currency)
    return format_cents(cents, currency)


@register.filter
def vtex_status(status: str) -> str:
    """`{{ order.vtex_status|vtex_status }}`: "Preparando entrega (handling)", as VTEX's admin
    names the status in the reader's language, with the API string beside it."""
    return vtex_status_text(status)
