"""Rows for the screens' lists, built as plain dicts (one small function per row kind).

Pure functions of the domain state and the language, so they test without a window and the
RecycleViews only ever receive ready-made data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kiosk.cart import Cart
from kiosk.catalog import Catalog, lowest_price_cents, variant_label
from kiosk.contract import Product
from kiosk.i18n import translate
from kiosk.money import format_eur

UrlResolver = Callable[[str], str]


def category_rows(catalog: Catalog, language: str, resolve: UrlResolver) -> list[dict]:
    rows = []
    for category in catalog.top_categories():
        products = catalog.products_in(category.id)
        name = category.name_en if language == "en" and category.name_en else category.name
        picture = next((p.images[0] for p in products if p.images), "")
        rows.append({
            "key": category.id,
            "title": name,
            "subtitle": translate(language, "categories.count", count=len(products)),
            "image": resolve(picture) if picture else "",
        })
    return rows


def product_rows(products: Iterable[Product], language: str, resolve: UrlResolver) -> list[dict]:
    rows = []
    for product in products:
        low = lowest_price_cents(product)
        prices = {v.price_cents for v in product.variants}
        price = format_eur(low, language)
        rows.append({
            "key": product.id,
            "title": product.name,
            "brand": product.brand or "",
            "price": translate(language, "products.from", price=price) if len(prices) > 1 else price,
            "image": resolve(product.images[0]) if product.images else "",
        })
    return rows


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


def variant_choices(product: Product) -> list[tuple[str, str]]:
    """(sku, label) per variant; a product without size or colour gets its name as the label."""
    return [(v.sku, variant_label(v.size, v.colour) or product.name) for v in product.variants]
