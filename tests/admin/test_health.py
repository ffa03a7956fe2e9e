"""The health dashboard (/admin/integration/health/): who may see it, the figures it shows with an
empty database and with data, the orders-per-hour chart (inline SVG) and the index headline."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation
from django_q.models import Failure, Success

from integration.admin.health import activity_chart, headline_text, nice_ceiling
from integration.infra.rate_budget import BUDGET_NAME
from integration.models import (
    CancellationRequest,
    Drift,
    FeedState,
    HookNotification,
    Invoice,
    Order,
    OrderEvent,
    OutboxMessage,
    RateBudget,
)
from integration.selectors import health
from tests.factories import make_acknowledged_order, make_call, make_event, make_invoice, make_order

pytestmark = pytest.mark.django_db

URL = "/admin/integration/health/"


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def by_id(page: str, element_id: str) -> str:
    """The text of the element with this id (one level of markup inside at most)."""
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</t[dh]>', page, re.S)
    assert match, f"no element with id {element_id}"
    return re.sub(r"<[^>]+>", "", match[1]).strip()


def outbox_cell(page: str, kind: str, state: str) -> str:
    row = re.search(rf'<tr data-kind="{kind}">(.*?)</tr>', page, re.S)
    assert row, kind
    return re.search(rf'data-state="{state}">(\d+)<', row[1])[1]


def text_alternative_totals(page: str) -> list[int]:
    details = re.search(r'<details id="chart-data">(.*?)</details>', page, re.S)[1]
    totals = re.search(r'<tr class="totals">(.*?)</tr>', details, re.S)[1]
    return [int(value) for value in re.findall(r'<td class="number">(\d+)</td>', totals)]


def hours_ago(hours: float) -> datetime:
    return timezone.now() - timedelta(hours=hours)


def set_fields(obj, **fields) -> None:
    type(obj).objects.filter(pk=obj.pk).update(**fields)


def make_failure(*, stopped: datetime, name: str = "pull", func: str = "integration.tasks.pull_orders") -> Failure:
    return Failure.objects.create(
        id=uuid.uuid4().hex,
        name=name,
        func=func,
        started=stopped - timedelta(seconds=2),
        stopped=stopped,
        success=False,
        result="VTEX answered 503 : Traceback (most recent call last): ...",
    )


def outbox_row(order: Order, kind: str, state: str) -> OutboxMessage:
    return OutboxMessage.objects.create(kind=kind, order=order, payload={}, state=state, next_attempt_at=timezone.now())


# ---- access ------------------------------------------------------------------------------------------


def test_url_and_name():
    assert reverse("admin:integration_health") == URL


def test_anonymous_is_sent_to_the_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_view_order_gets_403(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_vtexcall"))
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_back_office_may_read_it_without_links_to_what_it_cannot_open(client, django_user_model):
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Back office"))
    client.force_login(user)

    page = page_of(client.get(URL))

    assert reverse("admin:integration_outboxmessage_changelist") not in page
    assert reverse("admin:django_q_failure_changelist") not in page
    assert reverse("admin:integration_drift_changelist") not in page


# ---- empty ---------------------------------------------------------------------------------------------


def test_dashboard_renders_with_an_empty_database(admin_client):
    page = page_of(admin_client.get(URL))

    assert "No orders yet: is the pull running?" in page
    assert "No run recorded" in page
    assert by_id(page, "stuck-total") == "0"
    assert by_id(page, "failed-sends") == "0"
    assert by_id(page, "answers-429") == "0"
    assert by_id(page, "failed-tasks") == "0"
    assert by_id(page, "paused-for") == "no"
    assert "No failed task recorded." in page
    assert page.count('<polyline class="series') == 4
    assert text_alternative_totals(page) == [0, 0, 0, 0]
    assert '<title id="chart-title">' in page and '<desc id="chart-desc">' in page


def test_empty_database_tells_when_the_pull_last_ran(admin_client):
    Success.objects.create(
        id=uuid.uuid4().hex,
        name="pull",
        func=health.PULL_TASK_FUNC,
        started=hours_ago(1),
        stopped=hours_ago(1),
        success=True,
    )
    make_call(operation="list_orders", path="/api/oms/pvt/orders", created_at=hours_ago(3))

    page = page_of(admin_client.get(URL))

    assert "No orders yet: is the pull running?" in page
    assert "Last run at" in page and "the scheduled pull (succeeded)" in page


# ---- with data -------------------------------------------------------------------------------------


@pytest.fixture
def busy_store(settings):
    """A week of activity plus everything the dashboard counts; returns the expected figures."""
    settings.VTEX_INTAKE = "feed"
    # orders received and acknowledged at once: 5 in the last week (3 two hours ago, 2 three days
    # ago), 1 too old to count
    received = [
        make_order(start_handling="done", vtex_status="handling", acknowledged_at=hours_ago(2 if n < 3 else 72))
        for n in range(5)
    ]
    for order in received[:3]:
        set_fields(order, imported_at=hours_ago(2))
    for order in received[3:]:
        set_fields(order, imported_at=hours_ago(72))
    old = make_order(start_handling="done", vtex_status="handling", acknowledged_at=hours_ago(24 * 8))
    set_fields(old, imported_at=hours_ago(24 * 8))
    # 4 more, received and acknowledged now
    acknowledged = [make_acknowledged_order(start_handling="done") for _ in range(4)]
    # invoiced: 3 output invoices (one a partial one), 1 return which is not counted
    invoiced = acknowledged[0]
    make_invoice(invoiced, quantities={0: 1})
    make_invoice(invoiced, quantities={0: 1, 1: 1, 2: 3})
    make_invoice(acknowledged[1])
    make_invoice(acknowledged[1], kind=Invoice.Kind.INPUT)
    # canceled: 2 (one of them went through "cancel" first: counted once), 1 other status change
    for order, steps in (
        (acknowledged[2], [("handling", "cancel"), ("cancel", "canceled")]),
        (received[0], [("ready-for-handling", "canceled")]),
    ):
        for old, new in steps:
            make_event(order, kind=OrderEvent.Kind.STATUS_CHANGED, message="", data={"from": old, "to": new})
        set_fields(order, vtex_status=steps[-1][1])  # as order_sync stores it with its event
    make_event(
        acknowledged[3], kind=OrderEvent.Kind.STATUS_CHANGED, message="", data={"from": "handling", "to": "invoiced"}
    )
    # a stuck order: start-handling failed
    make_order(start_handling="failed")
    # the outbox: the 4 invoices above queued 4 invoice sends (pending); plus these
    outbox_row(acknowledged[3], OutboxMessage.Kind.TRACKING, OutboxMessage.State.FAILED)
    outbox_row(acknowledged[3], OutboxMessage.Kind.TRACKING, OutboxMessage.State.SENT)
    outbox_row(acknowledged[2], OutboxMessage.Kind.CANCEL, OutboxMessage.State.SENDING)
    # rate limit: 2 answers 429 in 24 h, 1 older; VTEX paused everybody for a minute
    make_call(status_code=429, created_at=hours_ago(1))
    make_call(status_code=429, created_at=hours_ago(23))
    make_call(status_code=429, created_at=hours_ago(30))
    RateBudget.objects.create(name=BUDGET_NAME, pauses=7, paused_until=timezone.now().timestamp() + 60)
    # failed tasks: 2 in 24 h, 1 older
    make_failure(stopped=hours_ago(1), name="pull-late", func="integration.tasks.pull_orders")
    make_failure(stopped=hours_ago(5), name="send-12", func="integration.tasks.send_outbox_message")
    make_failure(stopped=hours_ago(48), name="old-one")
    # intake sources
    make_call(operation="list_orders", path="/api/oms/pvt/orders", created_at=hours_ago(0.1))
    make_call(operation="read_feed", path="/api/orders/feed", created_at=hours_ago(0.2))
    HookNotification.objects.create(order_id="1-01", state="ready-for-handling", body={}, processed_at=timezone.now())
    HookNotification.objects.create(order_id="2-01", state="ready-for-handling", body={})
    FeedState.objects.create(name="orders", queued=4, oldest_message_age_s=12, last_read_at=timezone.now())
    # drifts: 2 open (two kinds), 1 resolved
    Drift.objects.create(
        kind=Drift.Kind.INVOICE_VALUE_DIFFERS, order_id_text="a", detail="", action="", last_seen_at=timezone.now()
    )
    Drift.objects.create(
        kind=Drift.Kind.READY_UNKNOWN_HERE, order_id_text="b", detail="", action="", last_seen_at=timezone.now()
    )
    Drift.objects.create(
        kind=Drift.Kind.READY_UNKNOWN_HERE,
        order_id_text="c",
        detail="",
        action="",
        last_seen_at=timezone.now(),
        resolved_at=timezone.now(),
    )
    return {"received": 5 + 4 + 1, "acknowledged": 5 + 4, "invoiced": 3, "canceled": 2}


def test_dashboard_shows_the_figures(admin_client, busy_store):
    page = page_of(admin_client.get(URL))

    assert "No orders yet" not in page
    # outbox backlog by kind and state (sent rows are not backlog)
    assert outbox_cell(page, "invoice", "pending") == "4"
    assert outbox_cell(page, "tracking", "failed") == "1"
    assert outbox_cell(page, "tracking", "pending") == "0"
    assert outbox_cell(page, "cancel", "sending") == "1"
    assert by_id(page, "failed-sends") == "2"  # the tracking, and the stuck order's start-handling
    # rate limit
    assert by_id(page, "answers-429") == "2"
    assert by_id(page, "pauses-total") == "7"
    assert re.fullmatch(r"for (59|60) s", by_id(page, "paused-for"))
    # failed tasks
    assert by_id(page, "failed-tasks") == "2"
    assert page.count('class="failed-task"') == 3
    assert "pull-late" in page and "integration.tasks.send_outbox_message" in page
    # stuck: the failed start-handling, linked to the filtered order list
    assert re.search(r'data-stuck="ack_failed">1<', page)
    assert by_id(page, "stuck-total") == "1"
    assert f'href="{reverse("admin:integration_order_changelist")}?stuck=ack_failed"' in page
    # feed and hook
    assert by_id(page, "feed-queued") == "4"
    assert by_id(page, "feed-lag") == "12 s"
    assert ">1</span>" in page.split('id="hook-pending"')[1][:10]
    # open drifts by kind, linked
    assert re.search(r'<tr data-kind="invoice_value_differs">.*?>1</td>', page, re.S)
    assert re.search(r'<tr data-kind="ready_unknown_here">.*?>1</td>', page, re.S)
    assert f"{reverse('admin:integration_drift_changelist')}?kind__exact=ready_unknown_here" in page


def test_chart_has_four_series_and_the_right_totals(admin_client, busy_store):
    page = page_of(admin_client.get(URL))

    polylines = re.findall(r'<polyline class="series series-(\w+)"[^>]*points="([^"]+)"', page)
    assert [key for key, _ in polylines] == ["received", "acknowledged", "invoiced", "canceled"]
    for _, points in polylines:
        assert len(points.split()) == 168
    expected = busy_store
    assert text_alternative_totals(page) == [
        expected["received"],
        expected["acknowledged"],
        expected["invoiced"],
        expected["canceled"],
    ]
    assert "Received: 10, Acknowledged: 9, Invoiced: 3, Canceled: 2" in page  # the <desc>
    assert 'role="img"' in page and 'aria-labelledby="chart-title chart-desc"' in page
    assert "<script" not in page.split('id="health-chart"')[1]


def test_dashboard_query_count_is_bounded(admin_client, busy_store, django_assert_max_num_queries):
    # About 28: the session and user, one COUNT per stuck kind, one query per chart series and one
    # per panel; none per order, invoice, call or task.
    with django_assert_max_num_queries(30):
        page_of(admin_client.get(URL))


# ---- the chart, on its own ------------------------------------------------------------------------------


def test_orders_activity_fills_empty_hours_with_zero_and_buckets_by_hour():
    # given
    now = timezone.now()
    order = make_order()
    set_fields(order, imported_at=now - timedelta(hours=5))
    set_fields(make_order(), imported_at=now - timedelta(hours=5))
    set_fields(make_order(), imported_at=now - timedelta(hours=200))

    # when
    activity = health.orders_activity(now=now)

    # then
    received = activity.series[0]
    assert len(received.counts) == 168
    assert received.total == 2
    index = int((now - timedelta(hours=5) - activity.start).total_seconds() // 3600)
    assert received.counts[index] == 2
    assert sum(1 for count in received.counts if count) == 1


@pytest.mark.parametrize(
    ("language", "first_tick", "last_tick", "day", "busiest", "span"),
    [
        ("en", "May 29", "June 5", "May 30, 2024", "at 00:00 on 05/30/2024", "from 05/29/2024 1 p.m. to"),
        # The week's partial first and last days (11 h and 13 h) have no room for the longer names.
        ("pt-br", "30 de Maio", "4 de Junho", "30 de Maio de 2024", "às 00:00 de 30/05/2024", "de 29/05/2024 13:00 a"),
    ],
)
def test_chart_days_are_labelled_in_the_store_time_zone_as_the_language_writes_dates(
    language, first_tick, last_tick, day, busiest, span
):
    # given: 15:30 UTC is 12:30 in São Paulo; the 168 hours start at 13:00 local a week before
    sao_paulo = ZoneInfo("America/Sao_Paulo")
    activity = health.Activity(
        start=datetime(2024, 5, 29, 16, 0, tzinfo=UTC),
        hours=168,
        series=[
            health.HourlySeries(key, key.title(), [0] * 168)
            for key in ("received", "acknowledged", "invoiced", "canceled")
        ],
    )
    activity.series[0].counts[11] = 3  # 16:00 UTC + 11 h = 03:00 UTC May 30 = 00:00 local May 30

    # when: drawn in the reader's language (its DATE_FORMAT, SHORT_DATE_FORMAT, MONTH_DAY_FORMAT)
    with translation.override(language):
        chart = activity_chart(activity, tz=sao_paulo)

    # then
    assert len(chart.x_ticks) == 7  # local midnights inside the week
    assert [tick.label for tick in chart.x_labels][0] == first_tick
    assert [tick.label for tick in chart.x_labels][-1] == last_tick
    assert [day.label for day in chart.days][1] == day  # the local day, not the UTC one
    assert chart.days[1].counts == [3, 0, 0, 0]
    assert chart.totals == [3, 0, 0, 0]
    assert busiest in chart.description
    assert span in chart.description


def test_dashboard_dates_follow_the_language_in_store_time(admin_client):
    midnight_in_sao_paulo = datetime(2024, 5, 30, 3, 0, tzinfo=UTC)  # 00:00 on the 30th, store time
    Success.objects.create(
        id=uuid.uuid4().hex,
        name="pull",
        func=health.PULL_TASK_FUNC,
        started=midnight_in_sao_paulo,
        stopped=midnight_in_sao_paulo,
        success=True,
    )

    # The middleware activates each request's language in this thread; put back the tests' own after.
    with translation.override(translation.get_language()):
        english = page_of(admin_client.get(URL, headers={"accept-language": "en"}))
        portuguese = page_of(admin_client.get(URL, headers={"accept-language": "pt-BR"}))

    assert "Last run at 05/30/2024 midnight" in english
    assert "30/05/2024 00:00" in portuguese
    assert "Thu 30/05" not in english and "Qui 30/05" not in portuguese


@pytest.mark.parametrize(
    ("peak", "expected"), [(0, (1, 1)), (1, (1, 1)), (4, (4, 1)), (7, (8, 2)), (23, (25, 5)), (130, (150, 50))]
)
def test_nice_ceiling(peak, expected):
    assert nice_ceiling(peak) == expected


# ---- the index headline --------------------------------------------------------------------------------


def test_admin_index_shows_the_headline_and_links_to_the_dashboard(admin_client, settings):
    settings.VTEX_INTAKE = "feed"
    FeedState.objects.create(name="orders", oldest_message_age_s=12)
    make_order(start_handling="failed")
    make_order(intake_error="boom")
    order = make_acknowledged_order()
    OutboxMessage.objects.create(
        kind="invoice", order=order, payload={}, state="failed", next_attempt_at=timezone.now()
    )

    page = page_of(admin_client.get(reverse("admin:index")))

    assert 'id="integration-health-panel"' in page
    assert f'href="{URL}"' in page
    # the invoice's send and the start-handling (an outbox row like any other write to VTEX)
    assert "2 orders stuck · feed lag 12 s · 2 failed sends · 0 open drifts" in page


def test_headline_text_in_list_mode_and_waiting_for_the_erp():
    headline = health.Headline(
        stuck=1, waiting_for_erp=3, failed_sends=0, open_drifts=1, feed_lag_s=None, intake="list"
    )
    assert headline_text(headline) == "1 order stuck · 3 waiting for the ERP · 0 failed sends · 1 open drift"


def test_index_has_no_headline_for_staff_who_cannot_view_orders(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x", is_staff=True)
    client.force_login(user)
    page = page_of(client.get(reverse("admin:index")))
    assert 'id="integration-health-panel"' not in page


def test_cancellation_confirmed_counts_once_in_the_chart():
    # A confirmed request comes with the order's status change: the chart counts the change.
    order = make_acknowledged_order()
    CancellationRequest.objects.create(order=order, reason="x", state="confirmed", confirmed_at=timezone.now())
    make_event(order, kind=OrderEvent.Kind.STATUS_CHANGED, message="", data={"from": "handling", "to": "canceled"})
    set_fields(order, vtex_status="canceled")
    assert health.orders_activity().series[3].total == 1


# ---- the chart's numbers are SVG's, in every language (issue 19) --------------------------------------------

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
COORDINATES = ("x", "y", "x1", "x2", "y1", "y2")


def chart_svg(page: str):
    """The chart's <svg> element, parsed as XML (a decimal comma or a stray character fails here)."""
    markup = re.search(r'<svg viewBox="[^"]*" role="img".*?</svg>', page, re.S)[0]
    return ElementTree.fromstring(markup)


def svg_float(text: str) -> float:
    assert re.fullmatch(r"-?\d+(\.\d+)?", text), f"not an SVG number: {text!r}"
    return float(text)


@pytest.mark.parametrize("language", ["en", "pt-BR"])
def test_chart_coordinates_are_plain_numbers_and_the_axes_read_right(admin_client, busy_store, language):
    with translation.override(translation.get_language()):
        page = page_of(admin_client.get(URL, headers={"accept-language": language}))
    svg = chart_svg(page)

    width, height = (svg_float(n) for n in svg.get("viewBox").split()[2:])
    assert (width, height) == (960, 300)
    for element in svg.iter():
        for name in COORDINATES:
            if element.get(name) is not None:
                assert 0 <= svg_float(element.get(name)) <= max(width, height)
    for polyline in svg.iter(f"{SVG_NAMESPACE}polyline"):
        points = [tuple(svg_float(n) for n in point.split(",")) for point in polyline.get("points").split()]
        assert len(points) == 168
        xs = [x for x, _ in points]
        assert xs == sorted(xs) and len(set(xs)) == 168  # one point an hour, left to right
        assert all(16 <= y <= 260 for _, y in points)  # inside the plot, 0 on the x axis

    axis = svg.find(f"{SVG_NAMESPACE}g[@class='axis']")
    texts = list(axis.iter(f"{SVG_NAMESPACE}text"))
    y_labels = [(int(t.text), svg_float(t.get("y"))) for t in texts if t.get("text-anchor") == "end"]
    # The busiest hour had 5 events (4 orders received now, 1 more acknowledged): ticks 0 to 5,
    # bottom to top, evenly spaced (with decimal commas they all sat at 0 to 4 px).
    assert [value for value, _ in y_labels] == [0, 1, 2, 3, 4, 5]
    positions = [y for _, y in y_labels]
    assert positions[0] == 260 and positions[-1] == 16
    assert positions == sorted(positions, reverse=True)
    assert len({round(b - a, 1) for a, b in zip(positions, positions[1:], strict=False)}) == 1
    x_labels = [(t.text, svg_float(t.get("x"))) for t in texts if t.get("text-anchor") == "middle"]
    assert len(x_labels) >= 6  # one a day
    xs = [x for _, x in x_labels]
    assert xs == sorted(xs) and len(set(xs)) == len(xs) and 48 < xs[0] and xs[-1] < 944
    with translation.override(language):
        week = [
            formats.date_format(timezone.localtime(timezone.now() - timedelta(days=n)).date(), "MONTH_DAY_FORMAT")
            for n in range(8, -1, -1)
        ]
    names = [name for name, _ in x_labels]
    first = week.index(names[0])
    assert names == week[first : first + len(names)]  # consecutive days, in the reader's language


def test_chart_numbers_ignore_the_thousands_separator(admin_client, settings):
    settings.USE_THOUSAND_SEPARATOR = True
    orders = [make_order() for _ in range(3)]
    for order in orders:
        set_fields(order, imported_at=hours_ago(1))
    with translation.override(translation.get_language()):
        page = page_of(admin_client.get(URL, headers={"accept-language": "pt-BR"}))
    svg = chart_svg(page)
    assert svg.get("viewBox") == "0 0 960 300"
    assert "," not in "".join(svg.find(f"{SVG_NAMESPACE}g[@class='grid']").itertext())
    for line in svg.iter(f"{SVG_NAMESPACE}line"):
        for name in COORDINATES:
            if line.get(name) is not None:
                svg_float(line.get(name))


# ---- the dashboard's cost does not grow with the store (issue 19) ---------------------------------------


def _store_of(size: int) -> None:
    """`size` orders with what each one brings: acknowledged, invoiced, some canceled, events, calls."""
    for n in range(size):
        order = make_acknowledged_order(start_handling="done", acknowledged_at=hours_ago(n % 150))
        make_invoice(order, quantities={0: 1})
        make_call(order.order_id, operation="get_order", created_at=hours_ago(n % 150))
        if n % 4 == 0:
            make_event(
                order, kind=OrderEvent.Kind.STATUS_CHANGED, message="", data={"from": "handling", "to": "canceled"}
            )
            set_fields(order, vtex_status="canceled")


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        page_of(client.get(URL))
    return len(queries)


def test_the_dashboard_reads_the_same_number_of_queries_for_3_or_40_orders(admin_client):
    # The time is measured by the bench (`manage.py bench --only dashboard`, 35k orders), not here.
    _store_of(3)
    few = _dashboard_queries(admin_client)
    _store_of(37)
    many = _dashboard_queries(admin_client)

    assert few == many <= 25


def test_the_last_acknowledgement_is_the_last_start_handling_vtex_took():
    make_order(start_handling="done", acknowledged_at=hours_ago(5))
    latest = make_order(start_handling="done", acknowledged_at=hours_ago(2))
    make_order(start_handling="failed")

    intake = health.intake_status()

    assert intake.last_acknowledged_at == latest.outbox_messages.get().sent_at
    assert intake.last_imported_at is None  # no import event: orders made by the tests' factory
