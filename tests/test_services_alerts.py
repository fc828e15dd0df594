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


@pytest.mark.hardware
async def test_a_staff_badge_on_the_pay_screen_is_never_paid_with(central_server, vpcd_reader, vpcd_card, tmp_path):
    import asyncio

    from kiosk.config import parse_settings
    from kiosk.launch import open_terminal_for

    base = kiosk_settings(central_server.base_url, tmp_path, terminal="pcsc", reader=vpcd_reader)
    settings = parse_settings({**base.model_dump(mode="json", exclude={"source"}),
                               "api": {"base_url": central_server.base_url, "token": "demo-kiosk-token"},
                               "staff": {"badge_uids": ["04A1B2C3"]}})
    services = KioskServices(settings, CentralApi(central_server.base_url, "demo-kiosk-token"),
                             open_terminal_for(settings))
    await services.open_journal()
    cart = Cart()
    cart.add(CartLine(sku="P000001-01", product_id="P000001", name="x", variant_label="", unit_price_cents=100,
                      quantity=1))
    paying = asyncio.create_task(services.checkout.pay_and_order(cart, new_order_reference()))
    await asyncio.sleep(0.2)
    vpcd_card("badge")
    result = await paying
    assert result.progress.reason == "staff_badge"
    assert result.receipt is None
    await services.aclose()


def test_badge_settings_must_be_hex(tmp_path):
    from kiosk.config import ConfigError, parse_settings

    with pytest.raises(ConfigError, match="staff.badge_uids"):
        parse_settings({"staff": {"badge_uids": ["not hex"]}})


@pytest.mark.hardware
async def test_tapping_the_card_twice_makes_one_payment(central_server, vpcd_reader, vpcd_card, tmp_path):
    import asyncio
    import sqlite3

    from kiosk.checkout import CheckoutBusy
    from kiosk.launch import open_terminal_for

    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="pcsc", reader=vpcd_reader)
    services = KioskServices(settings, CentralApi(central_server.base_url, "demo-kiosk-token"),
                             open_terminal_for(settings))
    await services.open_journal()
    product = next(p for p in (await services.api.catalog_page(limit=50)).items if p.variants[0].price_cents <= 5000)
    cart = Cart()
    cart.add(CartLine(sku=product.variants[0].sku, product_id=product.id, name=product.name, variant_label="",
                      unit_price_cents=product.variants[0].price_cents, quantity=1))
    reference = new_order_reference()
    paying = asyncio.create_task(services.checkout.pay_and_order(cart, reference))
    await asyncio.sleep(0.2)
    first = vpcd_card("visa")
    first.remove()  # the shopper lifts the card and taps it again at once
    vpcd_card("visa")
    result = await paying
    if result.receipt is None:
        # The first tap was cut short (and the card was back before pcscd noticed it had gone):
        # the shopper is told to try again, nothing was charged, and "try again" pays once.
        assert result.progress.reason in ("card_removed", "card_unreadable"), result.progress
        result = await services.checkout.pay_and_order(cart, reference)
    assert result.receipt is not None and result.receipt.confirmed
    with pytest.raises(CheckoutBusy):  # pressing "pay" again for a paid order does nothing
        await services.checkout.pay_and_order(cart, reference)
    await services.aclose()
    order_id = services.checkout.order_id_for(reference)
    with sqlite3.connect(central_server.db_path) as db:
        approved = db.execute("SELECT COUNT(*) FROM payments WHERE order_id = ? AND status = 'approved'",
                              (order_id,)).fetchone()[0]
        orders = db.execute("SELECT COUNT(*) FROM orders WHERE order_id = ?", (order_id,)).fetchone()[0]
    assert (approved, orders) == (1, 1)
