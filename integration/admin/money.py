"""Money for people: integer cents shown the way the reader's language writes them (DESIGN.md "Money").

pt-BR: "R$ 1.234,56"; English: "R$1,234.56" (and "$1,234.56" for USD), as CLDR writes them. The
language is the active one (the browser's, or the admin's language switch); the currency is the
order's, else the store's (settings.STORE_CURRENCY).

Babel does the formatting: it carries CLDR's symbols and patterns for every currency a VTEX store
sells in (COP, ARS, CLP, MXN, USD as well as BRL; "US$" in pt-BR, where "$" alone reads as
reais), so no table of symbols is kept here. Two things are ours:
- the decimal digits are the store's (VTEX's currencyFormatInfo.CurrencyDecimalDigits, stored on
  the order): a Colombian store shows "COP 50.000" although VTEX's amounts are still cents, and
  CLDR's own digits are only the fallback. A fraction the store's digits would hide is shown
  anyway: an amount is never shown rounded;
- an ISO code used as the symbol ("ARS", "COP") stands apart from the figure in every language
  (CLDR's currency spacing, which Babel does not apply).

Where a space separates the symbol from the figure it is a no-break space (U+00A0): an amount never
wraps between "R$" and its figure, in a narrow table column or anywhere else. parse_money_cents
(integration.admin.forms) takes both shapes back, so an amount copied from a page can be pasted
into a form. The amount reaches Babel as an exact Decimal of the cents: a float never rounds a cent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from babel.core import Locale
from babel.numbers import format_currency, get_currency_symbol
from django.conf import settings
from django.utils import translation

from integration.selectors.money import CENT_DIGITS, shown_digits

#: Between the symbol and the figure: keeps "R$ 409,57" on one line.
NO_BREAK_SPACE = "\u00a0"
#: The languages of the admin, as Babel names them; any other language gets the English shape.
BABEL_LOCALES = {"pt-br": "pt_BR", "en": "en"}


@dataclass(frozen=True)
class MoneyFormat:
    """How one language writes one currency; also handed to the add-invoice page's live estimate."""

    symbol: str
    space: str
    thousands: str
    decimal: str


def _language(language: str | None) -> str:
    code = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    if code in BABEL_LOCALES:
        return code
    # "pt", "pt-pt" read like pt-BR; every other language gets the English shape.
    return "pt-br" if code.split("-")[0] == "pt" else "en"


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES[language])


def _currency(currency: str | None) -> str:
    return (currency or settings.STORE_CURRENCY or "BRL").upper()


def _symbol(code: str, locale: Locale) -> str:
    return get_currency_symbol(code, locale=locale)


def money_format(currency: str | None = None, *, language: str | None = None) -> MoneyFormat:
    locale = _locale(_language(language))
    symbol = _symbol(_currency(currency), locale)
    pattern = locale.currency_formats["standard"].pattern
    spaced = NO_BREAK_SPACE in pattern or symbol[-1:].isalpha()
    return MoneyFormat(
        symbol=symbol,
        space=NO_BREAK_SPACE if spaced else "",
        thousands=locale.number_symbols["latn"]["group"],
        decimal=locale.number_symbols["latn"]["decimal"],
    )


@cache
def _pattern(language: str, digits: int) -> str:
    """The language's currency pattern with `digits` decimals ("¤ #,##0.00" → "¤ #,##0")."""
    pattern = _locale(language).currency_formats["standard"].pattern.split(";")[0]
    return re.sub(r"0\.0+", "0" + ("." + "0" * digits if digits else ""), pattern, count=1)


def format_cents(
    cents: int | None, currency: str | None = None, *, digits: int | None = None, language: str | None = None
) -> str:
    """12345678 → "R$ 123.456,78" (pt-BR) or "R$123,456.78" (en); -150 → "-R$ 1,50" / "-R$1.50";
    None → "" (no amount known). `currency` defaults to the store's; `digits` (the store's decimal
    digits, Order.currency_decimal_digits) to CLDR's for the currency; `language` to the active one.
    """
    if cents is None:
        return ""
    cents = int(cents)
    language = _language(language)
    locale = _locale(language)
    code = _currency(currency)
    shown = shown_digits(cents, code, digits)
    text = format_currency(
        Decimal(cents).scaleb(-CENT_DIGITS),
        code,
        format=_pattern(language, shown),
        locale=locale,
        currency_digits=False,
    )
    symbol = _symbol(code, locale)
    if symbol[-1:].isalpha():  # "ARS1,234.56" → "ARS 1,234.56"
        text = re.sub(rf"{re.escape(symbol)}(?=\d)", symbol + NO_BREAK_SPACE, text, count=1)
    return text


def format_order_cents(cents: int | None, order: Any) -> str:
    """An amount of `order` (anything with currency_code and currency_decimal_digits: an Order) in
    its currency, with the store's decimal digits."""
    return format_cents(cents, order.currency_code, digits=getattr(order, "currency_decimal_digits", None))
