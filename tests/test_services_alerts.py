"""Staff hear about a broken card reader without being asked."""

import pytest

from kiosk.api import CentralApi
from kiosk.cart import Cart, CartLine
from kiosk.checkout import new_order_reference
from kiosk.hardware import open_terminal
from kiosk.services import KioskServices
from support.ui import kiosk_settings


@pytest.mark.hardware
async def test_an_unusable_reader_tells_the_shopper_and_alerts_staff(central_server, pcscd, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="pcsc", reader="no such reader")
    terminal = open_terminal("pcsc", reader="no such reader", public_key_path=settings.payment_public_key_path)
    services = KioskServices(settings, CentralApi(central_server.base_url, "demo-kiosk-token"), terminal)
    await services.open_journal()
    cart = Cart()
    cart.add(CartLine(sku="P000001-01", product_id="P000001", name="x", variant_label="", unit_price_cents=100,
                      quantity=1))
    result = await services.checkout.pay_and_order(cart, new_order_reference())
    assert result.progress.reason == "reader_unavailable"
    assert [a.kind for a in services.alerts] == ["reader_unavailable"]
    await services.aclose()
