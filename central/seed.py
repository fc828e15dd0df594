"""The deterministic demo catalog: any number of articles, the same every time.

Article number i (1-based) is generated from its own random stream seeded with (SEED, i), so it
does not depend on how many articles are asked for: seeding 2,000 then 5,000 only adds articles
2,001..5,000, and two servers seeded with the same count serve the very same catalog.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass

from central import catalog_data as data
from central.db import Database, article_count, product_dict, product_json, render_products, token_hash
from central.db import next_version as next_catalog_version

SEED = "kiosk-demo-catalog-v1"
MAX_VARIANTS = 5

DEMO_KIOSK_TOKEN = "demo-kiosk-token"
DEMO_KIOSK_ID = "demo-kiosk-01"
DEMO_STORE_ID = "utrecht-centrum"
DEMO_STAFF_ID = "s-utr-1"    # Sanne de Vries, badge 04A1B2C3D4E5F6 (see catalog_data.STAFF)
DEMO_MANAGER_ID = "s-utr-2"  # Mehmet Yilmaz, badge 04112233445566


STORE_IDS = tuple(store[0] for store in data.STORES)


def stock_quantity(sku: str, store_id: str) -> int:
    """Deterministic demo stock: the kiosk's own shop has most articles, other shops about a third."""
    digest = hashlib.sha256(f"{sku}@{store_id}".encode()).digest()
    chance_in_stock = 0.8 if store_id == DEMO_STORE_ID else 0.35
    if digest[0] / 256 >= chance_in_stock:
        return 0
    return 1 + digest[1] % 12


_AISLES = 12
_SHELVES = "ABCDEF"


def shelf_location(sku: str, store_id: str) -> str | None:
    """Deterministic demo shelf of an article in a shop ("Gang 4, schap B"); about one in eight has
    none (kept in the stockroom: staff fetch it), so the kiosk must cope with an unknown place."""
    digest = hashlib.sha256(f"shelf:{sku}@{store_id}".encode()).digest()
    if digest[0] < 32:
        return None
    return f"Gang {1 + digest[1] % _AISLES}, schap {_SHELVES[digest[2] % len(_SHELVES)]}"


def is_available(sku: str) -> bool:
    """A variant is orderable when some shop has it in stock (about 99 % of the demo variants)."""
    return any(stock_quantity(sku, store_id) > 0 for store_id in STORE_IDS)


def ean13_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_valid_ean13(ean: str) -> bool:
    return len(ean) == 13 and ean.isdigit() and ean13_check_digit(ean[:12]) == ean[12]


def product_id(index: int) -> str:
    return f"P{index:06d}"


def retail_price_cents(euros: float) -> int:
    """A price that looks like a shop's: 9,95 / 24,99 / 249,99 / 199,95 rather than 23,17."""
    if euros < 100:
        whole = max(1, round(euros))
        ending = 95 if whole % 2 else 99
        return (whole - 1) * 100 + ending
    tens = max(10, round(euros / 10) * 10)
    return tens * 100 - (1 if tens % 20 else 5)


@dataclass(frozen=True)
class SeedVariant:
    sku: str
    position: int
    ean: str
    size: str | None
    colour: str | None
    price_cents: int


@dataclass(frozen=True)
class SeedArticle:
    index: int
    id: str
    name: str
    description: str
    brand: str
    category_id: str
    image_count: int
    variants: tuple[SeedVariant, ...]


def generate_article(index: int) -> SeedArticle:
    rng = random.Random(f"{SEED}:{index}")
    kind = rng.choice(data.PRODUCT_TYPES)
    brand = rng.choice(kind.brands)
    if kind.models:
        model = rng.choice(kind.models)
    else:
        model = f"{rng.choice(data.MODEL_WORDS)} {rng.choice(data.MODEL_SUFFIXES)}".strip()
    name = f"{kind.name} {brand} {model}"

    top_category = kind.category_id.split("-")[0]
    features = rng.sample(data.FEATURES[top_category], 2)
    description = f"{kind.blurb} {features[0]} {features[1]} Van {brand}."

    # Prices spread evenly on a log scale between the type's cheapest and dearest, as in real ranges.
    low, high = kind.price_euros
    base_euros = math.exp(rng.uniform(math.log(low), math.log(high)))

    sizes: list[str | None] = [None]
    if kind.sizes:
        run = rng.randint(1, min(len(kind.sizes), MAX_VARIANTS))
        start = rng.randint(0, len(kind.sizes) - run)
        sizes = list(kind.sizes[start : start + run])
    colours: list[str | None] = [None]
    if kind.colours:
        colours = rng.sample(data.COLOURS, rng.randint(1, 3))
    combos = [(size, colour) for colour in colours for size in sizes][:MAX_VARIANTS]

    pid = product_id(index)
    variants = []
    for position, (size, colour) in enumerate(combos):
        step = kind.sizes.index(size) if size is not None and kind.name in data.PRICED_BY_SIZE else 0
        price = retail_price_cents(base_euros * (1 + 0.15 * step))
        ean_body = f"871{index * MAX_VARIANTS + position:09d}"
        variants.append(
            SeedVariant(
                sku=f"{pid}-{position + 1:02d}",
                position=position,
                ean=ean_body + ean13_check_digit(ean_body),
                size=size,
                colour=colour,
                price_cents=price,
            )
        )
    return SeedArticle(
        index=index,
        id=pid,
        name=name,
        description=description,
        brand=brand,
        category_id=kind.category_id,
        image_count=rng.randint(1, 3),
        variants=tuple(variants),
    )


def seed_reference_data(db: Database) -> None:
    """Categories, shops, their staff and the demo kiosk: small, so simply (re)written every start."""
    with db.session() as conn, conn:
        conn.executemany(
            "INSERT OR REPLACE INTO categories (id, name, name_en, parent_id, position) VALUES (?, ?, ?, ?, ?)",
            [(cid, name, name_en, parent, pos) for pos, (cid, name, name_en, parent) in enumerate(data.CATEGORIES)],
        )
        conn.executemany(
            "INSERT OR REPLACE INTO stores (id, name, city, address, latitude, longitude, opening_hours, position)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (sid, name, city, address, lat, lon, json.dumps(hours), pos)
                for pos, (sid, name, city, address, lat, lon, hours) in enumerate(data.STORES)
            ],
        )
        conn.execute(
            "INSERT OR IGNORE INTO kiosks (token_sha256, kiosk_id, store_id) VALUES (?, ?, ?)",
            (token_hash(DEMO_KIOSK_TOKEN), DEMO_KIOSK_ID, DEMO_STORE_ID),
        )
        # Staff are demo data too: rewritten (and so active again) every start.
        conn.executemany(
            "INSERT OR REPLACE INTO staff (staff_id, name, store_id, role, badge_uids, active)"
            " VALUES (?, ?, ?, ?, ?, 1)",
            [(sid, name, store_id, role, json.dumps(list(badges))) for sid, name, store_id, role, badges in data.STAFF],
        )


def seed_articles(db: Database, articles: int) -> int:
    """Make sure articles 1..`articles` exist; returns how many were added (0 when already there).

    One transaction and executemany: 2,000 articles take well under a second, 100,000 some seconds.
    """
    with db.session() as conn:
        have = article_count(conn)
        if have >= articles:
            return 0
        start = conn.execute("SELECT COALESCE(MAX(row_id), 0) FROM products").fetchone()[0] + 1
        next_version = next_catalog_version(conn)
        product_rows = []
        variant_rows = []
        for offset, index in enumerate(range(start, start + articles - have)):
            article = generate_article(index)
            variants = [(v.sku, v.ean, v.size, v.colour, v.price_cents, int(is_available(v.sku)))
                        for v in article.variants]
            rendered = product_json(product_dict(article.id, article.name, article.description, article.brand,
                                                 article.category_id, article.image_count, variants))
            product_rows.append(
                (index, article.id, article.name, article.description, article.brand,
                 article.category_id, article.image_count, next_version + offset, rendered)
            )
            variant_rows.extend(
                (sku, index, position, ean, size, colour, price, available)
                for position, (sku, ean, size, colour, price, available) in enumerate(variants)
            )
        with conn:
            conn.executemany(
                "INSERT INTO products (row_id, id, name, description, brand, category_id, image_count, version, json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                product_rows,
            )
            conn.executemany(
                "INSERT INTO variants (sku, product_row, position, ean, size, colour, price_cents, available)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                variant_rows,
            )
        return len(product_rows)


def fill_derived(db: Database) -> int:
    """Compute `variants.available` and `products.json` where a file from before those columns left
    them NULL; returns how many products were rendered."""
    with db.session() as conn:
        skus = [r[0] for r in conn.execute("SELECT sku FROM variants WHERE available IS NULL")]
        row_ids = [r[0] for r in conn.execute("SELECT row_id FROM products WHERE json IS NULL")]
        if skus or row_ids:
            with conn:
                conn.executemany("UPDATE variants SET available = ? WHERE sku = ?",
                                 [(int(is_available(sku)), sku) for sku in skus])
                render_products(conn, row_ids)
    return len(row_ids)


def seed_database(db: Database, articles: int) -> int:
    seed_reference_data(db)
    added = seed_articles(db, articles)
    fill_derived(db)
    return added
