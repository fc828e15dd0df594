"""The full sync's staging file: bulk-load indexes made at the end, a torn file started over."""

from __future__ import annotations

import sqlite3

import pytest

from kiosk.api import ApiConnectionError
from kiosk.catalog.sync import LIVE_NAME, STAGING_NAME

from support.central_server import TEST_CATALOG_ARTICLES
from test_catalog_sync import RecordingTransport, dump, run_sync


def indexes(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    finally:
        conn.close()


async def test_the_late_indexes_come_with_the_swap(central_server, tmp_path):
    with pytest.raises(ApiConnectionError):
        await run_sync(central_server.base_url, tmp_path, transport=RecordingTransport(fail_on=3))
    staged = indexes(tmp_path / STAGING_NAME)
    assert "variants_by_ean" not in staged and "products_by_category" not in staged
    await run_sync(central_server.base_url, tmp_path)
    live = indexes(tmp_path / LIVE_NAME)
    assert {"variants_by_ean", "products_by_category", "variants_by_product", "products_browse",
            "products_by_price"} <= live
    conn = sqlite3.connect(tmp_path / LIVE_NAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT sku FROM variants WHERE ean = '1'").fetchall()
        assert "variants_by_ean" in str(plan)
    finally:
        conn.close()


async def test_a_torn_staging_file_is_started_over(central_server, tmp_path):
    with pytest.raises(ApiConnectionError):
        await run_sync(central_server.base_url, tmp_path / "kiosk", transport=RecordingTransport(fail_on=3))
    staging = tmp_path / "kiosk" / STAGING_NAME
    for suffix in ("-wal", "-shm"):  # what a power cut could leave: the pages, torn
        (tmp_path / "kiosk" / f"{STAGING_NAME}{suffix}").unlink(missing_ok=True)
    data = bytearray(staging.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[2 * page:3 * page] = b"\xa5" * page
    staging.write_bytes(bytes(data))

    recorder = RecordingTransport()
    report = await run_sync(central_server.base_url, tmp_path / "kiosk", transport=recorder)
    assert report.kind == "full" and not report.resumed and recorder.cursors[0] is None
    assert report.written == TEST_CATALOG_ARTICLES
    await run_sync(central_server.base_url, tmp_path / "straight")
    assert dump(tmp_path / "kiosk") == dump(tmp_path / "straight")
