"""The list filters of the admin's pages (the right-hand column of each list)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from integration.selectors.health import orders_stuck, stuck_counts
from integration.selectors.labels import vtex_status_text
from integration.selectors.queue import WorkQueue, work_queue_q
from integration.selectors.start_handling import StartHandlingState, start_handling_done_q, start_handling_failed_q
from integration.vtex.statuses import VtexStatus

# ---- orders ---------------------------------------------------------------------------------------------


class WorkQueueFilter(admin.SimpleListFilter):
    """The clerk's saved views ("To invoice", oldest first; "No tracking"; "Failed"): links at the
    top of the list (its template) as well as here (integration.selectors.queue)."""

    title = _("work queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return WorkQueue.choices

    def queryset(self, request, queryset):
        condition = work_queue_q(self.value() or "")
        return queryset if condition is None else queryset.filter(condition)


class NeedsAttentionFilter(admin.SimpleListFilter):
    title = _("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes: intake or start-handling failed")), ("no", _("No"))]

    def queryset(self, request, queryset):
        problem = ~Q(intake_error="") | start_handling_failed_q()
        if self.value() == "yes":
            return queryset.filter(problem)
        if self.value() == "no":
            return queryset.exclude(problem)
        return queryset


class StartHandlingFilter(admin.SimpleListFilter):
    """Start-handling as its outbox row and VTEX's status say (StartHandlingState)."""

    title = _("start-handling")
    parameter_name = "start_handling"

    def lookups(self, request, model_admin):
        return [
            (StartHandlingState.DONE, StartHandlingState.DONE.label),
            (StartHandlingState.FAILED, StartHandlingState.FAILED.label),
            ("not_done", _("Not done")),
        ]

    def queryset(self, request, queryset):
        if self.value() == StartHandlingState.DONE:
            return queryset.filter(start_handling_done_q())
        if self.value() == StartHandlingState.FAILED:
            return queryset.filter(start_handling_failed_q())
        if self.value() == "not_done":
            return queryset.exclude(start_handling_done_q())
        return queryset


class StuckFilter(admin.SimpleListFilter):
    """Orders stuck somewhere between VTEX, erp-bridge and the ERP, one choice per reason, each with
    its count (integration.selectors.health; the health dashboard links here)."""

    title = _("stuck")
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        # The counts cover every order, whatever the other filters: they answer "how many are
        # stuck", as the dashboard does. Django's facets ("Show counts") give the filtered ones.
        return [(entry.kind.key, f"{entry.kind.label} ({entry.count})") for entry in stuck_counts()]

    def queryset(self, request, queryset):
        if self.value():
            return orders_stuck(key=self.value(), queryset=queryset)
        return queryset


#: The VTEX statuses an order stored here can have (from ready-for-handling on, VTEX-API.md §10),
#: in VTEX's order; anything else falls under "other".
VTEX_STATUS_CHOICES = (
    VtexStatus.READY_FOR_HANDLING,
    VtexStatus.START_HANDLING,
    VtexStatus.HANDLING,
    VtexStatus.INVOICE,
    VtexStatus.INVOICED,
    VtexStatus.CANCELLATION_REQUESTED,
    VtexStatus.CANCEL,
    VtexStatus.CANCELED,
)
OTHER_VTEX_STATUS = "other"


class VtexStatusFilter(admin.SimpleListFilter):
    """VTEX's status, from a fixed list: Django's own filter reads every order's status (a
    DISTINCT over the whole table, 25 ms at 100k orders on PostgreSQL) on every page."""

    title = _("VTEX status")
    parameter_name = "vtex_status"

    def lookups(self, request, model_admin):
        # VTEX's admin name with the API string beside it, in the reader's language.
        choices = ((status.value, vtex_status_text(status)) for status in VTEX_STATUS_CHOICES)
        return [*choices, (OTHER_VTEX_STATUS, _("other"))]

    def queryset(self, request, queryset):
        if self.value() == OTHER_VTEX_STATUS:
            return queryset.exclude(vtex_status__in=VTEX_STATUS_CHOICES)
        if self.value():
            return queryset.filter(vtex_status=self.value())
        return queryset


# ---- invoices -------------------------------------------------------------------------------------------


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


# ---- VTEX calls and drifts ----------------------------------------------------------------------------


class CallOutcomeFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [("ok", _("Succeeded (2xx)")), ("failed", _("Failed"))]

    def queryset(self, request, queryset):
        ok = Q(status_code__gte=200, status_code__lt=300)
        if self.value() == "ok":
            return queryset.filter(ok)
        if self.value() == "failed":
            return queryset.exclude(ok)
        return queryset


class DriftStatusFilter(admin.SimpleListFilter):
    """Open drifts unless asked otherwise: they are the ones that need someone."""

    title = _("status")
    parameter_name = "status"
    OPEN, RESOLVED, ALL = "open", "resolved", "all"

    def lookups(self, request, model_admin):
        return [(self.OPEN, _("Open")), (self.RESOLVED, _("Resolved")), (self.ALL, _("All"))]

    def current(self) -> str:
        value = self.value()
        return value if value in (self.OPEN, self.RESOLVED, self.ALL) else self.OPEN

    def choices(self, changelist):
        # No "All" choice from Django: "no parameter" means open here, so "All" is an explicit value.
        for value, title in self.lookup_choices:
            yield {
                "selected": self.current() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": title,
            }

    def queryset(self, request, queryset):
        current = self.current()
        if current == self.OPEN:
            return queryset.filter(resolved_at__isnull=True)
        if current == self.RESOLVED:
            return queryset.filter(resolved_at__isnull=False)
        return queryset
