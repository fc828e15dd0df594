"""Stock of this shop, asked of the central API, cached for a short while.

The central API is the single source of truth for stock; the kiosk only caches answers briefly so
paging back and forth does not hammer it. Nearby shops and distances come with the stock issue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kiosk.contract import StockAnswer


class StockSource(Protocol):
    async def stock(self, skus: Sequence[str], store_ids: Sequence[str]) -> StockAnswer: ...


@dataclass(frozen=True)
class StockFigure:
    quantity: int
    fetched_at: float


class StockService:
    def __init__(self, source: StockSource, store_id: str, ttl_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._store_id = store_id
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, StockFigure] = {}

    async def here(self, skus: Sequence[str]) -> dict[str, int]:
        """Quantity per SKU in this shop; SKUs the API does not know count as 0."""
        now = self._clock()
        stale = [sku for sku in skus if (f := self._cache.get(sku)) is None or now - f.fetched_at > self._ttl_s]
        if stale:
            answer = await self._source.stock(stale, [self._store_id])
            found = {lvl.sku: lvl.quantity for lvl in answer.levels if lvl.store_id == self._store_id}
            for sku in stale:
                self._cache[sku] = StockFigure(found.get(sku, 0), now)
        return {sku: self._cache[sku].quantity for sku in skus}
