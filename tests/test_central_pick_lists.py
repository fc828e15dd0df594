"""Pick lists on the reference server: a shop's pickup orders, picked and handed over by its staff.

Only that shop's pickup orders, with what staff need to find the goods and the shopper (the
receipt's reference, the shelf) and no personal data; handed-over ones until the end of the Dutch day.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from central.db import token_hash
from central.seed import DEMO_KIOSK_ID, DEMO_MANAGER_ID, DEMO_STAFF_ID, DEMO_STORE_ID, shelf_location
from kiosk.contract import (
    DeliveryAddress,
    Fulfilment,
    ItemIn,
    Order,
    OrderLineIn,
    OrderRequest,
    PickList,
    PickOrder,
    Quote,
    QuoteRequest,
)
from support.central_server import new_id
from support.orders import stock_server
from test_central_http import assert_error

HERE = DEMO_STORE_ID
AWAY = "amersfoort-centrum"
AWAY_TOKEN = "amersfoort-kiosk-token"
SKU, OTHER = "P000001-01", "P000003-01"
PICKUP_HERE = Fulfilment(type="pickup", store_id=HERE)
STAFF = {"X-Staff-Id": DEMO_STAFF_ID}
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        with sqlite3.connect(server.server.db_path) as db:  # a kiosk in another shop
            db.execute("INSERT INTO kiosks (token_sha256, kiosk_id, store_id) VALUES (?, 'kiosk-amf', ?)",
                       (token_hash(AWAY_TOKEN), AWAY))
        for sku in (SKU, OTHER):
            server.set_stock(sku, HERE, 20)
            server.set_stock(sku, AWAY, 20)
        yield server


def order(shop, lines, fulfilment: Fulfilment = PICKUP_HERE, *, reference: str | None = None) -> Order:
    """A paid order placed by the demo kiosk; its id is the kiosk's '<kiosk id>.<reference>' when given."""
    quote = Quote.model_validate_json(shop.post("/v1/quotes", QuoteRequest(
        store_id=HERE, lines=[ItemIn(sku=s, quantity=q) for s, q in lines])).content)
    price = {line.sku: line.unit_price_cents for line in quote.lines}
    total = sum(q * price[s] for s, q in lines) + fulfilment.cost_cents
    order_id = f"{DEMO_KIOSK_ID}.{reference}" if reference else new_id("order")
    request = OrderRequest(order_id=order_id, kiosk_id=DEMO_KIOSK_ID, store_id=HERE,
                           lines=[OrderLineIn(sku=s, quantity=q, unit_price_cents=price[s]) for s, q in lines],
                           total_cents=total, payment_id=shop.pay(order_id, total), fulfilment=fulfilment)
    response = shop.post("/v1/orders", request, key=order_id)
    assert response.status_code == 201, response.text
    return Order.model_validate_json(response.content)


def pick_list(shop, headers: dict | None = None, **params) -> PickList:
    response = shop.http.get("/v1/pick-lists", params=params, headers=STAFF if headers is None else headers)
    assert response.status_code == 200, response.text
    return PickList.model_validate_json(response.content)


def mark(shop, order_id: str, step: str, staff_id: str = DEMO_STAFF_ID, token: str | None = None) -> httpx.Response:
    headers = {"X-Staff-Id": staff_id} | ({"Authorization": f"Bearer {token}"} if token else {})
    return shop.http.post(f"/v1/pick-lists/{order_id}/{step}", headers=headers)


def marked(shop, order_id: str, step: str, staff_id: str = DEMO_STAFF_ID) -> PickOrder:
    response = mark(shop, order_id, step, staff_id)
    assert response.status_code == 200, response.text
    return PickOrder.model_validate_json(response.content)


def order_status(shop, order_id: str) -> str:
    return Order.model_validate_json(shop.http.get(f"/v1/orders/{order_id}").content).status.value


# --- contents ------------------------------------------------------------------------------------


def test_only_this_shops_pickup_orders_are_on_its_pick_list(shop):
    mine = order(shop, [(SKU, 2), (OTHER, 1)], reference="7KQ2M9XA")
    shop.set_stock(SKU, HERE, 0)
    sent = order(shop, [(SKU, 1)])  # none left here: sent from the warehouse, ready later
    order(shop, [(OTHER, 1)], Fulfilment(type="take_now", store_id=HERE))
    order(shop, [(SKU, 1)], Fulfilment(type="pickup", store_id=AWAY))
    delivery = Fulfilment(type="delivery", cost_cents=0, delivery=DeliveryAddress(
        postcode="3511AB", house_number=12, email="jan.jansen@example.nl"))
    order(shop, [(OTHER, 20)], delivery)

    listed = pick_list(shop)
    assert listed.store_id == HERE and listed.generated_at == shop.clock.now
    assert [o.order_id for o in listed.orders] == [mine.order_id, sent.order_id], "by ready day"
    assert listed.orders[1].ready_on > listed.orders[0].ready_on == date(2025, 5, 13)
    assert (listed.counts.to_pick, listed.counts.picked, listed.counts.handed_over_today) == (2, 0, 0)

    first = listed.orders[0]
    assert (first.reference, first.order_number, first.status) == ("7KQ2-M9XA", mine.order_number, "to_pick")
    assert first.placed_at == mine.created_at
    assert listed.orders[1].reference == sent.order_number, "an order id of another form: the order number"
    assert [(line.sku, line.quantity) for line in first.lines] == [(SKU, 2), (OTHER, 1)]
    for line, ordered in zip(first.lines, mine.lines):
        assert ordered.name.startswith(line.name)
        assert line.location == shelf_location(line.sku, HERE)
        assert "—" not in line.name, "the variant is apart from the name"
    assert (first.picked_by, first.handed_over_by, first.customer_name) == (None, None, None)


def test_a_pick_list_carries_no_personal_data(shop):
    pickup = order(shop, [(SKU, 1)])
    response = shop.http.get("/v1/pick-lists", headers=STAFF)
    assert response.status_code == 200
    [entry] = response.json()["orders"]
    assert entry["order_id"] == pickup.order_id
    assert set(entry) == {"order_id", "reference", "order_number", "placed_at", "ready_on", "status",
                          "customer_name", "lines", "picked_by", "picked_at", "handed_over_by", "handed_over_at"}
    assert set(entry["lines"][0]) == {"sku", "name", "variant", "quantity", "location"}
    text = response.text
    for private in ("@", "payment", pickup.payment_id, "card", "postcode", "email", "total"):
        assert private not in text


def test_variants_are_shown_as_the_kiosk_shows_them(shop):
    with sqlite3.connect(shop.server.db_path) as db:
        sku, size, colour = db.execute(
            "SELECT sku, size, colour FROM variants WHERE size IS NOT NULL OR colour IS NOT NULL"
            " ORDER BY product_row, position LIMIT 1").fetchone()
    shop.set_stock(sku, HERE, 5)
    order(shop, [(sku, 1)])
    [line] = pick_list(shop).orders[0].lines
    assert line.variant == " · ".join(p for p in (size, colour) if p)


def test_the_store_parameter_is_the_kiosks_own_shop_or_a_403(shop):
    order(shop, [(SKU, 1)])
    assert len(pick_list(shop, store=HERE).orders) == 1
    assert_error(shop.http.get("/v1/pick-lists", params={"store": AWAY}, headers=STAFF), 403, "store_mismatch")
    assert_error(shop.http.get("/v1/pick-lists", params={"store": "nowhere"}, headers=STAFF), 403, "store_mismatch")
    assert_error(shop.http.get("/v1/pick-lists", headers={"X-Staff-Id": "s-amf-1"}), 403, "staff_unknown")
    assert_error(shop.http.get("/v1/pick-lists"), 401, "staff_required")


def test_another_shops_kiosk_sees_its_own_pickups_only(shop):
    order(shop, [(SKU, 1)])
    theirs = order(shop, [(OTHER, 1)], Fulfilment(type="pickup", store_id=AWAY))
    away = pick_list(shop, {"Authorization": f"Bearer {AWAY_TOKEN}", "X-Staff-Id": "s-amf-1"})
    assert [o.order_id for o in away.orders] == [theirs.order_id]
    assert away.orders[0].lines[0].location == shelf_location(OTHER, AWAY)


# --- picking and handing over --------------------------------------------------------------------


def test_an_order_is_picked_then_handed_over_and_the_order_follows(shop):
    placed = order(shop, [(SKU, 1)])
    assert_error(mark(shop, placed.order_id, "handed-over"), 409, "not_picked")
    assert pick_list(shop).orders[0].status == "to_pick"

    shop.clock.advance(minutes=20)
    picked = marked(shop, placed.order_id, "picked")
    assert (picked.status, picked.picked_by, picked.picked_at) == ("picked", DEMO_STAFF_ID, shop.clock.now)
    assert order_status(shop, placed.order_id) == "ready"
    shop.clock.advance(minutes=5)
    assert marked(shop, placed.order_id, "picked", DEMO_MANAGER_ID) == picked, "a repeat answers the same"
    assert pick_list(shop).counts.picked == 1

    shop.clock.advance(hours=2)
    handed = marked(shop, placed.order_id, "handed-over", DEMO_MANAGER_ID)
    assert (handed.status, handed.picked_by, handed.handed_over_by) == ("handed_over", DEMO_STAFF_ID, DEMO_MANAGER_ID)
    assert handed.handed_over_at == shop.clock.now
    assert order_status(shop, placed.order_id) == "completed"
    assert marked(shop, placed.order_id, "handed-over") == handed
    assert marked(shop, placed.order_id, "picked") == handed, "never back to picked"
    counts = pick_list(shop).counts
    assert (counts.to_pick, counts.picked, counts.handed_over_today) == (0, 0, 1)


def test_handed_over_orders_leave_the_list_when_the_dutch_day_ends(shop):
    placed = order(shop, [(SKU, 1)])
    waiting = order(shop, [(OTHER, 1)])
    marked(shop, placed.order_id, "picked")
    marked(shop, placed.order_id, "handed-over")
    # 23:55 in Utrecht is 21:55 UTC, and 00:05 is still the same day in UTC: the shop's day counts.
    shop.clock.now = datetime(2025, 5, 13, 23, 55, tzinfo=AMSTERDAM)
    assert [o.order_id for o in pick_list(shop).orders] == [placed.order_id, waiting.order_id]
    shop.clock.now = datetime(2025, 5, 14, 0, 5, tzinfo=AMSTERDAM)
    listed = pick_list(shop)
    assert [o.order_id for o in listed.orders] == [waiting.order_id], "not yet picked: stays"
    assert (listed.counts.to_pick, listed.counts.handed_over_today) == (1, 0)
    assert marked(shop, placed.order_id, "handed-over").status == "handed_over", "still answers"


def test_other_shops_and_other_kinds_of_orders_cannot_be_picked_here(shop):
    theirs = order(shop, [(SKU, 1)], Fulfilment(type="pickup", store_id=AWAY))
    taken = order(shop, [(SKU, 1)], Fulfilment(type="take_now", store_id=HERE))
    for order_id in (theirs.order_id, taken.order_id, "never-placed"):
        assert_error(mark(shop, order_id, "picked"), 404, "not_found")
        assert_error(mark(shop, order_id, "handed-over"), 404, "not_found")
    assert order_status(shop, theirs.order_id) == "placed"
    # Their own staff, at their own kiosk, can.
    response = mark(shop, theirs.order_id, "picked", "s-amf-2", AWAY_TOKEN)
    assert response.status_code == 200, response.text
    assert PickOrder.model_validate_json(response.content).picked_by == "s-amf-2"


def test_marking_needs_staff_of_this_shop(shop):
    placed = order(shop, [(SKU, 1)])
    assert_error(shop.http.post(f"/v1/pick-lists/{placed.order_id}/picked"), 401, "staff_required")
    assert_error(mark(shop, placed.order_id, "picked", "s-amf-1"), 403, "staff_unknown")
    assert_error(mark(shop, placed.order_id, "picked", token="not-a-known-token"), 401, "unauthorized")
    assert pick_list(shop).orders[0].status == "to_pick"


def test_the_tracking_page_says_when_it_is_ready(shop):
    placed = order(shop, [(SKU, 1)])
    marked(shop, placed.order_id, "picked")
    page = httpx.get(f"{shop.server.base_url}/track/{placed.order_id}")
    assert "Klaar om op te halen" in page.text
