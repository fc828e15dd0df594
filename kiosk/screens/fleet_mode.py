"""Fleet configuration, as the app sees it: when the pillar is idle, and what a new configuration does.

The work is `kiosk.fleet.service.FleetService`'s (plain Python, tested without a window); the app tells
it whether the pillar is busy and acts on what it decides:

- busy: a payment (`payment_in_progress`), or anyone using the pillar: a shopper past the attract
  screen or touching it in the last few seconds, a staff member (`waiting_for_idle`). A bundle waits for neither to finish on its own: it is
  applied at the first moment the attract screen shows with nobody there.
- a change that takes effect at once goes through `apply_settings`, as a staff change does;
- a change that needs a restart restarts the app (as staff's "App herstarten" does: same process,
  re-executed) at that idle moment, so no shopper ever sees it.
"""

from __future__ import annotations

import logging
import time

from kiosk.contract.fleet import PendingReason
from kiosk.fleet.service import Change

log = logging.getLogger("kiosk.fleet")

UI_STALLED_S = 5.0  # the UI loop has not turned for this long: the app is not up, as the health check sees it
QUIET_S = 5.0       # nobody has touched the attract screen for this long: nobody is about to start


class FleetModeMixin:
    """Mixed into KioskApp (kiosk/app.py)."""

    def _fleet_init(self) -> None:
        self._ui_turned_at = time.monotonic()

    def _fleet_start(self) -> None:
        self.services.ui_alive = self.ui_alive
        fleet = self.services.fleet
        if fleet is not None:
            self.spawn(fleet.run(busy=self.fleet_busy, on_change=self.fleet_changed, on_restart=self.fleet_restart))

    def _fleet_stop(self) -> None:
        # The services must not keep this app alive (nor call into it) once it has stopped.
        self.services.ui_alive = _stopped

    def _ui_turned(self) -> None:
        """Called from the idle tick: the UI loop is turning."""
        self._ui_turned_at = time.monotonic()

    def ui_alive(self) -> bool:
        return self.root is not None and time.monotonic() - self._ui_turned_at < UI_STALLED_S

    def fleet_busy(self) -> PendingReason | None:
        """None when a new configuration may be applied now."""
        if self.root is None:
            return "waiting_for_idle"
        if self._paying():
            return "payment_in_progress"
        if self.root.current != "attract" or self.staff_session or self.session.quiet_for() < QUIET_S:
            return "waiting_for_idle"
        return None

    def fleet_changed(self, change: Change) -> None:
        if change.restart:
            return  # the service asks for the restart itself (fleet_restart) while the pillar is idle
        settings = self.services.use_fleet_settings(change.settings, change.locked)
        self.apply_settings(settings)
        log.warning("fleet configuration %s", "rolled back" if change.rolled_back else "applied")

    def fleet_restart(self, reason: str) -> None:
        self.services.diagnostics.request_restart(reason)  # -> _restart_requested: stop, then re-execute


def _stopped() -> bool:
    return False
