"""Reservations and the orders that commit them: stock is held before paying and taken for good by
the order; what vanished meanwhile is a 409 with the shortages, never an order without stock."""

from __future__ import annotations

import sqlite3
from datetime import date

import httpx
import pytest

from central.db import token_hash
from central.fulfilment import DELIVERY_COST_CENTS
from central.seed import DEMO_KIOSK_ID, DEMO_STORE_ID
from kiosk.contract import (
    DeliveryAddress,
    Fulfilment,
    ItemIn,
    Order,
    OrderLineIn,
    OrderRequest,
    Quote,
    QuoteRequest,
    Reservation,
    ReservationRequest,
    Shortage,
)
from support.central_server import new_id
from support.orders import stock_server
from test_central_http import assert_error

HERE = DEMO_STORE_ID
SKU, OTHER = "P000001-01", "P000003-01"
THURSDAY = date(2025, 5, 15)  # two days after the test clock's Tuesday
TAKE_NOW = Fulfilment(type="take_now", store_id=HERE)
ADDRESS = DeliveryAddress(postcode="3511AB", house_number=12, house_number_addition="bis", email="jan@example.nl")


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        yield server


def reservation_request(lines, fulfilment: Fulfilment = TAKE_NOW) -> ReservationRequest:
    return ReservationRequest(reservation_id=new_id("res"), store_id=HERE,
                              lines=[ItemIn(sku=s, quantity=q) for s, q in lines], fulfilment=fulfilment)


def reserve(shop, request: ReservationRequest, key: str | None = None) -> httpx.Response:
    return shop.post("/v1/reservations", request, key=key or request.reservation_id)


def held(shop, lines, fulfilment: Fulfilment = TAKE_NOW) -> Reservation:
    response = reserve(shop, reservation_request(lines, fulfilment))
    assert response.status_code == 201, response.text
    return Reservation.model_validate_json(response.content)


def prices(shop, lines) -> dict[str, int]:
    quote = Quote.model_validate_json(shop.post("/v1/quotes", QuoteRequest(
        store_id=HERE, lines=[ItemIn(sku=s, quantity=q) for s, q in lines])).content)
    return {line.sku: line.unit_price_cents for line in quote.lines}


def paid_order(shop, lines, fulfilment: Fulfilment = TAKE_NOW, *, reservation_id: str | None = None,
               total_cents: int | None = None, kiosk_id: str = DEMO_KIOSK_ID) -> OrderRequest:
    """An order for `lines` (sku, quantity) at today's prices, paid for its total (lines + cost)."""
    price = prices(shop, lines)
    total = sum(q * price[s] for s, q in lines) + fulfilment.cost_cents if total_cents is None else total_cents
    order_id = new_id("order")
    return OrderRequest(order_id=order_id, kiosk_id=kiosk_id, store_id=HERE,
                        lines=[OrderLineIn(sku=s, quantity=q, unit_price_cents=price[s]) for s, q in lines],
                        total_cents=total, payment_id=shop.pay(order_id, total), fulfilment=fulfilment,
                        reservation_id=reservation_id)


def place(shop, request: OrderRequest) -> httpx.Response:
    return shop.post("/v1/orders", request, key=request.order_id)


def placed(shop, request: OrderRequest) -> Order:
    response = place(shop, request)
    assert response.status_code == 201, response.text
    return Order.model_validate_json(response.content)


# --- reservations ---------------------------------------------------------------------------------


def test_a_short_reservation_is_a_409_with_the_shortages_and_holds_nothing(shop):
    shop.set_stock(SKU, HERE, 2)
    shop.set_stock(OTHER, HERE, 9)
    body = assert_error(reserve(shop, reservation_request([(SKU, 3), (OTHER, 1)])), 409, "stock_unavailable")
    assert body.error.shortages == [Shortage(sku=SKU, store_id=HERE, wanted=3, available=2)]
    assert shop.shown(SKU, HERE).quantity == 2 and shop.shown(OTHER, HERE).quantity == 9


def test_pickup_is_held_in_the_shop_else_in_the_warehouse_else_refused_with_both_shortages(shop):
    pickup = Fulfilment(type="pickup", store_id="amersfoort-centrum")
    shop.set_stock(SKU, "amersfoort-centrum", 2)
    assert held(shop, [(SKU, 2)], pickup).store_id == "amersfoort-centrum"
    shop.set_stock(SKU, None, 1)
    sent = held(shop, [(SKU, 1)], pickup)  # the shop has none left: sent from the warehouse
    assert (sent.store_id, sent.fulfilment_type) == (None, "pickup")
    assert shop.available(SKU, None) == 0
    body = assert_error(reserve(shop, reservation_request([(SKU, 1)], pickup)), 409, "stock_unavailable")
    assert body.error.shortages == [Shortage(sku=SKU, store_id="amersfoort-centrum", wanted=1, available=0),
                                    Shortage(sku=SKU, store_id=None, wanted=1, available=0)]


def test_a_reservation_is_replayed_not_held_twice(shop):
    shop.set_stock(SKU, HERE, 5)
    request = reservation_request([(SKU, 2)])
    first = reserve(shop, request)
    again = reserve(shop, request)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert shop.shown(SKU, HERE).quantity == 3, "held once"
    other = request.model_copy(update={"lines": [ItemIn(sku=SKU, quantity=1)]})
    assert_error(reserve(shop, other), 409, "idempotency_conflict")
    assert_error(reserve(shop, request, key="another-key"), 422, "idempotency_key_mismatch")
    missing = shop.http.post("/v1/reservations", content=request.model_dump_json(),
                             headers={"Content-Type": "application/json"})
    assert_error(missing, 400, "idempotency_key_missing")
    # After a release the same request answers with the reservation as it is now.
    shop.http.post(f"/v1/reservations/{request.reservation_id}/release")
    assert Reservation.model_validate_json(reserve(shop, request).content).status == "released"
    assert shop.shown(SKU, HERE).quantity == 5


def test_release_and_get_are_this_kiosks_own(shop):
    reservation = held(shop, [(SKU, 1)])
    with sqlite3.connect(shop.server.db_path) as db:
        db.execute("INSERT INTO kiosks (token_sha256, kiosk_id, store_id) VALUES (?, 'kiosk-02', ?)",
                   (token_hash("second-kiosk"), HERE))
    other = {"Authorization": "Bearer second-kiosk"}
    path = f"/v1/reservations/{reservation.reservation_id}"
    assert_error(shop.http.get(path, headers=other), 404, "not_found")
    assert_error(shop.http.post(f"{path}/release", headers=other), 404, "not_found")
    assert_error(shop.http.get("/v1/reservations/never-made"), 404, "not_found")
    assert Reservation.model_validate_json(shop.http.get(path).content).status == "held"


def test_delivery_is_held_in_the_warehouse_at_the_quoted_cost(shop):
    price = prices(shop, [(SKU, 1)])[SKU]
    assert price < 2500, "the test needs a cart below the free-delivery amount"
    free = Fulfilment(type="delivery", cost_cents=0)
    assert_error(reserve(shop, reservation_request([(SKU, 1)], free)), 409, "delivery_cost_changed")
    reservation = held(shop, [(SKU, 1)], Fulfilment(type="delivery", cost_cents=DELIVERY_COST_CENTS))
    assert (reservation.store_id, reservation.fulfilment_type) == (None, "delivery")
    to_a_shop = Fulfilment(type="delivery", store_id=HERE, cost_cents=DELIVERY_COST_CENTS)
    assert_error(reserve(shop, reservation_request([(SKU, 1)], to_a_shop)), 422, "invalid_fulfilment")
    elsewhere_now = Fulfilment(type="take_now", store_id="groningen-centrum")
    assert_error(reserve(shop, reservation_request([(SKU, 1)], elsewhere_now)), 422, "invalid_fulfilment")


# --- orders commit them -----------------------------------------------------------------------------


def test_an_order_commits_its_reservation_and_the_stock_is_gone_for_good(shop):
    shop.set_stock(SKU, HERE, 5)
    reservation = held(shop, [(SKU, 2)])
    order = placed(shop, paid_order(shop, [(SKU, 2)], reservation_id=reservation.reservation_id))
    assert (order.fulfilment_type, order.fulfilment_store_id, order.ready_on) == ("take_now", HERE, date(2025, 5, 13))
    assert order.delivery_cost_cents == 0
    assert shop.shown(SKU, HERE).quantity == 3
    shop.clock.advance(hours=2)  # long after the hold would have lapsed
    assert shop.shown(SKU, HERE).quantity == 3
    path = f"/v1/reservations/{reservation.reservation_id}"
    assert Reservation.model_validate_json(shop.http.get(path).content).status == "committed"
    assert_error(shop.http.post(f"{path}/release"), 409, "reservation_committed")
    # The same reservation cannot pay for a second order.
    assert_error(place(shop, paid_order(shop, [(SKU, 2)], reservation_id=reservation.reservation_id)),
                 422, "reservation_mismatch")


def test_without_a_reservation_the_order_reserves_and_commits_at_once(shop):
    shop.set_stock(SKU, HERE, 3)
    placed(shop, paid_order(shop, [(SKU, 1), (SKU, 1)]))
    assert shop.shown(SKU, HERE).quantity == 1
    request = paid_order(shop, [(SKU, 2)])
    body = assert_error(place(shop, request), 409, "stock_unavailable")
    assert body.error.shortages == [Shortage(sku=SKU, store_id=HERE, wanted=2, available=1)]
    assert shop.http.post(f"/v1/payments/{request.payment_id}/void").status_code == 200, "the kiosk can refund"
    assert shop.shown(SKU, HERE).quantity == 1


def test_a_lapsed_reservation_is_committed_when_the_stock_is_still_there(shop):
    shop.set_stock(SKU, HERE, 2)
    reservation = held(shop, [(SKU, 2)])
    shop.clock.advance(minutes=30)
    placed(shop, paid_order(shop, [(SKU, 2)], reservation_id=reservation.reservation_id))
    assert shop.shown(SKU, HERE).quantity == 0


def test_a_lapsed_reservation_whose_stock_was_sold_since_is_a_409(shop):
    shop.set_stock(SKU, HERE, 2)
    first = held(shop, [(SKU, 2)])
    shop.clock.advance(minutes=20)
    held(shop, [(SKU, 2)])  # another shopper takes what the lapsed hold no longer holds
    body = assert_error(place(shop, paid_order(shop, [(SKU, 2)], reservation_id=first.reservation_id)),
                        409, "stock_unavailable")
    assert body.error.shortages == [Shortage(sku=SKU, store_id=HERE, wanted=2, available=0)]
    assert Reservation.model_validate_json(
        shop.http.get(f"/v1/reservations/{first.reservation_id}").content).status == "held", "nothing committed"


def test_stock_that_vanished_under_a_held_reservation_is_a_409(shop):
    shop.set_stock(SKU, HERE, 2)
    reservation = held(shop, [(SKU, 2)])
    shop.set_stock(SKU, HERE, 1)  # staff find one broken
    body = assert_error(place(shop, paid_order(shop, [(SKU, 2)], reservation_id=reservation.reservation_id)),
                        409, "stock_unavailable")
    assert body.error.shortages[0].available == 1


@pytest.mark.parametrize("problem", ["unknown", "other_lines", "other_fulfilment", "other_kiosk"])
def test_an_order_must_match_its_reservation(shop, problem):
    shop.set_stock(SKU, HERE, 5)
    shop.set_stock(OTHER, HERE, 5)
    reservation = held(shop, [(SKU, 1)])
    kiosk_id, lines, fulfilment = DEMO_KIOSK_ID, [(SKU, 1)], TAKE_NOW
    reservation_id = reservation.reservation_id
    if problem == "unknown":
        reservation_id = "res-never-made"
    elif problem == "other_lines":
        lines = [(SKU, 1), (OTHER, 1)]
    elif problem == "other_fulfilment":
        fulfilment = Fulfilment(type="pickup", store_id=HERE)
    else:
        with sqlite3.connect(shop.server.db_path) as db:
            db.execute("INSERT INTO kiosks (token_sha256, kiosk_id, store_id) VALUES (?, 'kiosk-02', ?)",
                       (token_hash("second-kiosk"), HERE))
        shop.http.headers["Authorization"] = "Bearer second-kiosk"
        kiosk_id = "kiosk-02"
    request = paid_order(shop, lines, fulfilment, reservation_id=reservation_id, kiosk_id=kiosk_id)
    assert_error(place(shop, request), 422, "reservation_mismatch")


# --- delivery and pickup orders ---------------------------------------------------------------------


def test_a_delivery_order_needs_the_address_and_the_quoted_cost(shop):
    delivery = Fulfilment(type="delivery", cost_cents=DELIVERY_COST_CENTS, delivery=ADDRESS)
    no_address = paid_order(shop, [(SKU, 1)], delivery.model_copy(update={"delivery": None}))
    assert_error(place(shop, no_address), 422, "invalid_fulfilment")
    free = paid_order(shop, [(SKU, 1)], delivery.model_copy(update={"cost_cents": 0}))
    assert_error(place(shop, free), 409, "delivery_cost_changed")
    price = prices(shop, [(SKU, 1)])[SKU]
    without_cost = paid_order(shop, [(SKU, 1)], delivery, total_cents=price)
    assert "costs 495" in assert_error(place(shop, without_cost), 422, "total_mismatch").error.message

    reservation = held(shop, [(SKU, 1)], delivery.model_copy(update={"delivery": None}))
    request = paid_order(shop, [(SKU, 1)], delivery, reservation_id=reservation.reservation_id)
    response = place(shop, request)
    order = Order.model_validate_json(response.content)
    assert (order.total_cents, order.delivery_cost_cents) == (price + DELIVERY_COST_CENTS, DELIVERY_COST_CENTS)
    assert (order.fulfilment_type, order.fulfilment_store_id, order.ready_on) == ("delivery", None, THURSDAY)
    assert "3511AB" not in response.text and "jan@example.nl" not in response.text, "no personal data in answers"
    with sqlite3.connect(shop.server.db_path) as db:
        stored = db.execute("SELECT delivery_postcode, delivery_house_number, delivery_house_number_addition,"
                            " delivery_email FROM orders WHERE order_id = ?", (order.order_id,)).fetchone()
    assert stored == ("3511AB", 12, "bis", "jan@example.nl")
    assert shop.available(SKU, None) == 24, "taken from the warehouse"

    page = httpx.get(order.tracking_url).text
    assert "Bezorging, verwacht op donderdag 15 mei" in page and "Bezorgkosten" in page
    assert "3511AB" not in page and "jan@example.nl" not in page and "bis" not in page


def test_a_pickup_order_by_transfer_is_ready_in_two_days_as_the_tracking_page_says(shop):
    pickup = Fulfilment(type="pickup", store_id="amersfoort-centrum")
    shop.set_stock(SKU, "amersfoort-centrum", 0)
    order = placed(shop, paid_order(shop, [(SKU, 1)], pickup))
    assert (order.fulfilment_store_id, order.ready_on) == ("amersfoort-centrum", THURSDAY)
    assert shop.available(SKU, None) == 24
    page = httpx.get(order.tracking_url).text
    assert "Ophalen in Winkel Amersfoort, klaar op donderdag 15 mei" in page

    shop.set_stock(SKU, "amersfoort-centrum", 1)
    in_shop = placed(shop, paid_order(shop, [(SKU, 1)], pickup))
    assert in_shop.ready_on == date(2025, 5, 13) and shop.shown(SKU, "amersfoort-centrum").quantity == 0
    assert "klaar op dinsdag 13 mei" in httpx.get(in_shop.tracking_url).text
