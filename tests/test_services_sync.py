"""The kiosk keeps its catalog copy fresh in the background: full sync at start, deltas on the
interval, and it goes on with its copy when the central API goes away. Real server on loopback."""

import asyncio
import sqlite3

from central.db import set_price, withdraw_product
from central.embedded import start_server
from kiosk.api import CentralApi
from kiosk.hardware import open_terminal
from kiosk.services import KioskServices
from support.ui import kiosk_settings


async def wait_for(predicate, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_background_sync_picks_up_changes_and_survives_the_api_going_away(tmp_path):
    server = start_server(tmp_path / "central.sqlite", seed_articles=150)
    settings = kiosk_settings(server.base_url, tmp_path)
    settings = settings.model_copy(update={"catalog": settings.catalog.model_copy(update={"sync_interval_s": 0.2})})
    api = CentralApi(server.base_url, "demo-kiosk-token", retries=0)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    services = KioskServices(settings, api, terminal)
    changes = []
    services.status.listeners.append(lambda status: changes.append((status.online, status.catalog_count)))
    task = asyncio.create_task(services.keep_in_sync(min_retry_s=0.1, max_retry_s=0.2))
    try:
        await wait_for(lambda: services.catalog.product_count == 150)
        product = services.catalog.product("P000010")
        sku = product.variants[0].sku
        conn = sqlite3.connect(server.db_path)
        conn.row_factory = sqlite3.Row  # as the server's own connections
        set_price(conn, sku, 12345)
        withdraw_product(conn, "P000011")
        conn.close()
        await wait_for(lambda: services.catalog.product("P000010").variants[0].price_cents == 12345)
        await wait_for(lambda: services.catalog.product("P000011") is None)
        assert services.catalog.product_count == 149

        server.stop()
        await wait_for(lambda: not services.status.online)
        assert services.catalog.product("P000010").variants[0].price_cents == 12345, "the copy stays usable"
        assert services.status.catalog_synced_at is not None
    finally:
        task.cancel()
        await services.aclose()
        server.stop()
