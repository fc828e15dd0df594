"""CatalogStore warms the search up on a thread of its own; schema helpers of the fast write path."""

from __future__ import annotations

import json
import os

from kiosk.catalog import schema, search
from kiosk.catalog.models import SearchFilters
from kiosk.catalog.store import CatalogStore
from kiosk.catalog.sync import LIVE_NAME, open_writer

from test_catalog_store import PRODUCTS, write_catalog


def write_indexed_catalog(directory):
    write_catalog(directory)
    conn = schema.connect(directory / LIVE_NAME)
    search.build_index(conn)
    conn.close()


def test_opening_a_store_warms_the_search_in_the_background(tmp_path):
    write_indexed_catalog(tmp_path)
    search._cache.clear()
    store = CatalogStore(tmp_path)
    try:
        assert store.wait_until_warm(30)
        assert len(search._cache) == 1, "the index version is loaded before the first search"
        assert store.search("artikel", SearchFilters()).total == len(PRODUCTS)
    finally:
        store.close()


def test_a_swapped_in_file_is_warmed_again_and_close_stops_it(tmp_path):
    write_indexed_catalog(tmp_path)
    store = CatalogStore(tmp_path)
    assert store.wait_until_warm(30)
    first = store._warm_thread
    write_indexed_catalog(tmp_path)  # a full sync swaps a new file in
    assert store.search("artikel").total == len(PRODUCTS)
    assert store._warm_thread is not first
    store.close()
    assert store._warm_stop.is_set()
    assert store.wait_until_warm(30)


def test_no_catalog_no_warm_up(tmp_path):
    store = CatalogStore(tmp_path)
    assert store.wait_until_warm(0) and store._warm_thread is None


def test_a_catalog_without_search_index_warms_nothing_and_still_answers(tmp_path):
    write_catalog(tmp_path)  # no search tables
    store = CatalogStore(tmp_path)
    assert store.wait_until_warm(30)
    assert store.top_categories()


def test_images_json_is_json_dumps():
    cases = [[], ["v1/images/P1/1.png"], ["a", "b c"], ['say "hi"'], ["back\\slash"], ["café"], ["\x7f"],
             ["tab\there"], ["https://x.test/p?a=1&b=<2>"], ["/"] * 20]
    for images in cases:
        assert schema.images_json(images) == json.dumps(images)
        assert json.loads(schema.images_json(images)) == images


def test_create_can_leave_the_late_indexes_for_later(tmp_path):
    conn = open_writer(tmp_path / "bulk.sqlite", wal=True)
    schema.create(conn, late_indexes=False)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "variants_by_ean" not in indexes and "products_by_category" not in indexes
    schema.create_late_indexes(conn)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"variants_by_ean", "products_by_category", "variants_by_product"} <= indexes
    conn.close()
    os.unlink(tmp_path / "bulk.sqlite")
