"""The whole shopper journey in the real app, in a real window, paid through the real card stack:
pyscard -> pcscd -> vpcd -> our emulated card. Then the order is checked in the central database."""

import asyncio
import sqlite3

import pytest

from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver, play_journey
from support.ui import kiosk_settings, running_app
from support.vpcd_card import VpcdCard

pytestmark = [pytest.mark.ui, pytest.mark.hardware]

SCREENS = ["01-attract", "02-categories", "03-products", "04-article", "05-cart", "06-fulfil", "08-pay", "09-receipt"]


async def test_shopper_orders_and_pays_with_a_card_through_pcscd(central_server, pcscd, vpcd_reader,
                                                                 needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="pcsc", reader=vpcd_reader, card_timeout_s=30)
    terminal = open_terminal("pcsc", reader=vpcd_reader, public_key_path=settings.payment_public_key_path)
    card = VpcdCard("visa")

    async def present_card():
        await asyncio.to_thread(card.insert)

    try:
        async with running_app(settings, terminal) as app:
            driver = UiDriver(app, tmp_path / "shots")
            seen = []
            app.services.on_payment_change(lambda progress: seen.append(progress.state.value))
            receipt = await play_journey(driver, present_card)
            assert seen == ["waiting_for_card", "reading", "authorising", "approved"]
            receipt_screen = app.root.get_screen("receipt")
            assert receipt_screen.ids.reference.text == receipt.reference
            assert receipt.confirmed, "the reference server was up: the order must be confirmed"
            assert app.cart_count == 0
            shown_lines = receipt.lines
            # Done: back to the attract screen with nothing of this shopper left.
            await driver.tap(receipt_screen.ids.done_button)
            await driver.wait_for_screen("attract")
            assert app.services.cart.is_empty()
    finally:
        card.remove()

    assert [p.name for p in driver.screenshots] == [f"{name}.png" for name in SCREENS]
    for shot in driver.screenshots:
        assert shot.stat().st_size > 10_000, f"{shot} looks empty"

    with sqlite3.connect(central_server.db_path) as db:
        order = db.execute("SELECT order_number, total_cents, kiosk_id, payment_id FROM orders WHERE order_id = ?",
                           (receipt.order_id,)).fetchone()
        lines = db.execute("SELECT sku, quantity, unit_price_cents FROM order_lines WHERE order_id = ? ORDER BY position",
                           (receipt.order_id,)).fetchall()
        payment = db.execute("SELECT status, amount_cents, card_summary FROM payments WHERE payment_id = ?",
                             (order[3],)).fetchone()
    assert order[0] == receipt.order_number
    assert order[1] == receipt.total_cents == sum(l.total_cents for l in shown_lines)
    assert order[2] == settings.kiosk.id
    assert lines == [(l.sku, l.quantity, l.unit_price_cents) for l in shown_lines]
    assert payment[0] == "approved" and payment[1] == receipt.total_cents
    assert "0010" in payment[2] and "47617390" not in payment[2]


async def test_receipt_qr_decodes_to_the_tracking_url(central_server, needs_display, tmp_path):
    """Pay with the simulated terminal and read the QR back from the screenshot, as a phone would."""
    import zxingcpp
    from PIL import Image

    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated", simulated_delay_s=0.3)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=0.3)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        app.toggle_language()  # English this time: every screen must work in both languages
        receipt = await play_journey(driver)
        assert app.root.get_screen("receipt").ids.done_button.text == "Done"
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "shots" / "09-receipt.png"))
    assert [c.text for c in codes] == [receipt.tracking_url]
    assert receipt.tracking_url.startswith(central_server.base_url) and receipt.order_id in receipt.tracking_url


async def test_kiosk_starts_and_says_so_when_the_central_api_is_down(needs_display, tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = kiosk_settings(f"http://127.0.0.1:{port}", tmp_path, terminal="simulated")
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        status = app.root.get_screen("attract").ids.status
        await driver.wait_until(lambda: "Geen verbinding" in status.text, "the offline message", timeout_s=15)
        await driver.screenshot("attract-offline")
        assert not app.online and not app.catalog_ready
        # The shopper can still touch in; the category screen says the range is loading, no crash.
        await driver.tap(app.root.get_screen("attract").ids.touch_prompt)
        await driver.wait_for_screen("categories")
        assert app.root.get_screen("categories").ids.grid.data == []


async def test_declined_card_is_explained_and_the_shopper_can_go_on(central_server, needs_display, tmp_path):
    from kiosk.screens.autopilot import shop_until_pay

    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_profile="declined", simulated_delay_s=0.2)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await shop_until_pay(driver)
        pay = app.root.get_screen("pay")
        await driver.wait_until(lambda: pay.state == "declined", "the decline")
        assert pay.ids.state.text == "Betaling geweigerd"
        assert pay.ids.reason.text == "Onvoldoende saldo. Er is niets afgeschreven."
        await driver.screenshot("pay-declined")
        # Pressing "try again" twice quickly starts one attempt, not two.
        await driver.tap(pay.ids.retry_button)
        await driver.wait_until(lambda: pay.state != "declined", "a new attempt")
        first = pay._task
        pay.start()
        assert pay._task is first
        await driver.wait_until(lambda: pay.state == "declined", "the second decline")
        await driver.tap(pay.ids.back_to_cart_button)
        await driver.wait_for_screen("cart")
        assert app.cart_count == 1, "a declined payment must keep the cart"


async def test_receipt_at_once_when_the_order_api_is_down_and_the_order_number_follows(
        central_server, needs_display, tmp_path):
    from support.faults import FaultInjectingTransport, FaultPlan

    faults = FaultInjectingTransport(FaultPlan(rate=1.0, weights={"drop": 1.0}, only_paths=("/v1/orders",)))
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated", simulated_delay_s=0.2)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=0.2)
    async with running_app(settings, terminal, transport=faults) as app:
        driver = UiDriver(app, tmp_path / "shots")
        receipt = await play_journey(driver)
        screen = app.root.get_screen("receipt")
        assert not receipt.confirmed
        assert screen.ids.reference.text == receipt.reference
        assert screen.ids.order_number.text == "De bevestiging volgt zodra de verbinding hersteld is."
        await driver.screenshot("receipt-pending")
        faults.enabled = False  # the central API is back: the outbox delivers, the receipt updates
        await driver.wait_until(lambda: screen.confirmed, "the order number", timeout_s=30)
        assert screen.ids.order_number.text.startswith("Ordernummer K-")
    with sqlite3.connect(central_server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM orders WHERE order_id = ?", (receipt.order_id,)).fetchone()[0] == 1


async def test_a_cart_above_the_contactless_limit_says_so_before_paying(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        catalog = app.services.catalog
        expensive = next(p for p in (catalog.product(f"P{n:06d}") for n in range(1, 300))
                         if p is not None and p.variants[0].price_cents > 5000)
        await driver.tap(app.root.get_screen("attract").ids.touch_prompt)
        await driver.wait_for_screen("categories")
        app.open_product(expensive.id)
        await driver.wait_for_screen("article")
        article = app.root.get_screen("article")
        await driver.tap(article.ids.add_button)
        await driver.tap(article.ids.to_cart_button)
        await driver.wait_for_screen("cart")
        cart = app.root.get_screen("cart")
        await driver.frames(3)
        assert cart.ids.pay_button.disabled
        assert "tot €" in cart.ids.over_limit.text and "50,00" in cart.ids.over_limit.text
        await driver.screenshot("cart-over-limit")


async def test_a_card_with_two_applications_lets_the_shopper_choose(central_server, needs_display, tmp_path):
    from kiosk.screens.autopilot import shop_until_pay

    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_profile="two_apps_confirm", simulated_delay_s=0.2)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await shop_until_pay(driver)
        pay = app.root.get_screen("pay")
        await driver.wait_until(lambda: pay.state == "choosing_application", "the application choice")
        await driver.frames(3)
        buttons = list(reversed(pay.ids.choices.children))
        assert [b.text for b in buttons] == ["MASTERCARD", "MAESTRO"]
        await driver.screenshot("pay-choose-application")
        await driver.tap(buttons[1])
        await driver.wait_for_screen("receipt", timeout_s=30)
        receipt = app.root.get_screen("receipt").receipt
        assert receipt.card.scheme == "Maestro"
        assert pay.ids.choices.children == []
