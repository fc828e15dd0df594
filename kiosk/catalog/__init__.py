"""The catalog as the kiosk sees it: categories and products, read from the central API.

This first version keeps the catalog in memory, loaded page by page at start-up. The SQLite copy
with delta sync, offline use and search replaces the storage behind the same questions
(`categories`, `products_in`, `product`) without the screens noticing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timezone
from typing import Protocol

from kiosk.contract import CatalogPage, Category, Product

log = logging.getLogger("kiosk.catalog")


class CatalogSource(Protocol):
    async def categories(self) -> list[Category]: ...

    async def catalog_page(self, cursor: str | None = None, limit: int = 200) -> CatalogPage: ...


class Catalog:
    def __init__(self) -> None:
        self._categories: dict[str, Category] = {}
        self._children: dict[str | None, list[str]] = defaultdict(list)
        self._products: dict[str, Product] = {}
        self._by_category: dict[str, list[str]] = defaultdict(list)
        self.loaded_at: datetime | None = None

    @property
    def is_loaded(self) -> bool:
        return self.loaded_at is not None

    def top_categories(self) -> list[Category]:
        return [self._categories[cid] for cid in self._children[None]]

    def category(self, category_id: str) -> Category | None:
        return self._categories.get(category_id)

    def product(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def products_in(self, category_id: str) -> list[Product]:
        """Products of a category and all its subcategories, in catalog order."""
        ids: list[str] = []
        stack = [category_id]
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current in seen:  # a cycle in bad data must not hang the pillar
                continue
            seen.add(current)
            ids.extend(self._by_category.get(current, ()))
            stack.extend(self._children.get(current, ()))
        return [self._products[pid] for pid in ids]

    def count_in(self, category_id: str) -> int:
        return len(self.products_in(category_id))

    async def load(self, source: CatalogSource, page_size: int = 500) -> None:
        """Fetch everything, then swap it in at once: screens never see a half-loaded catalog."""
        categories = await source.categories()
        products: list[Product] = []
        cursor: str | None = None
        while True:
            page = await source.catalog_page(cursor=cursor, limit=page_size)
            products.extend(page.items)
            if not page.has_more or page.next_cursor is None:
                break
            cursor = page.next_cursor
        self._swap_in(categories, products)
        log.info("catalog loaded: %d categories, %d products", len(categories), len(products))

    def _swap_in(self, categories: list[Category], products: list[Product]) -> None:
        by_id = {c.id: c for c in categories}
        children: dict[str | None, list[str]] = defaultdict(list)
        for category in categories:
            parent = category.parent_id if category.parent_id in by_id else None
            children[parent].append(category.id)
        product_map: dict[str, Product] = {}
        by_category: dict[str, list[str]] = defaultdict(list)
        for product in products:
            if product.id in product_map:
                log.warning("duplicate product %s skipped", product.id)
                continue
            product_map[product.id] = product
            by_category[product.category_id].append(product.id)
        self._categories, self._children = by_id, children
        self._products, self._by_category = product_map, by_category
        self.loaded_at = datetime.now(timezone.utc)


def variant_label(size: str | None, colour: str | None) -> str:
    return " · ".join(part for part in (size, colour) if part)


def lowest_price_cents(product: Product) -> int:
    return min(v.price_cents for v in product.variants)
