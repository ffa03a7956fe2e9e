"""Template helpers of the back office: `{% load erp_admin %}` then `{{ invoice.total_cents|money }}`,
`{{ cents|money:order.currency_code }}` or `{{ cents|money:order }}` (the order's currency with its
store's decimal digits: "COP 50.000"). The formatting itself is integration.admin.money: the
active language's shape, the given currency (else the store's)."""

from typing import Any

from django import template

from integration.admin.money import format_cents, format_order_cents

register = template.Library()


@register.filter
def money(cents: int | None, currency: Any = None) -> str:
    if hasattr(currency, "currency_code"):
        return format_order_cents(cents, currency)
    return format_cents(cents, currency)
