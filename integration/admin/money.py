"""Money for people: integer cents shown the Brazilian way, "R$ 1.234,56" (DESIGN.md "Money").

The space after the symbol is a no-break space (U+00A0): an amount never wraps between "R$" and
its figure, in a narrow table column or anywhere else. parse_money_cents (integration.admin.forms)
takes it back, so an amount copied from a page can be pasted into a form.

Formatting is done by hand rather than with locale or Django's l10n: the admin runs in English
(LANGUAGE_CODE) but staff read amounts in pt-BR, and the process locale must not change how an
amount looks.
"""

from __future__ import annotations

#: Between the symbol and the figure: keeps "R$ 409,57" on one line.
NO_BREAK_SPACE = "\u00a0"
#: Symbols of the currencies a VTEX store in Brazil meets; any other shows its ISO code.
CURRENCY_SYMBOLS = {"BRL": "R$", "USD": "US$", "EUR": "€"}


def format_cents(cents: int | None, currency: str = "BRL") -> str:
    """12345678 → "R$ 123.456,78"; -150 → "-R$ 1,50"; None → "" (no amount known).

    The space shown is NO_BREAK_SPACE.
    """
    if cents is None:
        return ""
    whole, fraction = divmod(abs(int(cents)), 100)
    symbol = CURRENCY_SYMBOLS.get((currency or "BRL").upper(), (currency or "").upper())
    sign = "-" if cents < 0 else ""
    return f"{sign}{symbol}{NO_BREAK_SPACE}{whole:,}".replace(",", ".") + f",{fraction:02d}"
