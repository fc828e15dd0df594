"""The retailer's shops: where they are, how far from this pillar, and whether they are open.

Shops come from the central API (`GET /v1/stores`); this pillar's own shop is named in its config.
Distances are great-circle distances from this shop (the shopper stands here), which is what a
shopper means by "nearby" at the scale of a country; road distance would need a routing service.
Opening hours are Dutch local time, whatever the pillar's system clock zone is.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Protocol
from zoneinfo import ZoneInfo

from kiosk.api import ApiError
from kiosk.contract import Store

log = logging.getLogger("kiosk.stores")

SHOP_ZONE = ZoneInfo("Europe/Amsterdam")
EARTH_RADIUS_KM = 6371.0088  # the IUGG mean radius


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance; accurate to well under 1 % at shop-to-shop scale."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class NearbyStore:
    store: Store
    distance_km: float

    @property
    def id(self) -> str:
        return self.store.id


@dataclass(frozen=True)
class OpeningState:
    """Open now (until `closes_at`), or closed (opening next at `opens_at`; None if it never opens)."""

    open_now: bool
    closes_at: clock_time | None = None
    opens_at: datetime | None = None


def _hhmm(text: str) -> clock_time:
    hours, minutes = text.split(":")
    return clock_time(int(hours) % 24, int(minutes))


def opening_state(store: Store, now: datetime) -> OpeningState:
    """Is `store` open at `now` (any zone; judged in Dutch local time), and if not, when next?"""
    local = now.astimezone(SHOP_ZONE)
    by_day = {h.weekday: h for h in store.opening_hours}
    today = by_day.get(local.weekday())
    if today is not None and _hhmm(today.opens) <= local.time() < _hhmm(today.closes):
        return OpeningState(True, closes_at=_hhmm(today.closes))
    for days_ahead in range(0, 8):
        day: date = local.date() + timedelta(days=days_ahead)
        hours = by_day.get(day.weekday())
        if hours is None:
            continue
        opens = datetime.combine(day, _hhmm(hours.opens), SHOP_ZONE)
        if opens > local:
            return OpeningState(False, opens_at=opens)
    return OpeningState(False)


class StoreSource(Protocol):
    async def stores(self) -> list[Store]: ...


class StoreDirectory:
    """The list of shops, asked once and refreshed now and then; the last good list survives failures."""

    def __init__(self, source: StoreSource, own_store_id: str, *, refresh_s: float = 3600.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self.own_store_id = own_store_id
        self._refresh_s = refresh_s
        self._clock = clock
        self._stores: dict[str, Store] = {}
        self._loaded_at: float | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded_at is not None

    async def load(self) -> bool:
        """Fetch the shops when never fetched or older than the refresh interval; True if known now."""
        if self._loaded_at is not None and self._clock() - self._loaded_at < self._refresh_s:
            return True
        try:
            stores = await self._source.stores()
        except ApiError as exc:
            log.warning("shops not refreshed (%s); keeping %d known", exc, len(self._stores))
            return self.loaded
        self._stores = {store.id: store for store in stores}
        self._loaded_at = self._clock()
        if self.own_store_id not in self._stores:
            log.error("this pillar's shop %r is not among the central API's shops", self.own_store_id)
        return True

    def get(self, store_id: str) -> Store | None:
        return self._stores.get(store_id)

    def own(self) -> Store | None:
        return self._stores.get(self.own_store_id)

    def distance_km(self, store_id: str) -> float | None:
        own, other = self.own(), self._stores.get(store_id)
        if own is None or other is None:
            return None
        return great_circle_km(own.latitude, own.longitude, other.latitude, other.longitude)

    def by_distance(self, store_ids: Sequence[str] | None = None, *, include_own: bool = True) -> list[NearbyStore]:
        """Shops (all, or those named) nearest first; ties by name so the order never flickers."""
        wanted = self._stores.values() if store_ids is None else (
            self._stores[sid] for sid in dict.fromkeys(store_ids) if sid in self._stores)
        nearby = []
        for store in wanted:
            if store.id == self.own_store_id and not include_own:
                continue
            distance = self.distance_km(store.id)
            nearby.append(NearbyStore(store, distance if distance is not None else math.inf))
        return sorted(nearby, key=lambda n: (n.distance_km, n.store.name))

    def nearest(self, count: int) -> list[NearbyStore]:
        """The `count` nearest other shops."""
        return self.by_distance(include_own=False)[:count]
