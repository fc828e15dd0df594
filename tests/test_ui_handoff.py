"""The cart on the shopper's phone, in the real app against the real reference server: the QR on the
cart screen, read back from a screenshot as a phone would, opens the same cart (same articles,
quantities and prices); without the central API the cart screen says so quietly and works on."""

from __future__ import annotations

import re

import httpx
import pytest

from kiosk.contract import SharedCart
from kiosk.i18n import translate
from kiosk.screens.autopilot import UiDriver, shop_until_checkout
from support.faults import FaultInjectingTransport, FaultPlan
from support.ui import simulated_kiosk

pytestmark = pytest.mark.ui


async def cart_with_one_article(driver: UiDriver):
    """One article in the cart (the autopilot's way), back on the cart screen."""
    await shop_until_checkout(driver)
    driver.app.go_back()
    await driver.wait_for_screen("cart")
    return driver.screen("cart")


def decoded(path) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [code.text for code in zxingcpp.read_barcodes(Image.open(path))]


def on_screen(widget) -> bool:
    from kivy.core.window import Window

    x, y = widget.to_window(widget.x, widget.y)
    return y >= 0 and y + widget.height <= Window.height and x >= 0 and x + widget.width <= Window.width


async def test_the_cart_qr_opens_the_same_cart_on_the_phone(central_server, needs_display, tmp_path):
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        cart = await cart_with_one_article(driver)
        await driver.wait_until(lambda: cart.handoff_state == "ready", "the phone QR")
        first_url = cart.handoff_url
        # Another quantity is another cart: a new link, never the old one on screen meanwhile.
        line = app.services.cart.lines[0]
        cart.change_quantity(line.sku, 1)
        assert cart.handoff_url != first_url or cart.handoff_state == "loading"
        await driver.wait_until(lambda: cart.handoff_state == "ready" and cart.handoff_url != first_url,
                                "the QR of the changed cart")
        assert cart.ids.handoff_text.text == "Scan om deze winkelwagen op uw telefoon te openen"
        # Modest, and the pay button and the lines stay on screen.
        assert cart.ids.handoff.height <= 300 and cart.ids.handoff_card.width <= 300
        # (two of it may be above the contactless limit: then "pay" is rightly disabled, but shown)
        assert on_screen(cart.ids.pay_button)
        assert cart.ids.pay_button.disabled == cart.over_limit
        assert cart.ids.lines.height >= 400
        shot = await driver.screenshot("cart-handoff")
        lines = [(l.sku, l.name, l.variant_label, l.quantity, l.unit_price_cents) for l in app.services.cart.lines]
        total = app.services.cart.total_cents

    [url] = decoded(shot)
    assert url == cart.handoff_url and url.startswith(f"{central_server.base_url}/cart/")
    token = url.rsplit("/", 1)[1]
    with httpx.Client(timeout=10) as phone:  # no credential: the token is the key
        page = phone.get(url)
        answer = phone.get(f"{central_server.base_url}/v1/carts/{token}")
    assert answer.status_code == 200, answer.text
    shared = SharedCart.model_validate_json(answer.content)
    assert [(l.sku, l.name, l.variant, l.quantity, l.unit_price_cents) for l in shared.lines] == lines
    assert lines[0][3] == 2 and shared.subtotal_cents == total
    # The page the phone shows has the same lines, quantities and prices.
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    shown = re.findall(r"<li class=line data-sku='([^']+)'>.*?<span class=quantity>(\d+)</span> × (€ [\d,]+)<br>",
                       page.text, re.S)
    assert shown == [(sku, str(quantity), f"€ {price // 100},{price % 100:02d}")
                     for sku, _, _, quantity, price in lines]
    assert f"<span id=total>€ {total // 100},{total % 100:02d}</span>" in page.text


async def test_without_the_central_api_the_cart_says_so_quietly_and_works_on(central_server, needs_display,
                                                                            tmp_path):
    # Only the hand-off is cut off: every POST /v1/carts fails to connect (retries included).
    faults = FaultInjectingTransport(FaultPlan(rate=1.0, weights={"drop": 1.0}, only_paths=("/v1/carts",)))
    async with simulated_kiosk(central_server, tmp_path, transport=faults) as (app, driver):
        cart = await cart_with_one_article(driver)
        await driver.wait_until(lambda: cart.handoff_state == "offline", "the quiet offline line")
        assert faults.counts["drop"] >= 1
        assert cart.ids.handoff_text.text == translate("nl", "cart.handoff.offline")
        # No empty box: the QR card is gone, the block is one line.
        assert cart.ids.handoff_card.width == 0 and cart.ids.handoff_card.opacity == 0
        assert cart.ids.handoff.height < 100 and cart.handoff_texture is None
        # The cart works on: quantities, total, pay.
        line = app.services.cart.lines[0]
        cart.change_quantity(line.sku, 1)
        await driver.wait_until(lambda: cart.handoff_state == "offline", "the offline line again")
        assert cart.total_cents == 2 * line.unit_price_cents
        assert on_screen(cart.ids.pay_button) and cart.ids.pay_button.disabled == cart.over_limit
        await driver.screenshot("cart-handoff-offline")
        assert decoded(driver.screenshots[-1]) == []

        # The central API is back: entering the cart again makes the QR.
        faults.enabled = False
        app.go("categories")
        await driver.wait_for_screen("categories")
        app.go("cart")
        await driver.wait_for_screen("cart")
        await driver.wait_until(lambda: cart.handoff_state == "ready", "the phone QR")
        await driver.screenshot("cart-handoff-back")
        assert decoded(driver.screenshots[-1]) == [cart.handoff_url]
        with httpx.Client(timeout=10) as phone:
            shared = SharedCart.model_validate_json(
                phone.get(f"{central_server.base_url}/v1/carts/{cart.handoff_url.rsplit('/', 1)[1]}").content)
        assert [(l.sku, l.quantity) for l in shared.lines] == [(line.sku, 2)]
