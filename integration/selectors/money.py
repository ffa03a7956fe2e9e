"""Amounts as people write and read them: how many decimals an amount shows (one rule for the admin,
integration.admin.money, and the CSV exports, integration.selectors.exports), and what an amount
typed in R$ is in cents (one reading for the admin's forms and the bulk import, services/bulk_entry)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from django.utils.translation import gettext_lazy as _

#: VTEX's amounts are integer cents: two decimal places at most carry information.
CENT_DIGITS = 2


def shown_digits(cents: int, currency: str, digits: int | None) -> int:
    """The decimals to show: the store's (`digits`, VTEX's CurrencyDecimalDigits), else CLDR's for
    the currency; two when the amount has a fraction those would hide (VTEX sends cents even where
    0 decimals are usual, as for COP and CLP): an amount is never shown rounded."""
    shown = get_currency_precision(currency.upper()) if digits is None else digits
    if shown < CENT_DIGITS and cents % 10 ** (CENT_DIGITS - shown):
        shown = CENT_DIGITS
    return shown


# ---- reading a typed amount ------------------------------------------------------------------------

#: Digits grouped by thousands with dots, as pt-BR writes them: 1.234 or 12.345.678.
_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")
#: The English shape with thousands grouped and centavos: 1,234.56 or 12,345,678.9.
_EN_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+\.\d+")
#: Up to 13 digits of reais: far above any order, and small enough that no one types an overflow.
_MAX_WHOLE_DIGITS = 13


class MoneyParseError(ValueError):
    pass


def parse_money_cents(text: str) -> int | None:
    """What staff type for an amount in R$ → integer cents; None when empty.

    Accepts "1234,56", "1.234,56", "1234.56", "1234", "R$ 1.234,56", and "R$1,234.56" as the
    English pages show it (commas grouping, then a dot). Otherwise a comma is the decimal mark;
    without one, a single dot is the decimal mark, and several dots group thousands.
    "1.234" (no comma) is refused rather than guessed: it is 1234 reais in pt-BR but 1.234 reais
    to anyone used to a decimal dot. Decimal does the arithmetic, so no float ever rounds a cent.
    """
    cleaned = (text or "").replace("R$", "").replace("\u00a0", "").replace(" ", "")
    if not cleaned:
        return None
    if _EN_GROUPED.fullmatch(cleaned):
        # "1,234.56", as the English pages show an amount: commas group, the dot is the decimal
        # mark. Unambiguous because the comma comes first; turned into the pt-BR shape below.
        cleaned = cleaned.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")
    if cleaned.count(",") > 1:
        raise MoneyParseError(_("Use one comma, before the centavos: 1.234,56."))
    if "," in cleaned:
        whole, fraction = cleaned.split(",")
        if "." in whole:
            if not _GROUPED.fullmatch(whole):
                raise MoneyParseError(_("Dots group thousands (1.234,56); check where they are."))
            whole = whole.replace(".", "")
    elif cleaned.count(".") == 1:
        whole, fraction = cleaned.split(".")
    elif "." in cleaned:
        if not _GROUPED.fullmatch(cleaned):
            raise MoneyParseError(_("Dots group thousands (1.234.567,00); check where they are."))
        whole, fraction = cleaned.replace(".", ""), ""
    else:
        whole, fraction = cleaned, ""
    if not whole.isdigit() or (fraction and not fraction.isdigit()) or not whole.isascii() or not fraction.isascii():
        raise MoneyParseError(_("Enter an amount in R$, e.g. 1234,56 or 1.234,56."))
    if len(fraction) > 2:
        raise MoneyParseError(_("At most two digits of centavos (e.g. 1234,56; write 1.234,00 for a thousand)."))
    if len(whole.lstrip("0")) > _MAX_WHOLE_DIGITS:
        raise MoneyParseError(_("That amount is too large."))
    try:
        amount = Decimal(f"{whole}.{fraction or '0'}")
    except InvalidOperation:  # pragma: no cover - the checks above leave only digits
        raise MoneyParseError(_("Enter an amount in R$, e.g. 1234,56.")) from None
    return int(amount * 100)
