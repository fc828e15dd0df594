"""On-screen keyboards: big keys, docked at the bottom, no system IME.

`OnScreenKeyboard` types letters and digits (with `email=True` also "@", "." and "_");
`NumericKeypad` types digits only, for house numbers and quantities. The wide keys are named
through the translations so they follow the language. Both emit `on_key(text)` with one character,
"\\b" (delete) or "\\n" (done).
"""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.widgets import KButton

ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm-")
KEY_HEIGHT = 96  # dp: about 2.4 cm on a 22" portrait pillar


class OnScreenKeyboard(BoxLayout):
    __events__ = ("on_key",)

    def __init__(self, *, email: bool = False, **kwargs):
        super().__init__(orientation="vertical", spacing=dp(8), padding=(dp(16), dp(12)), size_hint_y=None, **kwargs)
        self.height = len(ROWS + ("",)) * (dp(KEY_HEIGHT) + dp(8)) + dp(24)
        self.keys: dict[str, KButton] = {}
        for row in ROWS:
            line = BoxLayout(spacing=dp(8))
            for char in row:
                line.add_widget(self._key(char, char))
            if row == ROWS[2]:
                line.add_widget(self._key("'", "'"))
            if row == ROWS[3] and email:
                for char in "@._":
                    line.add_widget(self._key(char, char))
            self.add_widget(line)
        last = BoxLayout(spacing=dp(8))
        self.space = self._key(" ", "", kind="secondary", size_hint_x=4)
        self.delete = self._key("\b", "", kind="secondary", size_hint_x=2)
        self.done = self._key("\n", "", kind="primary", size_hint_x=2)
        self.delete.icon, self.done.icon = "backspace", "check"
        for key in (self.space, self.delete, self.done):
            last.add_widget(key)
        self.add_widget(last)
        app = App.get_running_app()
        app.bind(lang=self._relabel)
        self._relabel(app, app.lang)

    def _key(self, value: str, label: str, kind: str = "secondary", size_hint_x: float = 1) -> KButton:
        key = KButton(text=label, kind=kind, size_hint_x=size_hint_x, height=dp(KEY_HEIGHT))
        key.bind(on_release=lambda *_: self.dispatch("on_key", value))
        self.keys[value] = key
        return key

    def _relabel(self, app, lang) -> None:
        self.space.text = app.t("keyboard.space", lang)
        self.delete.text = app.t("keyboard.delete", lang)
        self.done.text = app.t("keyboard.done", lang)

    def on_key(self, value: str) -> None:
        pass


class NumericKeypad(BoxLayout):
    """Digits in the telephone layout, delete and done: for numbers a shopper types."""

    __events__ = ("on_key",)

    def __init__(self, **kwargs):
        super().__init__(orientation="vertical", spacing=dp(8), padding=(dp(16), dp(12)), size_hint_y=None, **kwargs)
        self.height = 4 * (dp(KEY_HEIGHT) + dp(8)) + dp(24)
        self.keys: dict[str, KButton] = {}
        for row in ("123", "456", "789"):
            line = BoxLayout(spacing=dp(8))
            for char in row:
                line.add_widget(self._key(char, char))
            self.add_widget(line)
        last = BoxLayout(spacing=dp(8))
        self.delete = self._key("\b", "", kind="secondary")
        self.done = self._key("\n", "", kind="primary")
        self.delete.icon, self.done.icon = "backspace", "check"
        for key in (self.delete, self._key("0", "0"), self.done):
            last.add_widget(key)
        self.add_widget(last)
        app = App.get_running_app()
        app.bind(lang=self._relabel)
        self._relabel(app, app.lang)

    def _key(self, value: str, label: str, kind: str = "secondary") -> KButton:
        key = KButton(text=label, kind=kind, height=dp(KEY_HEIGHT))
        key.bind(on_release=lambda *_: self.dispatch("on_key", value))
        self.keys[value] = key
        return key

    def _relabel(self, app, lang) -> None:
        self.delete.text = app.t("keyboard.delete", lang)
        self.done.text = app.t("keypad.done", lang)

    def on_key(self, value: str) -> None:
        pass


# For the .kv files (quantity.kv docks a NumericKeypad in its sheet).
Factory.register("NumericKeypad", cls=NumericKeypad)
