"""Read-only routes: health, catalog, categories, stores, stock, product pictures."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from central.deps import Kiosk, Parts
from central.errors import ApiProblem, error_responses
from central.seed import DEMO_STORE_ID
from kiosk.contract import (
    CatalogPage,
    Category,
    Health,
    OpeningHours,
    Product,
    StockAnswer,
    StockLevel,
    StockQuery,
    Store,
    Variant,
)

router = APIRouter(prefix="/v1")

_CURSOR_PREFIX = "v1:"


# --- cursor -----------------------------------------------------------------------------------
# The cursor is opaque to the kiosk. Inside, it is the catalog version of the last product sent.
# Products are served in version order and every change gives a product a new, higher version,
# so the cursor of the last page, kept and sent later, returns exactly what changed since.


def encode_cursor(version: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{version}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        return int(text[len(_CURSOR_PREFIX):])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(400, "invalid_cursor", "The cursor was not made by this server.") from None


def image_urls(product_id: str, image_count: int) -> list[str]:
    # Relative to the API base, so a synced catalog survives a change of host name.
    return [f"v1/images/{product_id}/{n}.png" for n in range(1, image_count + 1)]


def _products(conn: sqlite3.Connection, rows: list[sqlite3.Row]) -> list[Product]:
    if not rows:
        return []
    row_ids = [row["row_id"] for row in rows]
    variants: dict[int, list[Variant]] = {row_id: [] for row_id in row_ids}
    marks = ",".join("?" * len(row_ids))
    for v in conn.execute(
        f"SELECT * FROM variants WHERE product_row IN ({marks}) ORDER BY product_row, position", row_ids
    ):
        variants[v["product_row"]].append(
            Variant(sku=v["sku"], ean=v["ean"], size=v["size"], colour=v["colour"], price_cents=v["price_cents"])
        )
    return [
        Product(id=row["id"], name=row["name"], description=row["description"], brand=row["brand"],
                category_id=row["category_id"], images=image_urls(row["id"], row["image_count"]),
                variants=variants[row["row_id"]])
        for row in rows
    ]


# --- stock --------------------------------------------------------------------------------------


def stock_quantity(sku: str, store_id: str) -> int:
    """Deterministic demo stock: the kiosk's own shop has most articles, other shops about a third."""
    digest = hashlib.sha256(f"{sku}@{store_id}".encode()).digest()
    chance_in_stock = 0.8 if store_id == DEMO_STORE_ID else 0.35
    if digest[0] / 256 >= chance_in_stock:
        return 0
    return 1 + digest[1] % 12


# --- routes -------------------------------------------------------------------------------------


@router.get("/health", response_model=Health, tags=["health"], summary="Is the server up (no credential)")
def health() -> Health:
    return Health(time=datetime.now(UTC))


@router.get("/catalog", response_model=CatalogPage, tags=["catalog"], responses=error_responses(400, 401, 422),
            summary="Products with variants, prices and pictures, paged; the last cursor is a delta-sync cursor")
def catalog(
    parts: Parts,
    _: Kiosk,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> CatalogPage:
    after = decode_cursor(cursor) if cursor else 0
    with parts.db.session() as conn:
        rows = conn.execute(
            "SELECT * FROM products WHERE version > ? ORDER BY version LIMIT ?", (after, limit + 1)
        ).fetchall()
        has_more = len(rows) > limit
        rows = rows[:limit]
        items = _products(conn, rows)
    last_version = rows[-1]["version"] if rows else after
    return CatalogPage(items=items, next_cursor=encode_cursor(last_version), has_more=has_more)


@router.get("/categories", response_model=list[Category], tags=["catalog"], responses=error_responses(401),
            summary="The category tree (two levels), parents first")
def categories(parts: Parts, _: Kiosk) -> list[Category]:
    with parts.db.session() as conn:
        rows = conn.execute("SELECT * FROM categories ORDER BY position").fetchall()
    return [Category(id=r["id"], name=r["name"], name_en=r["name_en"], parent_id=r["parent_id"]) for r in rows]


@router.get("/stores", response_model=list[Store], tags=["stores"], responses=error_responses(401),
            summary="Shops with coordinates and weekly opening hours (days not listed are closed)")
def stores(parts: Parts, _: Kiosk) -> list[Store]:
    with parts.db.session() as conn:
        rows = conn.execute("SELECT * FROM stores ORDER BY position").fetchall()
    return [
        Store(id=r["id"], name=r["name"], city=r["city"], address=r["address"], latitude=r["latitude"],
              longitude=r["longitude"],
              opening_hours=[OpeningHours(**h) for h in json.loads(r["opening_hours"])])
        for r in rows
    ]


@router.post("/stock:query", response_model=StockAnswer, tags=["stores"], responses=error_responses(401, 422),
             summary="Stock of many SKUs at many shops. A level for every known sku x known shop "
                     "(quantity 0 included); unknown SKUs and shops are left out, not an error")
def stock_query(parts: Parts, _: Kiosk, query: StockQuery) -> StockAnswer:
    skus = list(dict.fromkeys(query.skus))
    store_ids = list(dict.fromkeys(query.store_ids))
    with parts.db.session() as conn:
        known_skus = {r[0] for r in conn.execute(
            f"SELECT sku FROM variants WHERE sku IN ({','.join('?' * len(skus))})", skus)}
        known_stores = {r[0] for r in conn.execute(
            f"SELECT id FROM stores WHERE id IN ({','.join('?' * len(store_ids))})", store_ids)}
    levels = [
        StockLevel(sku=sku, store_id=store_id, quantity=stock_quantity(sku, store_id))
        for sku in skus if sku in known_skus
        for store_id in store_ids if store_id in known_stores
    ]
    return StockAnswer(as_of=datetime.now(UTC), levels=levels)


@router.get("/images/{product_id}/{number}.png", tags=["catalog"], response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "A PNG picture"},
                       **error_responses(404)},
            summary="Product picture number 1..n (no credential: pictures are public, like on the web shop)")
def picture(parts: Parts, product_id: str, number: int) -> Response:
    with parts.db.session() as conn:
        row = conn.execute("SELECT name, category_id, image_count FROM products WHERE id = ?",
                           (product_id,)).fetchone()
    if row is None or not 1 <= number <= row["image_count"]:
        raise ApiProblem(404, "not_found", f"No picture {number} of product {product_id!r}.")
    png = parts.pictures.get(product_id, number, row["name"], row["category_id"])
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
