"""Money and dates as the reader's language writes them (DESIGN.md: "R$ 1.234,56" in pt-BR and per
the store currency otherwise; times in the store's time zone)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from integration.admin.forms import parse_money_cents
from integration.admin.money import format_cents, money_format
from integration.models import OrderEvent, VtexCall
from tests.factories import make_call, make_event, make_order

NBSP = "\u00a0"
PT_BR = {"HTTP_ACCEPT_LANGUAGE": "pt-BR"}


# ---- money ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "currency", "language", "shown"),
    [
        (123_456, "BRL", "pt-br", f"R${NBSP}1.234,56"),
        (123_456, "BRL", "en", "R$1,234.56"),
        (123_456, "USD", "pt-br", f"US${NBSP}1.234,56"),  # "$" alone reads as reais to a Brazilian
        (123_456, "USD", "en", "$1,234.56"),
        (123_456, "EUR", "pt-br", f"€{NBSP}1.234,56"),
        (123_456, "EUR", "en", "€1,234.56"),
        (123_456, "ARS", "en", f"ARS{NBSP}1,234.56"),  # no symbol known: the ISO code, apart
        (123_456, "brl", "en", "R$1,234.56"),
        (-150, "BRL", "pt-br", f"-R${NBSP}1,50"),
        (-150, "BRL", "en", "-R$1.50"),
        (5, "BRL", "pt-br", f"R${NBSP}0,05"),
        (0, "BRL", "en", "R$0.00"),
        (100_000_000_00, "BRL", "pt-br", f"R${NBSP}100.000.000,00"),
        # Integer arithmetic only: a float would have lost the last cent long before this.
        (10**17 + 1, "BRL", "en", "R$1,000,000,000,000,000.01"),
        (None, "BRL", "en", ""),
    ],
)
def test_format_cents_per_language_and_currency(cents, currency, language, shown):
    assert format_cents(cents, currency, language=language) == shown


@pytest.mark.parametrize(
    ("cents", "currency", "digits", "language", "shown"),
    [
        # VTEX sends cents in every currency; the store's CurrencyDecimalDigits says what to show.
        (11_632_000, "COP", 0, "pt-br", f"COP{NBSP}116.320"),
        (11_632_000, "COP", 0, "en", f"COP{NBSP}116,320"),
        (11_632_050, "COP", 0, "en", f"COP{NBSP}116,320.50"),  # a fraction is never hidden
        (11_632_000, "COP", 2, "en", f"COP{NBSP}116,320.00"),  # a store that shows centavos
        (1_999_000, "CLP", None, "pt-br", f"CLP{NBSP}19.990"),  # not said: CLDR's digits (0)
        (123_456, "ARS", 2, "pt-br", f"ARS{NBSP}1.234,56"),
        (123_456, "MXN", 2, "en", "MX$1,234.56"),
        (123_456, "USD", 2, "pt-br", f"US${NBSP}1.234,56"),
        (-150, "COP", 0, "en", f"-COP{NBSP}1.50"),
    ],
)
def test_format_cents_uses_the_store_s_decimal_digits(cents, currency, digits, language, shown):
    assert format_cents(cents, currency, digits=digits, language=language) == shown


def test_format_cents_follows_the_active_language():
    with translation.override("pt-br"):
        assert format_cents(123_456) == f"R${NBSP}1.234,56"
    with translation.override("en"):
        assert format_cents(123_456) == "R$1,234.56"
    with translation.override("pt"):  # any Portuguese reads like pt-BR
        assert format_cents(123_456) == f"R${NBSP}1.234,56"


def test_the_currency_defaults_to_the_store_s(settings):
    settings.STORE_CURRENCY = "USD"

    assert format_cents(250, language="en") == "$2.50"
    assert format_cents(250, "BRL", language="en") == "R$2.50"  # an order's own currency wins


def test_the_money_template_filter_follows_the_language():
    template = Template("{% load erp_admin %}{{ total|money }} {{ fee|money:'USD' }}")
    context = {"total": 123_456, "fee": 250}

    with translation.override("en"):
        assert template.render(Context(context)) == "R$1,234.56 $2.50"
    with translation.override("pt-br"):
        assert template.render(Context(context)) == f"R${NBSP}1.234,56 US${NBSP}2,50"


def test_the_live_estimate_gets_the_same_shape_as_the_server():
    assert money_format("BRL", language="pt-br") == money_format("BRL", language="pt-BR")
    shape = money_format("BRL", language="pt-br")
    assert (shape.symbol, shape.space, shape.thousands, shape.decimal) == ("R$", NBSP, ".", ",")
    shape = money_format("USD", language="en")
    assert (shape.symbol, shape.space, shape.thousands, shape.decimal) == ("$", "", ",", ".")


@pytest.mark.parametrize("language", ["en", "pt-br"])
@pytest.mark.parametrize("cents", [0, 5, 1_999, 123_456, 100_000_000_00])
def test_an_amount_copied_from_a_page_reads_back_as_the_same_cents(language, cents):
    assert parse_money_cents(format_cents(cents, "BRL", language=language)) == cents


# ---- dates: the store's zone, the reader's format ------------------------------------------------------------


@pytest.mark.django_db
def test_the_order_list_shows_the_creation_day_in_store_time_and_the_reader_s_format(admin_client, settings):
    # 02:30 UTC on 2 May is 23:30 on 1 May in São Paulo (UTC-3): the store's day, not the server's.
    settings.TIME_ZONE = "America/Sao_Paulo"
    make_order(created_at_vtex=datetime(2024, 5, 2, 2, 30, tzinfo=UTC))
    url = reverse("admin:integration_order_changelist")

    portuguese = admin_client.get(url, **PT_BR).content.decode()
    english = admin_client.get(url).content.decode()

    assert '<span class="day">01/05/2024</span> <span class="hour">23:30</span>' in portuguese
    assert 'title="Criado na VTEX; horário da loja (America/Sao_Paulo)"' in portuguese
    assert '<span class="day">05/01/2024</span> <span class="hour">23:30</span>' in english
    assert 'datetime="2024-05-01T23:30:00-03:00"' in english


@pytest.mark.django_db
def test_the_timeline_shows_store_time_in_the_reader_s_format(admin_client, settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    order = make_order()
    event = make_event(order, message="Pedido importado.")
    OrderEvent.objects.filter(pk=event.pk).update(created_at=datetime(2024, 5, 2, 2, 30, 15, tzinfo=UTC))
    call = make_call(order.order_id)
    VtexCall.objects.filter(pk=call.pk).update(created_at=datetime(2024, 5, 2, 2, 30, 14, tzinfo=UTC))
    url = reverse("admin:integration_order_change", args=[order.pk])

    portuguese = admin_client.get(url, **PT_BR).content.decode()
    english = admin_client.get(url).content.decode()

    assert '<time datetime="2024-05-01T23:30:15-03:00">01/05/2024 23:30:15</time>' in portuguese
    assert '<time datetime="2024-05-01T23:30:14-03:00">01/05/2024 23:30:14</time>' in portuguese
    assert '<time datetime="2024-05-01T23:30:15-03:00">05/01/2024 23:30:15</time>' in english


@pytest.mark.django_db
def test_the_add_invoice_page_hands_its_live_estimate_the_reader_s_money_shape_and_words(admin_client):
    from tests.factories import make_acknowledged_order

    order = make_acknowledged_order()
    url = reverse("admin:integration_order_add_invoice", args=[order.pk])

    portuguese = admin_client.get(url, **PT_BR).content.decode()
    english = admin_client.get(url).content.decode()

    assert f'data-symbol="R$" data-space="{NBSP}" data-thousands="." data-decimal=","' in portuguese
    assert 'data-text-invalid="quantidade inválida"' in portuguese
    assert 'data-symbol="R$" data-space="" data-thousands="," data-decimal="."' in english
    assert 'data-text-invalid="invalid quantity"' in english
