"""CatalogStore: the local catalog's questions, on a small hand-made catalog file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from kiosk.catalog import schema
from kiosk.catalog.models import ProductSummary
from kiosk.catalog.store import CatalogStore
from kiosk.catalog.sync import LIVE_NAME, open_writer
from kiosk.contract import Category, Product, Variant

CATEGORIES = [
    Category(id="fietsen", name="Fietsen"),
    Category(id="kamperen", name="Kamperen"),
    Category(id="fietsen-sloten", name="Sloten", parent_id="fietsen"),
    Category(id="fietsen-lampen", name="Lampen", parent_id="fietsen"),
    Category(id="kamperen-tenten", name="Tenten", parent_id="kamperen"),
]


def product(pid: str, category: str, *prices: int, available: bool = True, ean: str | None = None) -> Product:
    return Product(
        id=pid, name=f"Artikel {pid}", brand="Merk", category_id=category, images=[f"v1/images/{pid}/1.png"],
        variants=[Variant(sku=f"{pid}-{n}", ean=ean if n == 0 else None, size=f"S{n}", price_cents=price,
                          available=available) for n, price in enumerate(prices)],
    )


PRODUCTS = [
    product("S1", "fietsen-sloten", 2995, 3995, ean="8710000000012"),
    product("S2", "fietsen-sloten", 1995, available=False),
    product("L1", "fietsen-lampen", 995, ean="0036000291452"),
    product("F1", "fietsen", 4995),
    product("T1", "kamperen-tenten", 19995),
]


def write_catalog(directory: Path, products=PRODUCTS, categories=CATEGORIES, synced_at="2025-03-01T10:00:00+00:00"):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "new.sqlite"
    conn = open_writer(path, wal=False)
    schema.create(conn)
    conn.execute("BEGIN")
    schema.write_categories(conn, categories)
    schema.write_products(conn, products, 0)
    schema.set_meta(conn, schema.SYNCED_AT, synced_at)
    conn.execute("COMMIT")
    conn.executescript(schema.BROWSE_INDEXES)
    conn.close()
    os.replace(path, directory / LIVE_NAME)


@pytest.fixture
def store(tmp_path) -> CatalogStore:
    write_catalog(tmp_path)
    return CatalogStore(tmp_path)


def test_a_missing_file_is_an_empty_store_not_an_error(tmp_path):
    store = CatalogStore(tmp_path / "nothing-yet")
    assert not store.is_loaded and store.synced_at is None and store.product_count == 0
    assert store.top_categories() == [] and store.products_in("fietsen") == [] and store.count_in("fietsen") == 0
    assert store.product("S1") is None and store.find_ean("8710000000012") is None
    assert store.search("slot").total == 0
    write_catalog(tmp_path / "nothing-yet")  # the first full sync lands: noticed without reopen()
    assert store.is_loaded and store.product_count == 5


def test_category_tree(store):
    assert [c.id for c in store.top_categories()] == ["fietsen", "kamperen"]
    assert [c.id for c in store.children("fietsen")] == ["fietsen-sloten", "fietsen-lampen"]
    assert store.children("fietsen-sloten") == [] and store.category("kamperen-tenten").name == "Tenten"
    assert store.category("nope") is None


def test_products_in_includes_subcategories_available_first(store):
    items = store.products_in("fietsen")
    assert [p.id for p in items] == ["S1", "L1", "F1", "S2"]
    assert items[0] == ProductSummary("S1", "Artikel S1", "Merk", 2995, 3995, "v1/images/S1/1.png", True)
    assert store.count_in("fietsen") == 4 and store.count_in("fietsen-sloten") == 2
    assert [p.id for p in store.products_in("fietsen-sloten")] == ["S1", "S2"]


def test_products_in_sorts_by_price_and_pages(store):
    assert [p.id for p in store.products_in("fietsen", sort="price_asc")] == ["L1", "S2", "S1", "F1"]
    assert [p.id for p in store.products_in("fietsen", sort="price_desc")] == ["F1", "S1", "S2", "L1"]
    assert [p.id for p in store.products_in("fietsen", limit=2, offset=1)] == ["L1", "F1"]
    with pytest.raises(ValueError):
        store.products_in("fietsen", sort="name")


def test_product_has_its_variants_in_order(store):
    s1 = store.product("S1")
    assert s1 == PRODUCTS[0]
    assert [v.sku for v in s1.variants] == ["S1-0", "S1-1"]


def test_find_ean_also_takes_upc_a_and_spaces(store):
    assert store.find_ean("8710000000012") == ("S1", "S1-0")
    assert store.find_ean(" 8710000000012\n") == ("S1", "S1-0")
    assert store.find_ean("036000291452") == ("L1", "L1-0")  # UPC-A of the EAN-13 0036000291452
    assert store.find_ean("8710000000029") is None and store.find_ean("abc") is None


def test_synced_at_and_a_swapped_in_file(store, tmp_path):
    assert store.synced_at.isoformat() == "2025-03-01T10:00:00+00:00" and store.product_count == 5
    write_catalog(tmp_path, PRODUCTS[:2], synced_at="2025-03-02T10:00:00+00:00")
    assert store.product_count == 2 and store.synced_at.day == 2  # noticed the swap by itself
    store.reopen()
    assert store.product_count == 2


def test_safe_from_many_threads(store):
    errors = []

    def work() -> None:
        try:
            for _ in range(200):
                assert len(store.products_in("fietsen")) == 4
                assert store.product("T1").variants[0].price_cents == 19995
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_corrupt_file_is_an_empty_store(tmp_path):
    (tmp_path / LIVE_NAME).write_bytes(b"this is not a database" * 100)
    store = CatalogStore(tmp_path)
    assert not store.is_loaded and store.products_in("fietsen") == []
