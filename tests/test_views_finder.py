"""The plain-Python layer under the screens: rows for lists, and the search state (Finder)."""

from kiosk.cart import Cart, CartLine
from kiosk.catalog import schema
from kiosk.catalog.models import FacetValue, ProductSummary, SearchFilters
from kiosk.catalog.search import build_index
from kiosk.catalog.store import CatalogStore
from kiosk.contract import Category, Product, Variant
from kiosk.finder import Finder, facet_value, filters_with
from kiosk.views import (cart_rows, category_pages, category_rows, facet_chips, product_rows, search_pages,
                         subcategory_chips)

CATEGORIES = [
    Category(id="fiets", name="Fietsen", name_en="Bikes"),
    Category(id="fiets-bel", name="Fietsbellen", name_en="Bike bells", parent_id="fiets"),
    Category(id="kamp", name="Kamperen", name_en="Camping"),
]


def product(pid, category, prices, name=None, ean=None):
    return Product(id=pid, name=name or f"Artikel {pid}", brand="ANWB", category_id=category,
                   images=[f"v1/images/{pid}/1.png"],
                   variants=[Variant(sku=f"{pid}-{i}", price_cents=p, ean=ean if i == 0 else None)
                             for i, p in enumerate(prices)])


def make_store(tmp_path, products):
    conn = schema.connect(tmp_path / "catalog.sqlite")
    schema.create(conn)
    schema.write_categories(conn, CATEGORIES)
    schema.write_products(conn, products, 0)
    conn.commit()
    build_index(conn)
    conn.execute("PRAGMA journal_mode=DELETE")  # the live file is not WAL (see sync.py)
    conn.close()
    return CatalogStore(tmp_path)


def test_category_rows_count_subcategories_and_follow_the_language(tmp_path):
    store = make_store(tmp_path, [product("A", "fiets-bel", [500]), product("B", "kamp", [700]),
                                  product("C", "kamp", [900])])
    rows = category_rows(store, "en", lambda url: "http://api/" + url)
    assert [(r["title"], r["subtitle"]) for r in rows] == [("Bikes", "1 articles"), ("Camping", "2 articles")]
    assert rows[0]["image"] == "http://api/v1/images/A/1.png"
    assert subcategory_chips(store, "fiets", "nl") == [("fiets-bel", "Fietsbellen")]


def test_product_rows_show_a_from_price_only_when_prices_differ():
    rows = product_rows([ProductSummary("A", "Tent", "Vaude", 1995, 2495, None, True),
                         ProductSummary("B", "Bel", None, 500, 500, "x.png", True)], "nl", str)
    assert rows[0]["price"] == "vanaf €\xa019,95" and rows[0]["image"] == ""
    assert rows[1]["price"] == "€\xa05,00" and rows[1]["brand"] == ""


def test_facet_chips_carry_counts():
    facets = {"brand": [FacetValue("Thule", "Thule", 12), FacetValue("ANWB", "ANWB", 3)]}
    assert facet_chips(facets, "brand") == [("Thule", "Thule (12)"), ("ANWB", "ANWB (3)")]
    assert facet_chips(facets, "size") == []


def test_cart_rows_are_formatted_per_language():
    cart = Cart()
    cart.add(CartLine(sku="A-0", product_id="A", name="Tent", variant_label="groen", unit_price_cents=12950, quantity=2))
    [row] = cart_rows(cart, "en", str)
    assert row["line_total"] == "€259.00" and row["quantity"] == "2"


def test_price_facet_values_round_trip_through_filters():
    filters = filters_with(SearchFilters(), "price", "2500-5000")
    assert (filters.price_min_cents, filters.price_max_cents) == (2500, 5000)
    assert facet_value(filters, "price") == "2500-5000"
    open_ended = filters_with(SearchFilters(), "price", "25000-")
    assert (open_ended.price_min_cents, open_ended.price_max_cents) == (25000, None)
    assert facet_value(open_ended, "price") == "25000-"
    assert filters_with(filters, "price", None).is_empty()


async def test_finder_types_toggles_facets_and_finds_barcodes(tmp_path):
    store = make_store(tmp_path, [product("A", "kamp", [500], name="Koepeltent Vaude", ean="8712345678906"),
                                  product("B", "kamp", [700], name="Tunneltent Coleman")])
    finder = Finder(store)
    for char in "tent":
        finder.type(char)
    result = await finder.run()
    assert result.total == 2
    finder.toggle_facet("category", "kamp")
    assert finder.filters.category_id == "kamp"
    finder.toggle_facet("category", "kamp")  # tapping the chosen chip again clears it
    assert finder.filters.is_empty()
    finder.clear_query()
    for char in "8712345678906":
        finder.type(char)
    assert finder.barcode_hit() == ("A", "A-0")
    finder.backspace()
    assert finder.barcode_hit() is None


async def test_only_the_newest_search_answers(tmp_path):
    import asyncio

    store = make_store(tmp_path, [product("A", "kamp", [500], name="Koepeltent")])
    finder = Finder(store)
    finder.type("k")
    first = asyncio.create_task(finder.run())
    finder.type("o")
    second = asyncio.create_task(finder.run())
    assert await first is None  # superseded while it ran
    assert (await second).total == 1


def paged(more, total, page):
    """Every row a list would show, fetched the way PagedRecycleView does: `page` rows from each offset."""
    rows = []
    for offset in range(0, total, page):
        rows += more(offset, page)
    return rows


async def test_a_search_builds_its_first_page_and_the_rest_from_ids_in_the_same_order(tmp_path):
    store = make_store(tmp_path, [product(f"T{i:03}", "kamp", [100 + (i * 37) % 500], name=f"Tent {i}")
                                  for i in range(130)])
    whole = store.search("tent", limit=1000)
    assert len(whole.items) == 130 and whole.more_ids == []  # no `upto`: every match an article, as before
    finder = Finder(store, limit=100, page=25)
    finder.type("tent")
    result = await finder.run()
    assert result.total == 130 and len(result.items) == 25 and len(result.more_ids) == 75
    assert [p.id for p in result.items] + result.more_ids == [p.id for p in whole.items][:100]  # relevance order
    finder.sort = "price_asc"
    result = await finder.run()
    whole = store.search("tent", sort="price_asc", limit=1000)
    rows = product_rows(result.items, "nl", str)
    more = search_pages(store, result, "nl", str)
    for offset in range(25, 100, 25):
        rows += more(offset, 25)
    assert [r["key"] for r in rows] == [p.id for p in whole.items][:100]
    assert more(100, 25) == []  # past the last id: nothing, not an error


def test_summaries_keep_the_order_asked_and_leave_out_what_left_the_catalog(tmp_path):
    store = make_store(tmp_path, [product("A", "kamp", [500]), product("B", "kamp", [700], name="Tent B")])
    assert [s.id for s in store.summaries(["B", "GONE", "A"])] == ["B", "A"]
    assert store.summaries(["B"])[0] == ProductSummary("B", "Tent B", "ANWB", 700, 700, "v1/images/B/1.png", True)
    assert store.summaries([]) == []


def test_category_pages_read_the_articles_a_page_at_a_time_in_catalog_order(tmp_path):
    store = make_store(tmp_path, [product(f"K{i:02}", "fiets-bel" if i % 3 else "fiets", [100 + i]) for i in range(50)])
    more = category_pages(store, "fiets", "en", str)
    assert [r["key"] for r in paged(more, 50, 7)] == [p.id for p in store.products_in("fiets")]
    assert len(more(0, 7)) == 7 and more(49, 7)[0]["key"] == "K49" and more(50, 7) == []
    assert more(0, 1)[0]["price"] == "€1.00"  # built in the language asked for
