"""The staff pick list at the pillar: this shop's pickup orders from the central API, marked picked and
handed over at once on screen (the central API's answer then replaces the guess), put back with a
typed error when the mark did not go through. Against the real reference server on loopback."""

from __future__ import annotations

import asyncio
import sqlite3

import httpx
import pytest

from central.seed import DEMO_KIOSK_TOKEN, DEMO_STAFF_ID, DEMO_STORE_ID
from kiosk.api import CentralApi
from kiosk.contract import Fulfilment
from kiosk.pick_list import NotPicked, PickListRefused, PickListService, PickListUnreachable, PickOrderGone
from support.faults import FaultInjectingTransport, FaultPlan
from support.orders import stock_server
from test_central_pick_lists import order

HERE = DEMO_STORE_ID
SKU, OTHER = "P000001-01", "P000003-01"
PICK_PATHS = ("/v1/pick-lists",)


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        for sku in (SKU, OTHER):
            server.set_stock(sku, HERE, 20)
        yield server


class Gate(httpx.AsyncBaseTransport):
    """Holds requests while closed, so a test can look at the screen's list before the answer comes."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.open = asyncio.Event()
        self.open.set()
        self.held = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.open.is_set():
            self.held.set()
            await self.open.wait()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def client(shop, transport=None) -> CentralApi:
    return CentralApi(shop.server.base_url, DEMO_KIOSK_TOKEN, transport=transport, read_timeout=2.0,
                      backoff_base=0.001, backoff_max=0.01)


def counts(picks) -> tuple[int, int, int]:
    c = picks.counts
    return c.to_pick, c.picked, c.handed_over_today


def central_status(shop, order_id: str) -> tuple[str, int]:
    """(the order's status, rows in pick_status for it) in the central database."""
    with sqlite3.connect(shop.server.db_path) as db:
        status = db.execute("SELECT status FROM orders WHERE order_id = ?", (order_id,)).fetchone()[0]
        rows = db.execute("SELECT COUNT(*) FROM pick_status WHERE order_id = ?", (order_id,)).fetchone()[0]
    return status, rows


async def test_the_list_of_this_shops_pickup_orders_and_the_counts_for_the_staff_home(shop):
    first = order(shop, [(SKU, 2), (OTHER, 1)])
    second = order(shop, [(OTHER, 1)])
    order(shop, [(SKU, 1)], Fulfilment(type="take_now", store_id=HERE))  # not for picking
    async with client(shop) as api:
        picks = PickListService(api)
        assert picks.counts is None, "nothing to show before the first load"
        seen = []
        picks.listeners.append(seen.append)
        listed = await picks.load(DEMO_STAFF_ID)
    assert [o.order_id for o in listed.orders] == [first.order_id, second.order_id]
    assert counts(picks) == (2, 0, 0) and picks.current == listed and seen == [listed]
    assert [(line.sku, line.quantity) for line in listed.orders[0].lines] == [(SKU, 2), (OTHER, 1)]


async def test_picked_then_handed_over_shows_at_once_and_the_answer_replaces_the_guess(shop):
    placed = order(shop, [(SKU, 1)])
    order(shop, [(OTHER, 1)])
    gate = Gate()
    async with client(shop, gate) as api:
        picks = PickListService(api)
        await picks.load(DEMO_STAFF_ID)

        gate.open.clear()
        picking = asyncio.create_task(picks.mark_picked(placed.order_id, DEMO_STAFF_ID))
        await asyncio.wait_for(gate.held.wait(), timeout=5)
        guess = picks.current.orders[0]
        assert (guess.status, guess.picked_by) == ("picked", DEMO_STAFF_ID), "on screen before the answer"
        assert counts(picks) == (1, 1, 0)
        assert central_status(shop, placed.order_id)[1] == 0, "the central API has not heard of it yet"
        gate.open.set()
        picked = await picking
        assert picked.picked_at == shop.clock.now, "the central API's own time, not the kiosk's guess"
        assert picks.current.orders[0] == picked and counts(picks) == (1, 1, 0)
        assert central_status(shop, placed.order_id) == ("ready", 1)

        handed = await picks.mark_handed_over(placed.order_id, DEMO_STAFF_ID)
        assert (handed.status, handed.handed_over_by) == ("handed_over", DEMO_STAFF_ID)
        assert counts(picks) == (1, 0, 1)
        assert central_status(shop, placed.order_id)[0] == "completed"
        local = picks.current
        reloaded = await picks.load(DEMO_STAFF_ID)
        assert reloaded.orders == local.orders and reloaded.counts == local.counts, "the guess was right"


async def test_handing_over_before_picking_is_not_picked_and_the_list_is_put_back(shop):
    placed = order(shop, [(SKU, 1)])
    async with client(shop) as api:
        picks = PickListService(api)
        before = await picks.load(DEMO_STAFF_ID)
        with pytest.raises(NotPicked):
            await picks.mark_handed_over(placed.order_id, DEMO_STAFF_ID)
        assert picks.current.orders == before.orders and counts(picks) == (1, 0, 0)
    assert central_status(shop, placed.order_id)[1] == 0


async def test_offline_a_mark_is_undone_and_says_not_reachable(shop):
    placed = order(shop, [(SKU, 1)])
    faults = FaultInjectingTransport(FaultPlan(rate=1.0, weights={"drop": 1.0}, only_paths=PICK_PATHS))
    faults.enabled = False
    async with client(shop, faults) as api:
        picks = PickListService(api)
        before = await picks.load(DEMO_STAFF_ID)
        faults.enabled = True  # the network goes away
        seen = []
        picks.listeners.append(lambda p: seen.append(counts(picks)))
        with pytest.raises(PickListUnreachable):
            await picks.mark_picked(placed.order_id, DEMO_STAFF_ID)
        assert seen == [(0, 1, 0), (1, 0, 0)], "shown at once, then put back"
        assert picks.current.orders == before.orders
        with pytest.raises(PickListUnreachable):
            await picks.load(DEMO_STAFF_ID)
        assert picks.current.orders == before.orders, "the last loaded list stays on screen"
    assert central_status(shop, placed.order_id)[1] == 0


async def test_a_mark_whose_answer_was_lost_is_safe_to_try_again(shop):
    placed = order(shop, [(SKU, 1)])
    lost = FaultInjectingTransport(FaultPlan(rate=1.0, weights={"lost": 1.0}, only_paths=PICK_PATHS))
    lost.enabled = False
    async with client(shop, lost) as api:
        picks = PickListService(api)
        await picks.load(DEMO_STAFF_ID)
        lost.enabled = True
        with pytest.raises(PickListUnreachable):
            await picks.mark_picked(placed.order_id, DEMO_STAFF_ID)
        assert picks.current.orders[0].status == "to_pick", "not confirmed: shown as not done"
        assert central_status(shop, placed.order_id) == ("ready", 1), "yet it arrived"
        lost.enabled = False
        again = await picks.mark_picked(placed.order_id, DEMO_STAFF_ID)
        assert again.status == "picked" and counts(picks) == (0, 1, 0)
    assert central_status(shop, placed.order_id) == ("ready", 1)


async def test_an_unknown_order_and_an_unknown_staff_member_are_typed(shop):
    order(shop, [(SKU, 1)])
    async with client(shop) as api:
        picks = PickListService(api)
        await picks.load(DEMO_STAFF_ID)
        with pytest.raises(PickOrderGone):
            await picks.mark_picked("order-that-is-not-here", DEMO_STAFF_ID)
        with pytest.raises(PickListRefused) as refused:
            await picks.mark_picked(picks.current.orders[0].order_id, "s-nobody")
        assert refused.value.code == "staff_unknown"
        assert picks.current.orders[0].status == "to_pick"
        with pytest.raises(PickListRefused):
            await picks.load("s-nobody")
