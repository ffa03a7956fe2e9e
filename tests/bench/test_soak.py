"""The soak's own rules, without its half hour: the ERP's round, and what "flat" means."""

from __future__ import annotations

import pytest

from bench.soak import FLAT_RATIO, Sample, SoakReport, _quarter_medians, erp_round
from integration.models import Invoice
from tests.factories import make_acknowledged_order

pytestmark = pytest.mark.django_db


def test_the_erp_invoices_each_handled_order_once_and_tracks_each_invoice_vtex_accepted():
    first, second = make_acknowledged_order(), make_acknowledged_order()

    assert erp_round() == (2, 0)  # nothing sent yet: nothing to track
    assert erp_round() == (0, 0)  # invoiced once, whatever the rounds
    assert {invoice.order_id for invoice in Invoice.objects.all()} == {first.pk, second.pk}
    assert all(sum(line.quantity for line in invoice.items.all()) == 6 for invoice in Invoice.objects.all())

    Invoice.objects.filter(order=first).update(send_state="sent")  # VTEX accepted it
    assert erp_round() == (0, 1)
    assert Invoice.objects.get(order=first).tracking_number.startswith("BR")
    assert Invoice.objects.get(order=second).tracking_number == ""
    assert erp_round() == (0, 0)


def sample(at_s: float, backlog: int, rss_mb: float) -> Sample:
    return Sample(at_s=at_s, rss_mb={"web": rss_mb}, ready_at_vtex=backlog, outbox_unsent=0, orders_stored=0, created=0)


def test_flat_compares_the_last_quarter_of_the_arrivals_with_the_second():
    # 400 s of arrivals: the first quarter (warm-up) and the drain after 400 s do not count.
    samples = [sample(t, backlog=900 if t < 100 else 50, rss_mb=100) for t in range(0, 400, 10)]
    samples += [sample(t, backlog=0, rss_mb=900) for t in range(400, 500, 10)]
    assert _quarter_medians(samples, 400, lambda s: s.backlog) == (50, 50)
    assert _quarter_medians(samples, 400, lambda s: sum(s.rss_mb.values())) == (100, 100)
    assert _quarter_medians([], 400, lambda s: s.backlog) == (0.0, 0.0)


def test_the_soak_holds_only_when_every_check_holds_and_nothing_crashed():
    report = SoakReport(minutes=1, per_second=40, started_at="now", machine={})
    assert not report.holds  # no check ran
    report.check("lost", "= 0", 0, True)
    assert report.holds
    report.check("RSS flat", f"≤ {FLAT_RATIO:g}×", "100 → 200 MB", False)
    assert not report.holds
    text = report.text()
    assert "[MISS] RSS flat" in text and "the soak does NOT hold" in text
    report.checks.pop()
    report.error = "Traceback …\nRuntimeError: the sandbox died"
    assert not report.holds and "[CRASH]" in report.text()
