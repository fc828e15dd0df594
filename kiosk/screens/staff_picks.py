"""Staff: the pick list (issue 8, point 3): this shop's pickup orders, to pick and to hand over.

Read from the central API each time the screen shows (and on "Vernieuwen"); each order is a card with
its reference, ready day, status and lines (quantity, name, variant, shelf). "Gepakt" marks an order
picked, "Meegegeven" handed over; kiosk/pick_list.py changes the list at once (optimistic) and puts
it back when the central API did not take it, and this screen says why. With no connection the
screen says so and offers "try again"; nothing is journalled (the list lives on the central API).
"""

from __future__ import annotations

import logging
from datetime import datetime

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.contract import PickList, PickOrder
from kiosk.pick_list import NotPicked, PickListRefused, PickListUnreachable, PickOrderGone
from kiosk.screens.base import KioskScreen
from kiosk.stock_view import day_text
from kiosk.stores import SHOP_ZONE

log = logging.getLogger("kiosk.staff")

# A failed mark or load -> what staff read (translation keys).
ERRORS = {PickListUnreachable: "staff.picks.error.unreachable", NotPicked: "staff.picks.error.not_picked",
          PickOrderGone: "staff.picks.error.gone", PickListRefused: "staff.picks.error.refused"}


class PickLineRow(BoxLayout):
    quantity = StringProperty("")
    name = StringProperty("")
    detail = StringProperty("")     # variant and shelf


class PickOrderCard(BoxLayout):
    """One pickup order; its buttons forward to the screen."""

    order_id = StringProperty("")
    reference = StringProperty("")
    ready = StringProperty("")
    status = StringProperty("to_pick")
    status_text = StringProperty("")
    customer = StringProperty("")
    busy = BooleanProperty(False)   # a mark of this order is on its way


class StaffPicksScreen(KioskScreen):
    loading = BooleanProperty(False)
    loaded = BooleanProperty(False)      # a list is shown (from this visit)
    unreachable = BooleanProperty(False)  # the last load failed for want of a connection
    load_error = StringProperty("")      # the last load failed otherwise: the translation key
    to_pick = NumericProperty(0)
    picked = NumericProperty(0)
    handed_over = NumericProperty(0)
    order_count = NumericProperty(0)
    message = StringProperty("")         # the last failed mark, translated
    marking = ListProperty([])           # order ids with a mark on its way

    def on_kv_post(self, base_widget):
        self.cards: dict[str, PickOrderCard] = {}
        self._picks: PickList | None = None
        self._message: tuple[str, dict] | None = None
        self._redraw = Clock.create_trigger(lambda dt: self._show(), 0)
        self.app.bind(lang=lambda *_: self._relabel())

    # --- entering and leaving --------------------------------------------------------------------

    def refresh(self) -> None:
        listeners = self.services.pick_list.listeners
        if self._changed not in listeners:
            listeners.append(self._changed)
        self.loaded, self.unreachable, self.load_error = False, False, ""
        self._set_message(None)
        self._picks = None
        self._show()
        self.ids.orders_view.scroll_y = 1
        self.reload()

    def on_leave(self, *args) -> None:
        listeners = self.services.pick_list.listeners
        if self._changed in listeners:
            listeners.remove(self._changed)

    def release(self, services) -> None:
        super().release(services)  # the app stops on this screen: no on_leave
        listeners = services.pick_list.listeners
        if self._changed in listeners:
            listeners.remove(self._changed)

    def reload(self) -> None:
        session = self.app.staff_session
        if session is None or self.loading:
            return
        self.loading = True
        self.app.spawn(self._load(session.staff.id))

    async def _load(self, staff_id: str) -> None:
        try:
            picks = await self.services.pick_list.load(staff_id)  # the listener shows it
        except PickListUnreachable:
            self.unreachable, self.load_error = True, ""
            return
        except Exception:  # refused (e.g. staff unknown to the central API), or a bug
            log.exception("pick list")
            self.unreachable, self.load_error = False, "staff.picks.load_refused"
            return
        finally:
            self.loading = False
        self.unreachable, self.load_error, self.loaded = False, "", True
        self._picks = picks
        self._redraw()

    def _changed(self, picks: PickList) -> None:
        """The service's list changed (a load, a mark, a mark put back): redraw within the frame."""
        self._picks = picks
        self._redraw()

    # --- intents -------------------------------------------------------------------------------

    def mark(self, order_id: str, step: str) -> None:
        session = self.app.staff_session
        if session is None or order_id in self.marking:
            return
        self._set_message(None)
        self.marking = [*self.marking, order_id]
        self._show()
        self.app.spawn(self._mark(order_id, step, session.staff.id))

    async def _mark(self, order_id: str, step: str, staff_id: str) -> None:
        service = self.services.pick_list
        send = service.mark_picked if step == "picked" else service.mark_handed_over
        try:
            await send(order_id, staff_id)
        except Exception as exc:
            if not isinstance(exc, tuple(ERRORS)):
                log.exception("pick list: marking %s %s", order_id, step)
            reference = self.cards[order_id].reference if order_id in self.cards else order_id
            self._set_message((ERRORS.get(type(exc), "staff.picks.error.refused"), {"reference": reference}))
            if isinstance(exc, PickOrderGone):
                self.reload()
        finally:
            self.marking = [o for o in self.marking if o != order_id]
            self._redraw()

    # --- showing -------------------------------------------------------------------------------

    def _set_message(self, message: tuple[str, dict] | None) -> None:
        self._message = message
        self.message = self.app.t(message[0], self.app.lang, **message[1]) if message else ""

    def _relabel(self) -> None:
        self._set_message(self._message)
        self._show()

    def _show(self) -> None:
        picks = self._picks
        orders = picks.orders if picks is not None else []
        counts = picks.counts if picks is not None else None
        self.to_pick = counts.to_pick if counts else 0
        self.picked = counts.picked if counts else 0
        self.handed_over = counts.handed_over_today if counts else 0
        self.order_count = len(orders)
        box = self.ids.orders
        if [o.order_id for o in orders] != list(self.cards):
            box.clear_widgets()
            self.cards = {}
            for order in orders:
                card = PickOrderCard(order_id=order.order_id)
                self.cards[order.order_id] = card
                box.add_widget(card)
        for order in orders:
            self._fill(self.cards[order.order_id], order)

    def _fill(self, card: PickOrderCard, order: PickOrder) -> None:
        t, lang = self.app.t, self.app.lang
        today = datetime.now(SHOP_ZONE).date()
        card.reference = order.reference
        card.ready = (t("staff.picks.ready", lang, day=day_text(order.ready_on, today, lang)) if order.ready_on
                      else "")
        card.customer = t("staff.picks.customer", lang, name=order.customer_name) if order.customer_name else ""
        card.status = order.status
        card.status_text = t(f"staff.picks.status.{order.status}", lang)
        card.busy = order.order_id in self.marking
        lines = card.ids.lines
        if len(lines.children) != len(order.lines):
            lines.clear_widgets()
            for _ in order.lines:
                lines.add_widget(PickLineRow())
        for row, line in zip(reversed(lines.children), order.lines):
            row.quantity = f"{line.quantity} ×"
            row.name = line.name
            place = (t("staff.picks.location", lang, location=line.location) if line.location
                     else t("staff.picks.stockroom", lang))
            row.detail = "   ·   ".join(part for part in (line.variant, place) if part)

    def counts_text(self, lang: str, to_pick: int, picked: int, handed_over: int) -> str:
        return self.app.t("staff.picks.counts", lang, to_pick=to_pick, picked=picked, handed_over=handed_over)

    def state_text(self, lang: str, loading: bool, loaded: bool, unreachable: bool, load_error: str,
                   order_count: int) -> str:
        if unreachable:
            return self.app.t("staff.picks.unreachable", lang)
        if load_error:
            return self.app.t(load_error, lang)
        if loading and not loaded:
            return self.app.t("staff.picks.loading", lang)
        if loaded and order_count == 0:
            return self.app.t("staff.picks.empty", lang)
        return ""
