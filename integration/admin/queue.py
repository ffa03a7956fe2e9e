"""The order list as a work queue that keeps its place (issue 19): the saved views at its top, the
list's filters carried through the order, invoice and add-invoice pages (Django's
"_changelist_filters"), and the next order of the same filtered list for "Save and go to the next".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.http import HttpRequest, QueryDict
from django.urls import reverse

from integration.selectors.queue import WorkQueue

#: "Save and go to the next" reads at most this many orders of the list to find where it stands:
#: far more than a day's queue (300–500 orders), and a bounded read on an unfiltered list.
QUEUE_SCAN_LIMIT = 5000
FILTERS_VAR = "_changelist_filters"


@dataclass(frozen=True)
class QueueLink:
    label: str
    url: str
    selected: bool


def queue_links(request: HttpRequest) -> list[QueueLink]:
    """The saved views at the top of the order list; each one starts afresh (no other filter)."""
    current = request.GET.get("queue", "")
    changelist = reverse("admin:integration_order_changelist")
    return [
        QueueLink(str(label), f"{changelist}?{urlencode({'queue': value})}", current == value)
        for value, label in WorkQueue.choices
    ]


def with_list_filters(request: HttpRequest, model_admin: admin.ModelAdmin, url: str) -> str:
    """`url` carrying the list's filters the page was reached with, as Django's own links do."""
    context = {"opts": model_admin.opts, "preserved_filters": model_admin.get_preserved_filters(request)}
    return add_preserved_filters(context, url)


def changelist_url(request: HttpRequest, model_admin: admin.ModelAdmin) -> str:
    """The list as the clerk left it (its filters, search and sort)."""
    opts = model_admin.opts
    return with_list_filters(request, model_admin, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))


def list_pks(request: HttpRequest, model_admin: admin.ModelAdmin) -> list[int]:
    """The primary keys of the list the page was reached from, in the list's order (its filters,
    search and sort as the list applies them: the ModelAdmin's own ChangeList)."""
    list_request = copy.copy(request)
    list_request.GET = QueryDict(request.GET.get(FILTERS_VAR, ""))
    list_request.method = "GET"
    try:
        changelist = model_admin.get_changelist_instance(list_request)
    except IncorrectLookupParameters:
        return []
    queryset = changelist.queryset.prefetch_related(None)
    return list(queryset.values_list("pk", flat=True)[:QUEUE_SCAN_LIMIT])


def next_pk(before: list[int], after: list[int], current: int) -> int | None:
    """The order that follows `current` in its list, once `current` is done.

    `before` is the list as it stood when the clerk opened the order, `after` the list now (the
    order just done may have left it: "To invoice" no longer holds an invoiced order). The next one
    is the first that came after `current` and is still listed; past the end of the list, the
    first still listed that the clerk did not pass (an order that joined the list meanwhile).
    """
    still = set(after)
    if current in before:
        position = before.index(current)
        passed = set(before[: position + 1])
        following = before[position + 1 :]
    else:
        passed, following = {current}, []
    for pk in following:
        if pk in still:
            return pk
    return next((pk for pk in after if pk not in passed), None)
