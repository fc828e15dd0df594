"""Catalog sync against the real reference server on loopback: full, delta, resume, atomic swap, CLI."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from central.db import Database, change_random_products, set_price, withdraw_product
from central.embedded import start_server
from central.seed import DEMO_KIOSK_TOKEN
from kiosk.api import ApiConnectionError, CentralApi
from kiosk.catalog.store import CatalogStore
from kiosk.catalog.sync import LIVE_NAME, STAGING_NAME, CatalogSync, SyncProgress
from kiosk.contract import CatalogPage

from support.central_server import PAYMENT_SERVICE_PUBLIC_KEY, REPO, TEST_CATALOG_ARTICLES


class RecordingTransport(httpx.AsyncBaseTransport):
    """The real HTTP transport, recording the cursor of every catalog request; optionally the
    `fail_on`-th catalog request fails as if the network went away."""

    def __init__(self, fail_on: int | None = None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.cursors: list[str | None] = []
        self.fail_on = fail_on

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/catalog":
            self.cursors.append(request.url.params.get("cursor"))
            if self.fail_on is not None and len(self.cursors) == self.fail_on:
                raise httpx.ConnectError("network gone", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def make_api(base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> CentralApi:
    return CentralApi(base_url, DEMO_KIOSK_TOKEN, retries=0, transport=transport)


async def run_sync(base_url: str, directory: Path, *, full: bool = False, page_size: int = 47,
                   transport: httpx.AsyncBaseTransport | None = None, on_progress=None):
    async with make_api(base_url, transport) as api:
        return await CatalogSync(api, directory, page_size=page_size, on_progress=on_progress).sync(full=full)


def server_catalog(base_url: str) -> dict:
    products, cursor = {}, None
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"}) as http:
        while True:
            params = {"limit": 500} | ({"cursor": cursor} if cursor else {})
            page = CatalogPage.model_validate_json(http.get("/v1/catalog", params=params).content)
            products.update((p.id, p) for p in page.items)
            cursor = page.next_cursor
            if not page.has_more:
                return products


def dump(directory: Path) -> tuple[list, list, list]:
    """The whole local catalog in catalog order, without rowids and position numbers."""
    conn = sqlite3.connect(directory / LIVE_NAME)
    try:
        products = conn.execute("SELECT id, name, description, brand, category_id, images, min_price_cents, "
                                "max_price_cents, available FROM products ORDER BY position").fetchall()
        variants = conn.execute("SELECT p.id, v.sku, v.position, v.ean, v.size, v.colour, v.price_cents, "
                                "v.available FROM variants v JOIN products p ON p.rowid = v.product_rowid "
                                "ORDER BY p.id, v.position").fetchall()
        categories = conn.execute("SELECT * FROM categories ORDER BY position").fetchall()
    finally:
        conn.close()
    return products, variants, categories


@pytest.fixture
def own_server(tmp_path):
    server = start_server(tmp_path / "central.sqlite", seed_articles=120)
    yield server, Database(server.db_path)
    server.stop()


async def test_full_sync_stores_every_product_exactly_once_as_the_api_sent_it(central_server, tmp_path):
    progress: list[SyncProgress] = []
    report = await run_sync(central_server.base_url, tmp_path, on_progress=progress.append)
    assert report.kind == "full" and report.written == TEST_CATALOG_ARTICLES and report.skipped == []
    assert report.pages == -(-TEST_CATALOG_ARTICLES // 47) and report.cursor
    assert progress[-1] == SyncProgress("full", TEST_CATALOG_ARTICLES, TEST_CATALOG_ARTICLES)
    assert progress[0].total == TEST_CATALOG_ARTICLES, "the first page already tells the total"
    assert not (tmp_path / STAGING_NAME).exists()

    store = CatalogStore(tmp_path)
    expected = server_catalog(central_server.base_url)
    assert store.product_count == len(expected) == TEST_CATALOG_ARTICLES
    for product_id, product in expected.items():
        assert store.product(product_id) == product  # every price, variant and picture as sent
    assert {c.id for c in store.top_categories()} >= {"fietsen", "kamperen"}
    assert store.synced_at is not None

    again = await run_sync(central_server.base_url, tmp_path)
    assert (again.kind, again.written, again.removed) == ("delta", 0, 0)


async def test_delta_after_changes_picks_up_exactly_those(own_server, tmp_path):
    server, db = own_server
    await run_sync(server.base_url, tmp_path / "kiosk")
    store = CatalogStore(tmp_path / "kiosk")
    with db.session() as conn:
        set_price(conn, "P000003-01", 77_777)
        withdraw_product(conn, "P000010")
        withdraw_product(conn, "P000011")
        changed = change_random_products(conn, 25, seed=3)
    touched = ({"P000003"} | set(changed)) - {"P000010", "P000011"}
    report = await run_sync(server.base_url, tmp_path / "kiosk")
    assert report.kind == "delta"
    assert report.written == len(touched) and report.removed == 2 and report.skipped == []
    assert store.product("P000010") is None and store.product_count == 118
    if "P000003" not in changed:
        assert store.product("P000003").variants[0].price_cents == 77_777
    for product_id in touched:
        assert store.product(product_id) == server_catalog(server.base_url)[product_id]
    # ... and the result is the very catalog a fresh full sync gives, in the same order
    await run_sync(server.base_url, tmp_path / "fresh")
    assert dump(tmp_path / "kiosk") == dump(tmp_path / "fresh")


async def test_an_interrupted_full_sync_resumes_from_the_last_committed_page(central_server, tmp_path):
    broken = RecordingTransport(fail_on=3)
    with pytest.raises(ApiConnectionError):
        await run_sync(central_server.base_url, tmp_path / "kiosk", transport=broken)
    assert (tmp_path / "kiosk" / STAGING_NAME).exists() and not (tmp_path / "kiosk" / LIVE_NAME).exists()
    assert not CatalogStore(tmp_path / "kiosk").is_loaded, "a half-synced catalog is never shown"
    conn = sqlite3.connect(tmp_path / "kiosk" / STAGING_NAME)
    try:
        committed_cursor = conn.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 2 * 47
    finally:
        conn.close()

    resumed = RecordingTransport()
    report = await run_sync(central_server.base_url, tmp_path / "kiosk", transport=resumed)
    assert report.kind == "full" and report.resumed
    assert resumed.cursors[0] == committed_cursor, "pages already committed are not fetched again"
    assert len(resumed.cursors) == report.pages == -(-TEST_CATALOG_ARTICLES // 47) - 2
    assert report.written == TEST_CATALOG_ARTICLES - 2 * 47

    await run_sync(central_server.base_url, tmp_path / "straight")
    assert dump(tmp_path / "kiosk") == dump(tmp_path / "straight")
    assert not (tmp_path / "kiosk" / STAGING_NAME).exists()


async def test_a_cancelled_full_sync_resumes_and_ends_identical(central_server, tmp_path):
    pages_seen = []

    async def cancel_after_two() -> None:
        task = asyncio.current_task()

        def on_progress(progress: SyncProgress) -> None:
            pages_seen.append(progress.done)
            if len(pages_seen) == 2:
                task.cancel()

        await run_sync(central_server.base_url, tmp_path / "kiosk", on_progress=on_progress)

    with pytest.raises(asyncio.CancelledError):
        await cancel_after_two()
    assert not (tmp_path / "kiosk" / LIVE_NAME).exists()
    recorder = RecordingTransport()
    report = await run_sync(central_server.base_url, tmp_path / "kiosk", transport=recorder)
    assert report.resumed and None not in recorder.cursors
    await run_sync(central_server.base_url, tmp_path / "straight")
    assert dump(tmp_path / "kiosk") == dump(tmp_path / "straight")


async def test_readers_see_the_old_or_the_new_catalog_never_a_mix(own_server, tmp_path):
    server, db = own_server
    await run_sync(server.base_url, tmp_path)
    store = CatalogStore(tmp_path)
    old_price = store.product("P000001").variants[0].price_cents
    observed: set[tuple[int, int]] = set()
    stop = threading.Event()

    def reader() -> None:  # another thread, reading all the time, as the UI's worker would
        while not stop.is_set():
            observed.add((store.product_count, store.count_in("fietsen") + store.count_in("kamperen")))

    with db.session() as conn:
        set_price(conn, "P000001-01", old_price + 1000)
        for n in range(1, 21):
            withdraw_product(conn, f"P{n + 50:06d}")
    during: list[int] = []
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        report = await run_sync(server.base_url, tmp_path, page_size=5,
                                on_progress=lambda p: during.append(store.product_count))
        assert report.kind == "delta" and report.removed == 20
        full = await run_sync(server.base_url, tmp_path, full=True, page_size=7,
                              on_progress=lambda p: during.append(store.product_count))
        assert full.kind == "full"
    finally:
        stop.set()
        thread.join()
    assert set(during) <= {120, 100}, "while pages come in, the store still shows a whole catalog"
    assert {count for count, _ in observed} <= {120, 100}
    assert store.product_count == 100
    assert store.product("P000001").variants[0].price_cents == old_price + 1000
    assert store.product("P000060") is None


def write_config(path: Path, base_url: str) -> Path:
    path.write_text(f'[api]\nbase_url = "{base_url}"\nretries = 0\nconnect_timeout_s = 1.0\n\n'
                    f'[payment]\npublic_key = "{PAYMENT_SERVICE_PUBLIC_KEY}"\n')
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "kiosk.catalog.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=REPO, env=env)


def test_cli_syncs_and_prints_a_summary(central_server, tmp_path):
    config = write_config(tmp_path / "kiosk.toml", central_server.base_url)
    result = run_cli("--config", str(config), "--dir", str(tmp_path / "catalog"))
    assert result.returncode == 0, result.stderr
    assert f"{TEST_CATALOG_ARTICLES:,} products written" in result.stdout and "(full)" in result.stdout
    assert f"{TEST_CATALOG_ARTICLES:,} / {TEST_CATALOG_ARTICLES:,}" in result.stderr  # the progress line
    assert CatalogStore(tmp_path / "catalog").product_count == TEST_CATALOG_ARTICLES
    again = run_cli("--config", str(config), "--dir", str(tmp_path / "catalog"), "--quiet")
    assert again.returncode == 0 and "(delta)" in again.stdout and "0 products written" in again.stdout


def test_cli_with_the_api_down_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nobody listens here once closed
    config = write_config(tmp_path / "kiosk.toml", f"http://127.0.0.1:{port}")
    result = run_cli("--config", str(config), "--dir", str(tmp_path / "catalog"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "could not connect" in result.stderr
    assert "Traceback" not in result.stderr
