"""The variant picker: choose a size and a colour, get the variant (SKU) they make.

Sizes and colours are offered in catalog order. A combination that does not exist is never
offered as selected: picking a colour keeps the size if that combination exists, else moves to
the first variant in that colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.contract import Product, Variant


@dataclass(frozen=True)
class Option:
    value: str
    enabled: bool  # exists together with the other chosen attribute
    selected: bool


def _unique(values) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def sizes(product: Product) -> list[str]:
    return _unique(v.size for v in product.variants)


def colours(product: Product) -> list[str]:
    return _unique(v.colour for v in product.variants)


def find(product: Product, sku: str) -> Variant | None:
    return next((v for v in product.variants if v.sku == sku), None)


def choose(product: Product, current_sku: str, *, size: str | None = None, colour: str | None = None) -> Variant:
    """The variant after the shopper taps a size or a colour, starting from `current_sku`."""
    current = find(product, current_sku) or product.variants[0]
    want_size = size if size is not None else current.size
    want_colour = colour if colour is not None else current.colour
    exact = [v for v in product.variants if v.size == want_size and v.colour == want_colour]
    if exact:
        return exact[0]
    # Keep what was just tapped; let the other attribute follow.
    if size is not None:
        return next(v for v in product.variants if v.size == size)
    if colour is not None:
        return next(v for v in product.variants if v.colour == colour)
    return current


def options(product: Product, sku: str) -> tuple[list[Option], list[Option]]:
    """(size options, colour options) for the picker, given the selected variant."""
    selected = find(product, sku) or product.variants[0]
    size_options = [
        Option(s, any(v.size == s and v.colour == selected.colour for v in product.variants) or not selected.colour,
               s == selected.size)
        for s in sizes(product)
    ]
    colour_options = [
        Option(c, any(v.colour == c and v.size == selected.size for v in product.variants) or not selected.size,
               c == selected.colour)
        for c in colours(product)
    ]
    return size_options, colour_options
