"""A spinner for waits: shown only when a wait lasts longer than 200 ms.

Quick answers should not flash a spinner; slow ones must never look like a frozen screen. Set
`active` when the wait starts and clear it when it ends; the arc appears after `delay_s`.
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.graphics import Color, Line
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty
from kivy.uix.widget import Widget

from kiosk import theme

SHOW_AFTER_S = 0.2  # the threshold: any wait over 200 ms gets a spinner


class BusyIndicator(Widget):
    active = BooleanProperty(False)
    visible = BooleanProperty(False)  # active for longer than delay_s (tests read this)
    delay_s = NumericProperty(SHOW_AFTER_S)
    colour = ColorProperty(theme.HEADER)
    angle = NumericProperty(0)

    def __init__(self, **kwargs):
        kwargs.setdefault("size_hint", (None, None))
        kwargs.setdefault("size", (dp(72), dp(72)))
        super().__init__(**kwargs)
        self._show_event = None
        self._spin_event = None
        with self.canvas:
            self._colour = Color(rgba=(0, 0, 0, 0))
            self._arc = Line(width=dp(6), cap="round")
        self.bind(pos=self._draw, size=self._draw, angle=self._draw, visible=self._draw, colour=self._draw)

    def on_active(self, _, active: bool) -> None:
        if active:
            if self._show_event is None and not self.visible:
                self._show_event = Clock.schedule_once(self._show, self.delay_s)
            return
        if self._show_event is not None:
            self._show_event.cancel()
            self._show_event = None
        if self._spin_event is not None:
            self._spin_event.cancel()
            self._spin_event = None
        self.visible = False

    def _show(self, _dt) -> None:
        self._show_event = None
        self.visible = True
        self._spin_event = Clock.schedule_interval(self._spin, 1 / 30)

    def _spin(self, dt: float) -> None:
        self.angle = (self.angle + 360 * dt) % 360  # one turn a second: calm, clearly alive

    def _draw(self, *_args) -> None:
        self._colour.rgba = self.colour if self.visible else (0, 0, 0, 0)
        radius = min(self.width, self.height) / 2 - dp(6)
        self._arc.circle = (self.center_x, self.center_y, max(radius, 1), self.angle, self.angle + 270)


from kivy.factory import Factory  # noqa: E402  (registered for the .kv files)

Factory.register("BusyIndicator", cls=BusyIndicator)
