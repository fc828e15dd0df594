"""SQLite storage of the reference server: schema, connections, and a few writes tests need.

One connection per request (cheap with SQLite) so handlers running in uvicorn's thread pool never
share one; WAL mode so readers never wait for the writer. Writes that must be atomic with their
idempotency record run under `Database.write_lock` (one writer at a time, as SQLite has anyway).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS kiosks (
    token_sha256 TEXT PRIMARY KEY,
    kiosk_id     TEXT NOT NULL UNIQUE,
    store_id     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS categories (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    name_en   TEXT,
    parent_id TEXT REFERENCES categories(id),
    position  INTEGER NOT NULL
);
-- `version` orders the catalog and makes the cursor a delta-sync cursor: every change to a
-- product gives it a new, higher version, so it shows up again after the last cursor.
CREATE TABLE IF NOT EXISTS products (
    row_id      INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    brand       TEXT,
    category_id TEXT NOT NULL REFERENCES categories(id),
    image_count INTEGER NOT NULL,
    version     INTEGER NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS variants (
    sku         TEXT PRIMARY KEY,
    product_row INTEGER NOT NULL REFERENCES products(row_id),
    position    INTEGER NOT NULL,
    ean         TEXT,
    size        TEXT,
    colour      TEXT,
    price_cents INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS variants_by_product ON variants(product_row, position);
CREATE TABLE IF NOT EXISTS stores (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    city          TEXT NOT NULL,
    address       TEXT NOT NULL,
    latitude      REAL NOT NULL,
    longitude     REAL NOT NULL,
    opening_hours TEXT NOT NULL,   -- JSON list of OpeningHours
    position      INTEGER NOT NULL
);
-- Only what the contract lets a kiosk know of a card: the card summary. Never the PAN.
CREATE TABLE IF NOT EXISTS payments (
    payment_id      TEXT PRIMARY KEY,
    order_id        TEXT NOT NULL,
    kiosk_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    auth_code       TEXT,
    decline_code    TEXT,
    decline_message TEXT,
    card_summary    TEXT NOT NULL, -- JSON CardSummary
    created_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    number          INTEGER PRIMARY KEY AUTOINCREMENT, -- the sequence behind K-YYYY-NNNNNN
    order_id        TEXT NOT NULL UNIQUE,
    order_number    TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,
    kiosk_id        TEXT NOT NULL,
    store_id        TEXT NOT NULL,
    total_cents     INTEGER NOT NULL,
    currency        TEXT NOT NULL,
    payment_id      TEXT NOT NULL UNIQUE REFERENCES payments(payment_id),
    fulfilment_type TEXT NOT NULL,
    fulfilment_store_id TEXT,
    created_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id         TEXT NOT NULL REFERENCES orders(order_id),
    position         INTEGER NOT NULL,
    sku              TEXT NOT NULL,
    name             TEXT NOT NULL,
    quantity         INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    line_total_cents INTEGER NOT NULL,
    PRIMARY KEY (order_id, position)
);
-- The first successful answer per (operation, key), replayed for a repeat of the same request.
CREATE TABLE IF NOT EXISTS idempotency (
    operation     TEXT NOT NULL,
    key           TEXT NOT NULL,
    body_sha256   TEXT NOT NULL,
    status_code   INTEGER NOT NULL,
    response_json TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (operation, key)
);
"""


def token_hash(token: str) -> str:
    """Tokens are stored hashed: a copy of the database does not hand out kiosk credentials."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Database:
    """The server's SQLite file. Thread-safe by construction: a fresh connection per `session()`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.write_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.session() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        # check_same_thread=False: FastAPI may run a request's dependency and its handler on
        # different pool threads; the connection is still used by one request at a time.
        conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def session(self) -> Iterator[sqlite3.Connection]:
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()


def article_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COUNT(*) FROM products").fetchone()[0]


def set_price(conn: sqlite3.Connection, sku: str, price_cents: int) -> None:
    """Change a variant's central price (as a price update from the retailer's ERP would).

    The product gets a new version, so a kiosk's next delta sync sees the change.
    """
    with conn:
        row = conn.execute("SELECT product_row FROM variants WHERE sku = ?", (sku,)).fetchone()
        if row is None:
            raise KeyError(sku)
        conn.execute("UPDATE variants SET price_cents = ? WHERE sku = ?", (price_cents, sku))
        conn.execute(
            "UPDATE products SET version = (SELECT MAX(version) + 1 FROM products) WHERE row_id = ?",
            (row["product_row"],),
        )
