"""The shopper's cart: pure domain logic, no I/O.

A line is one variant (SKU) with the price the central API sent when it went into the cart. The
cart only adds those prices up; it never invents or changes one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kiosk.money import multiply

MAX_QUANTITY = 99  # the order API accepts 1..99 per line
MAX_LINES = 100


class CartError(ValueError):
    pass


@dataclass(frozen=True)
class CartLine:
    sku: str
    product_id: str
    name: str
    variant_label: str
    unit_price_cents: int
    quantity: int
    image_url: str | None = None

    @property
    def total_cents(self) -> int:
        return multiply(self.unit_price_cents, self.quantity)


class Cart:
    def __init__(self) -> None:
        self._lines: dict[str, CartLine] = {}

    @property
    def lines(self) -> list[CartLine]:
        return list(self._lines.values())

    @property
    def total_cents(self) -> int:
        return sum(line.total_cents for line in self._lines.values())

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self._lines.values())

    def is_empty(self) -> bool:
        return not self._lines

    def add(self, line: CartLine) -> CartLine:
        """Add a variant; adding a SKU already in the cart raises its quantity."""
        if line.quantity < 1:
            raise CartError("quantity must be at least 1")
        if line.unit_price_cents < 0:
            raise CartError("a price cannot be negative")
        existing = self._lines.get(line.sku)
        if existing is None:
            if len(self._lines) >= MAX_LINES:
                raise CartError(f"a cart holds at most {MAX_LINES} lines")
            merged = replace(line, quantity=min(line.quantity, MAX_QUANTITY))
        else:
            # The newest price the API sent for this SKU is the one the shopper sees now.
            merged = replace(
                existing,
                unit_price_cents=line.unit_price_cents,
                quantity=min(existing.quantity + line.quantity, MAX_QUANTITY),
            )
        self._lines[line.sku] = merged
        return merged

    def set_quantity(self, sku: str, quantity: int) -> None:
        """Set a line's quantity; 0 removes the line. Clamped to MAX_QUANTITY."""
        if sku not in self._lines:
            raise CartError(f"{sku} is not in the cart")
        if quantity <= 0:
            del self._lines[sku]
        else:
            self._lines[sku] = replace(self._lines[sku], quantity=min(quantity, MAX_QUANTITY))

    def reprice(self, sku: str, unit_price_cents: int) -> None:
        """The central API sent a newer price for a line (the shopper has seen and accepted it)."""
        if sku in self._lines and unit_price_cents >= 0:
            self._lines[sku] = replace(self._lines[sku], unit_price_cents=unit_price_cents)

    def remove(self, sku: str) -> None:
        self._lines.pop(sku, None)

    def clear(self) -> None:
        self._lines.clear()
