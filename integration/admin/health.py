"""The operator's health dashboard at /admin/integration/health/ (URL name admin:integration_health),
and its headline on the admin index.

The figures come from integration.selectors.health (the selectors); this module only lays them out,
and draws the orders-per-hour chart as inline SVG on the server (no JavaScript, nothing fetched
from elsewhere).

Django's documented way to add a site-wide admin URL is an AdminSite subclass. The project keeps
the default site, so install() adds the dashboard's URL and the index headline to that instance
instead: its get_urls() and index() are wrapped, once, when the admin is imported (before the URL
configuration reads admin.site.urls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext, ngettext

from integration.selectors import health

#: Who may read the dashboard: whoever may read the orders (both staff groups have view_order;
#: as everywhere in the admin, the change permission includes viewing).
VIEW_PERMISSIONS = ("integration.view_order", "integration.change_order")


def can_view_health(request: HttpRequest) -> bool:
    return any(request.user.has_perm(permission) for permission in VIEW_PERMISSIONS)


# ---- the chart -----------------------------------------------------------------------------------

CHART_WIDTH = 960
CHART_HEIGHT = 300
MARGIN_LEFT = 48
MARGIN_RIGHT = 16
MARGIN_TOP = 16
MARGIN_BOTTOM = 40
#: The widest a character of the axis labels (11 px sans-serif, in the chart's units) is on average,
#: rounded up: a day's name is written where at least its length × this is free.
LABEL_CHAR_WIDTH = 7

#: Okabe-Ito colours (told apart with colour blindness) plus a dash pattern per series, so the
#: lines differ without colour too.
SERIES_STYLES = {
    "received": ("#0072B2", ""),
    "acknowledged": ("#009E73", "7 3"),
    "invoiced": ("#E69F00", "2 3"),
    "canceled": ("#D55E00", "9 3 2 3"),
}


@dataclass(frozen=True)
class ChartLine:
    key: str
    label: str
    color: str
    dash: str
    points: str
    total: int


def svg_number(value: float) -> str:
    """A coordinate as SVG reads it: a dot for the decimal mark, no thousands separator, whatever
    the reader's language (pt-BR's "260,0" is two numbers to SVG, and the axes fell apart)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class ChartTick:
    position: float
    label: str

    @property
    def svg_position(self) -> str:
        return svg_number(self.position)


@dataclass(frozen=True)
class ChartDay:
    """One day of the text alternative: counts per series, in the store's time zone."""

    label: str
    counts: list[int]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    lines: list[ChartLine]
    x_ticks: list[ChartTick]  # day boundaries (midnight in the store's zone)
    x_labels: list[ChartTick]  # day names, centred on the part of the day shown
    y_ticks: list[ChartTick]
    days: list[ChartDay]
    totals: list[int]
    description: str

    @property
    def label_y(self) -> int:
        return self.bottom + 18

    @property
    def y_label_x(self) -> int:
        """Where the y axis' labels end (they are right-aligned against the axis)."""
        return self.left - 6


def nice_ceiling(value: int) -> tuple[int, int]:
    """(axis maximum, tick step) for counts up to `value`: steps of 1, 2 or 5 × 10^k, at most 5 ticks."""
    value = max(value, 1)
    magnitude = 10 ** max(0, math.floor(math.log10(value)) - 1)
    for step in (magnitude * factor for factor in (1, 2, 5, 10, 20, 50, 100)):
        if math.ceil(value / step) <= 5:
            return math.ceil(value / step) * step, step
    return value, value  # not reached: 100 × magnitude always fits


def activity_chart(activity: health.Activity, *, tz) -> Chart:
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    hour_width = (right - left) / activity.hours
    peak = max((max(series.counts, default=0) for series in activity.series), default=0)
    y_max, y_step = nice_ceiling(peak)

    def x(hours: float) -> float:
        return round(left + hours * hour_width, 1)

    def y(count: float) -> float:
        return round(bottom - count / y_max * (bottom - top), 1)

    lines = []
    for series in activity.series:
        color, dash = SERIES_STYLES.get(series.key, ("currentColor", ""))
        points = " ".join(
            f"{svg_number(x(index + 0.5))},{svg_number(y(count))}" for index, count in enumerate(series.counts)
        )
        lines.append(ChartLine(series.key, series.label, color, dash, points, series.total))

    # Days in the store's zone: a boundary at each local midnight, the name in the middle.
    x_ticks, x_labels, days = [], [], []
    day_counts: dict[object, list[int]] = {}
    for index in range(activity.hours):
        local_day = timezone.localtime(activity.hour_start(index), tz).date()
        counts = day_counts.setdefault(local_day, [0] * len(activity.series))
        for position, series in enumerate(activity.series):
            counts[position] += series.counts[index]
    for local_day, counts in day_counts.items():
        midnight = timezone.make_aware(datetime.combine(local_day, datetime.min.time()), tz)
        next_midnight = timezone.make_aware(datetime.combine(local_day + timedelta(days=1), datetime.min.time()), tz)
        shown_from = max(midnight, activity.start)
        shown_to = min(next_midnight, activity.end)
        hours_from = (shown_from - activity.start).total_seconds() / 3600
        hours_to = (shown_to - activity.start).total_seconds() / 3600
        if midnight >= activity.start:
            x_ticks.append(ChartTick(x(hours_from), ""))
        label = formats.date_format(midnight, "MONTH_DAY_FORMAT")  # "May 30", "30 de Maio"
        # Named only where the name fits the part of the day shown: the week's first and last
        # days are partial, and a name wider than its part ran into its neighbour and off the edge.
        if (hours_to - hours_from) * hour_width >= len(label) * LABEL_CHAR_WIDTH:
            x_labels.append(ChartTick(x((hours_from + hours_to) / 2), label))
        days.append(ChartDay(formats.date_format(midnight, "DATE_FORMAT"), counts))

    y_ticks = [ChartTick(y(value), str(value)) for value in range(0, y_max + 1, y_step)]
    totals = [series.total for series in activity.series]
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        lines=lines,
        x_ticks=x_ticks,
        x_labels=x_labels,
        y_ticks=y_ticks,
        days=days,
        totals=totals,
        description=_describe(activity, tz),
    )


def _describe(activity: health.Activity, tz) -> str:
    first = timezone.localtime(activity.start, tz)
    last = timezone.localtime(activity.end, tz)
    parts = [f"{series.label}: {series.total}" for series in activity.series]
    text = gettext("Orders per hour from %(first)s to %(last)s (%(zone)s). Totals: %(totals)s.") % {
        "first": formats.date_format(first, "SHORT_DATETIME_FORMAT"),
        "last": formats.date_format(last, "SHORT_DATETIME_FORMAT"),
        "zone": tz,
        "totals": ", ".join(parts),
    }
    busiest = max(activity.series, key=lambda series: max(series.counts, default=0), default=None)
    if busiest is not None and busiest.total:
        peak = max(busiest.counts)
        hour = timezone.localtime(activity.hour_start(busiest.counts.index(peak)), tz)
        text += " " + gettext("Busiest hour: %(count)s %(series)s at %(hour)s on %(day)s.") % {
            "count": peak,
            "series": str(busiest.label).lower(),
            "hour": format_date(hour, "H:i"),
            "day": formats.date_format(hour, "SHORT_DATE_FORMAT"),
        }
    return text


# ---- the page ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StuckLink:
    key: str
    label: str
    count: int
    url: str
    is_problem: bool


@dataclass(frozen=True)
class DriftLink:
    kind: str
    label: str
    count: int
    url: str


def order_list_url(**query: str) -> str:
    url = reverse("admin:integration_order_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def health_view(request: HttpRequest, *, site: AdminSite) -> HttpResponse:
    if not can_view_health(request):
        raise PermissionDenied
    now = timezone.now()
    tz = timezone.get_default_timezone()  # settings.TIME_ZONE, the store's zone
    stuck = health.stuck_summary(now=now)
    drift_url = reverse("admin:integration_drift_changelist")
    can_view_drifts = _can_view(request, site, "integration", "drift")
    activity = health.orders_activity(now=now)
    context = {
        **site.each_context(request),
        "title": gettext("Integration health"),
        "subtitle": None,
        "now": now,
        "store_time_zone": str(tz),
        "intake_mode": settings.VTEX_INTAKE,
        "intake": health.intake_status(),
        "pull": health.pull_last_run(),
        "orders_exist": health.orders_exist(),
        "feed": health.feed_state(),
        "outbox": health.outbox_backlog(),
        "failed_sends": health.failed_sends_count(),
        "rate_limit": health.rate_limit_status(now=now),
        "tasks": health.failed_tasks(now=now),
        "stuck_total": stuck.total,
        "stuck": [
            StuckLink(
                entry.kind.key,
                entry.kind.label,
                entry.count,
                order_list_url(stuck=entry.kind.key),
                entry.kind.is_problem,
            )
            for entry in stuck.counts
        ],
        "drifts": [
            DriftLink(row.kind, row.label, row.count, f"{drift_url}?{urlencode({'kind__exact': row.kind})}")
            for row in health.open_drift_counts()
        ],
        "drift_url": drift_url if can_view_drifts else "",
        "outbox_url": _changelist_url(request, site, "integration", "outboxmessage"),
        "calls_url": _changelist_url(request, site, "integration", "vtexcall"),
        "failures_url": _changelist_url(request, site, "django_q", "failure"),
        "activity": activity,
        "chart": activity_chart(activity, tz=tz),
    }
    request.current_app = site.name
    return TemplateResponse(request, "admin/integration/health.html", context)


def _can_view(request: HttpRequest, site: AdminSite, app_label: str, model_name: str) -> bool:
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        return False
    return site.is_registered(model) and site.get_model_admin(model).has_view_permission(request)


def _changelist_url(request: HttpRequest, site: AdminSite, app_label: str, model_name: str) -> str:
    """The list's URL when this user may open it, else "" (the template then shows no link)."""
    if not _can_view(request, site, app_label, model_name):
        return ""
    return reverse(f"{site.name}:{app_label}_{model_name}_changelist")


# ---- the index headline ---------------------------------------------------------------------------


def headline_text(headline: health.Headline) -> str:
    """'3 orders stuck · feed lag 12 s · 0 failed sends · 1 open drift'."""

    stuck = headline.stuck
    parts = [ngettext("%(count)s order stuck", "%(count)s orders stuck", stuck) % {"count": stuck}]
    if headline.waiting_for_erp is not None:
        parts.append(gettext("%(count)s waiting for the ERP") % {"count": headline.waiting_for_erp})
    if headline.intake == "feed":
        if headline.feed_lag_s is None:
            parts.append(gettext("feed lag unknown"))
        else:
            parts.append(gettext("feed lag %(seconds)s s") % {"seconds": headline.feed_lag_s})
    failed = headline.failed_sends
    parts.append(ngettext("%(count)s failed send", "%(count)s failed sends", failed) % {"count": failed})
    drifts = headline.open_drifts
    parts.append(ngettext("%(count)s open drift", "%(count)s open drifts", drifts) % {"count": drifts})
    return " · ".join(parts)


def install(site: AdminSite) -> None:
    """Add the dashboard URL and the index headline to `site` (idempotent)."""
    if getattr(site, "_integration_health_installed", False):
        return
    site_get_urls = site.get_urls
    site_index = site.index

    def get_urls():
        def view(request: HttpRequest) -> HttpResponse:
            return health_view(request, site=site)

        # Before the site's own URLs, whose "<app_label>/" patterns come next.
        return [path("integration/health/", site.admin_view(view), name="integration_health"), *site_get_urls()]

    def index(request: HttpRequest, extra_context=None) -> HttpResponse:
        extra = dict(extra_context or {})
        if can_view_health(request):
            headline = health.health_headline()
            extra.setdefault("integration_health", {"text": headline_text(headline), "alert": _alert(headline)})
        return site_index(request, extra_context=extra)

    site.get_urls = get_urls
    site.index = index
    site._integration_health_installed = True


def _alert(headline: health.Headline) -> bool:
    return bool(headline.stuck or headline.failed_sends or headline.open_drifts)


install(admin.site)
