"""The shopper's session: when is the pillar left alone, and when must it forget the shopper?

After `idle_s` without a touch the pillar asks "Still there?" for `countdown_s`; a touch carries on,
silence ends the session (the app then clears cart, typed data, language and search). Some moments
must never be cut short — a payment in progress, the receipt QR during its set time — so parts of the
app `hold` the session and `release` it again; while anything holds it, it does not time out, and the
idle clock starts afresh when the last hold is released.

Plain Python with an injectable clock: the app polls it from a Kivy clock tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class Phase(str, Enum):
    active = "active"
    asking = "asking"  # "Still there?" with a countdown
    expired = "expired"


@dataclass(frozen=True)
class SessionState:
    phase: Phase
    seconds_left: int = 0  # while asking: whole seconds until the reset


class ShopperSession:
    def __init__(self, *, idle_s: float = 90.0, countdown_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if idle_s <= 0 or countdown_s < 0:
            raise ValueError("idle_s must be positive and countdown_s not negative")
        self.idle_s = idle_s
        self.countdown_s = countdown_s
        self._clock = clock
        self._last_touch = clock()
        self._touched_at = clock()  # the last real touch (restart() does not count as one)
        self._holds: set[str] = set()

    def touch(self) -> None:
        """Any touch, key or scan: the shopper is there."""
        self._last_touch = self._touched_at = self._clock()

    def quiet_for(self) -> float:
        """Seconds since the last touch, key or scan (whatever reset came since): how long nobody has
        used the pillar, e.g. before a new configuration is applied."""
        return self._clock() - self._touched_at

    def hold(self, reason: str) -> None:
        """Never time out while `reason` lasts (e.g. "payment", "receipt")."""
        self._holds.add(reason)

    def release(self, reason: str) -> None:
        if reason in self._holds:
            self._holds.discard(reason)
            if not self._holds:
                self._last_touch = self._clock()  # a fresh idle period after the protected moment

    @property
    def held(self) -> bool:
        return bool(self._holds)

    def state(self) -> SessionState:
        if self._holds:
            return SessionState(Phase.active)
        idle = self._clock() - self._last_touch
        if idle < self.idle_s:
            return SessionState(Phase.active)
        left = self.idle_s + self.countdown_s - idle
        if left > 0:
            return SessionState(Phase.asking, seconds_left=int(-(-left // 1)))  # 9.2 s left reads "10"
        return SessionState(Phase.expired)

    def restart(self) -> None:
        """A new shopper (after a reset): no holds of the last one, a full idle period."""
        self._holds.clear()
        self._last_touch = self._clock()
