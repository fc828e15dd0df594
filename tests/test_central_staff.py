"""Staff on the reference server: who works in a shop, and their stock adjustments (received, counted).

A count sets what was on the shelf at its moment: sales after that moment still count against it,
whether they reached the server before the count did or after; what happened before it is in it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta

import httpx
import pytest

from central import catalog_data
from central.db import token_hash
from central.seed import DEMO_KIOSK_ID, DEMO_MANAGER_ID, DEMO_STAFF_ID, DEMO_STORE_ID, STORE_IDS
from kiosk.contract import (
    Fulfilment,
    ItemIn,
    OrderLineIn,
    OrderRequest,
    Quote,
    QuoteRequest,
    StaffMember,
    StockAdjustment,
    StockAdjustmentRequest,
)
from support.central_server import new_id
from support.orders import stock_server
from test_central_http import assert_error

HERE = DEMO_STORE_ID
AWAY = "amersfoort-centrum"
SKU = "P000001-01"
AWAY_TOKEN = "amersfoort-kiosk-token"


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        with sqlite3.connect(server.server.db_path) as db:  # a kiosk in another shop
            db.execute("INSERT INTO kiosks (token_sha256, kiosk_id, store_id) VALUES (?, 'kiosk-amf', ?)",
                       (token_hash(AWAY_TOKEN), AWAY))
        yield server


def as_staff(staff_id: str | None = DEMO_STAFF_ID, token: str | None = None) -> dict[str, str]:
    return ({"X-Staff-Id": staff_id} if staff_id else {}) | ({"Authorization": f"Bearer {token}"} if token else {})


def adjustment(kind: str, quantity: int, made_at: datetime, *, sku: str = SKU, note: str | None = None
               ) -> StockAdjustmentRequest:
    return StockAdjustmentRequest(adjustment_id=new_id("adj"), sku=sku, kind=kind, quantity=quantity,
                                  made_at=made_at, note=note)


def send(shop, request: StockAdjustmentRequest, *, staff_id: str | None = DEMO_STAFF_ID, key: str | None = None,
         token: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Idempotency-Key": key or request.adjustment_id,
               **as_staff(staff_id, token)}
    return shop.http.post("/v1/stock-adjustments", content=request.model_dump_json(), headers=headers)


def adjusted(shop, request: StockAdjustmentRequest, **kwargs) -> StockAdjustment:
    response = send(shop, request, **kwargs)
    assert response.status_code == 201, response.text
    return StockAdjustment.model_validate_json(response.content)


def sell(shop, quantity: int, sku: str = SKU) -> None:
    """A take-now sale at the kiosk now (server clock): an order that takes the stock."""
    quote = Quote.model_validate_json(shop.post("/v1/quotes", QuoteRequest(
        store_id=HERE, lines=[ItemIn(sku=sku, quantity=quantity)])).content)
    price = quote.lines[0].unit_price_cents
    order_id = new_id("order")
    request = OrderRequest(order_id=order_id, kiosk_id=DEMO_KIOSK_ID, store_id=HERE,
                           lines=[OrderLineIn(sku=sku, quantity=quantity, unit_price_cents=price)],
                           total_cents=quantity * price, payment_id=shop.pay(order_id, quantity * price),
                           fulfilment=Fulfilment(type="take_now", store_id=HERE))
    response = shop.post("/v1/orders", request, key=order_id)
    assert response.status_code == 201, response.text


def on_hand(shop, sku: str = SKU) -> int:
    return shop.shown(sku, HERE).quantity  # nothing is held in these tests: available = on hand


# --- staff ---------------------------------------------------------------------------------------


def test_the_demo_shop_has_its_two_fixed_staff_members_with_their_badges(shop):
    response = shop.http.get("/v1/staff")
    assert response.status_code == 200, response.text
    staff = [StaffMember.model_validate(m) for m in response.json()]
    assert staff == [
        StaffMember(staff_id="s-utr-1", name="Sanne de Vries", role="staff", badge_uids=["04A1B2C3D4E5F6"]),
        StaffMember(staff_id="s-utr-2", name="Mehmet Yilmaz", role="manager", badge_uids=["04112233445566"]),
    ]
    assert (DEMO_STAFF_ID, DEMO_MANAGER_ID) == ("s-utr-1", "s-utr-2")


def test_every_shop_has_staff_and_a_manager_and_a_kiosk_sees_only_its_own(shop):
    seeded = {store_id: [s for s in catalog_data.STAFF if s[2] == store_id] for store_id in STORE_IDS}
    assert all(len(members) >= 2 and any(m[3] == "manager" for m in members) for members in seeded.values())
    uids = [uid for member in catalog_data.STAFF for uid in member[4]]
    assert len(uids) == len(set(uids)), "a badge belongs to one person"
    assert all(re.fullmatch(r"(?:[0-9A-F]{2}){4,10}", uid) for uid in uids)
    away = shop.http.get("/v1/staff", headers={"Authorization": f"Bearer {AWAY_TOKEN}"}).json()
    assert [m["staff_id"] for m in away] == ["s-amf-1", "s-amf-2"]


def test_an_inactive_staff_member_is_not_listed_and_cannot_act(shop):
    with sqlite3.connect(shop.server.db_path) as db:
        db.execute("UPDATE staff SET active = 0 WHERE staff_id = ?", (DEMO_MANAGER_ID,))
    assert [m["staff_id"] for m in shop.http.get("/v1/staff").json()] == [DEMO_STAFF_ID]
    request = adjustment("received", 1, shop.clock.now)
    assert_error(send(shop, request, staff_id=DEMO_MANAGER_ID), 403, "staff_unknown")


def test_staff_routes_need_a_known_staff_member_of_the_kiosks_own_shop(shop):
    before = on_hand(shop)
    request = adjustment("received", 1, shop.clock.now)
    assert_error(send(shop, request, staff_id=None), 401, "staff_required")
    assert_error(send(shop, request, staff_id="s-nobody"), 403, "staff_unknown")
    assert_error(send(shop, request, staff_id="s-amf-1"), 403, "staff_unknown")  # works in another shop
    assert_error(shop.http.get("/v1/pick-lists", headers=as_staff(None)), 401, "staff_required")
    assert_error(shop.http.get(f"/v1/stock-adjustments/{request.adjustment_id}", headers=as_staff("s-nobody")),
                 403, "staff_unknown")
    no_token = httpx.post(f"{shop.server.base_url}/v1/stock-adjustments", content=request.model_dump_json(),
                          headers={"Content-Type": "application/json", "Idempotency-Key": request.adjustment_id,
                                   **as_staff()})
    assert_error(no_token, 401, "unauthorized")
    assert_error(httpx.get(f"{shop.server.base_url}/v1/staff"), 401, "unauthorized")
    assert on_hand(shop) == before, "nothing was adjusted"
    with sqlite3.connect(shop.server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM stock_adjustments").fetchone()[0] == 0


# --- received ------------------------------------------------------------------------------------


def test_received_adds_to_the_kiosks_own_shop(shop):
    shop.set_stock(SKU, HERE, 4)
    shop.set_stock(SKU, AWAY, 2)
    made_at = shop.clock.now - timedelta(minutes=10)
    answer = adjusted(shop, adjustment("received", 6, made_at, note="levering 12"))
    assert (answer.kind, answer.quantity, answer.delta, answer.on_hand, answer.available) == ("received", 6, 6, 10, 10)
    assert (answer.store_id, answer.staff_id, answer.note) == (HERE, DEMO_STAFF_ID, "levering 12")
    assert answer.made_at == made_at and answer.recorded_at == shop.clock.now
    assert on_hand(shop) == 10
    assert shop.shown(SKU, AWAY).quantity == 2, "always the kiosk's own shop"
    # The other shop's kiosk and staff adjust their own.
    away = adjusted(shop, adjustment("received", 3, shop.clock.now), staff_id="s-amf-2", token=AWAY_TOKEN)
    assert (away.store_id, away.on_hand) == (AWAY, 5)
    assert on_hand(shop) == 10


@pytest.mark.parametrize("kind, quantity", [("received", 0), ("received", 10_001), ("counted", -1),
                                            ("counted", 100_001)])
def test_quantities_out_of_range_are_refused(shop, kind, quantity):
    body = {"adjustment_id": "adj-range", "sku": SKU, "kind": kind, "quantity": quantity,
            "made_at": shop.clock.now.isoformat()}
    response = shop.http.post("/v1/stock-adjustments", json=body,
                              headers={"Idempotency-Key": "adj-range", **as_staff()})
    assert_error(response, 422, "validation_error")


def test_a_made_at_without_time_zone_or_far_ahead_is_refused_a_little_ahead_is_now(shop):
    body = {"adjustment_id": "adj-naive", "sku": SKU, "kind": "received", "quantity": 1,
            "made_at": "2025-05-13T10:00:00"}
    response = shop.http.post("/v1/stock-adjustments", json=body,
                              headers={"Idempotency-Key": "adj-naive", **as_staff()})
    assert_error(response, 422, "validation_error")
    assert_error(send(shop, adjustment("received", 1, shop.clock.now + timedelta(hours=1))), 422, "made_at_in_future")
    ahead = adjusted(shop, adjustment("received", 1, shop.clock.now + timedelta(minutes=2)))
    assert ahead.made_at == shop.clock.now, "a kiosk clock a little ahead is taken as now"


def test_an_unknown_sku_is_a_422_and_moves_nothing(shop):
    assert_error(send(shop, adjustment("counted", 3, shop.clock.now, sku="P999999-01")), 422, "unknown_sku")
    with sqlite3.connect(shop.server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM stock_moves WHERE sku = 'P999999-01'").fetchone()[0] == 0


# --- counted -------------------------------------------------------------------------------------


def test_a_count_sets_the_shelf_at_its_moment_and_later_sales_still_count(shop):
    shop.set_stock(SKU, HERE, 10)                      # 10:00
    shop.clock.advance(minutes=15)
    sell(shop, 1)                                      # 10:15, before the count: in it
    counted_at = shop.clock.now + timedelta(minutes=15)  # 10:30
    shop.clock.advance(minutes=30)
    sell(shop, 2)                                      # 10:45, after the count, reaching the server before it
    shop.clock.advance(minutes=5)                      # 10:50: the count arrives
    assert on_hand(shop) == 7
    count = adjusted(shop, adjustment("counted", 6, counted_at))
    # On hand before 10:30 was 9 (10 - 1); the shelf had 6: three were missing.
    assert (count.delta, count.on_hand, count.available) == (-3, 4, 4)
    assert on_hand(shop) == 4, "6 counted at 10:30, 2 sold since"
    shop.clock.advance(minutes=10)
    sell(shop, 1)                                      # 11:00, after the count reached the server
    assert on_hand(shop) == 3


def test_a_count_of_zero_and_more_than_expected(shop):
    shop.set_stock(SKU, HERE, 5)
    shop.clock.advance(minutes=1)
    assert adjusted(shop, adjustment("counted", 0, shop.clock.now)).delta == -5
    assert on_hand(shop) == 0
    shop.clock.advance(minutes=1)
    more = adjusted(shop, adjustment("counted", 12, shop.clock.now))
    assert (more.delta, more.on_hand) == (12, 12)


def test_what_arrives_after_a_later_count_is_already_in_that_count(shop):
    shop.set_stock(SKU, HERE, 10)                      # 10:00
    start = shop.clock.now
    shop.clock.advance(hours=2)
    latest = adjusted(shop, adjustment("counted", 4, start + timedelta(hours=1)))  # counted at 11:00
    assert (latest.delta, on_hand(shop)) == (-6, 4)
    # A kiosk that was offline sends a count of 10:30 and goods received at 10:45: both were on the
    # shelf when it was counted at 11:00, so they change nothing.
    older = adjusted(shop, adjustment("counted", 9, start + timedelta(minutes=30)))
    received = adjusted(shop, adjustment("received", 5, start + timedelta(minutes=45)))
    assert (older.delta, received.delta) == (0, 0)
    assert on_hand(shop) == 4
    # Goods received after the latest count are added.
    assert adjusted(shop, adjustment("received", 5, start + timedelta(hours=1, minutes=30))).delta == 5
    assert on_hand(shop) == 9


# --- idempotency and reading back ----------------------------------------------------------------


def test_the_same_adjustment_is_replayed_not_applied_twice(shop):
    shop.set_stock(SKU, HERE, 2)
    request = adjustment("received", 3, shop.clock.now)
    first = send(shop, request)
    assert first.status_code == 201, first.text
    again = send(shop, request)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert on_hand(shop) == 5, "added once"
    assert_error(send(shop, request.model_copy(update={"quantity": 4})), 409, "idempotency_conflict")
    assert_error(send(shop, request, staff_id=DEMO_MANAGER_ID), 409, "idempotency_conflict")
    assert_error(send(shop, request, key="another-key"), 422, "idempotency_key_mismatch")
    missing = shop.http.post("/v1/stock-adjustments", content=request.model_dump_json(),
                             headers={"Content-Type": "application/json", **as_staff()})
    assert_error(missing, 400, "idempotency_key_missing")
    assert on_hand(shop) == 5


def test_a_refused_adjustment_can_be_sent_again_with_the_same_key(shop):
    request = adjustment("received", 2, shop.clock.now + timedelta(hours=1))
    assert_error(send(shop, request), 422, "made_at_in_future")
    shop.clock.advance(hours=1)  # the kiosk's clock was right after all
    assert adjusted(shop, request).delta == 2


def test_an_adjustment_can_be_read_back_in_its_own_shop_only(shop):
    made = adjusted(shop, adjustment("counted", 7, shop.clock.now))
    path = f"/v1/stock-adjustments/{made.adjustment_id}"
    response = shop.http.get(path, headers=as_staff(DEMO_MANAGER_ID))
    assert response.status_code == 200, response.text
    assert StockAdjustment.model_validate_json(response.content) == made
    assert_error(shop.http.get(path, headers=as_staff("s-amf-1", AWAY_TOKEN)), 404, "not_found")
    assert_error(shop.http.get("/v1/stock-adjustments/never-made", headers=as_staff()), 404, "not_found")
    assert_error(shop.http.get(path), 401, "staff_required")
