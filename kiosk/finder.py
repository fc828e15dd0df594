"""What the shopper is looking for: the query typed so far, the facets chosen, the sort order.

The search screen forwards every key and chip tap here; this runs the search off the UI thread
and hands back only the answer to the newest question (a fast typist makes stale answers).
Plain Python: no Kivy.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Protocol

from kiosk.barcode import is_valid_ean
from kiosk.catalog.models import SearchFilters, SearchResult, Sort

MAX_QUERY = 60  # on-screen typing; longer is a stuck key, not a search


class Searchable(Protocol):
    def search(self, query: str, filters: SearchFilters = ..., sort: Sort = ..., limit: int = ...,
               upto: int = ...) -> SearchResult: ...

    def find_ean(self, ean: str) -> tuple[str, str] | None: ...


def filters_with(filters: SearchFilters, facet: str, value: str | None) -> SearchFilters:
    """`filters` with one facet set to a value from SearchResult.facets, or cleared (None)."""
    if facet == "category":
        return replace(filters, category_id=value)
    if facet in ("brand", "colour", "size"):
        return replace(filters, **{facet: value})
    if facet == "price":
        if value is None:
            return replace(filters, price_min_cents=None, price_max_cents=None)
        low, _, high = value.partition("-")
        return replace(filters, price_min_cents=int(low) if low else None, price_max_cents=int(high) if high else None)
    raise ValueError(f"unknown facet {facet!r}")


def facet_value(filters: SearchFilters, facet: str) -> str | None:
    """The value of a facet in `filters`, as SearchResult.facets spells it."""
    if facet == "category":
        return filters.category_id
    if facet == "price":
        if filters.price_min_cents is None and filters.price_max_cents is None:
            return None
        low = "" if filters.price_min_cents is None else str(filters.price_min_cents)
        high = "" if filters.price_max_cents is None else str(filters.price_max_cents)
        return f"{low}-{high}"
    return getattr(filters, facet)


class Finder:
    def __init__(self, catalog: Searchable, limit: int = 10_000, page: int | None = None) -> None:
        """`limit`: how many matches the shopper can scroll through. `page`: how many of them come as
        articles (`items`); the rest come as ids (`more_ids`), read a page at a time as the list
        scrolls. Ten thousand articles built on every keystroke were ten thousand objects for the
        garbage collector to walk, holding up the UI thread (issue 10)."""
        self._catalog = catalog
        self._limit = limit
        self._page = limit if page is None else min(page, limit)
        self.query = ""
        self.filters = SearchFilters()
        self.sort: Sort = "relevance"
        self._generation = 0
        self.latest: SearchResult | None = None  # the answer to the newest question, once it is in

    def reset(self) -> None:
        self.query, self.filters, self.sort = "", SearchFilters(), "relevance"

    def type(self, text: str) -> None:
        self.query = (self.query + text)[:MAX_QUERY]

    def backspace(self) -> None:
        self.query = self.query[:-1]

    def clear_query(self) -> None:
        self.query = ""

    def toggle_facet(self, facet: str, value: str) -> None:
        """Tapping a chosen chip again clears it."""
        current = facet_value(self.filters, facet)
        self.filters = filters_with(self.filters, facet, None if current == value else value)

    def barcode_hit(self) -> tuple[str, str] | None:
        """(product id, sku) when the query is a complete EAN of an article in the catalog."""
        query = self.query.strip()
        return self._catalog.find_ean(query) if is_valid_ean(query) else None

    async def run(self) -> SearchResult | None:
        """Search in a worker thread; None when a newer search was started meanwhile."""
        self._generation += 1
        generation = self._generation
        query, filters, sort = self.query, self.filters, self.sort
        result = await asyncio.to_thread(self._catalog.search, query, filters, sort, self._page, self._limit)
        if generation != self._generation:
            return None
        self.latest = result
        return result
