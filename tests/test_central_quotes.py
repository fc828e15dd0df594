"""Quotes on the reference server: today's prices, and every way to get the cart with its cost and day."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from central import dates
from central.catalog_data import STORES
from central.fulfilment import DELIVERY_COST_CENTS, FREE_DELIVERY_FROM_CENTS
from central.seed import DEMO_STORE_ID
from kiosk.contract import ItemIn, OpeningHours, Quote, QuoteRequest, Shortage
from support.orders import catalog_variants, stock_server
from test_central_http import assert_error
from test_central_stock import hold

HERE = DEMO_STORE_ID
SKU = "P000001-01"
SHOP_IDS = [store[0] for store in STORES]
HOURS = {store[0]: [OpeningHours(**h) for h in store[6]] for store in STORES}
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
TUESDAY, WEDNESDAY, THURSDAY = date(2025, 5, 13), date(2025, 5, 14), date(2025, 5, 15)


def at(day: date, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        yield server


def quote(shop, *lines: tuple[str, int], store_id: str = HERE) -> Quote:
    request = QuoteRequest(store_id=store_id, lines=[ItemIn(sku=sku, quantity=q) for sku, q in lines])
    response = shop.post("/v1/quotes", request)
    assert response.status_code == 200, response.text
    return Quote.model_validate_json(response.content)


def options(q: Quote) -> dict[tuple[str, str | None], tuple[int, date, bool]]:
    return {(o.type, o.store_id): (o.cost_cents, o.ready_on, o.in_stock) for o in q.options}


# --- the days, in Dutch local time ----------------------------------------------------------------


def test_pickup_of_stock_is_today_while_the_shop_is_still_to_close():
    utrecht = HOURS["utrecht-centrum"]  # Tuesday 09:30-18:00
    assert dates.pickup_ready_on(utrecht, at(TUESDAY, "08:00")) == TUESDAY, "opens later today"
    assert dates.pickup_ready_on(utrecht, at(TUESDAY, "17:59")) == TUESDAY
    assert dates.pickup_ready_on(utrecht, at(TUESDAY, "18:00")) == WEDNESDAY
    # 16:30 UTC is 18:30 in Utrecht (summer time): closed, whatever the server's own clock says.
    assert dates.pickup_ready_on(utrecht, datetime(2025, 5, 13, 16, 30, tzinfo=UTC)) == WEDNESDAY
    # Saturday after closing: Sunday for a shop open on Sundays, Monday for Nijmegen, closed on Sundays.
    assert dates.pickup_ready_on(utrecht, at(date(2025, 5, 17), "18:00")) == date(2025, 5, 18)
    assert dates.pickup_ready_on(HOURS["nijmegen-centrum"], at(date(2025, 5, 17), "18:00")) == date(2025, 5, 19)
    assert dates.pickup_ready_on([], at(TUESDAY, "10:00")) is None, "a shop that never opens is no pickup point"


def test_a_transfer_takes_two_days_and_arrives_on_an_opening_day():
    assert dates.transfer_ready_on(HOURS["utrecht-centrum"], at(TUESDAY, "10:00")) == THURSDAY
    friday = date(2025, 5, 16)
    assert dates.transfer_ready_on(HOURS["utrecht-centrum"], at(friday, "10:00")) == date(2025, 5, 18)
    assert dates.transfer_ready_on(HOURS["nijmegen-centrum"], at(friday, "10:00")) == date(2025, 5, 19)


@pytest.mark.parametrize("ordered, promised", [
    (date(2025, 5, 12), date(2025, 5, 14)),  # Monday -> Wednesday
    (date(2025, 5, 15), date(2025, 5, 19)),  # Thursday -> Monday
    (date(2025, 5, 16), date(2025, 5, 20)),  # Friday -> Tuesday
    (date(2025, 5, 17), date(2025, 5, 20)),  # Saturday -> Tuesday
    (date(2025, 5, 18), date(2025, 5, 20)),  # Sunday -> Tuesday
])
def test_delivery_is_promised_on_the_second_working_day(ordered, promised):
    assert dates.delivery_promised_on(at(ordered, "23:30")) == promised
    assert dates.delivery_promised_on(at(ordered, "00:30")) == promised, "the Dutch day, not the UTC one"


# --- quotes on the server -------------------------------------------------------------------------


def test_a_cart_the_shop_has_can_be_taken_now_or_picked_up_anywhere_that_has_it(shop):
    for shop_id in SHOP_IDS:
        shop.set_stock(SKU, shop_id, 3 if shop_id in (HERE, "amersfoort-centrum") else 0)
    q = quote(shop, (SKU, 2))
    [line] = q.lines
    assert (line.sku, line.quantity, line.line_total_cents) == (SKU, 2, 2 * line.unit_price_cents)
    assert q.subtotal_cents == line.line_total_cents and q.shortages == []
    found = options(q)
    assert found[("take_now", HERE)] == (0, TUESDAY, True)
    assert found[("pickup", HERE)] == (0, TUESDAY, True)
    assert found[("pickup", "amersfoort-centrum")] == (0, TUESDAY, True)
    # The warehouse has it too: every other shop gets it by transfer, on Thursday.
    for shop_id in set(SHOP_IDS) - {HERE, "amersfoort-centrum"}:
        assert found[("pickup", shop_id)] == (0, THURSDAY, False), shop_id
    assert [o.type for o in q.options][:2] == ["take_now", "pickup"] and q.options[1].store_id == HERE
    assert all(o.total_cents == q.subtotal_cents + o.cost_cents for o in q.options)


def test_no_take_now_when_the_shop_lacks_a_line_and_its_shortage_is_listed(shop):
    other = "P000003-01"
    shop.set_stock(SKU, HERE, 1)
    shop.set_stock(other, HERE, 5)
    q = quote(shop, (SKU, 2), (other, 1))
    assert q.shortages == [Shortage(sku=SKU, store_id=HERE, wanted=2, available=1)]
    found = options(q)
    assert ("take_now", HERE) not in found
    assert found[("pickup", HERE)] == (0, THURSDAY, False), "sent from the warehouse"
    assert ("delivery", None) in found


def test_shops_that_can_neither_supply_nor_get_it_are_left_out(shop):
    for shop_id in SHOP_IDS:
        shop.set_stock(SKU, shop_id, 4 if shop_id == "groningen-centrum" else 0)
    shop.set_stock(SKU, None, 0)  # nothing in the warehouse: no transfers, no delivery
    q = quote(shop, (SKU, 1))
    assert options(q) == {("pickup", "groningen-centrum"): (0, TUESDAY, True)}
    assert q.shortages == [Shortage(sku=SKU, store_id=HERE, wanted=1, available=0)]
    shop.set_stock(SKU, "groningen-centrum", 0)
    assert quote(shop, (SKU, 1)).options == [], "nothing anywhere: no way to get it"


def test_a_quote_counts_held_stock(shop):
    shop.set_stock(SKU, HERE, 2)
    hold(shop, 1)
    q = quote(shop, (SKU, 2))
    assert q.shortages == [Shortage(sku=SKU, store_id=HERE, wanted=2, available=1)]
    assert not any(o.type == "take_now" for o in q.options)


def test_delivery_costs_until_the_lines_reach_the_free_delivery_amount(shop):
    sku, _, price = next(v for v in catalog_variants(shop.http) if 500 <= v[2] < FREE_DELIVERY_FROM_CENTS)
    enough = math.ceil(FREE_DELIVERY_FROM_CENTS / price)
    shop.set_stock(sku, None, enough)
    small = next(o for o in quote(shop, (sku, 1)).options if o.type == "delivery")
    assert (small.cost_cents, small.total_cents, small.ready_on) == (DELIVERY_COST_CENTS, price + DELIVERY_COST_CENTS,
                                                                     THURSDAY)
    assert small.store_id is None
    free = next(o for o in quote(shop, (sku, enough)).options if o.type == "delivery")
    assert (free.cost_cents, free.total_cents) == (0, enough * price)
    assert (enough - 1) * price < FREE_DELIVERY_FROM_CENTS <= enough * price
    documented = shop.http.get("/openapi.json").json()["paths"]["/v1/quotes"]["post"]["summary"]
    assert str(DELIVERY_COST_CENTS) in documented and str(FREE_DELIVERY_FROM_CENTS) in documented


def test_after_closing_time_pickup_is_on_the_next_opening_day(shop):
    shop.clock.now = at(date(2025, 5, 17), "18:00")  # Saturday: every shop closed at 17:30
    for shop_id in SHOP_IDS:
        shop.set_stock(SKU, shop_id, 2)
    found = options(quote(shop, (SKU, 1)))
    assert found[("pickup", HERE)] == (0, date(2025, 5, 18), True)
    assert found[("pickup", "nijmegen-centrum")] == (0, date(2025, 5, 19), True), "closed on Sundays"
    assert found[("delivery", None)][1] == date(2025, 5, 20)


def test_lines_are_named_and_priced_like_order_lines(shop):
    variants = catalog_variants(shop.http)
    sku, product_name, price = next(v for v in variants if v[0].endswith("-02"))
    [line] = quote(shop, (sku, 3)).lines
    assert line.name.startswith(product_name + " — ") and line.unit_price_cents == price


def test_unknown_skus_and_shops_are_refused(shop):
    request = QuoteRequest(store_id=HERE, lines=[ItemIn(sku="NOPE-01", quantity=1)])
    assert "NOPE-01" in assert_error(shop.post("/v1/quotes", request), 422, "unknown_sku").error.message
    request = QuoteRequest(store_id="atlantis", lines=[ItemIn(sku=SKU, quantity=1)])
    assert_error(shop.post("/v1/quotes", request), 422, "unknown_store")
