"""The admin's actions, and the one-object steps they share with the order page's buttons.

Thin by design (STYLE.md §3.1, §3.7): each object goes through one service call, in its own
try, and gets its own message, so one bad order does not stop the batch. Requesting a
cancellation is irreversible: like Django's own delete_selected, the action first renders a
confirmation page, which the order page's button shows too.
"""

from __future__ import annotations

import math

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.admin.forms import CancellationForm
from integration.infra.rate_budget import vtex_budget_paused_for
from integration.infra.vtex_client import vtex_client
from integration.models import Order, OutboxMessage
from integration.selectors.labels import vtex_status_text
from integration.services.cancellation import (
    cancellation_reason_check,
    cancellation_request_create,
    order_cancellation_blocker,
)
from integration.services.errors import ServiceError, ValidationFailed
from integration.services.order_sync import error_message, order_refresh_from_vtex
from integration.services.orders import order_start_handling_now
from integration.services.outbox import outbox_retry
from integration.vtex import VtexClient, VtexError
from integration.vtex.mapping import VtexDataError

#: Each action talks to VTEX once or twice per order inside the web request; beyond this many
#: orders the request would outlive a proxy's timeout, so the action refuses and says why.
MAX_ORDERS_PER_ACTION = 100
#: The confirmation page works out, for each selected order, whether VTEX would cancel it (a few
#: queries per order); past this many the page is slow and too long to read before confirming.
MAX_ORDERS_PER_CANCELLATION = 100


# ---- refresh from VTEX, retry start-handling ---------------------------------------------------------------


@admin.action(description=_("Refresh from VTEX"), permissions=["change"])
def refresh_from_vtex(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    orders = orders_for_action(request, queryset)
    if orders:
        client = vtex_client()
        for order in orders:
            refresh_one(request, order, client)


@admin.action(description=_("Retry start-handling"), permissions=["change"])
def retry_start_handling(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    orders = orders_for_action(request, queryset)
    if orders:
        client = vtex_client()
        for order in orders:
            acknowledge_one(request, order, client)


def orders_for_action(request: HttpRequest, queryset: QuerySet[Order]) -> list[Order]:
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
    if not vtex_available(request):
        return []
    return orders


def vtex_available(request: HttpRequest) -> bool:
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


def refresh_one(request: HttpRequest, order: Order, client: VtexClient) -> None:
    try:
        outcome = order_refresh_from_vtex(client=client, order=order, actor=request.user)
    except (VtexError, VtexDataError) as exc:
        messages.warning(
            request,
            gettext("%(order)s: refresh failed: %(error)s") % {"order": order.order_id, "error": error_message(exc)},
        )
        return
    values = {"order": order.order_id, "status": vtex_status_text(outcome.order.vtex_status)}
    if outcome.changed:
        text = gettext("%(order)s: refreshed from VTEX, status %(status)s.") % values
    else:
        text = gettext("%(order)s: already up to date with VTEX (status %(status)s).") % values
    messages.success(request, text)


def acknowledge_one(request: HttpRequest, order: Order, client: VtexClient) -> None:
    result = order_start_handling_now(client=client, order=order, actor=request.user)
    values = {"order": order.order_id, "detail": result.text()}
    if result.done:
        messages.success(request, gettext("%(order)s: start-handling done. %(detail)s") % values)
    else:
        messages.warning(request, gettext("%(order)s: start-handling not done. %(detail)s") % values)


# ---- retry a send ---------------------------------------------------------------------------------------


@admin.action(description=_("Retry now"), permissions=["retry_sends"])
def retry_now(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
    for message in queryset.select_related("order", "invoice").order_by("pk"):
        retry_outbox_message(request, message)


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


# ---- request cancellation at VTEX -----------------------------------------------------------------------


@admin.action(description=_("Request cancellation at VTEX…"), permissions=["request_cancellation"])
def request_cancellation(
    model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Order]
) -> HttpResponse | None:
    orders = list(queryset.order_by("pk")[: MAX_ORDERS_PER_CANCELLATION + 1])
    if len(orders) > MAX_ORDERS_PER_CANCELLATION:
        messages.warning(
            request,
            gettext("Select at most %(max)s orders to cancel at a time; nothing was done.")
            % {"max": MAX_ORDERS_PER_CANCELLATION},
        )
        return None
    return cancellation_page(
        request, orders, model_admin=model_admin, done_url=request.get_full_path(), from_action=True
    )


def cancellation_page(
    request: HttpRequest, orders: list[Order], *, model_admin: admin.ModelAdmin, done_url: str, from_action: bool
) -> HttpResponse:
    """The confirmation page (GET, or the action's first POST); with "confirm" posted, the requests."""
    confirming = request.method == "POST" and "confirm" in request.POST
    form = CancellationForm(request.POST if confirming else None)
    if confirming and form.is_valid() and _request_cancellations(request, orders, form):
        return HttpResponseRedirect(done_url)
    rows = [(order, order_cancellation_blocker(order)) for order in orders]
    cancellable = [order for order, blocker in rows if not blocker]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
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


def _request_cancellations(request: HttpRequest, orders: list[Order], form: CancellationForm) -> bool:
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
            text = gettext("%(order)s: cancellation requested; it will be sent to VTEX.") % {"order": order.order_id}
            reports.append((messages.SUCCESS, text))
    for level, text in reports:
        messages.add_message(request, level, text)
    return True
