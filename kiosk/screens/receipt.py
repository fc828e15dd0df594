import asyncio
from datetime import datetime

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.checkout import Receipt
from kiosk.qr import qr_bitmap
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import qr_texture
from kiosk.stock_view import receipt_way_text
from kiosk.stores import SHOP_ZONE


class ReceiptScreen(KioskScreen):
    reference = StringProperty("")
    order_number = StringProperty("")
    confirmed = BooleanProperty(False)
    total_cents = NumericProperty(0)
    scheme = StringProperty("")
    masked_card = StringProperty("")
    tracking_url = StringProperty("")
    qr_texture = ObjectProperty(None, allownone=True)  # the QR of tracking_url; None while it is made
    receipt = ObjectProperty(None, allownone=True)
    way_text = StringProperty("")  # take it / fetch it there from that day / delivered that day
    _qr_generation = 0  # the newest receipt's QR wins; an older one still being made is dropped

    def on_language(self, *args) -> None:
        self._show_way()

    def _show_way(self) -> None:
        if self.receipt is not None:
            self.way_text = receipt_way_text(self.receipt.fulfilment, self.receipt.ready_on, self.services.stores,
                                             datetime.now(SHOP_ZONE).date(), self.app.lang)

    def on_kv_post(self, base_widget):
        self.services.order_listeners.append(self.order_changed)

    def release(self, services) -> None:
        super().release(services)
        if self.order_changed in services.order_listeners:
            services.order_listeners.remove(self.order_changed)

    def order_changed(self, entry) -> None:
        """The outbox delivered the order later: the receipt on screen gets its order number."""
        if self.receipt is not None and entry.order_id == self.receipt.order_id and entry.order_number:
            self.order_number, self.confirmed = entry.order_number, True

    def show(self, receipt: Receipt) -> None:
        self.receipt = receipt
        self.reference = receipt.reference
        self.order_number = receipt.order_number or ""
        self.confirmed = receipt.confirmed
        self.total_cents = receipt.total_cents
        self.scheme = receipt.card.scheme if receipt.card else ""
        self.masked_card = receipt.card.masked_pan if receipt.card else ""
        self.tracking_url = receipt.tracking_url
        self._show_way()
        # Never the last order's QR while this one is made: a scan would track someone else's order.
        self.qr_texture = None
        self._qr_generation += 1
        self.app.spawn(self._draw_qr(receipt.tracking_url, self._qr_generation))

    async def _draw_qr(self, url: str, generation: int) -> None:
        bitmap = await asyncio.to_thread(qr_bitmap, url, border=4)
        if generation == self._qr_generation:
            self.qr_texture = qr_texture(bitmap)
