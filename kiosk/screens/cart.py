from kivy.properties import NumericProperty

from kiosk.checkout import new_order_reference
from kiosk.screens.base import KioskScreen
from kiosk.views import cart_rows


class CartScreen(KioskScreen):
    total_cents = NumericProperty(0)

    def refresh(self) -> None:
        cart = self.services.cart
        self.ids.lines.data = cart_rows(cart, self.app.lang, self.app.resolve_url)
        self.total_cents = cart.total_cents
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
        if self.services.cart.is_empty():
            return
        # One reference per checkout: a retry with another card pays for the same order.
        self.app.screen("pay").begin(new_order_reference())
        self.app.go("pay")
