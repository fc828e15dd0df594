"""The staff door: log in by PIN or badge, lock PIN entry after wrong PINs, end idle sessions.

    gate = StaffGate.from_settings(settings, directory, store)
    result = await gate.login_with_pin_async("1234")   # scrypt runs in a worker thread
    match result:
        case LoggedIn(staff=staff, session=session): ...
        case WrongPin(attempts_left=n): ...
        case LockedOut(until=until): ...
    gate.login_with_badge(badge_id)                    # from BadgePresented.badge_id
    gate.end_if_idle()                                 # polled from a clock tick; True when it ended
    gate.logout()

PIN entry: a PIN is checked against every member's hash, all of them every time (so how long it
takes says nothing about who matched). `lockout_attempts` wrong PINs in a row lock PIN entry for
`lockout_s`: every PIN is then refused unchecked, the right one too, and `LockedOut(until)` says
until when. The count and the lockout live in the staff store in wall-clock UTC, so a restart does
not give a guesser fresh attempts; a wrong PIN more than `lockout_s` after the last one starts the
count afresh, and a clock set back never makes a lockout longer than `lockout_s` from now.

Badges are not locked out by wrong PINs, on purpose: the lockout stops someone guessing PINs on the
touchscreen; a badge cannot be guessed there (it needs the card itself), and locking it too would
let any shopper lock the staff out of their own pillar by typing five wrong PINs. The badge is then
how staff get in. A badge login leaves the PIN count as it is. An unknown badge is audited.

A PIN that matches more than one member logs in nobody (`AmbiguousPin`), since the audit log could
not say who it was; give one of them a new PIN. It does not count as a wrong PIN.

The gate knows one staff session at a time; a new login ends the one before ("replaced"). Closing
a shopper's session before staff take over is the app's job (it owns cart and screens).
Every login, logout, wrong PIN, lockout and unknown badge goes into the audit log; the PIN never does.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from kiosk.staff.audit import AuditLog, masked_badge
from kiosk.staff.directory import StaffDirectory, StaffMember
from kiosk.staff.pins import is_pin, parse_pin_hash, verify_pin
from kiosk.staff.records import LockoutState, utc_now
from kiosk.staff.store import StaffStore

log = logging.getLogger("kiosk.staff.auth")

LoginMethod = Literal["pin", "badge"]


class StaffSession:
    """A logged-in staff member; over after `idle_s` without a touch (monotonic clock) or a logout."""

    def __init__(self, staff: StaffMember, method: LoginMethod, *, idle_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if idle_s <= 0:
            raise ValueError("idle_s must be positive")
        self.staff = staff
        self.method = method
        self.idle_s = idle_s
        self._clock = clock
        self._last_touch = clock()
        self.ended_because: str | None = None

    def touch(self) -> None:
        """Any touch on a staff screen: still there."""
        self._last_touch = self._clock()

    @property
    def seconds_left(self) -> float:
        return max(0.0, self.idle_s - (self._clock() - self._last_touch))

    @property
    def expired(self) -> bool:
        return self.ended_because is not None or self._clock() - self._last_touch >= self.idle_s


@dataclass(frozen=True)
class LoggedIn:
    staff: StaffMember
    session: StaffSession


@dataclass(frozen=True)
class WrongPin:
    attempts_left: int


@dataclass(frozen=True)
class LockedOut:
    until: datetime  # UTC

    def seconds_left(self, now: datetime) -> int:
        return max(0, int(-(-(self.until - now).total_seconds() // 1)))


@dataclass(frozen=True)
class AmbiguousPin:
    """The PIN is more than one member's: nobody is logged in."""


@dataclass(frozen=True)
class UnknownBadge:
    """A badge (a card the reader took for one) that belongs to nobody on the staff list."""


LoginResult = LoggedIn | WrongPin | LockedOut | AmbiguousPin | UnknownBadge


class StaffGate:
    def __init__(self, directory: StaffDirectory, store: StaffStore, *, lockout_attempts: int = 5,
                 lockout_s: float = 300.0, idle_s: float = 120.0, clock: Callable[[], datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if lockout_attempts < 1 or lockout_s <= 0 or idle_s <= 0:
            raise ValueError("lockout_attempts, lockout_s and idle_s must be positive")
        self.directory = directory
        self.store = store
        self.audit = AuditLog(store, clock=clock)
        self.lockout_attempts = lockout_attempts
        self.lockout = timedelta(seconds=lockout_s)
        self.idle_s = idle_s
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()  # PIN logins run in a worker thread; the UI polls on its own
        self.session: StaffSession | None = None

    @classmethod
    def from_settings(cls, settings, directory: StaffDirectory, store: StaffStore, **clocks) -> StaffGate:
        staff = settings.staff
        return cls(directory, store, lockout_attempts=staff.lockout_attempts, lockout_s=staff.lockout_s,
                   idle_s=staff.idle_s, **clocks)

    # --- lockout ------------------------------------------------------------------------------

    def _current(self, now: datetime) -> LockoutState:
        """The stored state as it stands `now`: a finished lockout or an old count is forgotten."""
        state = self.store.lockout()
        if state.locked_until is not None:
            if now >= state.locked_until:
                return LockoutState()
            if state.locked_until - now > self.lockout:  # the clock went back: never longer than lockout_s
                return state.model_copy(update={"locked_until": now + self.lockout})
            return state
        if state.last_failure_at is not None and now - state.last_failure_at >= self.lockout:
            return LockoutState()
        return state

    def locked_out(self) -> LockedOut | None:
        """The running lockout of PIN entry, if any (the PIN screen shows it before anyone types)."""
        state = self._current(self._clock())
        return LockedOut(state.locked_until) if state.locked_until is not None else None

    # --- logging in ---------------------------------------------------------------------------

    def login_with_pin(self, pin: str) -> LoginResult:
        """Check `pin` (blocking: ~50 ms of scrypt per member with a PIN; call it from a worker thread,
        or use `login_with_pin_async`)."""
        with self._lock:
            locked = self.locked_out()
        if locked is not None:
            log.info("staff PIN refused unchecked: PIN entry locked until %s", locked.until.isoformat())
            return locked
        # Every hash is checked, without stopping at the first match (no timing hint of who matched).
        matches = [m for m in self.directory.with_pins() if _matches(pin, m)]
        with self._lock:
            now = self._clock()
            state = self._current(now)
            if state.locked_until is not None:  # locked by another attempt meanwhile: refused too
                return LockedOut(state.locked_until)
            if len(matches) == 1:
                return self._start(matches[0], "pin", reset_lockout=state.failures > 0)
            if len(matches) > 1:
                log.error("a staff PIN matches %d members: nobody logged in", len(matches))
                self.audit.record("pin_ambiguous", detail=", ".join(sorted(m.id for m in matches)))
                return AmbiguousPin()
            failures = state.failures + 1
            if failures >= self.lockout_attempts:
                until = now + self.lockout
                self.store.commit(
                    lockout=LockoutState(failures=failures, last_failure_at=now, locked_until=until),
                    audit=[self.audit.make("pin_wrong", detail="0 attempts left"),
                           self.audit.make("lockout", detail=f"until {until.isoformat()}")])
                log.warning("staff PIN entry locked until %s after %d wrong PINs", until.isoformat(), failures)
                return LockedOut(until)
            left = self.lockout_attempts - failures
            self.store.commit(lockout=LockoutState(failures=failures, last_failure_at=now),
                              audit=[self.audit.make("pin_wrong", detail=f"{left} attempts left")])
            log.info("wrong staff PIN (%d attempts left)", left)
            return WrongPin(left)

    async def login_with_pin_async(self, pin: str) -> LoginResult:
        return await asyncio.to_thread(self.login_with_pin, pin)

    def login_with_badge(self, badge_id: str) -> LoginResult:
        """A badge tapped on the reader (`BadgePresented.badge_id`). Works during a PIN lockout."""
        member = self.directory.by_badge(badge_id)
        with self._lock:
            if member is None:
                log.info("unknown staff badge (%s)", masked_badge(badge_id))
                self.audit.record("badge_unknown", detail=f"badge {masked_badge(badge_id)}")
                return UnknownBadge()
            return self._start(member, "badge", reset_lockout=False)

    def _start(self, member: StaffMember, method: LoginMethod, *, reset_lockout: bool) -> LoggedIn:
        records = []
        if self.session is not None and not self.session.expired:
            records.append(self.audit.make("logout", staff=self.session.staff, detail="replaced"))
            self.session.ended_because = "replaced"
        records.append(self.audit.make("login", staff=member, detail=method))
        self.store.commit(audit=records, lockout=LockoutState() if reset_lockout else None)
        self.session = StaffSession(member, method, idle_s=self.idle_s, clock=self._monotonic)
        log.info("staff %s logged in (%s)", member.id, method)
        return LoggedIn(member, self.session)

    # --- logging out --------------------------------------------------------------------------

    def logout(self, reason: str = "logout") -> None:
        """End the staff session ("logout": the button; "idle": timed out). Harmless without one."""
        with self._lock:
            session, self.session = self.session, None
            if session is None or session.ended_because is not None:
                return
            session.ended_because = reason
            self.audit.record("logout", staff=session.staff, detail=reason)
            log.info("staff %s logged out (%s)", session.staff.id, reason)

    def end_if_idle(self) -> bool:
        """End the session when it has been idle for `idle_s`; True when it did (poll it)."""
        session = self.session
        if session is None or not session.expired:
            return False
        self.logout("idle")
        return True


def _matches(pin: str, member: StaffMember) -> bool:
    assert member.pin_hash is not None
    return is_pin(pin) and verify_pin(pin, parse_pin_hash(member.pin_hash))
