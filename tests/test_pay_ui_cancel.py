"""The pay screen's cancel button in the real app and window: pressed while the payment is being
authorised, the screen says it is cancelling, waits for the bank's real answer, voids the approval at
the reference server and tells the shopper nothing was charged; no order is placed."""

import sqlite3

import pytest

from kiosk.cart import CartLine
from kiosk.checkout import new_order_reference
from kiosk.hardware import open_terminal
from kiosk.journal import OrderState
from kiosk.screens.autopilot import UiDriver
from support.pay_gate import PaymentGate
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui

MIN_TARGET_PX = 120  # 2 cm at the ~160 dpi assumed


def settings_for(base_url, tmp_path, **payment):
    settings = kiosk_settings(base_url, tmp_path, terminal="simulated", **payment)
    # A journal of this test's own: never the shared default file another kiosk process may hold.
    journal = settings.journal.model_copy(update={"path": tmp_path / "journal" / "journal.json"})
    return settings.model_copy(update={"journal": journal})


async def open_pay_screen(app, driver):
    """An affordable article in the cart, then straight to the card (take it now, at cart prices)."""
    await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
    catalog, limit = app.services.catalog, app.services.settings.payment.no_cvm_limit_cents
    store = app.services.settings.kiosk.store_id
    affordable = [p for p in (catalog.product(f"P{n:06d}") for n in range(1, 300))
                  if p is not None and p.variants[0].price_cents <= limit][:40]
    # Taken here and now: the central API places it only when this shop has it on hand.
    stock = await app.services.stock.lookup([p.variants[0].sku for p in affordable], [store])
    product = next(p for p in affordable if (stock.quantity(p.variants[0].sku, store) or 0) >= 1)
    variant = product.variants[0]
    app.services.cart.add(CartLine(sku=variant.sku, product_id=product.id, name=product.name, variant_label="",
                                   unit_price_cents=variant.price_cents, quantity=1))
    app.refresh_cart()
    pay = app.screen("pay")
    pay.begin(new_order_reference(), None)
    app.go("pay")
    await driver.wait_for_screen("pay")
    return pay


async def test_cancel_pressed_while_authorising_voids_and_says_nothing_was_charged(central_server, needs_display,
                                                                                  tmp_path):
    gate = PaymentGate()  # the bank decides at once, its answer arrives when the test says so
    settings = settings_for(central_server.base_url, tmp_path, simulated_delay_s=0.2)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=0.2)
    async with running_app(settings, terminal, transport=gate) as app:
        driver = UiDriver(app, tmp_path / "shots")
        pay = await open_pay_screen(app, driver)
        order_id = app.services.checkout.order_id_for(pay.reference)
        cancel = pay.ids.cancel_button
        await driver.wait_until(lambda: pay.state == "waiting_for_card", "the card prompt")
        await driver.frames(3)
        assert cancel.shown and not cancel.disabled and cancel.text == "Betaling annuleren"
        assert cancel.height >= MIN_TARGET_PX

        await driver.wait_until(lambda: gate.held.is_set() and pay.state == "authorising", "the authorisation")
        await driver.frames(3)
        assert cancel.shown, "cancel stays offered while the payment is being authorised"
        assert pay.ids.reason.text == "U kunt uw pas nu weghalen."
        await driver.tap(cancel)
        await driver.wait_until(lambda: pay.state == "cancelling", "the cancelling state")
        await driver.frames(3)
        assert pay.ids.state.text == "Bezig met annuleren…"
        assert not cancel.shown and not pay.ids.retry_button.shown and not pay.ids.back_to_cart_button.shown
        await driver.screenshot("pay-cancelling")

        gate.release()  # the approval arrives after all
        await driver.wait_until(lambda: pay.state == "cancelled", "the outcome", timeout_s=30)
        await driver.frames(3)
        assert pay.reason == "voided"
        assert pay.ids.state.text == "Geannuleerd — er is niets afgeschreven"
        assert app.root.current == "pay", "no receipt"
        assert not pay.ids.retry_button.shown, "this order is over: a new one starts from the cart"
        assert pay.ids.back_to_cart_button.shown and pay.ids.back_to_cart_button.kind == "primary"
        app.toggle_language()
        await driver.frames(3)
        assert pay.ids.state.text == "Cancelled — nothing was charged"
        assert "No order was placed" in pay.ids.reason.text
        await driver.screenshot("pay-cancelled-after-approval")

        entry = app.services.journal.get(order_id)
        assert entry.state is OrderState.voided
        await driver.tap(pay.ids.back_to_cart_button)
        await driver.wait_for_screen("cart")
        assert app.cart_count == 1, "the cart is kept"

    with sqlite3.connect(central_server.db_path) as db:
        assert [r[0] for r in db.execute("SELECT status FROM payments WHERE order_id = ?", (order_id,))] == ["voided"]
        assert db.execute("SELECT COUNT(*) FROM orders WHERE order_id = ?", (order_id,)).fetchone()[0] == 0


async def test_cancel_while_waiting_then_pay_after_all(central_server, needs_display, tmp_path):
    settings = settings_for(central_server.base_url, tmp_path, simulated_delay_s=1.0)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=1.0)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        app.toggle_language()
        pay = await open_pay_screen(app, driver)
        await driver.wait_until(lambda: pay.state == "waiting_for_card", "the card prompt")
        await driver.frames(3)
        assert pay.ids.cancel_button.text == "Cancel payment"
        await driver.tap(pay.ids.cancel_button)
        await driver.wait_until(lambda: pay.state == "cancelled", "the cancel")
        await driver.frames(3)
        assert (pay.ids.state.text, pay.ids.reason.text) == (
            "Payment cancelled", "You cancelled the payment. Nothing was charged.")
        retry = pay.ids.retry_button
        assert retry.shown and retry.text == "Pay after all" and retry.height >= MIN_TARGET_PX
        await driver.tap(retry)
        await driver.wait_for_screen("receipt", timeout_s=30)
