"""SQLite storage of the reference server: schema, connections, and a few writes tests need.

One connection per request (cheap with SQLite) so handlers running in uvicorn's thread pool never
share one; WAL mode so readers never wait for the writer. Writes that must be atomic with their
idempotency record run under `Database.write_lock` (one writer at a time, as SQLite has anyway).
"""

from __future__ import annotations

import hashlib
import json
import random
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
    version     INTEGER NOT NULL UNIQUE,
    json        TEXT               -- the product as the catalog serves it (see render_products); NULL = not yet
);
CREATE TABLE IF NOT EXISTS variants (
    sku         TEXT PRIMARY KEY,
    product_row INTEGER NOT NULL REFERENCES products(row_id),
    position    INTEGER NOT NULL,
    ean         TEXT,
    size        TEXT,
    colour      TEXT,
    price_cents INTEGER NOT NULL,
    available   INTEGER            -- 1 when in stock in any shop; filled by the seed (NULL = not yet known)
);
CREATE INDEX IF NOT EXISTS variants_by_product ON variants(product_row, position);
-- Withdrawn products: their version comes from the same sequence as products.version, so a delta
-- sync from an older cursor lists them in `CatalogPage.removed`.
CREATE TABLE IF NOT EXISTS removed_products (
    id      TEXT PRIMARY KEY,
    version INTEGER NOT NULL UNIQUE
);
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
    created_at      TEXT NOT NULL,
    delivery_cost_cents INTEGER NOT NULL DEFAULT 0,
    ready_on        TEXT,          -- ISO date: pickup ready / delivery promised (Europe/Amsterdam)
    reservation_id  TEXT,          -- the reservation this order committed (NULL: reserved at once)
    -- Home delivery only; personal data, never in an `Order` answer nor on the tracking page.
    delivery_postcode              TEXT,
    delivery_house_number          INTEGER,
    delivery_house_number_addition TEXT,
    delivery_email                 TEXT
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
-- Stock: the seed's deterministic figure per sku x shop (`central.seed.stock_quantity`) is the base,
-- never materialised (100k articles x shops would be millions of rows); every change since is a
-- move. store_id NULL is the warehouse that home delivery and transfers to shops ship from.
CREATE TABLE IF NOT EXISTS stock_moves (
    id       INTEGER PRIMARY KEY,
    sku      TEXT NOT NULL,
    store_id TEXT,                 -- NULL = the warehouse
    delta    INTEGER NOT NULL,
    reason   TEXT NOT NULL,        -- e.g. 'order K-2025-000012', 'restock', 'count'
    at       TEXT NOT NULL         -- UTC ISO 8601, fixed width (`central.stock.stamp`): when it happened
);
CREATE INDEX IF NOT EXISTS stock_moves_by_sku ON stock_moves(sku, store_id);
-- Stock held for a cart before it is paid: one row per line. A held row counts against the stock
-- of its place until expires_at; committing writes the stock moves and marks the rows committed.
CREATE TABLE IF NOT EXISTS reservations (
    reservation_id      TEXT NOT NULL,
    position            INTEGER NOT NULL,
    kiosk_id            TEXT NOT NULL,
    store_id            TEXT,          -- where the stock is held; NULL = the warehouse
    sku                 TEXT NOT NULL,
    quantity            INTEGER NOT NULL,
    expires_at          TEXT NOT NULL, -- UTC ISO 8601, fixed width, so text order is time order
    status              TEXT NOT NULL, -- held, committed, released
    fulfilment_type     TEXT NOT NULL,
    fulfilment_store_id TEXT,          -- the shop of take_now / pickup (a transfer is held in the warehouse)
    order_id            TEXT,          -- set when committed
    created_at          TEXT NOT NULL,
    PRIMARY KEY (reservation_id, position)
);
CREATE INDEX IF NOT EXISTS reservations_held ON reservations(sku, store_id) WHERE status = 'held';
-- Carts handed off to a shopper's phone (`central.carts`): the token only hashed, like kiosk tokens,
-- so a copy of the database opens no cart. Lines are skus and quantities; prices are read when viewed.
CREATE TABLE IF NOT EXISTS carts (
    token_sha256 TEXT PRIMARY KEY,
    kiosk_id     TEXT NOT NULL,
    store_id     TEXT NOT NULL,
    lines        TEXT NOT NULL,    -- JSON [{"sku": ..., "quantity": ...}] in the kiosk's order
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL     -- UTC ISO 8601, fixed width, so text order is time order
);
CREATE INDEX IF NOT EXISTS carts_by_expiry ON carts(expires_at);
-- Who works where (`central.staff`); seeded for the demo shops. Inactive staff stay for the history
-- (adjustments and pick lists name them) but can no longer act.
CREATE TABLE IF NOT EXISTS staff (
    staff_id   TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    store_id   TEXT NOT NULL,
    role       TEXT NOT NULL,      -- staff, manager
    badge_uids TEXT NOT NULL,      -- JSON list of UIDs: hex, upper-case, no separators
    active     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS staff_by_store ON staff(store_id);
-- Staff restocks and counts (`central.adjustments`): the record behind their stock move (if any;
-- an adjustment a later count already covers moves nothing). Times are UTC ISO 8601, fixed width.
CREATE TABLE IF NOT EXISTS stock_adjustments (
    adjustment_id TEXT PRIMARY KEY,
    kiosk_id      TEXT NOT NULL,
    store_id      TEXT NOT NULL,
    sku           TEXT NOT NULL,
    kind          TEXT NOT NULL,   -- received, counted
    quantity      INTEGER NOT NULL,
    delta         INTEGER NOT NULL,
    on_hand       INTEGER NOT NULL, -- right after it was recorded
    available     INTEGER NOT NULL,
    staff_id      TEXT NOT NULL,
    note          TEXT,
    made_at       TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stock_counts ON stock_adjustments(sku, store_id, made_at) WHERE kind = 'counted';
-- How far staff are with a pickup order (`central.pick_lists`); no row = still to pick. Apart from
-- the order, which is written once; its `status` follows (picked: ready, handed over: completed).
CREATE TABLE IF NOT EXISTS pick_status (
    order_id       TEXT PRIMARY KEY REFERENCES orders(order_id),
    status         TEXT NOT NULL,  -- picked, handed_over
    picked_by      TEXT NOT NULL,
    picked_at      TEXT NOT NULL,  -- UTC ISO 8601, fixed width, so text order is time order
    handed_over_by TEXT,
    handed_over_at TEXT
);
CREATE INDEX IF NOT EXISTS orders_for_pickup ON orders(fulfilment_store_id) WHERE fulfilment_type = 'pickup';
-- The latest fleet report per kiosk (`central.fleet_reports`): replaced by every report it sends.
CREATE TABLE IF NOT EXISTS fleet_reports (
    kiosk_id    TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL,     -- as the pillar reports it (the kiosks table has the central one)
    app_version TEXT NOT NULL,
    reported_at TEXT NOT NULL,     -- the pillar's clock, ISO 8601
    received_at TEXT NOT NULL,     -- the server's clock, ISO 8601: "last seen"
    report_json TEXT NOT NULL      -- the FleetReport as received
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


_LATER_COLUMNS = (
    ("variants", "available", "INTEGER"),
    ("products", "json", "TEXT"),
    ("orders", "delivery_cost_cents", "INTEGER NOT NULL DEFAULT 0"),
    ("orders", "ready_on", "TEXT"),
    ("orders", "reservation_id", "TEXT"),
    ("orders", "delivery_postcode", "TEXT"),
    ("orders", "delivery_house_number", "INTEGER"),
    ("orders", "delivery_house_number_addition", "TEXT"),
    ("orders", "delivery_email", "TEXT"),
)


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Files made before a column existed get it (NULL or its default); the seed fills in what it can."""
    for table, column, declaration in _LATER_COLUMNS:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if columns and column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            conn.commit()


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
            _add_missing_columns(conn)
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


def image_urls(product_id: str, image_count: int) -> list[str]:
    # Relative to the API base, so a synced catalog survives a change of host name.
    return [f"v1/images/{product_id}/{n}.png" for n in range(1, image_count + 1)]


def product_dict(product_id: str, name: str, description: str, brand: str | None, category_id: str,
                 image_count: int, variants: list[tuple]) -> dict:
    """A product in the shape of `kiosk.contract.Product`; variants: (sku, ean, size, colour, price_cents,
    available) in order."""
    return {
        "id": product_id, "name": name, "description": description, "brand": brand, "category_id": category_id,
        "images": image_urls(product_id, image_count),
        "variants": [{"sku": sku, "ean": ean, "size": size, "colour": colour, "price_cents": price_cents,
                      "currency": "EUR", "available": available != 0}
                     for sku, ean, size, colour, price_cents, available in variants],
    }


def product_json(product: dict) -> str:
    return json.dumps(product, ensure_ascii=False, separators=(",", ":"))


def product_jsons(conn: sqlite3.Connection, row_ids: list[int]) -> dict[int, str]:
    """Each product's JSON as the catalog serves it, built from its rows (at most 500 ids a call)."""
    marks = ",".join("?" * len(row_ids))
    variants: dict[int, list[tuple]] = {row_id: [] for row_id in row_ids}
    for product_row, *variant in conn.execute(
        "SELECT product_row, sku, ean, size, colour, price_cents, available FROM variants"
        f" WHERE product_row IN ({marks}) ORDER BY product_row, position", row_ids
    ):
        variants[product_row].append(variant)
    return {
        row[0]: product_json(product_dict(*row[1:], variants[row[0]]))
        for row in conn.execute("SELECT row_id, id, name, description, brand, category_id, image_count"
                                f" FROM products WHERE row_id IN ({marks})", row_ids)
    }


def render_products(conn: sqlite3.Connection, row_ids: list[int]) -> None:
    """Store each product's JSON as the catalog serves it: a catalog page is then a join of stored
    strings (a page of 500 costs the server ~2 ms instead of ~12 ms of building and dumping).
    Every write to a product or its variants must call this (the helpers below do)."""
    for start in range(0, len(row_ids), 500):
        rendered = product_jsons(conn, row_ids[start:start + 500])
        conn.executemany("UPDATE products SET json = ? WHERE row_id = ?",
                         [(text, row_id) for row_id, text in rendered.items()])


def next_version(conn: sqlite3.Connection) -> int:
    """The next catalog version: one sequence for changed and for withdrawn products (both indexed)."""
    return conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(version) FROM products), 0),"
        " COALESCE((SELECT MAX(version) FROM removed_products), 0)) + 1"
    ).fetchone()[0]


def set_price(conn: sqlite3.Connection, sku: str, price_cents: int) -> None:
    """Change a variant's central price (as a price update from the retailer's ERP would).

    The product gets a new version, so a kiosk's next delta sync sees the change.
    """
    with conn:
        row = conn.execute("SELECT product_row FROM variants WHERE sku = ?", (sku,)).fetchone()
        if row is None:
            raise KeyError(sku)
        conn.execute("UPDATE variants SET price_cents = ? WHERE sku = ?", (price_cents, sku))
        conn.execute("UPDATE products SET version = ? WHERE row_id = ?", (next_version(conn), row["product_row"]))
        render_products(conn, [row["product_row"]])


def touch_product(conn: sqlite3.Connection, product_id: str, *, name: str | None = None) -> None:
    """Give a product a new version (and optionally a new name): the next delta sync sends it again."""
    with conn:
        row = conn.execute("SELECT row_id FROM products WHERE id = ?", (product_id,)).fetchone()
        if row is None:
            raise KeyError(product_id)
        if name is not None:
            conn.execute("UPDATE products SET name = ? WHERE row_id = ?", (name, row["row_id"]))
        conn.execute("UPDATE products SET version = ? WHERE row_id = ?", (next_version(conn), row["row_id"]))
        render_products(conn, [row["row_id"]])


def withdraw_product(conn: sqlite3.Connection, product_id: str) -> None:
    """Take a product out of the catalog; the next delta sync lists it in `removed`.

    Past orders keep their lines (they hold SKU, name and price of their own).
    """
    with conn:
        row = conn.execute("SELECT row_id FROM products WHERE id = ?", (product_id,)).fetchone()
        if row is None:
            raise KeyError(product_id)
        version = next_version(conn)
        conn.execute("DELETE FROM variants WHERE product_row = ?", (row["row_id"],))
        conn.execute("DELETE FROM products WHERE row_id = ?", (row["row_id"],))
        conn.execute("INSERT OR REPLACE INTO removed_products (id, version) VALUES (?, ?)", (product_id, version))


def change_random_products(conn: sqlite3.Connection, count: int, *, seed: int | str = 0) -> list[str]:
    """Change the price of one variant of `count` distinct random products (deterministic per seed),
    each with a new version; returns the product ids in the order they were changed.

    New prices stay positive and shop-like: the old price plus or minus a round amount.
    """
    rng = random.Random(seed)
    with conn:
        row_ids = [r[0] for r in conn.execute("SELECT row_id FROM products ORDER BY row_id")]
        chosen = rng.sample(row_ids, min(count, len(row_ids)))
        version = next_version(conn)
        changed = []
        for offset, row_id in enumerate(chosen):
            variants = conn.execute(
                "SELECT sku, price_cents FROM variants WHERE product_row = ? ORDER BY position", (row_id,)).fetchall()
            sku, price = variants[rng.randrange(len(variants))]
            step = rng.choice((-500, -200, -100, 100, 200, 500, 1000))
            new_price = price + step if price + step > 0 else price + abs(step)
            conn.execute("UPDATE variants SET price_cents = ? WHERE sku = ?", (new_price, sku))
            conn.execute("UPDATE products SET version = ? WHERE row_id = ?", (version + offset, row_id))
            changed.append(conn.execute("SELECT id FROM products WHERE row_id = ?", (row_id,)).fetchone()[0])
        render_products(conn, chosen)
    return changed
