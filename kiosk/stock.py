"""Live stock per variant per shop, asked of the central API in one batch, cached for a short while.

The central API is the single source of truth for stock (one figure across channels). The kiosk
only keeps answers for a few seconds (`[stock] ttl_s`) so paging back and forth does not hammer it,
and keeps the last answer it had for when the API cannot be reached: a figure of five minutes ago,
marked as such, helps a shopper more than an empty block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from kiosk.api import ApiError
from kiosk.contract import StockAnswer

log = logging.getLogger("kiosk.stock")


class StockSource(Protocol):
    async def stock(self, skus: Sequence[str], store_ids: Sequence[str]) -> StockAnswer: ...


class Availability(str, Enum):
    """What a shopper is told: exact counts invite "but the website said 3"."""

    in_stock = "in_stock"
    few_left = "few_left"
    out_of_stock = "out_of_stock"


def availability(quantity: int, few_left_max: int) -> Availability:
    if quantity <= 0:
        return Availability.out_of_stock
    return Availability.few_left if quantity <= few_left_max else Availability.in_stock


@dataclass(frozen=True)
class StockFigure:
    quantity: int
    location: str | None
    as_of: datetime  # when the central API counted it
    fetched_at: float  # monotonic, for the cache's time to live


@dataclass(frozen=True)
class StockSnapshot:
    """Figures for (sku, store) pairs. `stale`: the latest ask failed and these are the last known
    figures (pairs never known are absent)."""

    figures: dict[tuple[str, str], StockFigure]
    stale: bool = False

    def figure(self, sku: str, store_id: str) -> StockFigure | None:
        return self.figures.get((sku, store_id))

    def quantity(self, sku: str, store_id: str) -> int | None:
        figure = self.figures.get((sku, store_id))
        return None if figure is None else figure.quantity

    @property
    def as_of(self) -> datetime | None:
        """The oldest count shown: what "as of" honestly means for the whole block."""
        return min((f.as_of for f in self.figures.values()), default=None)


class StockService:
    def __init__(self, source: StockSource, *, ttl_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[tuple[str, str], StockFigure] = {}

    async def lookup(self, skus: Sequence[str], store_ids: Sequence[str]) -> StockSnapshot:
        """Stock of every sku at every shop named, in ONE request for whatever is not fresh.

        Never raises for an API failure: the answer is then the last known figures, marked stale.
        """
        skus, store_ids = list(dict.fromkeys(skus)), list(dict.fromkeys(store_ids))
        pairs = [(sku, sid) for sku in skus for sid in store_ids]
        now = self._clock()
        missing = [p for p in pairs if (f := self._cache.get(p)) is None or now - f.fetched_at > self._ttl_s]
        stale = False
        if missing:
            ask_skus = list(dict.fromkeys(sku for sku, _ in missing))
            ask_stores = list(dict.fromkeys(sid for _, sid in missing))
            try:
                answer = await self._source.stock(ask_skus, ask_stores)
            except ApiError as exc:
                log.warning("stock of %d skus at %d shops not refreshed: %s", len(ask_skus), len(ask_stores), exc)
                stale = True
            else:
                fetched_at = self._clock()
                known = {(lvl.sku, lvl.store_id): lvl for lvl in answer.levels}
                for pair in ((sku, sid) for sku in ask_skus for sid in ask_stores):
                    level = known.get(pair)
                    # A pair the API left out is an sku or shop it does not know: none to sell there.
                    self._cache[pair] = StockFigure(level.quantity if level else 0,
                                                    level.location if level else None, answer.as_of, fetched_at)
        return StockSnapshot({p: self._cache[p] for p in pairs if p in self._cache}, stale=stale)

    def forget(self) -> None:
        """Drop every cached figure (e.g. after an order changed stock here)."""
        self._cache.clear()
