"""Staff on the pillar, as the app sees it: the way in, the staff session, the way out.

The way in: a staff badge on the card reader (kiosk/hardware/badge_watch.py, whenever no payment owns
the reader), or a press held `[staff] corner_hold_s` seconds in the top-left corner, then a PIN
(staff_login). Either way the shopper's session is closed first: their cart and typed data are gone
before a staff screen shows. Never during a payment.

The staff session ends on "log out" and after `[staff] idle_s` without a touch; the pillar then starts
over on the attract screen, as for a shopper who walked away. Who may log in and the lockout after
wrong PINs are `kiosk.staff.auth.StaffGate`'s business (plain Python, tested without a window).
"""

from __future__ import annotations

import asyncio
import logging

from kivy.clock import Clock
from kivy.properties import ObjectProperty

from kiosk.session import Phase
from kiosk.staff.auth import LoggedIn, LoginResult, StaffSession

log = logging.getLogger("kiosk.staff")

STAFF_SCREENS = ("staff_login", "staff_home", "staff_restock", "staff_picks", "staff_settings", "staff_diagnostics")
CORNER_DP = 120  # the top-left square that takes the hidden press: about 3 cm, no mistaking it


class StaffModeMixin:
    """Mixed into KioskApp (kiosk/app.py): the staff parts of the app, kept out of the shopper's."""

    staff_session = ObjectProperty(None, allownone=True)  # a kiosk.staff.auth.StaffSession while logged in

    def _staff_init(self) -> None:
        self._corner_event = None

    # --- the way in ---------------------------------------------------------------------------

    def in_staff_mode(self) -> bool:
        return self.root is not None and self.root.current in STAFF_SCREENS

    def _corner_press(self, touch) -> None:
        """A touch down: in the top-left corner, outside staff mode and a payment, start the 3 s wait."""
        from kivy.core.window import Window
        from kivy.metrics import dp

        self._cancel_corner()
        if self.in_staff_mode() or self._paying():
            return
        if touch.x <= dp(CORNER_DP) and touch.y >= Window.height - dp(CORNER_DP):
            hold_s = self.services.settings.staff.corner_hold_s
            self._corner_event = Clock.schedule_once(lambda dt: self._corner_held(touch), hold_s)

    def _corner_release(self, touch) -> bool:
        """A touch up: the corner press ends. If it opened the staff login, this release is spent:
        whatever lies under the corner (the back button) must not act on it."""
        self._cancel_corner()
        return bool(touch.ud.get("staff_entry"))

    def _cancel_corner(self) -> None:
        if self._corner_event is not None:
            self._corner_event.cancel()
            self._corner_event = None

    def _corner_held(self, touch) -> None:
        self._corner_event = None
        if self._paying():
            return
        touch.ud["staff_entry"] = True
        for ref in list(touch.grab_list):  # the button under the corner never gets its release
            widget = ref()
            if widget is not None:
                touch.ungrab(widget)
                if getattr(widget, "state", None) == "down":
                    widget.state = "normal"
        log.info("staff entry: corner held")
        self.open_staff_login()

    def open_staff_login(self) -> None:
        self.close_shopper_session()
        self.screen("staff_login").begin()
        self._move("staff_login", "left")

    def badge_presented(self, badge_id: str) -> None:
        """The badge watcher saw a badge: log in with it (it is ignored during a payment)."""
        if self._paying():
            return
        self.spawn(self._badge_login(badge_id))

    async def _badge_login(self, badge_id: str) -> None:
        # The gate writes its audit record (an fsync): off the UI thread.
        result = await asyncio.to_thread(self.services.staff_gate.login_with_badge, badge_id)
        if not self._paying():
            self.staff_logged_in(result)

    def staff_logged_in(self, result: LoginResult) -> bool:
        """A login's outcome from the PIN screen or a badge; True when someone is now logged in."""
        if not isinstance(result, LoggedIn):
            if not self.in_staff_mode():  # an unknown badge on a shopper screen: say so on the PIN screen
                self.open_staff_login()
            self.screen("staff_login").show_result(result)
            return False
        if not self.in_staff_mode():
            self.close_shopper_session()
        self.staff_session = result.session
        log.info("staff %s logged in (%s)", result.staff.id, result.session.method)
        self._history.clear()
        self._move("staff_home", "left")
        return True

    # --- the session ---------------------------------------------------------------------------

    def staff_touched(self) -> None:
        session: StaffSession | None = self.staff_session
        if session is not None:
            session.touch()

    def staff_idle_tick(self) -> bool:
        """From the app's idle tick: True while staff mode owns the screen (no shopper idle then)."""
        session: StaffSession | None = self.staff_session
        if session is not None and session.expired:
            gate = self.services.staff_gate
            log.info("staff session ended: idle for %.0f s", gate.idle_s)
            self.spawn(asyncio.to_thread(gate.end_if_idle))  # audited: a file write, off the UI thread
            self._leave_staff_mode()
            return False
        if self.in_staff_mode() and self.staff_session is None:
            # The PIN screen left alone (the shopper idle clock runs on every touch), or a staff
            # screen whose session ended elsewhere: out.
            if self.root.current != "staff_login" or self.session.state().phase is not Phase.active:
                self._leave_staff_mode()
                return False
        return self.in_staff_mode()

    def staff_logout(self) -> None:
        gate = self.services.staff_gate
        self.spawn(asyncio.to_thread(gate.logout, "logout"))  # audited: a file write, off the UI thread
        self._leave_staff_mode()

    def cancel_staff_login(self) -> None:
        self._leave_staff_mode()

    def _leave_staff_mode(self) -> None:
        self.staff_session = None
        self.start_over()

    def staff_scanned(self, code: str) -> bool:
        """A barcode scanned in staff mode opens that article on the restock screen."""
        if not self.in_staff_mode():
            return False
        if self.staff_session is None:  # the PIN screen: nobody to restock for yet
            return True
        if self.root.current != "staff_restock":  # a scan anywhere in staff mode is a restock
            self.go("staff_restock")
        self.screen("staff_restock").scanned(code)
        return True

    def go_staff_home(self) -> None:
        self._history.clear()
        self._move("staff_home", "right")
