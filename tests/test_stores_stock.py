"""Shops by distance and opening hours; stock asked in one batch, cached briefly, stale when the API fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from central.catalog_data import STORES
from kiosk.api import ApiConnectionError
from kiosk.contract import OpeningHours, StockAnswer, StockLevel, Store
from kiosk.stock import Availability, StockService, availability
from kiosk.stock_view import distance_text, opening_text, stock_block
from kiosk.stores import SHOP_ZONE, StoreDirectory, great_circle_km, opening_state


def shop(store_id: str, lat: float, lon: float, hours=None, name: str | None = None) -> Store:
    return Store(id=store_id, name=name or store_id, city="x", latitude=lat, longitude=lon,
                 opening_hours=hours if hours is not None else
                 [OpeningHours(weekday=d, opens="09:00", closes="18:00") for d in range(6)])


class Stores:
    def __init__(self, stores):
        self.list, self.calls, self.fail = stores, 0, False

    async def stores(self):
        self.calls += 1
        if self.fail:
            raise ApiConnectionError("down")
        return self.list


def test_great_circle_distance_matches_known_city_distances():
    # Utrecht Dom -> Amsterdam Dam is about 35 km as the crow flies; a degree of latitude is 111.2 km.
    assert great_circle_km(52.0907, 5.1214, 52.3731, 4.8926) == pytest.approx(35.0, abs=1.0)
    assert great_circle_km(0, 0, 1, 0) == pytest.approx(111.2, abs=0.1)
    assert great_circle_km(52, 5, 52, 5) == 0


async def test_shops_are_ordered_by_distance_from_this_pillars_shop():
    source = Stores([shop(sid, lat, lon, name=name) for sid, name, _c, _a, lat, lon, _h in STORES])
    directory = StoreDirectory(source, "utrecht-centrum")
    assert await directory.load()
    order = [n.id for n in directory.nearest(4)]
    # Leidsche Rijn (4 km) < Amersfoort (~20 km) < Amsterdam (~35 km) < Rotterdam (~47 km).
    assert order == ["utrecht-leidsche-rijn", "amersfoort-centrum", "amsterdam-centrum", "rotterdam-centrum"]
    distances = [n.distance_km for n in directory.by_distance()]
    assert distances == sorted(distances) and distances[0] == 0  # the own shop first when included
    assert "utrecht-centrum" not in [n.id for n in directory.by_distance(include_own=False)]
    assert [n.id for n in directory.by_distance(["den-haag-centrum", "utrecht-leidsche-rijn", "nope"])] == [
        "utrecht-leidsche-rijn", "den-haag-centrum"]
    assert directory.distance_km("amsterdam-centrum") == pytest.approx(34, abs=2)


async def test_the_shop_list_survives_a_failed_refresh():
    clock = [0.0]
    source = Stores([shop("a", 52, 5), shop("b", 52.1, 5)])
    directory = StoreDirectory(source, "a", refresh_s=60, clock=lambda: clock[0])
    assert await directory.load() and await directory.load()
    assert source.calls == 1  # within the refresh interval: no second request
    clock[0], source.fail = 61, True
    assert await directory.load()  # failed, but the last list is still there
    assert directory.get("b") is not None and source.calls == 2


def test_opening_state_in_dutch_local_time():
    store = shop("a", 52, 5, hours=[OpeningHours(weekday=0, opens="11:00", closes="18:00"),
                                    OpeningHours(weekday=2, opens="09:00", closes="21:00")])
    monday_noon = datetime(2026, 11, 23, 12, 0, tzinfo=SHOP_ZONE)  # a Monday
    assert opening_state(store, monday_noon).open_now
    assert opening_state(store, monday_noon).closes_at.strftime("%H:%M") == "18:00"
    # 10:30 UTC on a winter Monday is 11:30 in Amsterdam: open, whatever zone the clock reports in.
    assert opening_state(store, datetime(2026, 11, 23, 10, 30, tzinfo=UTC)).open_now
    monday_early = datetime(2026, 11, 23, 8, 0, tzinfo=SHOP_ZONE)
    assert opening_state(store, monday_early).opens_at == datetime(2026, 11, 23, 11, 0, tzinfo=SHOP_ZONE)
    monday_evening = datetime(2026, 11, 23, 19, 0, tzinfo=SHOP_ZONE)
    state = opening_state(store, monday_evening)
    assert not state.open_now and state.opens_at == datetime(2026, 11, 25, 9, 0, tzinfo=SHOP_ZONE)
    assert opening_text(state, monday_evening, "nl") == "Gesloten · opent wo 25 nov om 09:00"
    assert opening_text(opening_state(store, monday_early), monday_early, "en") == "Closed · opens at 11:00"
    assert opening_text(opening_state(store, monday_noon), monday_noon, "nl") == "Open tot 18:00"
    assert not opening_state(shop("c", 52, 5, hours=[]), monday_noon).open_now


def test_availability_words_and_distances():
    assert availability(0, 3) is Availability.out_of_stock
    assert availability(3, 3) is Availability.few_left
    assert availability(4, 3) is Availability.in_stock
    assert distance_text(0.43, "nl") == "400 m"
    assert distance_text(4.26, "nl") == "4,3 km"
    assert distance_text(4.26, "en") == "4.3 km"
    assert distance_text(35.4, "nl") == "35 km"


class StockApi:
    def __init__(self, quantities):
        self.quantities = quantities  # (sku, store) -> quantity
        self.requests: list[tuple[list[str], list[str]]] = []
        self.fail = False
        self.as_of = datetime(2026, 11, 23, 13, 5, tzinfo=UTC)

    async def stock(self, skus, store_ids):
        self.requests.append((list(skus), list(store_ids)))
        if self.fail:
            raise ApiConnectionError("down")
        return StockAnswer(as_of=self.as_of, levels=[
            StockLevel(sku=sku, store_id=sid, quantity=self.quantities.get((sku, sid), 0),
                       location="Gang 4, schap B" if sid == "here" else None)
            for sku in skus for sid in store_ids if sku != "unknown"])


async def test_one_request_covers_every_variant_and_shop_and_is_cached_for_the_ttl():
    api = StockApi({("s1", "here"): 5, ("s2", "there"): 1})
    clock = [0.0]
    stock = StockService(api, ttl_s=30, clock=lambda: clock[0])
    snapshot = await stock.lookup(["s1", "s2", "unknown"], ["here", "there", "far"])
    assert len(api.requests) == 1
    assert sorted(api.requests[0][0]) == ["s1", "s2", "unknown"] and sorted(api.requests[0][1]) == ["far", "here", "there"]
    assert snapshot.quantity("s1", "here") == 5 and snapshot.quantity("s2", "there") == 1
    assert snapshot.quantity("unknown", "here") == 0  # left out by the API: nothing to sell
    assert snapshot.figure("s1", "here").location == "Gang 4, schap B"
    assert not snapshot.stale
    clock[0] = 29
    await stock.lookup(["s1", "s2"], ["here", "there"])
    assert len(api.requests) == 1  # fresh: from the cache
    clock[0] = 31
    await stock.lookup(["s1", "s2"], ["here", "there"])
    assert len(api.requests) == 2  # older than the TTL: asked again when the page opens


async def test_a_failed_query_shows_the_last_known_figures_marked_stale():
    api = StockApi({("s1", "here"): 5})
    clock = [0.0]
    stock = StockService(api, ttl_s=30, clock=lambda: clock[0])
    await stock.lookup(["s1"], ["here"])
    clock[0], api.fail = 100, True
    snapshot = await stock.lookup(["s1", "s2"], ["here"])
    assert snapshot.stale and snapshot.quantity("s1", "here") == 5 and snapshot.quantity("s2", "here") is None
    assert snapshot.as_of == api.as_of
    never = await StockService(api).lookup(["x"], ["here"])
    assert never.stale and not never.figures  # nothing known at all: still an answer, not a crash


async def test_the_stock_block_says_where_and_how_much_and_when_stale():
    directory = StoreDirectory(Stores([shop("here", 52.09, 5.12, name="Utrecht"),
                                       shop("near", 52.09, 5.06, name="Leidsche Rijn"),
                                       shop("mid", 52.15, 5.38, name="Amersfoort"),
                                       shop("far", 51.44, 5.48, name="Eindhoven")]), "here")
    await directory.load()
    api = StockApi({("s1", "here"): 2, ("s1", "mid"): 9, ("s1", "far"): 1})
    stock = StockService(api, ttl_s=0)
    now = datetime(2026, 11, 23, 12, 0, tzinfo=SHOP_ZONE)
    block = stock_block(await stock.lookup(["s1"], ["here", "near", "mid", "far"]), "s1", directory,
                        nearby_count=3, few_left_max=3, now=now, language="nl")
    assert block.here == "In deze winkel: Nog maar een paar · Gang 4, schap B" and block.here_state == "few_left"
    assert [row["name"] for row in block.nearby] == ["Amersfoort", "Eindhoven"]  # "near" has none: left out
    assert block.nearby[0]["stock"] == "Op voorraad" and "Open tot 18:00" in block.nearby[0]["detail"]
    assert block.as_of == ""
    api.fail = True
    stale = stock_block(await stock.lookup(["s1"], ["here", "near", "mid", "far"]), "s1", directory,
                        nearby_count=3, few_left_max=3, now=now, language="en")
    assert stale.as_of == "Stock as of 14:05 — cannot be checked right now"
    assert stale.here.startswith("In this shop: A few left")
    nothing = stock_block(await StockService(api).lookup(["s1"], ["here"]), "s1", directory,
                          nearby_count=3, few_left_max=3, now=now, language="nl")
    assert nothing.here_state == "unknown" and nothing.as_of == "Voorraad is nu niet op te vragen"
