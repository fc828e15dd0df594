"""The staff PIN screen: reached by the hidden corner press (or an unknown badge), a PIN on the keypad.

A badge tapped on the reader while it shows logs in too. The PIN is checked off the UI thread (scrypt),
shown only as dots, and forgotten as soon as it was checked. After too many wrong PINs the keypad is
locked with a countdown; a badge still works then (kiosk/staff/auth.py says why)."""

from __future__ import annotations

from datetime import UTC, datetime

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.screens.base import KioskScreen
from kiosk.staff.auth import AmbiguousPin, LockedOut, LoggedIn, LoginResult, UnknownBadge, WrongPin
from kiosk.staff.pins import MAX_PIN_LENGTH

# A message -> its translation key; `params` fill it in.
MESSAGES = {WrongPin: "staff.login.wrong", LockedOut: "staff.login.locked", AmbiguousPin: "staff.login.ambiguous",
            UnknownBadge: "staff.login.unknown_badge"}


class StaffLoginScreen(KioskScreen):
    dots = StringProperty("")            # one dot per typed digit
    message_key = StringProperty("")     # what went wrong, as a translation key ("" = the prompt)
    attempts_left = NumericProperty(0)
    locked_s = NumericProperty(0)        # > 0 while PIN entry is locked
    checking = BooleanProperty(False)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._pin = ""
        self._tick = None
        self._locked: LockedOut | None = None

    def begin(self) -> None:
        """A fresh PIN screen (nothing typed, no old message); shows a running lockout at once."""
        self._forget_pin()
        self.message_key, self.checking = "", False
        locked = self.services.staff_gate.locked_out()
        if locked is not None:
            self.show_result(locked)

    def on_leave(self, *args) -> None:
        self._forget_pin()
        self._stop_tick()

    def release(self, services) -> None:
        # A lockout countdown still ticking when the app stops (on this screen: no on_leave) would
        # keep this screen, and every other, alive on the global Clock.
        super().release(services)
        self._stop_tick()

    def key(self, value: str) -> None:
        if self.checking or self.locked_s > 0:
            return
        if value == "\n":
            self.submit()
        elif value == "\b":
            self._pin = self._pin[:-1]
        elif len(self._pin) < MAX_PIN_LENGTH:
            self._pin += value
        self.dots = "●" * len(self._pin)

    def submit(self) -> None:
        if not self._pin or self.checking:
            return
        pin, self.checking = self._pin, True
        self._forget_pin()
        self.app.spawn(self._check(pin))

    async def _check(self, pin: str) -> None:
        try:
            result = await self.services.staff_gate.login_with_pin_async(pin)
        finally:
            self.checking = False
        self.app.staff_logged_in(result)

    def show_result(self, result: LoginResult) -> None:
        if isinstance(result, LoggedIn):
            return
        self.message_key = MESSAGES[type(result)]
        if isinstance(result, WrongPin):
            self.attempts_left = result.attempts_left
        if isinstance(result, LockedOut):
            self._stop_tick()
            self.locked_s = result.seconds_left(datetime.now(UTC))
            self._locked = result
            # A bound method: the Clock keeps it weakly (a lambda would be kept, and this screen with it).
            self._tick = Clock.schedule_interval(self._count_down, 1)

    def _count_down(self, _dt) -> None:
        self.locked_s = self._locked.seconds_left(datetime.now(UTC))
        if self.locked_s <= 0:
            self._stop_tick()
            self.message_key = ""

    def _stop_tick(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self.locked_s = 0

    def _forget_pin(self) -> None:
        self._pin, self.dots = "", ""

    def message(self, lang: str, key: str, attempts_left: int, locked_s: int) -> str:
        if not key:
            return self.app.t("staff.login.prompt", lang)
        minutes, seconds = divmod(int(locked_s), 60)
        return self.app.t(key, lang, attempts=attempts_left, time=f"{minutes}:{seconds:02d}")
