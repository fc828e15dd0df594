"""Typing a quantity on the numeric keypad: tap the number in a cart line, type, "Klaar"."""

from __future__ import annotations

from collections.abc import Callable

from kivy.app import App
from kivy.metrics import dp, sp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView

from kiosk.cart import MAX_QUANTITY
from kiosk.screens.keyboard import NumericKeypad


class QuantityPad(ModalView):
    """A docked keypad over the cart; `on_done(quantity)` gets 0..MAX_QUANTITY (0 removes the line)."""

    def __init__(self, title: str, quantity: int, on_done: Callable[[int], None], **kwargs):
        super().__init__(size_hint=(1, None), auto_dismiss=True, pos_hint={"bottom": 1, "x": 0}, **kwargs)
        self._on_done = on_done
        self.typed = ""  # empty until the shopper types: then it replaces the old number
        self._old = quantity
        app = App.get_running_app()
        box = BoxLayout(orientation="vertical", padding=dp(16), spacing=dp(8), size_hint_y=None)
        self.title = Label(text=title, bold=True, size_hint_y=None, height=dp(60), shorten=True,
                           text_size=(None, None))
        self.shown = Label(text=str(quantity), font_size=sp(72), bold=True, size_hint_y=None, height=dp(110))
        self.hint = Label(text=app.t("cart.quantity.hint", app.lang, max=MAX_QUANTITY), size_hint_y=None,
                          height=dp(48))
        self.keypad = NumericKeypad()
        self.keypad.bind(on_key=lambda _, value: self.key(value))
        for widget in (self.title, self.shown, self.hint, self.keypad):
            box.add_widget(widget)
        box.height = sum(w.height for w in box.children) + dp(16) * 2 + dp(8) * 3
        self.height = box.height
        self.add_widget(box)

    def key(self, value: str) -> None:
        if value == "\n":
            self.dismiss()
            self._on_done(int(self.typed) if self.typed else self._old)
            return
        self.typed = self.typed[:-1] if value == "\b" else (self.typed + value)[:2]
        self.shown.text = str(int(self.typed)) if self.typed else ""
