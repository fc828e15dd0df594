import asyncio
import logging

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, OptionProperty, StringProperty

from kiosk.api import ApiError
from kiosk.qr import qr_bitmap
from kiosk.screens.base import KioskScreen
from kiosk.screens.quantity import QuantityPad
from kiosk.screens.widgets import qr_texture
from kiosk.views import cart_rows

log = logging.getLogger("kiosk.screens.cart")


class CartScreen(KioskScreen):
    total_cents = NumericProperty(0)
    limit_cents = NumericProperty(0)
    over_limit = BooleanProperty(False)  # the pillar takes no PIN: above the no-CVM limit it cannot be paid here
    # The QR that opens this cart on the shopper's phone (kiosk.handoff): "none" for an empty cart,
    # "loading", "ready" (handoff_texture shows handoff_url) or "offline" (one quiet line, no box).
    handoff_state = OptionProperty("none", options=["none", "loading", "ready", "offline"])
    handoff_url = StringProperty("")
    handoff_texture = ObjectProperty(None, allownone=True)
    _handoff_generation = 0  # the newest cart content wins; an older answer is dropped

    def refresh(self) -> None:
        cart = self.services.cart
        self.ids.lines.data = cart_rows(cart, self.app.lang, self.app.resolve_url)
        self.total_cents = cart.total_cents
        self.limit_cents = self.services.settings.payment.no_cvm_limit_cents
        self.over_limit = cart.total_cents > self.limit_cents
        self.app.refresh_cart()
        self._show_handoff()

    def _show_handoff(self) -> None:
        cart = self.services.cart
        self._handoff_generation += 1
        if cart.is_empty():
            self.handoff_state, self.handoff_url, self.handoff_texture = "none", "", None
            return
        url = self.services.handoff.cached(cart)
        if url is not None and url == self.handoff_url and self.handoff_texture is not None:
            self.handoff_state = "ready"  # this very cart's QR is on screen already
            return
        # Never an old cart's QR while the new one is made: a scan now would open the old content.
        self.handoff_state, self.handoff_url, self.handoff_texture = "loading", "", None
        self.app.spawn(self._load_handoff(self._handoff_generation, url))

    async def _load_handoff(self, generation: int, url: str | None = None) -> None:
        if url is None:
            try:
                url = await self.services.handoff.link(self.services.cart)
            except (ApiError, ValueError) as exc:
                log.info("no phone link for the cart now: %s", exc)
                if generation == self._handoff_generation:
                    self.handoff_state = "offline"  # the cart works on; entering the screen again retries
                return
        if generation != self._handoff_generation:
            return
        # The matrix is pure Python (6-14 ms): a worker thread; only the texture is made on this one.
        # A narrow border: the white card around it completes the quiet zone, and the modules get bigger.
        bitmap = await asyncio.to_thread(qr_bitmap, url, border=2)
        if generation == self._handoff_generation:  # else the cart changed meanwhile: a newer QR comes
            self.handoff_url, self.handoff_texture = url, qr_texture(bitmap)
            self.handoff_state = "ready"

    def on_language(self, *args) -> None:
        if self.manager and self.manager.current == self.name:
            self.refresh()

    def change_quantity(self, sku: str, delta: int) -> None:
        line = next((l for l in self.services.cart.lines if l.sku == sku), None)
        if line is not None:
            self.services.cart.set_quantity(sku, line.quantity + delta)
            self.refresh()

    def type_quantity(self, sku: str) -> None:
        line = next((l for l in self.services.cart.lines if l.sku == sku), None)
        if line is not None:
            self.quantity_pad = QuantityPad(line.name, line.quantity,
                                            lambda quantity: self.set_quantity(sku, quantity))
            self.quantity_pad.open()

    def set_quantity(self, sku: str, quantity: int) -> None:
        if any(l.sku == sku for l in self.services.cart.lines):
            self.services.cart.set_quantity(sku, quantity)
            self.refresh()

    def pay(self) -> None:
        if self.services.cart.is_empty() or self.over_limit:
            return
        self.app.screen("fulfil").begin()
        self.app.go("fulfil")
