"""Read-only routes: health, catalog, categories, stores, stock, product pictures."""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Path, Query
from fastapi.responses import Response

from central import examples, stock
from central.db import product_jsons
from central.deps import Kiosk, Parts
from central.errors import ApiProblem, error_responses
from central.seed import shelf_location
from kiosk.contract import (
    CatalogPage,
    Category,
    Health,
    OpeningHours,
    StockAnswer,
    StockLevel,
    StockQuery,
    Store,
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
        version = int(text[len(_CURSOR_PREFIX):])
        if not 0 <= version < 2**63:  # SQLite's INTEGER: a larger one would be a server error, not a 400
            raise ValueError(version)
        return version
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(400, "invalid_cursor", "The cursor was not made by this server.") from None


def catalog_page_json(conn: sqlite3.Connection, after: int, limit: int) -> bytes:
    """One page of the catalog after version `after`, as the JSON body of a `CatalogPage`.

    Changed products and withdrawn ones come in one stream in version order, `limit` entries at
    most; the page's cursor is the version of its last entry. Withdrawals are left out of the very
    first page of a full sync (no cursor: the kiosk has nothing to remove yet).
    """
    conn.execute("BEGIN")  # one snapshot for the page, the withdrawals and the count
    try:
        rows = conn.execute(
            "SELECT row_id, json, version FROM products WHERE version > ? ORDER BY version LIMIT ?", (after, limit + 1)
        ).fetchall()
        withdrawn = conn.execute(
            "SELECT id, version FROM removed_products WHERE version > ? ORDER BY version LIMIT ?", (after, limit + 1)
        ).fetchall() if after else []
        if withdrawn:
            merged = sorted([(r[2], r) for r in rows] + [(w[1], w) for w in withdrawn], key=lambda e: e[0])
            has_more = len(merged) > limit
            merged = merged[:limit]
            rows = [entry for _, entry in merged if len(entry) == 3]
            removed = [entry[0] for _, entry in merged if len(entry) == 2]
            last_version = merged[-1][0] if merged else after
        else:
            has_more = len(rows) > limit
            rows = rows[:limit]
            removed = []
            last_version = rows[-1][2] if rows else after
        missing = [row[0] for row in rows if row[1] is None]
        if missing:  # written by something that did not render it: render now (this answer only)
            rendered = product_jsons(conn, missing)
            items = ",".join(row[1] if row[1] is not None else rendered[row[0]] for row in rows)
        else:
            items = ",".join(row[1] for row in rows)
        remaining = conn.execute(
            "SELECT COUNT(*) FROM products WHERE version > ?", (last_version,)).fetchone()[0] if has_more else 0
    finally:
        conn.rollback()
    tail = {"next_cursor": encode_cursor(last_version), "has_more": has_more, "removed": removed,
            "remaining": remaining}
    return ('{"items":[' + items + "]," + json.dumps(tail, separators=(",", ":"))[1:]).encode()


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
) -> Response:
    after = decode_cursor(cursor) if cursor else 0
    with parts.db.session() as conn:
        body = catalog_page_json(conn, after, limit)
    # Returned as bytes: FastAPI would otherwise validate and serialise every product a second time.
    return Response(body, media_type="application/json")


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
             summary="Stock of many SKUs at many shops: available to sell now (on hand minus held "
                     "reservations) and the shelf. A level for every known sku x known shop (quantity 0 "
                     "included); unknown SKUs and shops are left out, not an error")
def stock_query(parts: Parts, _: Kiosk,
                query: Annotated[StockQuery, Body(openapi_examples=examples.STOCK_QUERY)]) -> StockAnswer:
    skus = list(dict.fromkeys(query.skus))
    store_ids = list(dict.fromkeys(query.store_ids))
    now = parts.clock()
    with parts.db.session() as conn:
        conn.execute("BEGIN")  # one snapshot: moves and holds of the same moment
        try:
            known_skus = [r[0] for r in conn.execute(
                f"SELECT sku FROM variants WHERE sku IN ({','.join('?' * len(skus))})", skus)]
            known_stores = {r[0] for r in conn.execute(
                f"SELECT id FROM stores WHERE id IN ({','.join('?' * len(store_ids))})", store_ids)}
            stores = [store_id for store_id in store_ids if store_id in known_stores]
            quantities = stock.available(conn, known_skus, stores, now)
        finally:
            conn.rollback()
    known = set(known_skus)
    levels = [
        StockLevel(sku=sku, store_id=store_id, quantity=quantities[(sku, store_id)],
                   location=shelf_location(sku, store_id))
        for sku in skus if sku in known
        for store_id in stores
    ]
    return StockAnswer(as_of=now, levels=levels)


@router.get("/images/{product_id}/{number}.png", tags=["catalog"], response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "A PNG picture"},
                       **error_responses(404)},
            summary="Product picture number 1..n (no credential: pictures are public, like on the web shop)")
def picture(parts: Parts, product_id: Annotated[str, Path(openapi_examples=examples.PICTURE_PRODUCT)],
            number: Annotated[int, Path(openapi_examples=examples.PICTURE_NUMBER)]) -> Response:
    with parts.db.session() as conn:
        row = conn.execute("SELECT name, category_id, image_count FROM products WHERE id = ?",
                           (product_id,)).fetchone()
    if row is None or not 1 <= number <= row["image_count"]:
        raise ApiProblem(404, "not_found", f"No picture {number} of product {product_id!r}.")
    png = parts.pictures.get(product_id, number, row["name"], row["category_id"])
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
