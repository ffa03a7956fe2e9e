"""Building blocks shared by the admin pages."""

from collections.abc import Callable
from datetime import datetime
from functools import partial

from django.contrib import admin
from django.urls import URLPattern, path
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _


def admin_page(model_admin: admin.ModelAdmin, route: str, view: Callable, name: str) -> URLPattern:
    """The URL of one of a ModelAdmin's own pages (integration.admin.views): `view(request,
    *, model_admin, **url_kwargs)` behind admin_view (staff login, CSRF, no caching)."""
    return path(route, model_admin.admin_site.admin_view(partial(view, model_admin=model_admin)), name=name)


def sentence(text: str) -> str:
    """The text ending with one full stop: a date such as "2:21 p.m." brings its own."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else f"{text}."


def store_datetime(moment: datetime | None) -> str:
    """A time as the admin shows it (DATETIME_FORMAT), in store time."""
    if moment is None:
        return "-"
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def day_and_hour(moment: datetime | None, *, title: str = "") -> str:
    """A list column's time in store time, the day and the hour on two lines (admin.css), so that
    the column stays narrow enough for 1280 px: the day as the reader's language writes it
    (28/11/2026 in pt-BR, 11/28/2026 in English), the hour 24-hour in both. "-" without a time."""
    if moment is None:
        return "-"
    moment = timezone.localtime(moment)
    return format_html(
        '<time datetime="{}"{}><span class="day">{}</span> <span class="hour">{}</span></time>',
        moment.isoformat(),
        format_html(' title="{}"', title) if title else "",
        formats.date_format(moment, "SHORT_DATE_FORMAT"),
        formats.time_format(moment, "H:i"),
    )


class ReadOnlyMixin:
    """Viewable by whoever has the view permission; the rows are written by erp-bridge only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class ReadOnlyTabularInline(ReadOnlyMixin, admin.TabularInline):
    """A table of related rows on a page, read only.

    With no rows it says so (`empty_text`) instead of showing a table of headers only; the
    "read-only-inline" class (integration/static/integration/admin.css) hides the caption Django
    puts above each row, the row's str(), which repeats the row (and shows its times in UTC).
    """

    extra = 0
    can_delete = False
    classes = ("read-only-inline",)
    template = "admin/integration/edit_inline/read_only_tabular.html"
    #: What the section says when there is nothing to list.
    empty_text = _("None yet.")
