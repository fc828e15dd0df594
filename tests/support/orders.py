"""Checking the central database the way an auditor would: every approved payment has exactly one
order, every order exactly one approved payment, no approved payment without an order or a void.

And test data for orders now that the central API checks stock: `in_stock_variants` picks articles
the demo shop has (most first, so tests sharing a server spread what they take), `stock_up` fills a
test's own server for tests that place many orders, and `stock_server` starts a small server of a
test's own on a clock the test moves (reservations lapse, shops close).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel

from central import stock
from central.db import Database
from central.embedded import RunningServer, start_server
from central.seed import DEMO_KIOSK_TOKEN, DEMO_STORE_ID
from central.stock import set_stock
from kiosk.contract import CatalogPage, StockAnswer, StockLevel
from support.central_server import payment_request


def catalog_variants(http: httpx.Client, products: int = 100) -> list[tuple[str, str, int]]:
    """(sku, product name, price) of every variant of the first `products` products (at most 100)."""
    page = CatalogPage.model_validate_json(http.get("/v1/catalog", params={"limit": products}).content)
    return [(v.sku, p.name, v.price_cents) for p in page.items for v in p.variants]


def in_stock_variants(http: httpx.Client, count: int, *, store_id: str = DEMO_STORE_ID, at_least: int = 2,
                      products: int = 100) -> list[tuple[str, str, int]]:
    """(sku, product name, price) of `count` variants with at least `at_least` available at `store_id`
    now, the most available first (ties in catalog order)."""
    variants = catalog_variants(http, products)
    answer = StockAnswer.model_validate_json(http.post(
        "/v1/stock:query", json={"skus": [sku for sku, _, _ in variants], "store_ids": [store_id]}).content)
    available = {level.sku: level.quantity for level in answer.levels}
    ranked = sorted((v for v in variants if available.get(v[0], 0) >= at_least), key=lambda v: -available[v[0]])
    assert len(ranked) >= count, f"only {len(ranked)} variants with {at_least}+ in stock at {store_id}"
    return ranked[:count]


def stock_up(db_path: Path, *, store_id: str | None = DEMO_STORE_ID, quantity: int = 1000) -> None:
    """Give every variant `quantity` on hand at `store_id` (None: the warehouse), as a staff restock
    would: for a test's own server on which it places more orders than the demo stock has."""
    db = Database(db_path)
    with db.session() as conn:
        for (sku,) in conn.execute("SELECT sku FROM variants").fetchall():
            set_stock(conn, sku, store_id, quantity, reason="test restock")


@dataclass(frozen=True)
class Audit:
    payments_approved: int
    payments_voided: int
    payments_declined: int
    orders: int
    lost: int  # approved payments with no order (money taken, nothing ordered)
    doubled: int  # payments or kiosk orders with more than one order

    def __str__(self) -> str:
        return (f"approved {self.payments_approved}, voided {self.payments_voided}, declined {self.payments_declined}, "
                f"orders {self.orders}, lost {self.lost}, doubled {self.doubled}")


def audit(db_path: Path) -> Audit:
    with sqlite3.connect(db_path) as db:
        count = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return Audit(
            payments_approved=count("SELECT COUNT(*) FROM payments WHERE status = 'approved'"),
            payments_voided=count("SELECT COUNT(*) FROM payments WHERE status = 'voided'"),
            payments_declined=count("SELECT COUNT(*) FROM payments WHERE status = 'declined'"),
            orders=count("SELECT COUNT(*) FROM orders"),
            lost=count("SELECT COUNT(*) FROM payments p WHERE p.status = 'approved' "
                       "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.payment_id)"),
            doubled=count("SELECT COUNT(*) FROM (SELECT payment_id FROM orders GROUP BY payment_id HAVING COUNT(*) > 1)")
            + count("SELECT COUNT(*) FROM (SELECT order_id FROM payments WHERE status = 'approved' "
                    "GROUP BY order_id HAVING COUNT(*) > 1)"),
        )


# --- a server of a test's own, on a clock the test moves ------------------------------------------


class MovableClock:
    """The reference server's clock in a test: starts at `start` (aware) and moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# Tuesday 13 May 2025, 10:00 in Utrecht: every demo shop is open, and closes at 18:00 or later.
TUESDAY_MORNING = datetime(2025, 5, 13, 10, 0, tzinfo=ZoneInfo("Europe/Amsterdam"))


@dataclass
class StockServer:
    """A small seeded server of one test's own (its stock may change freely), with an HTTP client on
    the demo kiosk's token and the server's movable clock."""

    server: RunningServer
    http: httpx.Client
    clock: MovableClock

    def set_stock(self, sku: str, store_id: str | None, quantity: int) -> None:
        with Database(self.server.db_path).session() as conn:
            set_stock(conn, sku, store_id, quantity, now=self.clock())

    def available(self, sku: str, store_id: str | None) -> int:
        """Available now, as the server counts it (None: the warehouse, which stock:query does not show)."""
        with Database(self.server.db_path).session() as conn:
            return stock.available(conn, [sku], [store_id], self.clock())[(sku, store_id)]

    def shown(self, sku: str, store_id: str) -> StockLevel:
        answer = StockAnswer.model_validate_json(
            self.http.post("/v1/stock:query", json={"skus": [sku], "store_ids": [store_id]}).content)
        [level] = answer.levels
        return level

    def post(self, path: str, body: BaseModel, key: str | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
        return self.http.post(path, content=body.model_dump_json(), headers=headers)

    def pay(self, order_id: str, amount_cents: int) -> str:
        request = payment_request(order_id, amount_cents)
        response = self.post("/v1/payments", request, key=request.payment_id)
        assert response.status_code == 201, response.text
        return request.payment_id


@contextmanager
def stock_server(db_path: Path, *, start: datetime = TUESDAY_MORNING, articles: int = 40) -> Iterator[StockServer]:
    clock = MovableClock(start)
    server = start_server(db_path, seed_articles=articles, clock=clock)
    try:
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"},
                          timeout=10) as http:
            yield StockServer(server, http, clock)
    finally:
        server.stop()
