"""The picking list (issue 19): the order list's action that prints the selected orders for the
warehouse, one block per order (order, items with SKU, EAN and quantity, delivery method, address),
on a page with its own print stylesheet."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.admin.inlines import item_notes
from integration.models import Order
from integration.selectors.queue import order_delivery, orders_for_picking

#: A picking round is a cart of orders, not the whole store: a bound keeps the page printable.
MAX_ORDERS_PER_PICKING_LIST = 200


@admin.action(description=_("Print picking list"), permissions=["view"])
def print_picking_list(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]):
    orders = list(orders_for_picking(queryset)[: MAX_ORDERS_PER_PICKING_LIST + 1])
    if len(orders) > MAX_ORDERS_PER_PICKING_LIST:
        messages.warning(
            request,
            gettext("Select at most %(max)s orders for one picking list; nothing was printed.")
            % {"max": MAX_ORDERS_PER_PICKING_LIST},
        )
        return None
    entries = []
    for order in orders:
        items = [
            # What is left after the order's changes at VTEX: removed units are not shipped.
            {"item": item, "quantity": item.quantity_after_changes, "notes": "; ".join(item_notes(item))}
            for item in order.items.all()
            if item.quantity_after_changes > 0
        ]
        entries.append(
            {
                "order": order,
                "delivery": order_delivery(order),
                "items": items,
                "units": sum(entry["quantity"] for entry in items),
            }
        )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Picking list"),
        "entries": entries,
        "back_url": request.get_full_path(),
    }
    return TemplateResponse(request, "admin/integration/order/picking_list.html", context)
