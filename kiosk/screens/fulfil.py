import logging
from datetime import datetime

from kivy.factory import Factory
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ToggleButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.api import ApiError
from kiosk.checkout import new_order_reference
from kiosk.fulfilment import Offer, StockVanished
from kiosk.screens.base import KioskScreen
from kiosk.stock_view import choice_detail, choice_title
from kiosk.stores import SHOP_ZONE

log = logging.getLogger("kiosk.screens.fulfil")


class ChoiceRow(ToggleButtonBehavior, BoxLayout):
    """One way to get the order: a big tappable row (title, detail, total); one of the group is chosen."""

    key = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    total = StringProperty("")


class FulfilScreen(KioskScreen):
    """Take it here, delivery, or pickup in a shop: what the central API says is possible for this cart."""

    phase = StringProperty("loading")  # loading | ready | error | reserving
    selected = StringProperty("")  # the chosen Choice.key
    total_cents = NumericProperty(-1)
    over_limit = BooleanProperty(False)  # this way's total is above what the pillar takes without a PIN
    price_changes = StringProperty("")  # the changed prices, one per line; "" when none
    prices_accepted = BooleanProperty(True)
    notice = StringProperty("")  # e.g. stock that vanished since the article page
    nothing_possible = BooleanProperty(False)
    offer: Offer | None = None
    _held: tuple[str, str] | None = None  # (reservation id, order reference) of the last pay attempt

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._rows: list[ChoiceRow] = []  # made once, reused for every offer (see _show_choices)
        self._pickup_section = None  # the "pick it up in a shop" title above the pickup rows

    def begin(self) -> None:
        """The shopper pressed "check out" in the cart: a fresh offer."""
        self.offer, self.selected, self.notice = None, "", ""
        self.phase = "loading"

    def refresh(self) -> None:
        # Every visit asks again: prices and stock may have moved while the shopper looked away.
        self.app.spawn(self._release_held())
        self.load()

    def load(self) -> None:
        self.phase = "loading"
        self.app.spawn(self._load())

    async def _load(self) -> None:
        try:
            offer = await self.services.fulfilment.offer(self.services.cart)
        except ApiError as exc:
            log.warning("no offer for the cart: %s", exc)
            self.phase = "error"
            return
        self.show_offer(offer)

    def show_offer(self, offer: Offer) -> None:
        self.offer = offer
        lang = self.app.lang
        self.price_changes = "\n".join(
            self.app.t("fulfil.price_changed.line", lang, name=c.name, was=self.app.money(c.was_cents, lang),
                       now=self.app.money(c.now_cents, lang)) for c in offer.price_changes)
        self.prices_accepted = not offer.price_changes
        if offer.choice(self.selected) is None:
            self.selected = offer.choices[0].key if offer.choices else ""
        self.nothing_possible = not offer.choices
        self._show_choices()
        self.phase = "ready"

    def _show_choices(self) -> None:
        # Rows are made once and reused (a pool): building ~10 rows from their kv rule every time an
        # offer shows was 36 ms of the UI thread; setting their texts is a fraction of it. The box is
        # only re-filled when the order of rows and section title changes.
        box = self.ids.choices
        if self.offer is None:
            box.clear_widgets()
            return
        lang, today = self.app.lang, datetime.now(SHOP_ZONE).date()
        shown = []
        for index, choice in enumerate(self.offer.choices):
            if choice.type == "pickup" and choice is self.offer.pickups[0]:
                section = self._section()
                section.text = self.app.t("fulfil.pickup", lang)
                shown.append(section)
            row = self._row(index)
            row.key, row.title = choice.key, choice_title(choice, lang)
            row.detail, row.total = choice_detail(choice, today, lang), self.app.money(choice.option.total_cents, lang)
            row.state = "down" if choice.key == self.selected else "normal"
            shown.append(row)
        if box.children[::-1] != shown:
            box.clear_widgets()
            for widget in shown:
                box.add_widget(widget)
        self._update_total()

    def _row(self, index: int) -> ChoiceRow:
        while len(self._rows) <= index:
            row = ChoiceRow(group="fulfil", allow_no_selection=False)
            row.bind(on_release=lambda r: self.choose(r.key))
            self._rows.append(row)
        return self._rows[index]

    def _section(self):
        if self._pickup_section is None:
            self._pickup_section = Factory.ChoiceSection()
        return self._pickup_section

    def row_for(self, key: str) -> ChoiceRow | None:
        return next((r for r in self.ids.choices.children if isinstance(r, ChoiceRow) and r.key == key), None)

    def on_language(self, *args) -> None:
        if self.offer is not None:
            self.show_offer(self.offer)

    def choose(self, key: str) -> None:
        self.selected = key
        for row in self.ids.choices.children:
            if isinstance(row, ChoiceRow):
                row.state = "down" if row.key == key else "normal"
        self._update_total()

    def _update_total(self) -> None:
        choice = self.offer.choice(self.selected) if self.offer else None
        self.total_cents = choice.option.total_cents if choice else -1
        self.over_limit = self.total_cents > self.services.settings.payment.no_cvm_limit_cents

    def accept_prices(self) -> None:
        if self.offer is not None:
            self.services.fulfilment.accept_prices(self.services.cart, self.offer)
            self.prices_accepted = True
            self.app.refresh_cart()

    @property
    def choice(self):
        return self.offer.choice(self.selected) if self.offer else None

    def go_on(self) -> None:
        choice = self.choice
        if choice is None or self.phase != "ready" or not self.prices_accepted or self.over_limit:
            return
        if choice.type == "delivery":
            self.app.screen("address").begin()
            self.app.go("address")
        else:
            self.reserve()

    def reserve(self, customer=None) -> None:
        """Hold the stock of the chosen way, then on to the card; used by the address screen too."""
        if self.phase == "reserving":
            return  # a second tap while the first is on its way
        self.phase = "reserving"
        self.app.spawn(self._reserve(self.choice, customer))

    async def _reserve(self, choice, customer) -> None:
        try:
            await self._release_held()
            plan = await self.services.fulfilment.reserve(self.services.cart, choice, customer)
        except StockVanished as exc:
            self._vanished(exc)
            return
        except ApiError as exc:
            log.warning("could not hold the stock: %s", exc)
            self.phase = "error"
            self._back_here()
            return
        # A new order reference per visit to the card: a retry with another card stays on it.
        reference = new_order_reference()
        self._held = (plan.reservation_id, reference)
        self.phase = "ready"
        self.app.screen("pay").begin(reference, plan)
        self.app.go("pay")

    def _vanished(self, exc: StockVanished) -> None:
        lang = self.app.lang
        names = {line.sku: line.name for line in self.services.cart.lines}
        short = ", ".join(dict.fromkeys(names.get(s.sku, s.sku) for s in exc.shortages))
        self.notice = (self.app.t("fulfil.vanished", lang, names=short) if short
                       else self.app.t("fulfil.vanished.all", lang))
        if exc.offer is not None:
            self.selected = ""
            self.show_offer(exc.offer)
        else:
            self.phase = "error"
        self._back_here()

    def _back_here(self) -> None:
        if self.manager and self.manager.current != self.name:
            self.app.go_back()

    async def _release_held(self) -> None:
        """The shopper came back from the card (or left): free the stock of an attempt not paid for."""
        held, self._held = self._held, None
        if held is not None and not self.services.checkout.holds_money(held[1]):
            await self.services.fulfilment.release(held[0])

    def forget(self) -> None:
        """A new shopper: nothing of the last one's choice remains (a held reservation lapses by itself
        or is released here when nothing was paid)."""
        self.app.spawn(self._release_held())
        self.offer, self.selected, self.notice, self.price_changes = None, "", "", ""
        self.ids.choices.clear_widgets()
        for row in self._rows:  # the kept rows say nothing of this shopper's order
            row.key = row.title = row.detail = row.total = ""
            row.state = "normal"
