"""The health dashboard's orders-per-hour chart as Chromium draws it, in English and in pt-BR
(issue 19: in pt-BR the coordinates came out with decimal commas, "260,0", so every label sat at
0–4 px and piled up in the corner). Here the axes are read from the rendered boxes: the count
labels climb the y axis evenly from 0, the day labels run left to right without touching, and
every label is inside the chart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation
from playwright.sync_api import expect

from integration.models import Order
from tests.factories import make_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

_AXES = """() => {
    const svg = document.querySelector("#health-chart svg[role=img]");
    const frame = svg.getBoundingClientRect();
    const box = (element) => { const r = element.getBoundingClientRect();
        return {text: element.textContent.trim(), left: r.left, right: r.right, top: r.top, bottom: r.bottom,
                middleX: (r.left + r.right) / 2, middleY: (r.top + r.bottom) / 2}; };
    const texts = [...svg.querySelectorAll("g.axis text")];
    const plot = svg.querySelectorAll("g.axis line")[1].getBoundingClientRect();  // the x axis
    return {
        frame: {left: frame.left, right: frame.right, top: frame.top, bottom: frame.bottom, width: frame.width},
        xAxisY: plot.top,
        yLabels: texts.filter((t) => t.getAttribute("text-anchor") === "end").map(box),
        xLabels: texts.filter((t) => t.getAttribute("text-anchor") === "middle").map(box),
        points: [...svg.querySelectorAll("polyline.series-received")].map((p) => p.points.numberOfItems),
    };
}"""


@pytest.fixture
def week_of_orders() -> None:
    """Orders received over the last six days, 2 to 7 in one hour of each day."""
    now = timezone.now()
    for day in range(6):
        for _ in range(day + 2):
            order = make_order()
            Order.objects.filter(pk=order.pk).update(imported_at=now - timedelta(days=day, hours=3))
    # A seventh in that hour of the last day: the y axis goes to 8 (steps of 2).
    order = make_order()
    Order.objects.filter(pk=order.pk).update(imported_at=now - timedelta(days=5, hours=3))


@pytest.mark.parametrize("language", ["en-US", "pt-BR"])
def test_the_chart_axes_read_right(week_of_orders, make_staff, log_in, screenshots, language):
    page = log_in(make_staff("dora", groups=["Back office"]))
    if language == "pt-BR":
        page.get_by_label("Language").select_option("pt-br")
        page.get_by_role("button", name="Change language").click()
        expect(page.locator("html")).to_have_attribute("lang", "pt-br")
    page.goto(reverse("admin:integration_health"))
    chart = page.locator("#health-chart svg[role=img]")
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    screenshots.take(page, f"health-chart-{language}", full_page=False)

    axes = page.evaluate(_AXES)
    frame = axes["frame"]
    assert frame["width"] > 600  # drawn at its size, not collapsed
    assert axes["points"] == [168]

    # y axis: 0, 2, 4, 6, 8 from the bottom (the x axis) up, evenly spaced, right of the frame's edge.
    y_labels = axes["yLabels"]
    assert [label["text"] for label in y_labels] == ["0", "2", "4", "6", "8"]
    heights = [label["middleY"] for label in y_labels]
    assert heights == sorted(heights, reverse=True)
    gaps = [a - b for a, b in zip(heights, heights[1:], strict=False)]
    assert min(gaps) > 20 and max(gaps) - min(gaps) < 1.5
    assert abs(heights[0] - axes["xAxisY"]) < 2
    assert all(frame["left"] <= label["left"] and label["right"] <= frame["left"] + 60 for label in y_labels)

    # x axis: one label a day, left to right, none touching the next, under the axis, inside the frame.
    x_labels = axes["xLabels"]
    assert len(x_labels) >= 6
    for before, after in zip(x_labels, x_labels[1:], strict=False):
        assert before["right"] < after["left"]
    assert all(label["top"] > axes["xAxisY"] and label["bottom"] <= frame["bottom"] + 1 for label in x_labels)
    assert frame["left"] <= x_labels[0]["left"] and x_labels[-1]["right"] <= frame["right"]
    # The days' names in the language, consecutive, the last one today's or yesterday's (a day is
    # named only where its name fits the part of it shown).
    with translation.override(language.lower()):
        week = [
            formats.date_format(timezone.localtime(timezone.now() - timedelta(days=n)).date(), "MONTH_DAY_FORMAT")
            for n in range(8, -1, -1)
        ]
    names = [label["text"] for label in x_labels]
    first = week.index(names[0])
    assert names == week[first : first + len(names)]
    assert names[-1] in week[-2:]
