"""The checkout's parts wired without a window, on a fresh reference server per test: shared by the
journal, cancel and card-data tests."""

import pytest

from central.embedded import start_server
from kiosk.api import CentralApi
from kiosk.cart import Cart, CartLine
from kiosk.checkout import Checkout
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.journal.journal import Journal
from kiosk.outbox import Outbox
from kiosk.payments import PaymentService
from support.orders import stock_up
from support.ui import ROOT

KEY = ROOT / "config" / "payment_service_public.pem"


@pytest.fixture
def server(tmp_path):
    running = start_server(tmp_path / "central.sqlite", seed_articles=60)
    stock_up(running.db_path)  # the central API checks stock: these take_now orders must not run out of it
    yield running
    running.stop()


class Kiosk:
    """The checkout's parts wired as KioskServices wires them, without a window."""

    def __init__(self, base_url, journal_path, *, transport=None, profile="visa", read_timeout=2.0):
        self.api = CentralApi(base_url, "demo-kiosk-token", transport=transport, read_timeout=read_timeout,
                              backoff_base=0.001, backoff_max=0.01)
        self.journal = Journal(journal_path)
        self.outbox = Outbox(self.api, self.journal, kiosk_id="demo-kiosk-01", base_delay_s=0.001, max_delay_s=0.01)
        self.seen = []  # every PaymentProgress reported
        # These tests are about the journal, not the PIN limit (tests/test_emv_cvm.py is): any amount goes.
        self.payments = PaymentService(self.api, SimulatedTerminal(KEY, profile=profile, delay_s=0), card_timeout_s=5,
                                       no_cvm_limit_cents=100_000_000, on_change=self.seen.append)
        self.payments.STATUS_FIRST_DELAY_S = 0.001
        self.checkout = Checkout(self.journal, self.payments, self.outbox, kiosk_id="demo-kiosk-01",
                                 store_id="utrecht-centrum", tracking_base_url=base_url)

    async def open(self):
        await self.journal.open()
        return self

    async def close(self):
        self.journal.close()
        await self.api.aclose()


async def cart_of(api, count=2, offset=0):
    page = await api.catalog_page(limit=count + offset)
    cart = Cart()
    for product in page.items[offset:offset + count]:
        v = product.variants[0]
        cart.add(CartLine(sku=v.sku, product_id=product.id, name=product.name, variant_label="",
                          unit_price_cents=v.price_cents, quantity=1))
    return cart


def states(entry):
    return [h.state.value for h in entry.history]
