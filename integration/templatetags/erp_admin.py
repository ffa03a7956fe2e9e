"""Template helpers of the back office: `{% load erp_admin %}` then `{{ invoice.total_cents|money }}`
or `{{ cents|money:order.currency_code }}`. The formatting itself is integration.admin.money: the
active language's shape, the given currency (else the store's)."""

from django import template

from integration.admin.money import format_cents

register = template.Library()


@register.filter
def money(cents: int | None, currency: str | None = None) -> str:
    return format_cents(cents, currency)
