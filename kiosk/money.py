"""Money as integer cents; formatting for the shopper's language.

The kiosk never computes a price of its own: it adds up prices the central API sent, in cents, and
formats them. Floats never touch money.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency

# Babel locale per UI language: Dutch euros look like "€ 1.234,50", English like "€1,234.50".
_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


def format_eur(cents: int, language: str = "nl") -> str:
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError(f"money is integer cents, got {cents!r}")
    locale = _LOCALES.get(language, "nl_NL")
    # A no-break space keeps "€" and the amount on one line; Kivy renders it as a normal space.
    return format_currency(Decimal(cents).scaleb(-2), "EUR", locale=locale)


def multiply(unit_cents: int, quantity: int) -> int:
    if quantity < 0:
        raise ValueError("quantity cannot be negative")
    return unit_cents * quantity
