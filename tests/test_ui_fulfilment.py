"""Choosing how to get the order, in the real app against the real reference server: pickup at
another shop, home delivery with a typed address, stock that vanished before paying, a changed price."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from central import stock as central_stock
from central.db import Database, set_price
from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver, choose_way, play_journey, shop_until_checkout, type_address
from support.ui import kiosk_settings, running_app, simulated_kiosk

pytestmark = pytest.mark.ui


def order_row(central_server, order_id):
    with sqlite3.connect(central_server.db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()


async def test_pickup_at_another_shop_is_the_order_the_central_api_gets(central_server, needs_display, tmp_path):
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        receipt = await play_journey(driver, way="pickup_other")
        fulfil = app.root.get_screen("fulfil")
        chosen = fulfil.offer.choice(fulfil.selected)
        # The pickup shops were offered nearest first, and the nearest other one was taken.
        distances = [c.distance_km for c in fulfil.offer.pickups]
        assert distances == sorted(distances)
        assert chosen.type == "pickup" and chosen.option.store_id != "utrecht-centrum"
        assert receipt.total_cents == chosen.option.total_cents
        way = app.root.get_screen("receipt").ids.way.text
        assert chosen.store.name in way
    row = order_row(central_server, receipt.order_id)
    assert row["fulfilment_type"] == "pickup" and row["fulfilment_store_id"] == chosen.option.store_id
    assert row["order_number"] == receipt.order_number


async def test_home_delivery_checks_each_field_and_keeps_no_address_once_placed(central_server, needs_display,
                                                                               tmp_path):
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        await shop_until_checkout(driver)
        fulfil = app.root.get_screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
        delivery = fulfil.offer.delivery
        row = fulfil.row_for(delivery.key)
        await driver.tap(row)
        await driver.tap(fulfil.ids.continue_button)
        await driver.wait_for_screen("address")
        address = app.root.get_screen("address")
        # A wrong postcode and no house number: each field says what is wrong with it, nothing is sent.
        await driver.tap(address.ids.postcode)
        assert address.ids.key_slot.children[0] is address.keypad  # four digits on the keypad ...
        await type_address(driver, address, "postcode", "3511")
        await type_address(driver, address, "email", "jan@example.nl")
        await driver.tap(address.ids.continue_button)
        assert address.ids.postcode.error == "Een postcode is 4 cijfers en 2 letters, bijvoorbeeld 3511 BK."
        assert address.ids.house_number.error == "Vul uw huisnummer in."
        assert address.ids.email.error == "" and address.ids.addition.error == ""
        assert app.root.current == "address"
        await driver.screenshot("07-address-errors")
        await driver.tap(address.ids.postcode)
        assert address.ids.key_slot.children[0] is address.keyboard  # ... then the letters
        await type_address(driver, address, "postcode", "bk")
        await driver.tap(address.ids.house_number)
        assert address.ids.key_slot.children[0] is address.keypad  # numbers on the numeric keypad
        await type_address(driver, address, "house_number", "12")
        await driver.tap(address.ids.continue_button)
        await driver.wait_for_screen("receipt", timeout_s=60)
        receipt = app.root.get_screen("receipt").receipt
        assert receipt.fulfilment.type == "delivery"
        await driver.wait_until(lambda: app.services.journal.get(receipt.order_id).order_number is not None,
                                "the order to be acknowledged")
        assert app.services.journal.get(receipt.order_id).customer is None  # scrubbed once placed
        await driver.tap(app.root.get_screen("receipt").ids.done_button)
        await driver.wait_for_screen("attract")
        assert address.values["postcode"] == "" and address.values["email"] == ""
    journal_text = (tmp_path / "journal" / "journal.json").read_text()
    assert "3511BK" not in journal_text and "jan@example.nl" not in journal_text
    row = order_row(central_server, receipt.order_id)
    assert row["fulfilment_type"] == "delivery" and row["total_cents"] == delivery.option.total_cents


async def test_stock_that_vanished_before_paying_offers_the_other_ways(central_server, needs_display, tmp_path):
    db = Database(central_server.db_path)
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        await shop_until_checkout(driver)
        fulfil = app.root.get_screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
        sku = app.services.cart.lines[0].sku
        # A way held from a shop's own shelf (a transfer would be held at the warehouse instead).
        wanted = next(c for c in (fulfil.offer.take_now, *fulfil.offer.pickups) if c and c.option.in_stock)
        place = wanted.option.store_id
        with db.session() as conn:
            before = central_stock.on_hand(conn, [sku], [place])[(sku, place)]
            central_stock.set_stock(conn, sku, place, 0)  # the last one sold in another channel
        try:
            row = fulfil.row_for(wanted.key)
            await driver.tap(row)
            with sqlite3.connect(central_server.db_path) as raw:
                payments_before = raw.execute("SELECT COUNT(*) FROM payments").fetchone()[0]
            await driver.tap(fulfil.ids.continue_button)
            await driver.wait_until(lambda: fulfil.notice != "" and fulfil.phase == "ready", "the vanished notice")
            assert app.root.current == "fulfil"  # told before paying, never after
            assert app.services.cart.lines[0].name in fulfil.notice
            assert fulfil.offer.choice(wanted.key) is None  # that way is gone ...
            assert fulfil.offer.delivery is not None  # ... and the others are offered
            await driver.screenshot("06-fulfil-vanished")
            with sqlite3.connect(central_server.db_path) as raw:
                assert raw.execute("SELECT COUNT(*) FROM payments").fetchone()[0] == payments_before
        finally:
            with db.session() as conn:
                central_stock.set_stock(conn, sku, place, before)


async def test_a_changed_price_is_shown_and_confirmed_before_payment(central_server, needs_display, tmp_path):
    db = Database(central_server.db_path)
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        await shop_until_checkout(driver)
        line = app.services.cart.lines[0]
        fulfil = app.root.get_screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
        with db.session() as conn:
            set_price(conn, line.sku, line.unit_price_cents + 100)
        try:
            app.go_back()
            await driver.wait_for_screen("cart")
            await driver.tap(app.root.get_screen("cart").ids.pay_button)
            await driver.wait_for_screen("fulfil")
            await driver.wait_until(lambda: fulfil.phase == "ready", "a new quote")
            assert not fulfil.prices_accepted and fulfil.ids.continue_button.disabled
            assert line.name in fulfil.price_changes
            await driver.screenshot("06-fulfil-price")
            await choose_way(driver, "take_now")  # accepts the new price first
            assert app.services.cart.lines[0].unit_price_cents == line.unit_price_cents + 100
            await driver.wait_for_screen("receipt", timeout_s=60)
            receipt = app.root.get_screen("receipt").receipt
        finally:
            with db.session() as conn:
                set_price(conn, line.sku, line.unit_price_cents)
    with sqlite3.connect(central_server.db_path) as raw:
        price = raw.execute("SELECT unit_price_cents FROM order_lines WHERE order_id = ?",
                            (receipt.order_id,)).fetchone()[0]
    assert price == line.unit_price_cents + 100


class CountingTransport(httpx.AsyncBaseTransport):
    """Forwards to the real server; counts stock queries, and can make them fail like a broken link."""

    def __init__(self):
        self.inner = httpx.AsyncHTTPTransport()
        self.stock_bodies: list[dict] = []
        self.fail_stock = False

    async def handle_async_request(self, request):
        if request.url.path == "/v1/stock:query":
            await request.aread()
            self.stock_bodies.append(json.loads(request.content))
            if self.fail_stock:
                raise httpx.ConnectError("injected: no route to the central API", request=request)
        return await self.inner.handle_async_request(request)


async def test_an_article_page_asks_stock_once_and_shows_last_known_figures_when_it_cannot(
        central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    settings.stock.ttl_s = 0  # every visit asks again, so the second visit meets the failure
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    transport = CountingTransport()
    async with running_app(settings, terminal, transport=transport) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        product = next(p for p in (app.services.catalog.product(r.id) for r in
                                   app.services.catalog.search("fiets", limit=20).items)
                       if len(p.variants) > 1)
        app.open_product(product.id)
        article = app.root.get_screen("article")
        await driver.wait_for_screen("article")
        await driver.wait_until(lambda: article.stock_state == "known", "stock figures")
        assert len(transport.stock_bodies) == 1, "one request for every variant and shop on the page"
        body = transport.stock_bodies[0]
        assert sorted(body["skus"]) == sorted(v.sku for v in product.variants)
        assert len(body["store_ids"]) == len(app.services.stores.by_distance())
        fresh_text = article.ids.stock.text
        assert fresh_text.startswith("In deze winkel: ") and article.ids.as_of.text == ""

        transport.fail_stock = True
        app.go_back()
        app.open_product(product.id)
        await driver.wait_until(lambda: article.stock_state == "stale", "the last known figures")
        assert article.ids.stock.text == fresh_text  # still shown ...
        assert article.ids.as_of.text.startswith("Voorraad van ")  # ... and marked as such
        assert "nu niet te controleren" in article.ids.as_of.text
        await driver.screenshot("04-article-stale")
        app.toggle_language()
        await driver.frames(3)
        assert article.ids.as_of.text.startswith("Stock as of ")
