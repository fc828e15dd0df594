"""Bad catalog data, served by a crafted API (the reference server never sends any): skipped item by
item with a reason, the rest lands; a page that is not a catalog page fails the sync cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from kiosk.api import CentralApi
from kiosk.catalog.store import CatalogStore
from kiosk.catalog.sync import LIVE_NAME, MAX_NAME, CatalogSync, SyncError

CATEGORIES = [{"id": "fietsen", "name": "Fietsen"}, {"id": "fietsen-sloten", "name": "Sloten", "parent_id": "fietsen"},
              {"id": "bad category!", "name": "Kapot"}]


def product(pid: str, *skus: str, price: int = 995, **fields) -> dict:
    variants = [{"sku": sku, "ean": None, "price_cents": price, "available": True} for sku in (skus or (f"{pid}-01",))]
    return {"id": pid, "name": f"Artikel {pid}", "description": "", "brand": "Merk", "category_id": "fietsen-sloten",
            "images": [], "variants": variants} | fields


class CraftedApi:
    """Serves `pages` (a list of bodies, each a dict or raw bytes) as /v1/catalog, chained by cursor."""

    def __init__(self, pages: list, categories: list = CATEGORIES[:2]) -> None:
        self.pages = pages
        self.categories = categories
        self.requests = 0

    def set_pages(self, pages: list) -> None:
        self.pages = pages

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/categories":
            return httpx.Response(200, json=self.categories)
        self.requests += 1
        cursor = request.url.params.get("cursor")
        start = int(cursor.split("-")[0]) if cursor else 0  # cursors are "<absolute page>-..."
        index = start - self.base
        body = self.pages[index]
        if isinstance(body, bytes):
            return httpx.Response(200, content=body, headers={"content-type": "text/html"})
        last = index == len(self.pages) - 1
        envelope = {"next_cursor": f"{start + 1}-c", "has_more": not last, "removed": [], "remaining": None}
        return httpx.Response(200, json=envelope | body)

    base = 0

    def api(self) -> CentralApi:
        return CentralApi("http://crafted.invalid", "token", retries=0, transport=httpx.MockTransport(self.handler))


async def sync(crafted: CraftedApi, directory: Path, **kwargs):
    async with crafted.api() as api:
        return await CatalogSync(api, directory, **kwargs).sync()


async def test_bad_items_are_skipped_with_reasons_and_the_rest_lands(tmp_path):
    long_name = "Fietsslot " + "x" * 10_000
    crafted = CraftedApi([
        {"items": [
            product("A1"),
            "not an object",
            {"id": "NONAME", "category_id": "fietsen", "variants": [{"sku": "N-1", "price_cents": 100}]},
            product("NEG", price=-100),
            product("ZERO") | {"variants": []},
            product("TYPE") | {"variants": [{"sku": "T-1", "price_cents": "lots"}]},
            product("TWICE", "T-2", "T-2"),
            product("A2", "A1-01"),  # clashes with A1's SKU in the same page: the later one goes
            product("LONG", name=long_name, description="d" * 50_000, brand="b" * 500),
            product("BLANK", name="   "),
            {"name": "no id at all", "variants": []},
        ], "removed": ["ok-but-unknown", 42]},
        {"items": [
            product("A3", "A1-01"),  # clashes across pages
            product("A4"),
            product("A1", "A1-01", "A1-02", price=1995),  # the same product again: the last one wins
        ]},
    ], categories=CATEGORIES)
    report = await sync(crafted, tmp_path)
    reasons = dict(report.skipped)
    assert set(reasons) == {"NONAME", "NEG", "ZERO", "TYPE", "TWICE", "A2", "BLANK", "A3", "item 2 of page 1",
                            "item 11 of page 1", "removed", "category bad category!"}
    assert "name" in reasons["NONAME"] and "Field required" in reasons["NONAME"]
    assert "price_cents" in reasons["NEG"] and "greater than or equal to 0" in reasons["NEG"]
    assert "variants" in reasons["ZERO"]
    assert "price_cents" in reasons["TYPE"]
    assert "T-2" in reasons["TWICE"]
    assert "A1-01" in reasons["A2"] and "'A1'" in reasons["A2"] and "A1-01" in reasons["A3"]
    assert "not a JSON object" in reasons["item 2 of page 1"]
    assert report.written == 4  # A1, LONG, A4, then A1 again

    store = CatalogStore(tmp_path)
    assert store.product_count == 3
    a1 = store.product("A1")
    assert [(v.sku, v.price_cents) for v in a1.variants] == [("A1-01", 1995), ("A1-02", 1995)]
    long = store.product("LONG")
    assert len(long.name) == MAX_NAME and long.name.startswith("Fietsslot x") and long.name.endswith("…")
    assert len(long.description) == 4000 and len(long.brand) == 100
    assert [pid for pid, _ in report.adjusted] == ["LONG"]
    assert [c.id for c in store.top_categories()] == ["fietsen"]
    assert store.count_in("fietsen") == 3


async def test_a_delta_product_taking_a_stored_products_sku_is_skipped(tmp_path):
    crafted = CraftedApi([{"items": [product("P1", "S-1"), product("P2", "S-2")]}])
    await sync(crafted, tmp_path)
    crafted.base = 1
    crafted.set_pages([{"items": [product("P3", "S-1"), product("P2", "S-2", "S-3", price=500)]}])
    report = await sync(crafted, tmp_path)
    assert report.kind == "delta" and report.written == 1
    assert report.skipped == [("P3", "sku 'S-1' already belongs to product 'P1'")]
    store = CatalogStore(tmp_path)
    assert store.find_ean("123") is None and store.product("P3") is None
    assert [v.sku for v in store.product("P1").variants] == ["S-1"]
    assert [v.price_cents for v in store.product("P2").variants] == [500, 500]


async def test_a_freed_sku_can_be_taken_in_the_same_delta(tmp_path):
    crafted = CraftedApi([{"items": [product("P1", "S-1"), product("P2", "S-2")]}])
    await sync(crafted, tmp_path)
    crafted.base = 1
    crafted.set_pages([{"items": [product("P1", "S-9")], "removed": ["P2"]},
                       {"items": [product("P3", "S-1", "S-2")]}])
    report = await sync(crafted, tmp_path)
    assert report.skipped == [] and report.removed == 1 and report.written == 2
    assert CatalogStore(tmp_path).product("P3") is not None


@pytest.mark.parametrize("garbage", [b"<html>Bad gateway</html>", b'{"items": 5}', b"[1, 2]",
                                     b'{"items": [], "has_more": true, "next_cursor": null}'])
async def test_a_garbage_page_fails_the_delta_and_the_previous_catalog_stays(tmp_path, garbage):
    crafted = CraftedApi([{"items": [product("P1", price=995)]}])
    await sync(crafted, tmp_path)
    before = (tmp_path / LIVE_NAME).read_bytes()
    crafted.base = 1
    crafted.set_pages([{"items": [product("P1", price=1)], "removed": []}, garbage])
    with pytest.raises(SyncError):
        await sync(crafted, tmp_path)
    assert (tmp_path / LIVE_NAME).read_bytes() == before, "nothing of the failed delta is applied"
    assert CatalogStore(tmp_path).product("P1").variants[0].price_cents == 995


async def test_a_garbage_page_fails_a_full_sync_and_the_previous_catalog_stays(tmp_path):
    crafted = CraftedApi([{"items": [product("P1")]}])
    await sync(crafted, tmp_path)
    before = (tmp_path / LIVE_NAME).read_bytes()
    crafted.set_pages([{"items": [product("P9")]}, b"\x00\xffnot json"])
    async with crafted.api() as api:
        with pytest.raises(SyncError, match="not JSON"):
            await CatalogSync(api, tmp_path).full_sync()
    assert (tmp_path / LIVE_NAME).read_bytes() == before
    store = CatalogStore(tmp_path)
    assert store.product("P1") is not None and store.product("P9") is None


def test_the_server_never_sends_what_the_crafted_api_does():
    # guard against the crafted pages drifting from the contract's shape: a good page parses
    from kiosk.contract import CatalogPage

    CatalogPage.model_validate_json(json.dumps({"items": [product("A")], "next_cursor": "1-c"}))
