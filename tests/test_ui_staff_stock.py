"""Staff restock and pick list on the pillar, in the real app against the real reference server
(issue 8, points 2 and 3): an article found by search or by its barcode, counted, and the new on-hand
figure from the central API on screen; a change made while the central API is away is kept and said
to be sent later; a pickup order picked and handed over from its card, as the central API then has it."""

from __future__ import annotations

import contextlib
import gc

import httpx
import pytest

from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN, DEMO_STAFF_ID, DEMO_STORE_ID
from kiosk.contract import (Fulfilment, ItemIn, Order, OrderLineIn, OrderRequest, PickList, Quote, QuoteRequest,
                            StockAdjustment, StockAnswer)
from kiosk.hardware import open_terminal
from kiosk.journal.adjustments import AdjustmentState
from kiosk.screens.autopilot import UiDriver
from support.central_server import new_id, payment_request
from support.faults import FaultInjectingTransport, FaultPlan
from support.orders import in_stock_variants
from support.ui import kiosk_settings, running_app
from test_ui_staff import SANNE_BADGE, staff_section

pytestmark = pytest.mark.ui

STAFF_HEADERS = {"X-Staff-Id": DEMO_STAFF_ID}


@contextlib.asynccontextmanager
async def logged_in_kiosk(central_server, tmp_path, transport=None):
    """The app with its catalog, Sanne (s-utr-1, known to the reference server) logged in by badge."""
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    settings = settings.model_copy(update={"staff": staff_section()})
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal, transport) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await driver.wait_for_screen("attract")
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        app.badge_presented(SANNE_BADGE)
        await driver.wait_for_screen("staff_home")
        assert app.staff_session.staff.id == DEMO_STAFF_ID
        yield app, driver
    # The app's widgets are garbage now: collect them here, not in the middle of the next test's
    # timed touches (a long collection there is a frozen clock).
    gc.collect()


@pytest.fixture
def central(central_server):
    with httpx.Client(base_url=central_server.base_url, headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"},
                      timeout=10) as http:
        yield http


def available_here(http: httpx.Client, sku: str) -> int:
    answer = StockAnswer.model_validate_json(
        http.post("/v1/stock:query", json={"skus": [sku], "store_ids": [DEMO_STORE_ID]}).content)
    return next(level.quantity for level in answer.levels if level.sku == sku)


async def open_restock(driver: UiDriver):
    await driver.tap(driver.screen("staff_home").ids.restock_button)
    await driver.wait_for_screen("staff_restock")
    return driver.screen("staff_restock")


async def type_quantity(driver: UiDriver, restock, number: str) -> None:
    for digit in number:
        await driver.tap(restock.keypad.keys[digit])


async def test_restock_an_article_found_by_search_counted_shows_the_new_figure(central_server, central, needs_display,
                                                                               tmp_path):
    async with logged_in_kiosk(central_server, tmp_path) as (app, driver):
        restock = await open_restock(driver)
        assert restock.step == "find" and restock.typing
        assert "Scan de barcode" in restock.ids.find_line.text
        for char in "fiets":
            await driver.tap(restock.keyboard.keys[char])
        await driver.wait_until(lambda: restock.total > 0 and restock.ids.results.data, "search results")
        assert restock.ids.query_field.text == "fiets"
        assert "gevonden" in restock.ids.find_line.text
        await driver.screenshot("restock-search")
        first = restock.ids.results.data[0]
        await driver.tap(driver.visible_tile(restock.ids.results, 0))
        assert restock.step == "article" and restock.product_id == first["key"]
        assert restock.ids.product_name.text == first["title"]
        await driver.wait_until(lambda: not restock.loading, "the shop's stock")
        assert not restock.stock_unreachable and restock.ids.stock_line.text == ""
        product = app.services.catalog.product(first["key"])
        sku = product.variants[0].sku
        await driver.tap(restock.rows[sku])
        assert restock.sku == sku and restock.rows[sku].selected
        before = available_here(central, sku)
        assert f"Beschikbaar: {before}" in restock.rows[sku].figures, restock.rows[sku].figures
        # Not savable until a kind and a number are there: one main action, never a half form.
        assert restock.ids.save_button.disabled
        await driver.tap(restock.ids.counted_toggle)
        assert restock.kind == "counted" and "Geteld" in restock.ids.kind_hint.text
        counted = before + 7  # more than before: the shared server's stock is not taken from other tests
        await type_quantity(driver, restock, str(counted))
        assert restock.ids.number.text == str(counted) and not restock.ids.save_button.disabled
        await driver.screenshot("restock-article")
        await driver.tap(restock.ids.save_button)
        await driver.wait_until(lambda: restock.message_tone, "the save's outcome")
        assert restock.message_tone == "ok", restock.message
        # The figure shown is the central API's answer.
        [entry] = [e for e in app.services.journal.adjustments() if e.request.sku == sku]
        assert entry.state is AdjustmentState.acknowledged and entry.request.kind == "counted"
        recorded = StockAdjustment.model_validate_json(
            central.get(f"/v1/stock-adjustments/{entry.adjustment_id}", headers=STAFF_HEADERS).content)
        assert recorded.on_hand == counted and recorded.staff_id == DEMO_STAFF_ID
        assert f"Op voorraad nu: {counted}" in restock.ids.message.text, restock.ids.message.text
        assert f"Laatst op voorraad: {counted}" in restock.rows[sku].figures
        assert f"Beschikbaar: {available_here(central, sku)}" in restock.rows[sku].figures
        assert restock.ids.number.text == "–" and restock.ids.save_button.disabled  # ready for the next one
        await driver.screenshot("restock-saved")
        # English through the staff bar's language button: the outcome follows.
        await driver.tap(restock.ids.staff_bar.ids.language_button)
        assert f"On hand now: {counted}" in restock.ids.message.text
        assert restock.ids.save_button.text == "Save"
        await driver.tap(restock.ids.staff_bar.ids.language_button)


async def test_a_scanned_barcode_opens_the_article_with_that_variant_chosen(central_server, needs_display, tmp_path):
    async with logged_in_kiosk(central_server, tmp_path) as (app, driver):
        restock = await open_restock(driver)
        catalog = app.services.catalog
        product = next(p for p in (catalog.product(s.id) for s in catalog.search("", limit=200).items)
                       if len(p.variants) > 1 and p.variants[1].ean)
        variant = product.variants[1]
        app.open_barcode(variant.ean)
        await driver.frames(2)
        assert app.root.current == "staff_restock", "a scan in staff mode stays in staff mode"
        assert restock.step == "article" and restock.product_id == product.id and restock.sku == variant.sku
        assert restock.rows[variant.sku].selected and not restock.rows[product.variants[0].sku].selected
        assert len(restock.rows) == len(product.variants)
        await driver.wait_until(lambda: not restock.loading, "the shop's stock")
        assert all("Beschikbaar:" in row.figures and row.place.startswith("Locatie:") for row in restock.rows.values())
        # "Ontvangen" 0 is no delivery: said, nothing journalled.
        await driver.tap(restock.ids.received_toggle)
        await type_quantity(driver, restock, "0")
        await driver.tap(restock.ids.save_button)
        await driver.wait_until(lambda: restock.message_tone, "the save's outcome")
        assert restock.message_tone == "error" and "1 tot 10.000" in restock.ids.message.text
        assert app.services.journal.adjustments() == []
        await driver.screenshot("restock-scanned")
        # A code that is no article: back to the search, saying so.
        app.open_barcode("4006381333931")
        await driver.frames(2)
        assert restock.step == "find" and "4006381333931" in restock.ids.find_line.text
        assert app.root.current == "staff_restock"


async def test_restock_without_the_central_api_is_kept_and_sent_later(central_server, needs_display, tmp_path):
    faults = FaultInjectingTransport(FaultPlan(rate=1.0, weights={"drop": 1.0},
                                               only_paths=("/v1/stock", "/v1/pick-lists")))
    faults.enabled = False
    async with logged_in_kiosk(central_server, tmp_path, transport=faults) as (app, driver):
        restock = await open_restock(driver)
        faults.enabled = True  # from here the central API's stock and pick lists are unreachable
        product = app.services.catalog.product(app.services.catalog.search("fiets", limit=1).items[0].id)
        variant = product.variants[0]
        app.open_barcode(variant.ean)
        await driver.frames(2)
        await driver.wait_until(lambda: not restock.loading, "the stock read to fail")
        assert restock.stock_unreachable and "geen verbinding" in restock.ids.stock_line.text
        assert "Beschikbaar: onbekend" in restock.rows[variant.sku].figures
        await driver.tap(restock.ids.received_toggle)
        await type_quantity(driver, restock, "12")
        await driver.tap(restock.ids.save_button)
        await driver.wait_until(lambda: restock.message_tone, "the save's outcome")
        assert restock.message_tone == "queued"
        assert restock.ids.message.text == "Opgeslagen, wordt verstuurd zodra er verbinding is."
        [entry] = app.services.journal.pending_adjustments()
        assert entry.state is AdjustmentState.pending and entry.request.sku == variant.sku
        assert (entry.request.kind, entry.request.quantity, entry.staff_id) == ("received", 12, DEMO_STAFF_ID)
        assert "nog niet verstuurd" in restock.rows[variant.sku].figures
        assert faults.counts["drop"] > 0
        await driver.screenshot("restock-offline")
        # The pick list says it cannot be reached, and "try again" works once the connection is back.
        await driver.tap(restock.ids.staff_bar.ids.home_button)
        await driver.wait_for_screen("staff_home")
        await driver.tap(driver.screen("staff_home").ids.picks_button)
        await driver.wait_for_screen("staff_picks")
        picks = driver.screen("staff_picks")
        await driver.wait_until(lambda: not picks.loading, "the pick list load to fail")
        assert picks.unreachable and picks.ids.retry_button.shown and "niet bereikbaar" in picks.ids.state_line.text
        await driver.screenshot("picks-offline")
        faults.enabled = False
        await driver.tap(picks.ids.retry_button)
        await driver.wait_until(lambda: picks.loaded, "the pick list")
        assert not picks.unreachable and not picks.ids.retry_button.shown and "te pakken" in picks.ids.counts.text
        # The empty state's words (the shared server's list is seldom empty).
        assert picks.state_text("nl", False, True, False, "", 0) == "Geen bestellingen om te pakken."


def place_pickup_order(http: httpx.Client) -> Order:
    """A paid pickup order for the demo shop, placed straight on the central API (as a kiosk would)."""
    lines = [(sku, 1) for sku, _, _ in in_stock_variants(http, 2, at_least=3)]
    quote = Quote.model_validate_json(http.post("/v1/quotes", content=QuoteRequest(
        store_id=DEMO_STORE_ID, lines=[ItemIn(sku=s, quantity=q) for s, q in lines]).model_dump_json(),
        headers={"Content-Type": "application/json"}).content)
    option = next(o for o in quote.options if o.type == "pickup" and o.store_id == DEMO_STORE_ID)
    price = {line.sku: line.unit_price_cents for line in quote.lines}
    total = sum(q * price[s] for s, q in lines) + option.cost_cents
    order_id = new_id("order")
    payment = payment_request(order_id, total)
    paid = http.post("/v1/payments", content=payment.model_dump_json(),
                     headers={"Content-Type": "application/json", "Idempotency-Key": payment.payment_id})
    assert paid.status_code == 201, paid.text
    request = OrderRequest(order_id=order_id, kiosk_id=DEMO_KIOSK_ID, store_id=DEMO_STORE_ID,
                           lines=[OrderLineIn(sku=s, quantity=q, unit_price_cents=price[s]) for s, q in lines],
                           total_cents=total, payment_id=payment.payment_id,
                           fulfilment=Fulfilment(type="pickup", store_id=DEMO_STORE_ID, cost_cents=option.cost_cents))
    placed = http.post("/v1/orders", content=request.model_dump_json(),
                       headers={"Content-Type": "application/json", "Idempotency-Key": order_id})
    assert placed.status_code == 201, placed.text
    return Order.model_validate_json(placed.content)


def central_status(http: httpx.Client, order_id: str) -> str | None:
    picks = PickList.model_validate_json(http.get("/v1/pick-lists", headers=STAFF_HEADERS).content)
    return next((o.status for o in picks.orders if o.order_id == order_id), None)


async def test_pick_list_picked_then_handed_over(central_server, central, needs_display, tmp_path):
    order = place_pickup_order(central)
    assert central_status(central, order.order_id) == "to_pick"
    async with logged_in_kiosk(central_server, tmp_path) as (app, driver):
        await driver.tap(driver.screen("staff_home").ids.picks_button)
        await driver.wait_for_screen("staff_picks")
        picks = driver.screen("staff_picks")
        await driver.wait_until(lambda: picks.loaded and order.order_id in picks.cards, "our order on the pick list")
        await driver.frames(3)
        card = picks.cards[order.order_id]
        listed = next(o for o in app.services.pick_list.current.orders if o.order_id == order.order_id)
        assert card.reference == listed.reference and card.status_text == "Te pakken"
        assert card.ready.startswith("Klaar: ")
        rows = list(reversed(card.ids.lines.children))
        assert [row.name for row in rows] == [line.name for line in listed.lines]
        assert all(row.quantity == "1 ×" for row in rows)
        assert all(line.location in row.detail for row, line in zip(rows, listed.lines) if line.location)
        to_pick = picks.to_pick
        assert to_pick >= 1 and f"{to_pick} te pakken" in picks.ids.counts.text
        assert card.ids.picked_button.shown and not card.ids.handed_over_button.shown
        if picks.ids.orders.height > picks.ids.orders_view.height:  # other tests' orders before ours
            picks.ids.orders_view.scroll_to(card)
        await driver.frames(3)
        await driver.screenshot("picks-list")
        await driver.tap(card.ids.picked_button)
        assert card.status == "picked", "optimistic: the card changes at once"
        await driver.wait_until(lambda: not picks.marking, "the central API to take the mark")
        assert central_status(central, order.order_id) == "picked"
        assert card.status_text == "Klaar voor de klant" and card.ids.handed_over_button.shown
        await driver.frames(3)
        # The next step's button takes the whole row (the hidden one gives up its room).
        assert card.ids.handed_over_button.width > card.width * 0.8, card.ids.handed_over_button.width
        assert picks.to_pick == to_pick - 1 and not picks.message
        await driver.frames(3)
        await driver.screenshot("picks-picked")
        await driver.tap(card.ids.handed_over_button)
        await driver.wait_until(lambda: not picks.marking, "the central API to take the mark")
        assert central_status(central, order.order_id) == "handed_over"
        assert card.status_text == "Meegegeven"
        assert not card.ids.picked_button.shown and not card.ids.handed_over_button.shown
        # "Vernieuwen" reads the list again: the order stays, handed over today.
        await driver.tap(picks.ids.refresh_button)
        await driver.wait_until(lambda: not picks.loading, "the reload")
        assert picks.cards[order.order_id].status == "handed_over"
        await driver.frames(3)
        await driver.screenshot("picks-handed-over")
