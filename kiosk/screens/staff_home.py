"""The staff home: what needs doing (orders to pick, stock changes not yet sent, alerts) and the four
jobs (restock, pick list, settings, diagnostics). Counts are read when the screen shows."""

from __future__ import annotations

import logging

from kivy.properties import BooleanProperty, ListProperty, NumericProperty

from kiosk.pick_list import PickListUnreachable
from kiosk.screens.base import KioskScreen

log = logging.getLogger("kiosk.staff")

SHOWN_ALERTS = 5


class StaffHomeScreen(KioskScreen):
    to_pick = NumericProperty(-1)        # -1: not known (not loaded yet, or the central API is away)
    picked = NumericProperty(0)
    pick_list_unreachable = BooleanProperty(False)
    unsent_adjustments = NumericProperty(0)
    unsent_orders = NumericProperty(0)
    alerts = ListProperty([])            # the newest staff alerts' messages

    def refresh(self) -> None:
        services = self.services
        self.unsent_adjustments = len(services.journal.pending_adjustments())
        self.unsent_orders = services.journal.depth()
        self.alerts = [alert.message for alert in services.alerts[-SHOWN_ALERTS:]][::-1]
        session = self.app.staff_session
        if session is not None:
            self.app.spawn(self._load_counts(session.staff.id))

    async def _load_counts(self, staff_id: str) -> None:
        try:
            await self.services.pick_list.load(staff_id)
        except PickListUnreachable:
            self.pick_list_unreachable = True
            return
        except Exception:  # a refusal (e.g. a staff member the central API does not know): no counts
            log.exception("pick list counts")
            self.pick_list_unreachable = True
            return
        counts = self.services.pick_list.counts
        self.pick_list_unreachable = False
        self.to_pick, self.picked = counts.to_pick, counts.picked

    def pick_text(self, lang: str, to_pick: int, picked: int, unreachable: bool) -> str:
        if unreachable:
            return self.app.t("staff.home.picks_unreachable", lang)
        if to_pick < 0:
            return ""
        return self.app.t("staff.home.picks_count", lang, to_pick=to_pick, picked=picked)

    def queue_text(self, lang: str, adjustments: int, orders: int) -> str:
        if not adjustments and not orders:
            return self.app.t("staff.home.all_sent", lang)
        return self.app.t("staff.home.unsent", lang, adjustments=adjustments, orders=orders)
