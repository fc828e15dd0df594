"""Issue 10, cheap UI-thread callbacks, in the real app against the real reference server: the facet
chips of the search, the subcategory chips and the ways to get the order are kept and reused (same
widgets, right labels and states); the receipt's and the cart's QR are made off the UI thread, read
back from the texture to the right URL, and an older QR still being made never replaces a newer one."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest

from kiosk.finder import facet_value
from kiosk.i18n import translate
from kiosk.qr import qr_matrix
from kiosk.screens.autopilot import choose_way, shop_until_checkout, type_text
from kiosk.screens.fulfil import ChoiceRow
from kiosk.views import category_name, facet_chips
from support.ui import simulated_kiosk

pytestmark = pytest.mark.ui


def texture_codes(texture, quiet: int = 4, scale: int = 8) -> list[str]:
    """What a phone reads from the texture's own pixels (with a white margin, as the card around it)."""
    import zxingcpp
    from PIL import Image, ImageOps

    width, height = texture.size
    image = Image.frombytes("RGBA", (width, height), texture.pixels).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    image = ImageOps.expand(image.convert("L"), border=quiet, fill=255)
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    return [code.text for code in zxingcpp.read_barcodes(image)]


def assert_modules(texture, url: str, border: int) -> None:
    """One texel per module, dark where qrcode's matrix is, the top row of the code at the top."""
    matrix = qr_matrix(url, border=border)
    n = len(matrix)
    assert texture.size == (n, n)
    pixels = texture.pixels  # RGBA, bottom row first
    for y in range(n):
        shown = [pixels[(y * n + x) * 4] < 128 for x in range(n)]
        assert shown == matrix[n - 1 - y], f"row {n - 1 - y} from the top"


def chips_shown(row) -> list:
    strip = row.children[0]
    return [chip for chip in reversed(strip.children) if hasattr(chip, "value")]


def facet_rows(search) -> dict:
    return {row.facet: row for row in reversed(search.ids.facets.children)}


def assert_facets_match(search) -> None:
    """Every facet row shows the current result's values, counts and the chosen one."""
    result = search._result
    for facet, row in facet_rows(search).items():
        chosen = facet_value(search.finder.filters, facet)
        assert [(c.value, c.text, c.state) for c in chips_shown(row)] == [
            (value, label, "down" if value == chosen else "normal") for value, label in facet_chips(result.facets, facet)]
        assert chips_shown(row) == row.chips[:len(chips_shown(row))]  # the pool's first chips, in order


async def test_search_facet_chips_and_subcategory_chips_are_reused(central_server, needs_display, tmp_path):
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        catalog = app.services.catalog

        # Subcategory chips: the same KToggles for the next category, with its names.
        app.start_shopping()
        await driver.wait_for_screen("categories")
        categories = driver.screen("categories")
        keys = [row["key"] for row in categories.ids.grid.data if catalog.children(row["key"])][:2]
        assert len(keys) == 2, "the test catalog has two categories with subcategories"
        products = driver.screen("products")
        seen = []
        for key in keys:
            app.go("categories")
            await driver.wait_for_screen("categories")
            app.open_category(key)
            await driver.wait_for_screen("products")
            chips = list(reversed(products.ids.subcategories.children))
            assert [c.text for c in chips] == [translate("nl", "products.all")] + [
                category_name(c, "nl") for c in catalog.children(key)]
            assert [c.state for c in chips] == ["down"] + ["normal"] * (len(chips) - 1)
            seen.append(chips)
        common = min(len(seen[0]), len(seen[1]))
        assert seen[1][:common] == seen[0][:common]  # the very same widgets
        await driver.tap(seen[1][1])
        await driver.wait_until(lambda: products.subcategory_id == seen[1][1].value and not products.loading,
                                "the subcategory")
        chips = list(reversed(products.ids.subcategories.children))
        assert chips == seen[1] and [c.state for c in chips] == ["normal", "down"] + ["normal"] * (len(chips) - 2)
        sub = catalog.category(products.subcategory_id)
        assert products.ids.grid.data and {r["key"] for r in products.ids.grid.data} <= {
            p.id for p in catalog.products_in(sub.id)}

        # Facet chips: typing on keeps the rows and their chips.
        app.open_search()
        await driver.wait_for_screen("search")
        search = driver.screen("search")
        await type_text(driver, search.keyboard, "f")
        await driver.wait_until(lambda: not search.searching and search.finder.query == "f", "results for f")
        rows = facet_rows(search)
        assert list(rows) == ["category", "price"]  # two rows while typing
        chips_before = {facet: chips_shown(row) for facet, row in rows.items()}
        assert_facets_match(search)

        await type_text(driver, search.keyboard, "iets")
        await driver.wait_until(lambda: not search.searching and search.finder.query == "fiets", "results for fiets")
        assert_facets_match(search)
        for facet, row in facet_rows(search).items():
            assert row is rows[facet]
            shown = chips_shown(row)
            assert shown[:len(chips_before[facet])] == chips_before[facet][:len(shown)]  # the same widgets

        # The keyboard away: every facet row; the two first are the same rows as before.
        await driver.tap(search.keyboard.done)
        await driver.wait_until(lambda: "brand" in facet_rows(search), "brand facets")
        assert list(facet_rows(search))[:2] == ["category", "price"]
        assert facet_rows(search)["category"] is rows["category"]
        assert_facets_match(search)

        # A brand chosen: that chip shows selected, the row keeps its chips.
        brand_row = facet_rows(search)["brand"]
        brand_chips = chips_shown(brand_row)
        chip = brand_chips[1]
        brand, before = chip.value, search.total
        await driver.tap(chip)
        await driver.wait_until(lambda: search.finder.filters.brand == brand and not search.searching
                                and search.total < before, "the brand filter")
        await driver.frames(2)
        assert_facets_match(search)
        assert chips_shown(brand_row) == brand_chips  # the brand facet ignores its own filter: same values
        assert [c.state for c in brand_chips] == ["normal", "down"] + ["normal"] * (len(brand_chips) - 2)
        assert {row["brand"] for row in search.ids.results.data} == {brand}

        # Typing again: the keyboard's two rows only, the others taken out but kept.
        search.show_keyboard()
        await driver.frames(2)
        assert list(facet_rows(search)) == ["category", "price"]
        await type_text(driver, search.keyboard, "x")
        await driver.wait_until(lambda: not search.searching and search.finder.query == "fietsx", "results")
        assert_facets_match(search)
        for facet, row in facet_rows(search).items():
            assert len(row.chips) >= len(chips_shown(row))  # surplus chips are kept for later

        # A new shopper: the facets are gone from the screen.
        app.start_over()
        await driver.wait_for_screen("attract")
        assert not search.ids.facets.children and not search.ids.results.data


async def test_ways_to_get_it_rows_are_reused_and_the_qrs_read_back(central_server, needs_display, tmp_path,
                                                                    monkeypatch):
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        # The cart's phone QR: made off the UI thread, its texture reads back to the link.
        await shop_until_checkout(driver)
        fulfil = driver.screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
        rows = [w for w in reversed(fulfil.ids.choices.children) if isinstance(w, ChoiceRow)]
        keys = [r.key for r in rows]
        assert keys == [c.key for c in fulfil.offer.choices] and len(rows) >= 2

        # Back to the cart and check out again: the same row widgets show the new offer.
        app.go_back()
        await driver.wait_for_screen("cart")
        cart = driver.screen("cart")
        await driver.wait_until(lambda: cart.handoff_state == "ready", "the phone QR")
        assert texture_codes(cart.handoff_texture) == [cart.handoff_url]
        assert_modules(cart.handoff_texture, cart.handoff_url, border=2)
        assert cart.handoff_texture.mag_filter == "nearest"

        await driver.tap(cart.ids.pay_button)
        await driver.wait_for_screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it again")
        again = [w for w in reversed(fulfil.ids.choices.children) if isinstance(w, ChoiceRow)]
        assert again == rows[:len(again)] and [r.key for r in again] == [c.key for c in fulfil.offer.choices]
        offer = fulfil.offer
        other = offer.choices[1]  # (the last ones are below the fold of the list)
        row = fulfil.row_for(other.key)
        assert row in rows
        assert (row.title, row.total) == (again[1].title, app.money(other.option.total_cents, "nl"))
        await driver.tap(row)
        await driver.wait_until(lambda: fulfil.selected == other.key, "the other way")
        assert [r.state for r in again] == ["down" if r is row else "normal" for r in again]

        # Another language: the same rows, their texts in English, the choice kept.
        titles = [r.title for r in again]
        app.toggle_language()
        await driver.wait_until(lambda: [r.title for r in fulfil.ids.choices.children if isinstance(r, ChoiceRow)]
                                != titles[::-1], "English titles")
        assert [w for w in reversed(fulfil.ids.choices.children) if isinstance(w, ChoiceRow)] == again
        assert fulfil.row_for(other.key) is row and row.state == "down" and fulfil.selected == other.key
        if offer.pickups:
            sections = [w for w in fulfil.ids.choices.children if not isinstance(w, ChoiceRow)]
            assert [s.text for s in sections] == [translate("en", "fulfil.pickup")]
        app.toggle_language()

        # A stale phone QR never replaces a newer one: the old cart's QR is slow to make, the
        # changed cart's fast; the changed cart's QR stays.
        import kiosk.screens.cart as cart_module

        real = cart_module.qr_bitmap
        old_url = ""

        old_started = threading.Event()

        def slow_for_the_old_cart(url, **kwargs):
            if url == old_url:
                old_started.set()
                time.sleep(0.6)
            return real(url, **kwargs)

        monkeypatch.setattr(cart_module, "qr_bitmap", slow_for_the_old_cart)
        app.go_back()
        await driver.wait_for_screen("cart")
        await driver.wait_until(lambda: cart.handoff_state == "ready", "the phone QR")
        old_url = cart.handoff_url
        cart.handoff_url, cart.handoff_texture = "", None  # as if another cart's QR were shown: redraw
        cart.refresh()
        assert cart.handoff_state == "loading" and cart.handoff_texture is None
        await driver.wait_until(old_started.is_set, "the old cart's QR being made")
        line = app.services.cart.lines[0]
        cart.change_quantity(line.sku, 1)  # while the old cart's QR is being made
        assert cart.handoff_texture is None
        await driver.wait_until(lambda: cart.handoff_state == "ready", "the changed cart's QR")
        new_url = cart.handoff_url
        assert new_url != old_url
        await asyncio.sleep(1.0)  # the old cart's QR is done by now, and dropped
        assert cart.handoff_url == new_url and texture_codes(cart.handoff_texture) == [new_url]
        monkeypatch.setattr(cart_module, "qr_bitmap", real)
        cart.change_quantity(line.sku, -1)
        await driver.wait_until(lambda: cart.handoff_state == "ready", "the QR of one article")

        # Pay; the receipt's QR reads back to the tracking URL.
        await driver.tap(cart.ids.pay_button)
        receipt = await play_journey_from_fulfil(driver)
        screen = driver.screen("receipt")
        await driver.wait_until(lambda: screen.qr_texture is not None, "the receipt QR")
        assert texture_codes(screen.qr_texture) == [receipt.tracking_url]
        assert_modules(screen.qr_texture, receipt.tracking_url, border=4)
        assert screen.ids.qr.texture is screen.qr_texture and screen.ids.qr.opacity == 1

        # A stale receipt QR never replaces a newer one, and the older receipt's QR is never shown
        # while the newer one is made.
        import kiosk.screens.receipt as receipt_module

        real = receipt_module.qr_bitmap
        older = dataclasses.replace(receipt, tracking_url=receipt.tracking_url + "?older")

        older_started = threading.Event()

        def slow_for_the_older(url, **kwargs):
            if url == older.tracking_url:
                older_started.set()
                time.sleep(0.6)
            return real(url, **kwargs)

        monkeypatch.setattr(receipt_module, "qr_bitmap", slow_for_the_older)
        screen.show(older)
        assert screen.qr_texture is None and screen.ids.qr.opacity == 0
        await driver.wait_until(older_started.is_set, "the older receipt's QR being made")
        screen.show(receipt)
        assert screen.qr_texture is None
        await driver.wait_until(lambda: screen.qr_texture is not None, "the newer receipt's QR")
        await asyncio.sleep(1.0)
        assert texture_codes(screen.qr_texture) == [receipt.tracking_url]

        # A new shopper: the kept rows say nothing of this order.
        app.start_over()
        await driver.wait_for_screen("attract")
        assert not fulfil.ids.choices.children
        assert all((r.key, r.title, r.detail, r.total, r.state) == ("", "", "", "", "normal") for r in rows)


async def play_journey_from_fulfil(driver):
    """From the "how to get it" screen: take it here, pay with the simulated card, the receipt."""
    await choose_way(driver, "take_now")
    await driver.wait_for_screen("receipt", timeout_s=90)
    return driver.screen("receipt").receipt
