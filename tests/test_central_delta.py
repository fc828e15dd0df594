"""The reference server's delta sync: remaining counts, withdrawn products, availability, the change helpers."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from central.db import Database, change_random_products, set_price, touch_product, withdraw_product
from central.embedded import start_server
from central.seed import DEMO_KIOSK_TOKEN, is_available, seed_database
from kiosk.contract import CatalogPage

from support.central_server import TEST_CATALOG_ARTICLES


def get_page(http: httpx.Client, cursor: str | None = None, limit: int = 500) -> CatalogPage:
    params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    response = http.get("/v1/catalog", params=params)
    assert response.status_code == 200, response.text
    return CatalogPage.model_validate_json(response.content)


def walk(http: httpx.Client, cursor: str | None = None, limit: int = 500) -> tuple[list[CatalogPage], str]:
    pages = []
    while True:
        page = get_page(http, cursor, limit)
        pages.append(page)
        cursor = page.next_cursor
        if not page.has_more:
            return pages, cursor


@pytest.fixture
def own_server(tmp_path):
    server = start_server(tmp_path / "delta.sqlite", seed_articles=120)
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"}) as http:
        yield server, http, Database(server.db_path)
    server.stop()


def test_remaining_counts_down_to_zero(central_http):
    pages, _ = walk(central_http, limit=70)
    seen = 0
    for page in pages:
        seen += len(page.items)
        assert page.remaining == TEST_CATALOG_ARTICLES - seen
    assert pages[-1].remaining == 0 and pages[-1].removed == []


def test_availability_comes_from_stock_in_any_shop(central_http):
    pages, _ = walk(central_http)
    variants = [v for page in pages for p in page.items for v in p.variants]
    assert all(v.available == is_available(v.sku) for v in variants)
    available = sum(v.available for v in variants)
    assert 0.9 * len(variants) < available < len(variants), "most, not all, variants are available"


def test_delta_has_exactly_the_changed_and_withdrawn_products(own_server):
    _, http, db = own_server
    _, cursor = walk(http, limit=50)
    assert get_page(http, cursor).items == []
    with db.session() as conn:
        first = get_page(http, None, 3).items
        set_price(conn, first[0].variants[0].sku, 12345)
        withdraw_product(conn, first[1].id)
        touch_product(conn, first[2].id, name="Nieuwe naam")
        changed = change_random_products(conn, 10, seed=7)
    assert len(set(changed)) == 10
    delta_pages, new_cursor = walk(http, cursor, limit=4)
    items = [p for page in delta_pages for p in page.items]
    removed = [r for page in delta_pages for r in page.removed]
    assert removed == [first[1].id]
    expected = ({first[0].id, first[2].id} | set(changed)) - {first[1].id}
    assert {p.id for p in items} == expected
    by_id = {p.id: p for p in items}
    if first[0].id in by_id and first[0].id not in changed:
        assert by_id[first[0].id].variants[0].price_cents == 12345
    assert by_id[first[2].id].name == "Nieuwe naam" or first[2].id in changed
    # the page limit counts withdrawals too, and the cursor moves past them
    assert all(len(page.items) + len(page.removed) <= 4 for page in delta_pages)
    assert get_page(http, new_cursor).items == [] and get_page(http, new_cursor).removed == []
    # a full sync from scratch no longer has the withdrawn product, and has each other one once
    full = [p.id for page in walk(http)[0] for p in page.items]
    assert first[1].id not in full and len(full) == len(set(full)) == 119


def test_a_withdrawal_after_the_last_product_still_reaches_the_delta(own_server):
    _, http, db = own_server
    _, cursor = walk(http)
    with db.session() as conn:
        withdraw_product(conn, "P000005")
    page = get_page(http, cursor)
    assert page.items == [] and page.removed == ["P000005"] and not page.has_more
    assert page.next_cursor != cursor
    assert get_page(http, page.next_cursor).removed == []


def test_helpers_refuse_unknown_products(own_server):
    _, _, db = own_server
    with db.session() as conn:
        with pytest.raises(KeyError):
            withdraw_product(conn, "P999999")
        with pytest.raises(KeyError):
            touch_product(conn, "P999999")


def test_a_file_from_before_availability_and_rendering_gets_both(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE categories (id TEXT PRIMARY KEY, name TEXT NOT NULL, name_en TEXT, parent_id TEXT,
                                 position INTEGER NOT NULL);
        CREATE TABLE products (row_id INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            description TEXT NOT NULL, brand TEXT, category_id TEXT NOT NULL, image_count INTEGER NOT NULL,
            version INTEGER NOT NULL UNIQUE);
        CREATE TABLE variants (sku TEXT PRIMARY KEY, product_row INTEGER NOT NULL, position INTEGER NOT NULL,
            ean TEXT, size TEXT, colour TEXT, price_cents INTEGER NOT NULL);
        INSERT INTO products VALUES (1, 'P000001', 'Oud', 'Beschrijving', 'Merk', 'fietsen', 2, 1);
        INSERT INTO variants VALUES ('P000001-01', 1, 0, '8710000000050', NULL, NULL, 995);
    """)
    conn.close()
    db = Database(path)
    seed_database(db, 1)
    with db.session() as conn:
        assert conn.execute("SELECT available FROM variants").fetchone()[0] in (0, 1)
        rendered = conn.execute("SELECT json FROM products").fetchone()[0]
    assert '"price_cents":995' in rendered and '"v1/images/P000001/2.png"' in rendered
