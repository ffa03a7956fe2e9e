"""Which stored orders another seller fulfils.

VTEX splits a purchase into one order per seller (VTEX-API.md §14); an account that is a
marketplace sees the orders its sellers fulfil (a franchise seller "strbar", say) as well as its
own. Start-handling, invoices and cancellations of such an order are that seller's business:
erp-bridge stores and shows the order, and never acts as its fulfiller. Which seller ids are
this account is settings.VTEX_OWN_SELLER_IDS (default "1", VTEX's id for the account itself).

An order without any seller id (a stub from a list summary) counts as ours: nothing says otherwise.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from integration.models import Order


def own_seller_ids() -> frozenset[str]:
    return frozenset(settings.VTEX_OWN_SELLER_IDS)


def fulfilled_elsewhere_q() -> Q:
    """Orders whose seller is another seller than this account (for querysets)."""
    return ~Q(seller_id="") & ~Q(seller_id__in=own_seller_ids())


def order_fulfilled_elsewhere(order: Order) -> bool:
    return bool(order.seller_id) and order.seller_id not in own_seller_ids()


def order_seller_label(order: Order) -> str:
    """The order's seller as staff read it: "Star Bar (strbar)", or the id alone."""
    if order.seller_name and order.seller_name != order.seller_id:
        return f"{order.seller_name} ({order.seller_id})"
    return order.seller_id


def order_siblings(order: Order) -> QuerySet[Order]:
    """The other stored orders of the order's group (a purchase split between sellers: -01, -02…)."""
    if not order.order_group:
        return Order.objects.none()
    return Order.objects.filter(order_group=order.order_group).exclude(pk=order.pk).order_by("order_id")
