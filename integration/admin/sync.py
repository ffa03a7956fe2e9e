"""Read-only pages of the integration's own bookkeeping: the VTEX call log, order events, hook
notifications, leases and the shared rate budget. Staff read them to see what erp-bridge did;
nobody edits them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integration.admin.base import ReadOnlyAdmin
from integration.admin.filters import CallOutcomeFilter
from integration.models import HookNotification, Lease, Order, OrderEvent, RateBudget, VtexCall
from integration.selectors.labels import ACTORS, actor_text
from integration.selectors.timeline import event_text


def _order_link(order_pk: int | None, order_id: str) -> str:
    if not order_pk:
        return order_id or "-"
    return format_html('<a href="{}">{}</a>', reverse("admin:integration_order_change", args=[order_pk]), order_id)


def _pre(text: str) -> str:
    return format_html('<pre style="white-space: pre-wrap; margin: 0">{}</pre>', text) if text else "-"


@admin.register(VtexCall)
class VtexCallAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "operation", "method", "path", "outcome", "duration_ms", "attempt", "order")
    list_filter = (CallOutcomeFilter, "operation", "method", "status_code")
    search_fields = ("=order_id", "path", "operation")
    search_help_text = _("Exact order id, or part of the path or operation.")
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = (
        ("created_at", "operation"),
        ("method", "path"),
        ("status_code", "error"),
        ("duration_ms", "attempt"),
        "order",
        "request_text",
        "response_text",
    )
    readonly_fields = ("order", "request_text", "response_text")

    def get_queryset(self, request):
        # The order's page is linked by primary key; a subquery keeps the list at one query.
        order_pk = Order.objects.filter(order_id=OuterRef("order_id")).values("pk")[:1]
        return super().get_queryset(request).annotate(order_pk=Subquery(order_pk))

    @admin.display(description=_("status or error"), ordering="status_code")
    def outcome(self, call: VtexCall) -> str:
        if call.status_code is not None:
            return str(call.status_code)
        return call.error or "-"

    @admin.display(description=_("order"), ordering="order_id")
    def order(self, call: VtexCall) -> str:
        return _order_link(getattr(call, "order_pk", None), call.order_id)

    @admin.display(description=_("request excerpt"))
    def request_text(self, call: VtexCall) -> str:
        return _pre(call.request_excerpt)

    @admin.display(description=_("response excerpt"))
    def response_text(self, call: VtexCall) -> str:
        return _pre(call.response_excerpt)


class ActorFilter(admin.SimpleListFilter):
    """Who acted when no user did ("system", "intake"...), in the reader's language; from a fixed
    list, not a DISTINCT over every event."""

    title = _("who")
    parameter_name = "actor_label"

    def lookups(self, request, model_admin):
        return [(label, actor_text(label)) for label in ACTORS]

    def queryset(self, request, queryset):
        return queryset.filter(actor_label=self.value(), actor__isnull=True) if self.value() else queryset


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "order_link", "kind", "who", "text")
    list_filter = ("kind", ActorFilter)
    list_select_related = ("order", "actor")
    search_fields = ("=order__order_id", "message")
    search_help_text = _("Exact order id, or part of the message (as stored, in English).")
    date_hierarchy = "created_at"
    fields = ("created_at", "order_link", "kind", "who", "text", "details")
    readonly_fields = ("order_link", "who", "text", "details")

    @admin.display(description=_("order"), ordering="order__order_id")
    def order_link(self, event: OrderEvent) -> str:
        return _order_link(event.order_id, event.order.order_id)

    @admin.display(description=_("who"))
    def who(self, event: OrderEvent) -> str:
        return event.actor.get_username() if event.actor_id else actor_text(event.actor_label)

    @admin.display(description=_("message"))
    def text(self, event: OrderEvent) -> str:
        """In the reader's language (the search still reads the stored English text)."""
        return event_text(event)

    @admin.display(description=_("data"))
    def details(self, event: OrderEvent) -> str:
        return _pre(json.dumps(event.data, indent=2, ensure_ascii=False, default=str) if event.data else "")


@admin.register(Lease)
class LeaseAdmin(ReadOnlyAdmin):
    list_display = ("name", "holder", "acquired_at", "expires_at", "is_held")

    @admin.display(description=_("held now"), boolean=True)
    def is_held(self, lease: Lease) -> bool:
        return lease.expires_at > timezone.now()


@admin.register(RateBudget)
class RateBudgetAdmin(ReadOnlyAdmin):
    list_display = ("name", "used", "window", "paused", "pauses")

    @admin.display(description=_("counter's second"))
    def window(self, budget: RateBudget) -> datetime | None:
        return datetime.fromtimestamp(budget.window_start, UTC) if budget.window_start else None

    @admin.display(description=_("paused until (after a 429)"))
    def paused(self, budget: RateBudget) -> datetime | str:
        if budget.paused_until <= timezone.now().timestamp():
            return gettext("not paused")
        return datetime.fromtimestamp(budget.paused_until, UTC)


@admin.register(HookNotification)
class HookNotificationAdmin(ReadOnlyAdmin):
    """VTEX's hook notifications: processed, waiting for their next attempt, or given up (their
    order could not be taken in; the error says why)."""

    list_display = ("received_at", "order_id", "state", "processed_at", "attempts", "gave_up_at", "error")
    list_filter = (("processed_at", admin.EmptyFieldListFilter), ("gave_up_at", admin.EmptyFieldListFilter))
    search_fields = ("=order_id",)
    search_help_text = _("Exact order id.")
    list_per_page = 100
    fields = (
        ("order_id", "state", "last_state"),
        ("received_at", "processed_at"),
        ("attempts", "next_attempt_at", "gave_up_at"),
        "error",
        ("domain", "current_change", "origin_account"),
        "body_text",
    )
    readonly_fields = ("body_text",)

    @admin.display(description=_("body"))
    def body_text(self, notification: HookNotification) -> str:
        return _pre(json.dumps(notification.body, indent=2, ensure_ascii=False))
