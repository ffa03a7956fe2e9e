"""How many decimals an amount shows: one rule for the admin (integration.admin.money) and the CSV
exports (integration.selectors.exports)."""

from __future__ import annotations

from babel.numbers import get_currency_precision

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
