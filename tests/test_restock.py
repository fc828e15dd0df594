"""Restock and count at the pillar: an adjustment is journalled before it is sent, reaches the central
API exactly once whatever is lost on the way (down, answer lost, kiosk stopped mid-send, restart),
shows the new figure, and one refused for good ends `rejected` with a staff alert.

Against the real reference server on loopback (a server of each test's own: adjustments change stock).
"""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from central import stock
from central.db import Database
from central.embedded import start_server
from central.seed import DEMO_KIOSK_TOKEN, DEMO_MANAGER_ID, DEMO_STAFF_ID, DEMO_STORE_ID
from kiosk.adjustment_outbox import AdjustmentOutbox
from kiosk.api import ApiNotFound, ApiStatusError, CentralApi
from kiosk.contract import StockAdjustment, StockAdjustmentRequest
from kiosk.hardware import open_terminal
from kiosk.journal import (
    AdjustmentEntry,
    AdjustmentState,
    IllegalAdjustmentTransition,
    Journal,
    JournalError,
    JournalWriteError,
)
from kiosk.journal.storage import decode, encode
from kiosk.restock import InvalidAdjustment, InvalidQuantity, RestockService
from kiosk.services import KioskServices
from support.faults import FaultInjectingTransport, FaultPlan
from support.orders import stock_server
from support.ui import kiosk_settings

HERE = DEMO_STORE_ID
SKU = "P000001-01"
ADJUSTMENTS_PATH = ("/v1/stock-adjustments",)
UTC = timezone.utc


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        server.set_stock(SKU, HERE, 5)
        server.clock.advance(minutes=1)  # the adjustments come after that restock, not at its moment
        yield server


class Pillar:
    """The restock parts wired as KioskServices wires them, without a window; made_at on the server's clock."""

    def __init__(self, shop, journal_path, *, transport=None):
        self.api = CentralApi(shop.server.base_url, DEMO_KIOSK_TOKEN, transport=transport, read_timeout=2.0,
                              backoff_base=0.001, backoff_max=0.01)
        self.journal = Journal(journal_path)
        self.outbox = AdjustmentOutbox(self.api, self.journal, base_delay_s=0.001, max_delay_s=0.01)
        self.restock = RestockService(self.api, self.journal, HERE, clock=shop.clock, outbox=self.outbox)

    async def open(self) -> Pillar:
        await self.journal.open()
        return self

    async def close(self) -> None:
        self.journal.close()
        await self.api.aclose()


def central(shop, sku: str = SKU) -> tuple[int, int]:
    """(on hand in the shop, adjustments recorded for the sku) as the central database has them."""
    with Database(shop.server.db_path).session() as conn:
        on_hand = stock.on_hand(conn, [sku], [HERE])[(sku, HERE)]
        recorded = conn.execute("SELECT COUNT(*) FROM stock_adjustments WHERE sku = ?", (sku,)).fetchone()[0]
    return on_hand, recorded


def drop(paths=ADJUSTMENTS_PATH) -> FaultInjectingTransport:
    """The central API unreachable for these paths: every connection fails, nothing arrives."""
    return FaultInjectingTransport(FaultPlan(rate=1.0, weights={"drop": 1.0}, only_paths=paths))


async def wait_for(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


# --- through at once ----------------------------------------------------------------------------


async def test_received_and_counted_go_through_and_the_new_figure_is_shown(shop, tmp_path):
    pillar = await Pillar(shop, tmp_path / "journal.json").open()
    received = await pillar.restock.record(DEMO_STAFF_ID, SKU, "received", 3)
    assert received.state is AdjustmentState.acknowledged and received.attempts == 1
    assert (received.result.delta, received.result.on_hand, received.result.staff_id) == (3, 8, DEMO_STAFF_ID)

    shop.clock.advance(minutes=1)
    session = type("Session", (), {"staff": type("Member", (), {"id": DEMO_MANAGER_ID})()})()  # as StaffSession
    counted = await pillar.restock.record(session, SKU, "counted", 20, note="  schap B  ")
    assert counted.state is AdjustmentState.acknowledged
    assert (counted.result.delta, counted.result.on_hand, counted.result.available) == (12, 20, 20)
    assert (counted.staff_id, counted.request.note) == (DEMO_MANAGER_ID, "schap B")
    assert central(shop) == (20, 2)

    product = (await pillar.api.catalog_page(limit=1)).items[0]
    shown = await pillar.restock.stock_for(product)
    assert shown.reachable and shown.store_id == HERE
    first = next(v for v in shown.variants if v.sku == SKU)
    assert (first.available, first.on_hand, first.last) == (20, 20, counted)
    assert [v.sku for v in shown.variants] == [v.sku for v in product.variants]
    assert first.label == " · ".join(p for p in (product.variants[0].size, product.variants[0].colour) if p)
    assert pillar.restock.pending() == [] and pillar.journal.oldest_pending_adjustment_at() is None
    # The client reads an adjustment back as it was recorded; one never sent is not found.
    assert await pillar.api.stock_adjustment(counted.adjustment_id, DEMO_MANAGER_ID) == counted.result
    with pytest.raises(ApiNotFound):
        await pillar.api.stock_adjustment("adj-never-sent", DEMO_STAFF_ID)
    await pillar.close()


async def test_the_staff_list_and_a_stranger_on_staff_calls(shop, tmp_path):
    pillar = await Pillar(shop, tmp_path / "journal.json").open()
    members = await pillar.api.staff_members()
    assert {DEMO_STAFF_ID, DEMO_MANAGER_ID} <= {m.staff_id for m in members}
    with pytest.raises(ApiStatusError) as refused:
        await pillar.api.pick_list("s-nobody")
    assert (refused.value.status, refused.value.code) == (403, "staff_unknown")
    await pillar.close()


@pytest.mark.parametrize("kind, quantity", [
    ("received", 0), ("received", 10_001), ("received", -3), ("counted", -1), ("counted", 100_001),
    ("received", True), ("counted", 2.5), ("counted", "7"),
])
async def test_quantities_outside_the_contract_are_refused_before_anything_is_written(shop, tmp_path, kind,
                                                                                      quantity):
    pillar = await Pillar(shop, tmp_path / "journal.json").open()
    with pytest.raises(InvalidQuantity) as refused:
        await pillar.restock.record(DEMO_STAFF_ID, SKU, kind, quantity)
    assert refused.value.field == "quantity"
    assert (refused.value.minimum, refused.value.maximum) == ((1, 10_000) if kind == "received" else (0, 100_000))
    assert pillar.journal.adjustments() == [] and central(shop) == (5, 0)
    await pillar.close()


async def test_other_bad_input_is_refused_and_a_count_of_zero_is_fine(shop, tmp_path):
    pillar = await Pillar(shop, tmp_path / "journal.json").open()
    for args, field in [((SKU, "lost", 1), "kind"), (("", "received", 1), "sku"),
                        ((SKU, "received", 1, "kaart 4761 7390 0101 0010"), "note"),
                        ((SKU, "received", 1, "x" * 201), "note")]:
        with pytest.raises(InvalidAdjustment) as refused:
            await pillar.restock.record(DEMO_STAFF_ID, *args)
        assert refused.value.field == field
    with pytest.raises(InvalidAdjustment):
        await pillar.restock.record(None, SKU, "received", 1)
    assert pillar.journal.adjustments() == []
    empty = await pillar.restock.record(DEMO_STAFF_ID, SKU, "counted", 0)
    assert (empty.state, empty.result.on_hand) == (AdjustmentState.acknowledged, 0)
    await pillar.close()


# --- never lost, never doubled ------------------------------------------------------------------


async def test_central_down_the_entry_stays_pending_and_a_restart_delivers_it_once(shop, tmp_path):
    path = tmp_path / "journal.json"
    pillar = await Pillar(shop, path, transport=drop()).open()
    entry = await pillar.restock.record(DEMO_STAFF_ID, SKU, "received", 4)
    assert entry.state is AdjustmentState.pending and entry.result is None
    assert (entry.attempts, entry.last_error) == (1, "ApiConnectionError")
    assert entry.next_attempt_at is not None
    assert pillar.restock.pending() == [entry]
    assert pillar.journal.oldest_pending_adjustment_at() == entry.created_at
    assert pillar.journal.depth() == 0, "depth() stays the count of unfinished orders"
    assert await pillar.restock.deliver_pending() <= 1  # still down: tried (or waiting), never lost
    assert pillar.journal.get_adjustment(entry.adjustment_id).state is AdjustmentState.pending
    assert central(shop) == (5, 0)
    await pillar.close()  # the kiosk stops while the central API is down

    pillar = await Pillar(shop, path).open()  # restart; the central API is back
    assert [e.adjustment_id for e in pillar.restock.pending()] == [entry.adjustment_id]
    await pillar.outbox.deliver_until_settled(timeout_s=10)
    done = pillar.journal.get_adjustment(entry.adjustment_id)
    assert done.state is AdjustmentState.acknowledged and done.result.on_hand == 9
    assert done.request == entry.request, "the very same request, made_at included"
    assert done.attempts >= 2 and done.last_error is None
    assert central(shop) == (9, 1)
    await pillar.outbox.deliver_until_settled(timeout_s=1)  # nothing more to send
    assert central(shop) == (9, 1)
    await pillar.close()


async def test_an_answer_lost_after_the_server_recorded_it_is_not_recorded_twice(shop, tmp_path):
    path = tmp_path / "journal.json"
    lost = FaultInjectingTransport(FaultPlan(rate=1.0, weights={"lost": 1.0}, only_paths=ADJUSTMENTS_PATH))
    pillar = await Pillar(shop, path, transport=lost).open()
    entry = await pillar.restock.record(DEMO_STAFF_ID, SKU, "received", 4)
    assert (entry.state, entry.last_error) == (AdjustmentState.pending, "ApiTimeoutError")
    assert lost.counts["lost"] == 3, "sent three times (client retries), every answer lost"
    assert central(shop) == (9, 1), "the server recorded the first one, and replayed it twice"
    await pillar.close()

    pillar = await Pillar(shop, path).open()
    await pillar.outbox.deliver_until_settled(timeout_s=10)
    done = pillar.journal.get_adjustment(entry.adjustment_id)
    assert done.state is AdjustmentState.acknowledged
    assert (done.result.delta, done.result.on_hand) == (4, 9), "the first answer, replayed"
    assert central(shop) == (9, 1)
    await pillar.close()


class ForwardThenHang(httpx.AsyncBaseTransport):
    """The request reaches the server and is committed; the answer never comes (the kiosk dies waiting)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.answered = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        await response.aclose()
        self.answered.set()
        await asyncio.Event().wait()  # forever: until the task is cancelled
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_stopped_mid_send_the_entry_says_sent_and_a_restart_delivers_it_once(shop, tmp_path):
    path = tmp_path / "journal.json"
    hang = ForwardThenHang()
    pillar = await Pillar(shop, path, transport=hang).open()
    recording = asyncio.create_task(pillar.restock.record(DEMO_STAFF_ID, SKU, "counted", 30))
    await asyncio.wait_for(hang.answered.wait(), timeout=10)
    recording.cancel()  # the process ends here, the answer still on its way
    with pytest.raises(asyncio.CancelledError):
        await recording
    await pillar.close()
    assert central(shop) == (30, 1)

    pillar = await Pillar(shop, path).open()
    [entry] = pillar.restock.pending()
    assert (entry.state, entry.attempts) == (AdjustmentState.sent, 1), "on disk: it may have arrived"
    await pillar.outbox.deliver_until_settled(timeout_s=10)
    done = pillar.journal.get_adjustment(entry.adjustment_id)
    assert (done.state, done.attempts, done.result.on_hand, done.result.delta) == (
        AdjustmentState.acknowledged, 2, 30, 25)
    assert central(shop) == (30, 1)
    await pillar.close()


async def test_a_journal_write_failing_after_the_entry_was_journalled_leaves_it_pending(shop, tmp_path):
    pillar = await Pillar(shop, tmp_path / "journal.json").open()
    real = pillar.journal.advance_adjustment

    async def full_disk(*args, **kwargs):
        raise JournalWriteError("journal write failed: [Errno 28] No space left on device")

    pillar.journal.advance_adjustment = full_disk
    entry = await pillar.restock.record(DEMO_STAFF_ID, SKU, "received", 2)
    assert (entry.state, entry.attempts) == (AdjustmentState.pending, 0), "journalled, never sent"
    assert central(shop) == (5, 0)
    pillar.journal.advance_adjustment = real  # the disk has room again
    await pillar.outbox.deliver_until_settled(timeout_s=10)
    assert pillar.journal.get_adjustment(entry.adjustment_id).state is AdjustmentState.acknowledged
    assert central(shop) == (7, 1)
    await pillar.close()


async def test_the_background_sender_delivers_once_the_network_is_back(shop, tmp_path):
    faults = drop()
    pillar = await Pillar(shop, tmp_path / "journal.json", transport=faults).open()
    first = await pillar.restock.record(DEMO_STAFF_ID, SKU, "received", 2)
    second = await pillar.restock.record(DEMO_STAFF_ID, "P000002-01", "received", 1)
    assert {first.state, second.state} == {AdjustmentState.pending}
    sender = asyncio.create_task(pillar.outbox.run(idle_s=0.01))
    try:
        await asyncio.sleep(0.1)
        assert len(pillar.restock.pending()) == 2, "still down: both wait"
        faults.enabled = False
        await wait_for(lambda: not pillar.restock.pending())
    finally:
        sender.cancel()
    assert [e.state for e in pillar.journal.adjustments()] == [AdjustmentState.acknowledged] * 2
    assert central(shop) == (7, 1)
    await pillar.close()


# --- refused for good ---------------------------------------------------------------------------


@pytest.mark.parametrize("sku, staff_id, code", [("NOPE-99", DEMO_STAFF_ID, "unknown_sku"),
                                                 (SKU, "s-nobody", "staff_unknown")])
async def test_a_refused_adjustment_is_rejected_with_a_staff_alert(shop, tmp_path, sku, staff_id, code):
    path = tmp_path / "journal.json"
    pillar = await Pillar(shop, path).open()
    entry = await pillar.restock.record(staff_id, sku, "received", 2)
    assert entry.state is AdjustmentState.rejected and entry.last_error.startswith(code)
    assert entry.is_final and pillar.restock.pending() == []
    [alert] = pillar.journal.alerts
    assert alert.kind == "adjustment_rejected" and entry.adjustment_id in alert.message and code in alert.message
    await pillar.close()

    pillar = await Pillar(shop, path).open()
    assert pillar.journal.get_adjustment(entry.adjustment_id) == entry, "final: never sent again"
    assert await pillar.restock.deliver_pending() == 0
    assert central(shop) == (5, 0)
    await pillar.close()


async def test_stock_when_the_central_api_cannot_be_asked_still_lists_the_variants(shop, tmp_path):
    pillar = await Pillar(shop, tmp_path / "journal.json", transport=drop(("/v1/stock:query",))).open()
    product = (await pillar.api.catalog_page(limit=1)).items[0]
    shown = await pillar.restock.stock_for(product)
    assert not shown.reachable and shown.error == "ApiConnectionError" and shown.as_of is None
    assert [(v.sku, v.available) for v in shown.variants] == [(v.sku, None) for v in product.variants]
    entry = await pillar.restock.record(DEMO_STAFF_ID, SKU, "counted", 11)  # counting still works
    assert entry.state is AdjustmentState.acknowledged
    assert (await pillar.restock.stock_for_skus([SKU])).variants[0].on_hand == 11
    await pillar.close()


# --- the journal's adjustments table ------------------------------------------------------------


def request(n: int = 1, **kw) -> StockAdjustmentRequest:
    return StockAdjustmentRequest(adjustment_id=f"adj-{n}", sku=SKU, kind=kw.pop("kind", "received"),
                                  quantity=kw.pop("quantity", 3), made_at=datetime(2026, 11, 23, 12, tzinfo=UTC), **kw)


def adjustment(n: int = 1, **kw) -> AdjustmentEntry:
    return AdjustmentEntry(adjustment_id=f"adj-{n}", request=request(n), staff_id=DEMO_STAFF_ID, **kw)


def answer(n: int = 1, **kw) -> StockAdjustment:
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    return StockAdjustment(adjustment_id=f"adj-{n}", sku=SKU, store_id=HERE, kind="received", quantity=3, delta=3,
                           on_hand=8, available=8, staff_id=DEMO_STAFF_ID, made_at=at, recorded_at=at, **kw)


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 23, 12, 15, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


async def test_a_pending_adjustment_survives_reopening_next_to_the_orders(tmp_path):
    from test_journal import entry as order_entry

    journal = Journal(tmp_path / "journal.json")
    await journal.open()
    order = await journal.create(order_entry(1))
    raw_without = journal.path.read_bytes()
    assert b"adjustments" not in raw_without, "a journal without adjustments is the file it always was"
    added = await journal.add_adjustment(adjustment(1))
    sent = await journal.advance_adjustment("adj-1", AdjustmentState.sent, attempts=1)
    waiting = await journal.advance_adjustment("adj-1", AdjustmentState.pending, last_error="ApiConnectionError",
                                               next_attempt_at=sent.updated_at + timedelta(seconds=5))
    assert added.created_at == waiting.created_at
    raw = journal.path.read_bytes()
    generation, data = decode(raw)
    assert raw == encode(data, generation), "incremental writes match a full one with two tables"
    assert set(data) == {"orders", "adjustments"}
    journal.close()

    again = Journal(tmp_path / "journal.json")
    assert await again.open() == []
    assert again.pending_adjustments() == [waiting]
    assert again.get(order.order_id) == order and again.depth() == 1
    assert again.oldest_pending_adjustment_at() == added.created_at
    again.close()


async def test_the_adjustment_life_cycle_is_checked(tmp_path):
    journal = Journal(tmp_path / "journal.json")
    await journal.open()
    await journal.add_adjustment(adjustment(1))
    with pytest.raises(JournalError):
        await journal.add_adjustment(adjustment(1))
    with pytest.raises(IllegalAdjustmentTransition):
        await journal.advance_adjustment("adj-1", AdjustmentState.acknowledged, result=answer(1))
    with pytest.raises(JournalError):
        await journal.advance_adjustment("adj-1", AdjustmentState.sent, request=request(2))
    await journal.advance_adjustment("adj-1", AdjustmentState.sent, attempts=1)
    with pytest.raises(ValueError):  # pydantic: an acknowledgement needs its answer
        await journal.advance_adjustment("adj-1", AdjustmentState.acknowledged)
    with pytest.raises(ValueError):
        await journal.advance_adjustment("adj-1", AdjustmentState.acknowledged, result=answer(2))
    with pytest.raises(ValueError):
        await journal.advance_adjustment("adj-1", AdjustmentState.rejected)  # no reason
    done = await journal.advance_adjustment("adj-1", AdjustmentState.acknowledged, result=answer(1))
    with pytest.raises(IllegalAdjustmentTransition):
        await journal.advance_adjustment("adj-1", AdjustmentState.sent)
    assert journal.get_adjustment("adj-1") == done
    with pytest.raises(ValueError):
        AdjustmentEntry(adjustment_id="adj-1", request=request(2), staff_id=DEMO_STAFF_ID)
    with pytest.raises(ValueError):
        AdjustmentEntry(adjustment_id="adj-3", request=request(3, note="4761739001010010"), staff_id=DEMO_STAFF_ID)
    journal.close()


async def test_compaction_drops_old_finished_adjustments_and_keeps_pending_ones(tmp_path):
    clock = Clock()
    journal = Journal(tmp_path / "journal.json", clock=clock)
    await journal.open()
    for n in (1, 2, 3):
        await journal.add_adjustment(adjustment(n))
        await journal.advance_adjustment(f"adj-{n}", AdjustmentState.sent, attempts=1)
    await journal.advance_adjustment("adj-1", AdjustmentState.acknowledged, result=answer(1))
    await journal.advance_adjustment("adj-2", AdjustmentState.rejected, last_error="unknown_sku (HTTP 422)")
    clock.at += timedelta(days=40)
    await journal.add_adjustment(adjustment(4))
    await journal.advance_adjustment("adj-4", AdjustmentState.sent, attempts=1)
    await journal.advance_adjustment("adj-4", AdjustmentState.acknowledged, result=answer(4))

    assert await journal.compact(timedelta(days=30)) == 2
    assert [e.adjustment_id for e in journal.adjustments()] == ["adj-3", "adj-4"]
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.name.endswith(".lock"))
    assert b'"adj-1"' not in files and b'"adj-2"' not in files, "gone from .prev too"
    journal.close()
    again = Journal(tmp_path / "journal.json")
    await again.open()
    assert [e.adjustment_id for e in again.adjustments()] == ["adj-3", "adj-4"]
    assert [e.adjustment_id for e in again.pending_adjustments()] == ["adj-3"]
    again.close()


async def test_adjustments_only_in_a_damaged_file_are_named_for_staff(tmp_path):
    journal = Journal(tmp_path / "journal.json")
    await journal.open()
    await journal.add_adjustment(adjustment(1))
    await journal.add_adjustment(adjustment(2))  # .prev now holds adj-1 only
    journal.close()
    journal.path.write_bytes(journal.path.read_bytes()[:-40])  # torn
    again = Journal(journal.path)
    alerts = await again.open()
    assert [a.kind for a in alerts] == ["journal_recovered", "adjustment_possibly_lost"]
    assert "adj-2" in alerts[1].message and "adj-1" not in alerts[1].message
    assert [e.adjustment_id for e in again.pending_adjustments()] == ["adj-1"]
    again.close()


# --- wired into the app's services --------------------------------------------------------------


async def test_the_apps_background_loop_delivers_adjustments(tmp_path):
    server = start_server(tmp_path / "central.sqlite", seed_articles=20)  # on the real clock, as a pillar is
    settings = kiosk_settings(server.base_url, tmp_path)
    faults = drop()
    api = CentralApi(server.base_url, DEMO_KIOSK_TOKEN, retries=0, transport=faults)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    services = KioskServices(settings, api, terminal)
    await services.open_journal()
    try:
        entry = await services.restock.record(DEMO_STAFF_ID, SKU, "received", 6)
        assert entry.state is AdjustmentState.pending
        faults.enabled = False
        background = asyncio.create_task(services.run_outbox())
        try:
            await wait_for(lambda: not services.journal.pending_adjustments())
        finally:
            background.cancel()
        done = services.journal.get_adjustment(entry.adjustment_id)
        assert done.state is AdjustmentState.acknowledged and done.result.delta == 6
        with sqlite3.connect(server.db_path) as db:
            assert db.execute("SELECT COUNT(*) FROM stock_adjustments").fetchone()[0] == 1
    finally:
        await services.aclose()
        server.stop()
