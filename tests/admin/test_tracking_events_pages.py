"""Issue 16, defect 5: the invoice page lists its tracking events a page at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integration.models import TrackingEvent
from tests.factories import make_acknowledged_order, make_invoice

pytestmark = pytest.mark.django_db


def test_the_invoice_page_shows_fifty_events_a_page_with_links_to_the_others(admin_client):
    invoice = make_invoice(make_acknowledged_order())
    start = timezone.now() - timedelta(days=3)
    TrackingEvent.objects.bulk_create(
        TrackingEvent(invoice=invoice, occurred_at=start + timedelta(minutes=n), description=f"Evento {n:03}")
        for n in range(120)
    )
    url = reverse("admin:integration_invoice_change", args=[invoice.pk])

    first = admin_client.get(url).content.decode()
    last = admin_client.get(url, {"events_page": 3}).content.decode()

    assert "Evento 000" in first and "Evento 049" in first and "Evento 050" not in first
    assert "Page 1 of 3 (120 events)" in first and 'href="?events_page=2#tracking_events-group"' in first
    assert "Evento 100" in last and "Evento 119" in last and "Evento 099" not in last
