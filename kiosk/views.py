"""Rows for the screens' lists, built as plain dicts (one small function per row kind).

Pure functions of the domain state and the language, so they test without a window and the
RecycleViews only ever receive ready-made data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from kiosk.cart import Cart
from kiosk.catalog.models import FacetValue, ProductSummary, SearchResult
from kiosk.contract import Category, Product
from kiosk.i18n import translate
from kiosk.money import format_eur

UrlResolver = Callable[[str], str]


class CategorySource(Protocol):
    def top_categories(self) -> list[Category]: ...

    def children(self, category_id: str) -> list[Category]: ...

    def count_in(self, category_id: str) -> int: ...

    def products_in(self, category_id: str, *, sort: str = "relevance", limit: int | None = None,
                    offset: int = 0) -> list[ProductSummary]: ...


def category_name(category: Category, language: str) -> str:
    return category.name_en if language == "en" and category.name_en else category.name


def category_rows(catalog: CategorySource, language: str, resolve: UrlResolver) -> list[dict]:
    rows = []
    for category in catalog.top_categories():
        first = catalog.products_in(category.id, limit=1)
        picture = first[0].image if first and first[0].image else ""
        rows.append({
            "key": category.id,
            "title": category_name(category, language),
            "subtitle": translate(language, "categories.count", count=catalog.count_in(category.id)),
            "image": resolve(picture) if picture else "",
        })
    return rows


def subcategory_chips(catalog: CategorySource, parent_id: str, language: str) -> list[tuple[str, str]]:
    """(category id, label) for the chips that narrow an article list to a subcategory."""
    return [(c.id, category_name(c, language)) for c in catalog.children(parent_id)]


def price_text(min_cents: int, max_cents: int, language: str) -> str:
    price = format_eur(min_cents, language)
    return translate(language, "products.from", price=price) if max_cents != min_cents else price


def product_rows(products: Iterable[ProductSummary], language: str, resolve: UrlResolver) -> list[dict]:
    return [
        {
            "key": p.id,
            "title": p.name,
            "brand": p.brand or "",
            "price": price_text(p.min_price_cents, p.max_price_cents, language),
            "image": resolve(p.image) if p.image else "",
        }
        for p in products
    ]


RowPages = Callable[[int, int], list[dict]]  # (offset, count) -> a long list's rows from `offset` on


class SummarySource(Protocol):
    def summaries(self, ids: Sequence[str]) -> list[ProductSummary]: ...


def search_pages(catalog: SummarySource, result: SearchResult, language: str, resolve: UrlResolver) -> RowPages:
    """The rows after a search's `items`, a page at a time: the articles of its `more_ids`."""
    skip, ids = len(result.items), result.more_ids

    def more(offset: int, count: int) -> list[dict]:
        return product_rows(catalog.summaries(ids[offset - skip: offset - skip + count]), language, resolve)
    return more


def category_pages(catalog: CategorySource, category_id: str, language: str, resolve: UrlResolver) -> RowPages:
    """A category's article rows (its subcategories' too), a page at a time, in catalog order."""
    def more(offset: int, count: int) -> list[dict]:
        return product_rows(catalog.products_in(category_id, limit=count, offset=offset), language, resolve)
    return more


def facet_chips(facets: dict[str, list[FacetValue]], facet: str, limit: int = 12) -> list[tuple[str, str]]:
    """(value, "label (count)") for one facet's chips, most common first as the search sorts them."""
    return [(v.value, f"{v.label} ({v.count})") for v in facets.get(facet, [])[:limit]]


def cart_rows(cart: Cart, language: str, resolve: UrlResolver) -> list[dict]:
    return [
        {
            "sku": line.sku,
            "title": line.name,
            "variant": line.variant_label,
            "quantity": str(line.quantity),
            "line_total": format_eur(line.total_cents, language),
            "image": resolve(line.image_url) if line.image_url else "",
        }
        for line in cart.lines
    ]


def variant_label(size: str | None, colour: str | None) -> str:
    return " · ".join(part for part in (size, colour) if part)


def product_images(product: Product, resolve: UrlResolver) -> list[str]:
    return [resolve(url) for url in product.images]
