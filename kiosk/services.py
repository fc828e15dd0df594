"""Everything the screens use, wired together from the settings. Plain Python: no Kivy here.

The app owns one `KioskServices`; screens read state from it and forward the shopper's intents to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.api import ApiError, CentralApi
from kiosk.cart import Cart
from kiosk.catalog import Catalog
from kiosk.checkout import Checkout
from kiosk.config import Settings
from kiosk.hardware.terminal import PaymentTerminal
from kiosk.payments import PaymentProgress, PaymentService
from kiosk.stock import StockService

log = logging.getLogger("kiosk.services")


@dataclass
class ConnectionStatus:
    online: bool = False
    catalog_loaded: bool = False
    last_error: str | None = None
    listeners: list[Callable[["ConnectionStatus"], None]] = field(default_factory=list, repr=False)

    def update(self, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        for listener in list(self.listeners):
            listener(self)


class KioskServices:
    def __init__(self, settings: Settings, api: CentralApi, terminal: PaymentTerminal) -> None:
        self.settings = settings
        self.api = api
        self.terminal = terminal
        self.catalog = Catalog()
        self.cart = Cart()
        self.stock = StockService(api, settings.kiosk.store_id)
        self.status = ConnectionStatus()
        self._payment_listeners: list[Callable[[PaymentProgress], None]] = []
        self.payments = PaymentService(api, terminal, card_timeout_s=settings.payment.card_timeout_s,
                                       on_change=self._payment_changed)
        self.checkout = Checkout(api, self.payments, kiosk_id=settings.kiosk.id, store_id=settings.kiosk.store_id,
                                 tracking_base_url=settings.api.base_url)

    def on_payment_change(self, listener: Callable[[PaymentProgress], None]) -> None:
        self._payment_listeners.append(listener)

    def _payment_changed(self, progress: PaymentProgress) -> None:
        for listener in list(self._payment_listeners):
            listener(progress)

    async def connect(self) -> bool:
        """Check the central API and load the catalog; False (and a status the screens show) when down."""
        try:
            await self.api.health()
            self.status.update(online=True, last_error=None)
            if not self.catalog.is_loaded:
                await self.catalog.load(self.api)
                self.status.update(catalog_loaded=True)
            return True
        except ApiError as exc:
            log.warning("central API not reachable: %s", exc)
            self.status.update(online=False, last_error=str(exc))
            return False

    def reset_session(self) -> None:
        """A new shopper starts with nothing of the previous one."""
        self.cart.clear()

    async def aclose(self) -> None:
        await self.api.aclose()
