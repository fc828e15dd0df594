"""Stock on the reference server: the seeded base, moves, and reservations that hold it until they lapse."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta

import pytest

from central.seed import DEMO_STORE_ID, shelf_location, stock_quantity
from central.stock import HOLD_MINUTES, WAREHOUSE_BASE
from kiosk.contract import Fulfilment, ItemIn, Reservation, ReservationRequest
from support.central_server import new_id
from support.orders import stock_server

HERE = DEMO_STORE_ID
SKU = "P000001-01"


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        yield server


def hold(shop, quantity: int, sku: str = SKU) -> Reservation:
    request = ReservationRequest(reservation_id=new_id("res"), store_id=HERE,
                                 lines=[ItemIn(sku=sku, quantity=quantity)],
                                 fulfilment=Fulfilment(type="take_now", store_id=HERE))
    response = shop.post("/v1/reservations", request, key=request.reservation_id)
    assert response.status_code == 201, response.text
    return Reservation.model_validate_json(response.content)


def test_stock_is_the_seeded_base_with_its_shelf_until_staff_count_it(shop):
    level = shop.shown(SKU, HERE)
    assert level.quantity == stock_quantity(SKU, HERE)
    assert level.location == shelf_location(SKU, HERE)
    shop.set_stock(SKU, HERE, 3)
    assert shop.shown(SKU, HERE).quantity == 3
    shop.set_stock(SKU, HERE, 0)
    assert shop.shown(SKU, HERE).quantity == 0
    away = "groningen-centrum"
    assert shop.shown(SKU, away).quantity == stock_quantity(SKU, away), "other shops keep theirs"


def test_shelves_look_like_a_shops_and_some_articles_have_none():
    locations = [shelf_location(f"P{i:06d}-01", HERE) for i in range(1, 200)]
    assert None in locations, "the kiosk must cope with an article of unknown place"
    assert all(re.fullmatch(r"Gang \d{1,2}, schap [A-F]", place) for place in locations if place)
    assert locations == [shelf_location(f"P{i:06d}-01", HERE) for i in range(1, 200)], "deterministic"


def test_the_warehouse_has_every_orderable_article_until_it_moves(shop):
    assert shop.available(SKU, None) == WAREHOUSE_BASE
    shop.set_stock(SKU, None, 2)
    assert shop.available(SKU, None) == 2


def test_a_held_reservation_counts_until_it_lapses(shop):
    shop.set_stock(SKU, HERE, 5)
    reservation = hold(shop, 2)
    assert (reservation.status, reservation.store_id) == ("held", HERE)
    assert reservation.expires_at == shop.clock.now + timedelta(minutes=HOLD_MINUTES)
    assert shop.shown(SKU, HERE).quantity == 3
    shop.clock.advance(minutes=HOLD_MINUTES - 1, seconds=59)
    assert shop.shown(SKU, HERE).quantity == 3
    shop.clock.advance(seconds=2)
    assert shop.shown(SKU, HERE).quantity == 5, "a lapsed hold holds nothing"
    again = Reservation.model_validate_json(shop.http.get(f"/v1/reservations/{reservation.reservation_id}").content)
    assert again.status == "held" and again.expires_at < shop.clock.now


def test_an_expired_row_no_longer_counts(shop):
    shop.set_stock(SKU, HERE, 5)
    reservation = hold(shop, 4)
    assert shop.shown(SKU, HERE).quantity == 1
    with sqlite3.connect(shop.server.db_path) as db:  # lapsed behind the server's back
        db.execute("UPDATE reservations SET expires_at = '2000-01-01T00:00:00.000000+00:00'"
                   " WHERE reservation_id = ?", (reservation.reservation_id,))
    assert shop.shown(SKU, HERE).quantity == 5


def test_releasing_gives_the_stock_back_and_is_idempotent(shop):
    shop.set_stock(SKU, HERE, 5)
    reservation = hold(shop, 5)
    assert shop.shown(SKU, HERE).quantity == 0
    for _ in range(2):
        response = shop.http.post(f"/v1/reservations/{reservation.reservation_id}/release")
        assert response.status_code == 200, response.text
        assert Reservation.model_validate_json(response.content).status == "released"
    assert shop.shown(SKU, HERE).quantity == 5


def test_stock_never_shows_below_zero(shop):
    shop.set_stock(SKU, HERE, 3)
    hold(shop, 3)
    shop.set_stock(SKU, HERE, 1)  # staff counted fewer than were held
    assert shop.shown(SKU, HERE).quantity == 0


def test_reservations_of_one_sku_on_two_lines_hold_the_sum(shop):
    shop.set_stock(SKU, HERE, 5)
    request = ReservationRequest(reservation_id=new_id("res"), store_id=HERE,
                                 lines=[ItemIn(sku=SKU, quantity=2), ItemIn(sku=SKU, quantity=2)],
                                 fulfilment=Fulfilment(type="take_now", store_id=HERE))
    assert shop.post("/v1/reservations", request, key=request.reservation_id).status_code == 201
    assert shop.shown(SKU, HERE).quantity == 1
