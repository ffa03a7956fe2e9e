"""Money for people: integer cents shown the way the reader's language writes them (DESIGN.md "Money").

pt-BR: "R$ 1.234,56"; English: "R$1,234.56" (and "$1,234.56" for USD), as CLDR writes them. The
language is the active one (the browser's, or the admin's language switch); the currency is the
order's, else the store's (settings.STORE_CURRENCY).

Where a space separates the symbol from the figure it is a no-break space (U+00A0): an amount never
wraps between "R$" and its figure, in a narrow table column or anywhere else. parse_money_cents
(integration.admin.forms) takes both shapes back, so an amount copied from a page can be pasted
into a form.

The arithmetic is integer only (divmod by 100): a float never rounds a cent. Separators come from
Django's format files of the language (DECIMAL_SEPARATOR, THOUSAND_SEPARATOR), not from the process
locale, which must not change how an amount looks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import formats, translation

#: Between the symbol and the figure: keeps "R$ 409,57" on one line.
NO_BREAK_SPACE = "\u00a0"

#: Symbols of the currencies a VTEX store in Brazil meets, per language (CLDR: a Brazilian reads
#: "$" as reais, so pt-BR says "US$"); any other currency shows its ISO code.
CURRENCY_SYMBOLS: dict[str, dict[str, str]] = {
    "pt-br": {"BRL": "R$", "USD": "US$", "EUR": "€"},
    "en": {"BRL": "R$", "USD": "$", "EUR": "€"},
}
#: Languages that write "R$ 1,00" (a space after the symbol); English writes "R$1.00".
_SPACED_LANGUAGES = {"pt-br"}


@dataclass(frozen=True)
class MoneyFormat:
    """How one language writes one currency; also handed to the add-invoice page's live estimate."""

    symbol: str
    space: str
    thousands: str
    decimal: str


def _language(language: str | None) -> str:
    code = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
    if code in CURRENCY_SYMBOLS:
        return code
    # "pt", "pt-pt" read like pt-BR; every other language gets the English shape.
    return "pt-br" if code.split("-")[0] == "pt" else "en"


def money_format(currency: str | None = None, *, language: str | None = None) -> MoneyFormat:
    lang = _language(language)
    code = (currency or settings.STORE_CURRENCY or "BRL").upper()
    symbol = CURRENCY_SYMBOLS[lang].get(code, code)
    # An ISO code ("CHF") always stands apart from the figure, whatever the language.
    spaced = lang in _SPACED_LANGUAGES or symbol[-1:].isalpha()
    return MoneyFormat(
        symbol=symbol,
        space=NO_BREAK_SPACE if spaced else "",
        thousands=formats.get_format("THOUSAND_SEPARATOR", lang=lang, use_l10n=True),
        decimal=formats.get_format("DECIMAL_SEPARATOR", lang=lang, use_l10n=True),
    )


def format_cents(cents: int | None, currency: str | None = None, *, language: str | None = None) -> str:
    """12345678 → "R$ 123.456,78" (pt-BR) or "R$123,456.78" (en); -150 → "-R$ 1,50" / "-R$1.50";
    None → "" (no amount known). `currency` defaults to the store's; `language` to the active one.
    """
    if cents is None:
        return ""
    shape = money_format(currency, language=language)
    whole, fraction = divmod(abs(int(cents)), 100)
    grouped = f"{whole:,}".replace(",", shape.thousands)
    sign = "-" if cents < 0 else ""
    return f"{sign}{shape.symbol}{shape.space}{grouped}{shape.decimal}{fraction:02d}"
