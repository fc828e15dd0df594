""""Still there?": the question over any screen when the shopper seems to have walked away.

The app opens it when the shopper session asks (`kiosk.session.Phase.asking`), sets the seconds left
on every tick, and closes it on any touch anywhere in the window (the big button is there to be
obvious, not because it is the only way). When the countdown runs out the app resets everything.
"""

from __future__ import annotations

from kivy.properties import NumericProperty
from kivy.uix.modalview import ModalView


class StillThereView(ModalView):
    seconds_left = NumericProperty(0)

    def __init__(self, **kwargs):
        # The app decides when it closes (any touch, or the reset): not Esc, not a touch "outside".
        kwargs.setdefault("auto_dismiss", False)
        super().__init__(**kwargs)

    @property
    def is_open(self) -> bool:
        return bool(self._is_open)

    def countdown_text(self, app, lang: str, seconds: int) -> str:
        key = "idle.seconds_one" if int(seconds) == 1 else "idle.seconds"
        return app.t(key, lang, seconds=int(seconds))
