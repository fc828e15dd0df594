from kivy.properties import BooleanProperty, NumericProperty

from kiosk.screens.base import KioskScreen
from kiosk.views import cart_rows


class CartScreen(KioskScreen):
    total_cents = NumericProperty(0)
    limit_cents = NumericProperty(0)
    over_limit = BooleanProperty(False)  # the pillar takes no PIN: above the no-CVM limit it cannot be paid here

    def refresh(self) -> None:
        cart = self.services.cart
        self.ids.lines.data = cart_rows(cart, self.app.lang, self.app.resolve_url)
        self.total_cents = cart.total_cents
        self.limit_cents = self.services.settings.payment.no_cvm_limit_cents
        self.over_limit = cart.total_cents > self.limit_cents
        self.app.refresh_cart()

    def on_language(self, *args) -> None:
        if self.manager and self.manager.current == self.name:
            self.refresh()

    def change_quantity(self, sku: str, delta: int) -> None:
        line = next((l for l in self.services.cart.lines if l.sku == sku), None)
        if line is not None:
            self.services.cart.set_quantity(sku, line.quantity + delta)
            self.refresh()

    def pay(self) -> None:
        if self.services.cart.is_empty() or self.over_limit:
            return
        self.app.screen("fulfil").begin()
        self.app.go("fulfil")
