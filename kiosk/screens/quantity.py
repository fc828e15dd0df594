"""Typing a quantity on the numeric keypad: tap the number in a cart line, type, "Klaar".

A bottom sheet (widgets.BottomSheet): docked along the bottom in every mode, so it is within reach in
low-reach mode, on the palette's background, and its texts grow with large text (quantity.kv)."""

from __future__ import annotations

from collections.abc import Callable

from kivy.properties import NumericProperty, StringProperty

from kiosk.cart import MAX_QUANTITY
from kiosk.screens.keyboard import NumericKeypad
from kiosk.screens.widgets import BottomSheet


class QuantityPad(BottomSheet):
    """`on_done(quantity)` gets 0..MAX_QUANTITY (0 removes the line); tapping beside it keeps the old one."""

    title = StringProperty("")       # the article's name
    shown = StringProperty("")       # the number as typed so far (the old one until a key is typed)
    max_quantity = NumericProperty(MAX_QUANTITY)

    def __init__(self, title: str, quantity: int, on_done: Callable[[int], None], **kwargs):
        super().__init__(**kwargs)
        self._on_done = on_done
        self._old = quantity
        self.typed = ""  # empty until the shopper types: then it replaces the old number
        self.title, self.shown = title, str(quantity)

    @property
    def keypad(self) -> NumericKeypad:
        return self.ids.keypad

    def key(self, value: str) -> None:
        if value == "\n":
            self.dismiss()
            self._on_done(int(self.typed) if self.typed else self._old)
            return
        self.typed = self.typed[:-1] if value == "\b" else (self.typed + value)[:len(str(MAX_QUANTITY))]
        self.shown = str(int(self.typed)) if self.typed else ""
