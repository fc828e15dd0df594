"""Finding articles in the real app: search on the on-screen keyboard, facets, barcodes, offline."""

import pytest
from kivy.core.window import Window

from kiosk.catalog.schema import fold
from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui


def simulated(settings):
    return open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)


async def ready(app, driver):
    await driver.wait_until(lambda: app.catalog_ready, "the catalog sync", timeout_s=60)


async def type_on_keyboard(driver, search, text):
    for char in text:
        await driver.tap(search.keyboard.keys[char])
    await driver.wait_until(lambda: not search.searching and search.finder.query == text, f"results for {text!r}")
    await driver.frames(2)


async def test_search_on_the_keyboard_narrow_with_a_facet_and_open_a_result(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await ready(app, driver)
        await driver.tap(app.root.get_screen("attract").ids.touch_prompt)
        await driver.wait_for_screen("categories")
        await driver.tap(app.root.get_screen("categories").ids.search_field)
        await driver.wait_for_screen("search")
        search = app.root.get_screen("search")

        await type_on_keyboard(driver, search, "fiets")
        results = search.ids.results.data
        assert search.total > 0 and results
        assert all("fiets" in fold(row["title"]) for row in results[:20]), [r["title"] for r in results[:20]]
        await driver.screenshot("search-typed")

        # Narrow with the first brand chip (hide the keyboard: then every facet row shows).
        await driver.tap(search.keyboard.done)
        await driver.wait_until(lambda: any(row.facet == "brand" for row in search.ids.facets.children), "brand facets")
        brand_row = next(row for row in search.ids.facets.children if row.facet == "brand")
        chip = [c for c in reversed(brand_row.children[0].children) if hasattr(c, "value")][0]
        before, brand = search.total, chip.value
        await driver.tap(chip)
        await driver.wait_until(lambda: search.finder.filters.brand == brand and not search.searching, "the facet")
        await driver.wait_until(lambda: search.total < before, "fewer results")
        assert {row["brand"] for row in search.ids.results.data} == {brand}
        await driver.screenshot("search-facet")

        first = search.ids.results.data[0]
        await driver.tap(driver.visible_tile(search.ids.results, 0))
        await driver.wait_for_screen("article")
        assert app.root.get_screen("article").product_id == first["key"]


async def test_typo_and_compound_queries_find_articles(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await ready(app, driver)
        app.open_search()
        await driver.wait_for_screen("search")
        search = app.root.get_screen("search")
        await type_on_keyboard(driver, search, "pomp")  # the part of "fietspomp"
        assert any("fietspomp" in fold(r["title"]) for r in search.ids.results.data)
        for _ in "pomp":
            await driver.tap(search.keyboard.delete)
        await type_on_keyboard(driver, search, "fietspmop")  # one transposition
        assert search.corrected and search.total > 0
        assert search.ids.corrected.text


async def test_a_scanner_opens_the_article_with_that_variant(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await ready(app, driver)
        await driver.tap(app.root.get_screen("attract").ids.touch_prompt)
        await driver.wait_for_screen("categories")
        product = next(p for p in (app.services.catalog.product(f"P{n:06d}") for n in range(1, 300))
                       if p is not None and len(p.variants) > 1 and p.variants[-1].ean)
        variant = product.variants[-1]
        # A keyboard wedge: the scanner's keystrokes arrive in one burst (queued as one frame's
        # input, milliseconds apart), then Enter.
        for char in variant.ean:
            Window.dispatch("on_key_down", ord(char), 0, char, [])
        Window.dispatch("on_key_down", 13, 40, None, [])
        await driver.wait_for_screen("article")
        article = app.root.get_screen("article")
        assert (article.product_id, article.sku) == (product.id, variant.sku)
        assert article.ids.price.text == app.money(variant.price_cents, "nl")


async def test_typing_an_ean_on_the_keyboard_opens_the_article(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await ready(app, driver)
        product = app.services.catalog.product("P000002")
        variant = product.variants[0]
        app.open_search()
        await driver.wait_for_screen("search")
        search = app.root.get_screen("search")
        for char in variant.ean:
            await driver.tap(search.keyboard.keys[char])
        await driver.wait_for_screen("article")
        assert app.root.get_screen("article").sku == variant.sku


async def test_browse_and_search_with_the_central_api_stopped(needs_display, tmp_path):
    from central.embedded import start_server

    server = start_server(tmp_path / "central.sqlite", seed_articles=200)
    settings = kiosk_settings(server.base_url, tmp_path)
    try:
        async with running_app(settings, simulated(settings)) as app:  # first start: syncs the catalog
            await ready(app, UiDriver(app))
    finally:
        server.stop()

    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app, tmp_path / "shots")
        assert app.catalog_ready, "the cached catalog is there at once"
        await driver.wait_until(lambda: not app.online and app.catalog_status_text, "the offline notice", 20)
        assert "geen verbinding" in app.catalog_status_text
        await driver.tap(app.root.get_screen("attract").ids.touch_prompt)
        await driver.wait_for_screen("categories")
        categories = app.root.get_screen("categories")
        assert len(categories.ids.grid.data) >= 5
        assert categories.ids.status.text == app.catalog_status_text
        await driver.screenshot("offline-categories")
        await driver.tap(driver.visible_tile(categories.ids.grid, 0))
        await driver.wait_for_screen("products")
        assert app.root.get_screen("products").ids.grid.data
        app.open_search()
        await driver.wait_for_screen("search")
        search = app.root.get_screen("search")
        await type_on_keyboard(driver, search, "tent")
        assert search.total > 0
        await driver.tap(driver.visible_tile(search.ids.results, 0))
        await driver.wait_for_screen("article")
        article = app.root.get_screen("article")
        await driver.wait_until(lambda: article.stock_state == "unknown", "stock marked unknown")
        assert article.ids.price.text  # the price the API sent, from the copy


async def test_long_lists_are_laid_out_a_page_at_a_time(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app)
        grid = app.root.get_screen("products").ids.grid
        rows = [{"key": f"P{i}", "title": f"Artikel {i}", "brand": "", "price": "€ 1,00", "image": ""}
                for i in range(10_000)]
        grid.set_rows(rows)
        assert grid.total == 10_000 and len(grid.data) == grid.page_size
        grid.scroll_y = 0.1  # near the end of what is laid out: the next page comes
        await driver.frames(2)
        assert len(grid.data) == 2 * grid.page_size
        assert grid.data[-1]["key"] == f"P{2 * grid.page_size - 1}"
        grid.set_rows(rows[:5])  # a new list starts at the top again
        assert len(grid.data) == 5 and grid.scroll_y == 1


async def scroll_to_the_end(driver, grid, rows: int) -> None:
    """Scroll the way a finger does, near the end of what is laid out, until `rows` rows are there."""
    while len(grid.data) < rows:
        shown = len(grid.data)
        grid.scroll_y = 0.1
        await driver.wait_until(lambda: len(grid.data) > shown and not grid._busy, f"rows after {shown}")
        grid.scroll_y = 1


async def test_search_results_are_built_a_page_at_a_time_as_the_shopper_scrolls(central_server, needs_display,
                                                                                  tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app)
        await ready(app, driver)
        app.open_search()
        await driver.wait_for_screen("search")
        search = app.root.get_screen("search")
        await driver.wait_until(lambda: not search.searching and search.finder.latest, "the first results")
        result, grid = search.finder.latest, search.ids.results
        # An empty query browses all 300 articles: one page built as articles, the rest are ids.
        assert result.total == 300 and len(result.items) == grid.page_size and len(result.more_ids) == 60
        assert grid.total == 300 and len(grid.data) == grid.page_size
        await scroll_to_the_end(driver, grid, 300)
        assert [row["key"] for row in grid.data] == [p.id for p in result.items] + result.more_ids
        assert grid.data[-1]["title"] and grid.data[-1]["price"]  # whole tiles, not just ids
        grid.scroll_y = 0.05
        await driver.frames(3)
        assert len(grid.data) == 300  # the end: nothing more asked for


async def test_a_category_list_reads_the_next_page_from_the_catalog_as_the_shopper_scrolls(central_server,
                                                                                           needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app)
        await ready(app, driver)
        catalog = app.services.catalog
        category = max(catalog.top_categories(), key=lambda c: catalog.count_in(c.id))
        products = app.root.get_screen("products")
        grid = products.ids.grid
        grid.page_size = 12  # the seed's categories are smaller than a real page
        asked, products_in = [], catalog.products_in

        def reading(category_id, **kwargs):  # the real catalog's answer; what was asked of it is noted
            asked.append((kwargs.get("offset", 0), kwargs.get("limit")))
            return products_in(category_id, **kwargs)
        catalog.products_in = reading
        app.open_category(category.id)
        await driver.wait_for_screen("products")
        count = catalog.count_in(category.id)
        assert count > 3 * grid.page_size, "a category of several pages"
        await driver.wait_until(lambda: not products.loading and grid.data, "the first page")
        assert len(grid.data) == 12 and grid.total == count and (0, 12) in asked and max(asked)[0] == 0
        assert products.ids.count.text == app.t("products.count", app.lang, count=count)
        await scroll_to_the_end(driver, grid, count)
        assert [offset for offset, _ in asked if offset] == list(range(12, count, 12))  # a page per scroll
        assert [row["key"] for row in grid.data] == [p.id for p in products_in(category.id)]


async def test_a_paged_list_drops_a_late_page_and_lives_through_a_failed_one(central_server, needs_display,
                                                                             tmp_path):
    import threading

    settings = kiosk_settings(central_server.base_url, tmp_path)
    async with running_app(settings, simulated(settings)) as app:
        driver = UiDriver(app)
        grid = app.root.get_screen("products").ids.grid
        app.root.current = "products"
        await driver.frames(2)
        grid.page_size = 30
        row = lambda i: {"key": f"P{i}", "title": f"Artikel {i}", "brand": "", "price": "€ 1,00", "image": ""}
        release, asked, threads = threading.Event(), [], set()

        def slow(offset, count):
            asked.append((offset, count))
            threads.add(threading.current_thread())
            release.wait(10)
            return [row(i) for i in range(offset, offset + count)]

        grid.set_rows([row(i) for i in range(30)], 100, slow)
        grid.scroll_y = 0.1
        await driver.wait_until(lambda: asked == [(30, 30)], "the next page asked for")
        assert threading.main_thread() not in threads  # read and built off the UI thread
        grid.scroll_y = 0.05
        await driver.frames(2)
        assert asked == [(30, 30)]  # one page on its way at a time
        grid.set_rows([row(i) for i in range(1000, 1005)])  # another list meanwhile
        release.set()
        await driver.frames(5)
        assert [r["key"] for r in grid.data] == [f"P{i}" for i in range(1000, 1005)]  # the late page is dropped

        def broken(offset, count):
            asked.append((offset, count))
            if len(asked) == 1:
                raise OSError("the catalog file went away")
            return [row(i) for i in range(offset, min(offset + count, 100)) if i != 40]  # one article left meanwhile

        asked.clear()
        grid.set_rows([row(i) for i in range(30)], 100, broken)
        grid.scroll_y = 0.1
        await driver.wait_until(lambda: asked and not grid._busy, "the failed page given up")
        assert len(grid.data) == 30
        grid.scroll_y = 1
        await scroll_to_the_end(driver, grid, 99)  # the next scroll asks for that page again
        assert asked == [(30, 30), (30, 30), (60, 30), (90, 30)]
        assert [r["key"] for r in grid.data] == [f"P{i}" for i in range(100) if i != 40]
