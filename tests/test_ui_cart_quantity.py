"""A quantity typed on the numeric keypad in the cart: tap the number, type, done."""

import pytest

from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui


async def test_type_a_quantity_on_the_keypad(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        product = app.services.catalog.search("fiets", limit=1).items[0]
        app.open_product(product.id)
        await driver.wait_for_screen("article")
        await driver.tap(app.root.get_screen("article").ids.add_button)
        app.go("cart")
        await driver.wait_for_screen("cart")
        cart = app.root.get_screen("cart")
        row = driver.visible_tile(cart.ids.lines, 0)
        await driver.tap(row.ids.quantity_button)
        pad = cart.quantity_pad
        for key in "12\n":
            await driver.tap(pad.keypad.keys[key])
        assert app.services.cart.lines[0].quantity == 12 and app.cart_count == 12
        await driver.frames(3)
        await driver.tap(driver.visible_tile(cart.ids.lines, 0).ids.quantity_button)
        pad = cart.quantity_pad
        for key in "0\n":
            await driver.tap(pad.keypad.keys[key])
        assert app.services.cart.is_empty()
