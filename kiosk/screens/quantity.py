"""Typing a quantity on the numeric keypad: tap the number in a cart line, type, "Klaar".

A bottom sheet (widgets.BottomSheet): docked along the bottom in every mode, so it is within reach in
low-reach mode, on the palette's background, and its texts grow with large text (quantity.kv)."""

from __future__ import annotations

from collections.abc import Callable

from kivy.properties import NumericProperty, StringProperty

from kiosk.cart import MAX_QUANTITY
from kiosk.screens.keyboard import NumericKeypad
from kiosk.screens.widgets import BottomSheet


class NumberEntrySheet(BottomSheet):
    """A number typed on a keypad sheet: `shown` reads as typed so far (the current number until a
    key is typed); "Klaar" closes the sheet and hands what was typed ("" for nothing) to `finish`."""

    title = StringProperty("")
    shown = StringProperty("")
    max_digits = NumericProperty(len(str(MAX_QUANTITY)))

    def __init__(self, title: str, shown: str, **kwargs):
        super().__init__(**kwargs)
        self.typed = ""  # empty until a key is typed: then it replaces the number shown
        self.title, self.shown = title, shown

    @property
    def keypad(self) -> NumericKeypad:
        return self.ids.keypad

    def key(self, value: str) -> None:
        if value == "\n":
            self.dismiss()
            self.finish(self.typed)
            return
        self.typed = self.typed[:-1] if value == "\b" else (self.typed + value)[:int(self.max_digits)]
        self.shown = str(int(self.typed)) if self.typed else ""

    def finish(self, typed: str) -> None:
        raise NotImplementedError


class QuantityPad(NumberEntrySheet):
    """`on_done(quantity)` gets 0..MAX_QUANTITY (0 removes the line); nothing typed keeps the old one."""

    max_quantity = NumericProperty(MAX_QUANTITY)

    def __init__(self, title: str, quantity: int, on_done: Callable[[int], None], **kwargs):
        super().__init__(title, str(quantity), **kwargs)
        self._on_done = on_done
        self._old = quantity

    def finish(self, typed: str) -> None:
        self._on_done(int(typed) if typed else self._old)
