"""What the catalog package hands to the rest of the kiosk: plain, frozen, cheap to build."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Sort = Literal["relevance", "price_asc", "price_desc"]
FACETS = ("category", "brand", "colour", "size", "price")


@dataclass(frozen=True)
class ProductSummary:
    """One row of an article grid or a search result."""

    id: str
    name: str
    brand: str | None
    min_price_cents: int
    max_price_cents: int
    image: str | None  # the first picture URL as the API sent it (relative to the API base)
    available: bool


@dataclass(frozen=True)
class SearchFilters:
    category_id: str | None = None  # any category; includes its subcategories
    brand: str | None = None
    colour: str | None = None
    size: str | None = None
    price_min_cents: int | None = None  # inclusive, on the product's lowest variant price
    price_max_cents: int | None = None  # exclusive

    def is_empty(self) -> bool:
        return self == SearchFilters()


@dataclass(frozen=True)
class FacetValue:
    value: str  # what goes into SearchFilters (for "price": "MIN-MAX" in cents, MAX may be empty)
    label: str  # what the shopper reads (category name, brand, "€ 25 – € 50", ...)
    count: int


@dataclass(frozen=True)
class SearchResult:
    items: list[ProductSummary]  # the first `limit`, in the requested order
    total: int  # all matches
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)  # keys from FACETS
    corrected: str | None = None  # the query as typo-corrected, when the correction was used
    more_ids: list[str] = field(default_factory=list)  # ids of the matches after `items`, in order (search's `upto`)
