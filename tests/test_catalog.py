from kiosk.cart import Cart, CartLine
from kiosk.catalog import Catalog
from kiosk.contract import CatalogPage, Category, Product, Variant
from kiosk.views import cart_rows, category_rows, product_rows, variant_choices


def product(pid, category, prices, sizes=None):
    sizes = sizes or [None] * len(prices)
    return Product(id=pid, name=f"Artikel {pid}", brand="ANWB", category_id=category,
                   images=[f"/v1/images/{pid}/0.png"],
                   variants=[Variant(sku=f"{pid}-{i}", price_cents=p, size=s) for i, (p, s) in enumerate(zip(prices, sizes))])


class PagedSource:
    def __init__(self, categories, products, page_size):
        self._categories, self._products, self._size = categories, products, page_size
        self.calls = 0

    async def categories(self):
        return self._categories

    async def catalog_page(self, cursor=None, limit=200):
        self.calls += 1
        start = int(cursor or 0)
        end = start + self._size
        return CatalogPage(items=self._products[start:end], next_cursor=str(end), has_more=end < len(self._products))


CATEGORIES = [
    Category(id="fiets", name="Fietsen", name_en="Bikes"),
    Category(id="fiets-bel", name="Fietsbellen", parent_id="fiets"),
    Category(id="kamp", name="Kamperen", name_en="Camping"),
]


async def test_load_walks_every_page_and_includes_subcategories():
    products = [product(f"P{i}", "fiets-bel" if i % 2 else "kamp", [1000 + i]) for i in range(25)]
    source = PagedSource(CATEGORIES, products, page_size=10)
    catalog = Catalog()
    await catalog.load(source, page_size=10)
    assert source.calls == 3
    assert [c.id for c in catalog.top_categories()] == ["fiets", "kamp"]
    assert catalog.count_in("fiets") == 12  # only via its subcategory
    assert catalog.count_in("kamp") == 13
    assert catalog.product("P3").variants[0].price_cents == 1003


async def test_category_rows_follow_the_language():
    catalog = Catalog()
    await catalog.load(PagedSource(CATEGORIES, [product("A", "kamp", [500])], 10))
    rows = category_rows(catalog, "en", lambda url: "http://api" + url)
    assert [r["title"] for r in rows] == ["Bikes", "Camping"]
    assert rows[1]["image"] == "http://api/v1/images/A/0.png"
    assert rows[1]["subtitle"] == "1 articles"


def test_product_rows_show_from_price_only_when_prices_differ():
    rows = product_rows([product("A", "kamp", [1995, 2495]), product("B", "kamp", [500, 500])], "nl", str)
    assert rows[0]["price"] == "vanaf €\xa019,95"
    assert rows[1]["price"] == "€\xa05,00"


def test_variant_labels_fall_back_to_the_product_name():
    assert variant_choices(product("A", "kamp", [1, 2], sizes=["S", "M"])) == [("A-0", "S"), ("A-1", "M")]
    assert variant_choices(product("B", "kamp", [1])) == [("B-0", "Artikel B")]


def test_cart_rows_are_formatted_per_language():
    cart = Cart()
    cart.add(CartLine(sku="A-0", product_id="A", name="Tent", variant_label="groen", unit_price_cents=12950, quantity=2))
    [row] = cart_rows(cart, "en", str)
    assert row["line_total"] == "€259.00" and row["quantity"] == "2"
