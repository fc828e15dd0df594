"""The local catalog as the screens ask for it: categories, article lists, articles, barcodes, search.

Reads `catalog.sqlite` (written by `kiosk.catalog.sync`) through one read-only connection, guarded
by a lock, so every method may be called from any thread (the UI calls them from a worker thread,
or directly when they are as fast as these: a few ms at most with 100,000 articles).

- A missing file is an empty store (`is_loaded` False), not an error; the file appearing later (the
  first full sync) or being replaced (every full sync swaps a new file in) is noticed on the next
  call (one `os.stat`), and `reopen()` forces it.
- Every question runs in one read transaction: a delta sync committing meanwhile is seen wholly or
  not at all, never half.
- Each catalog version it opens (a file, or a delta committed to it) is warmed up for search on a
  daemon thread with its own connection (`search.warm_up`): opening never waits for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.catalog import schema, search
from kiosk.catalog.models import ProductSummary, SearchFilters, SearchResult, Sort
from kiosk.catalog.sync import LIVE_NAME
from kiosk.contract import Category, Product, Variant

log = logging.getLogger("kiosk.catalog.store")

_ORDER = {
    "relevance": "available DESC, position",
    "price_asc": "min_price_cents, position",
    "price_desc": "min_price_cents DESC, position",
}
_SUMMARY_COLUMNS = "id, name, brand, min_price_cents, max_price_cents, json_extract(images, '$[0]'), available"


def _summary(row: Any) -> ProductSummary:
    return ProductSummary(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))


class CatalogStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LIVE_NAME
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._file_id: tuple[int, int] | None = None
        self._data_version: int | None = None
        self._categories: dict[str, Category] = {}
        self._children: dict[str | None, list[str]] = {}
        self._count: int | None = None
        self._synced_at: datetime | None = None
        self._warm_stop: threading.Event | None = None
        self._warm_thread: threading.Thread | None = None
        self.reopen()

    # --- connection ---------------------------------------------------------------------------

    def reopen(self) -> None:
        """Open the file as it is now (after a full sync swapped a new one in). Cheap: ~0.2 ms."""
        with self._lock:
            self._close()
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                return
            self._file_id = (stat.st_dev, stat.st_ino)
            try:
                conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10.0,
                                       check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA query_only=ON")
                conn.execute("PRAGMA cache_size=-16384")  # 16 MB: the browse index stays in memory
                self._conn = conn
                self._refresh()
            except sqlite3.DatabaseError as exc:
                log.error("the catalog file %s cannot be read (%s): the store is empty until the next sync",
                          self.path, exc)
                self._close()
                self._file_id = (stat.st_dev, stat.st_ino)  # do not retry on every call; a new file will

    def close(self) -> None:
        with self._lock:
            self._close()
            self._file_id = None
            if self._warm_stop is not None:
                self._warm_stop.set()

    # --- warming up the search (background) ---------------------------------------------------

    def _start_warm_up(self) -> None:
        """Warm the search for this catalog version on a thread of its own (`search.warm_up`), so
        the shopper's first keystrokes are as fast as the later ones. Never blocks the caller."""
        if self._warm_stop is not None:
            self._warm_stop.set()  # an older version's warm-up: no longer worth finishing
        stop = threading.Event()
        path = self.path

        def run() -> None:
            try:
                conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False)
                try:
                    conn.execute("PRAGMA query_only=ON")
                    search.warm_up(conn, stop=stop)
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                log.info("search warm-up skipped: %s", exc)

        self._warm_stop = stop
        self._warm_thread = threading.Thread(target=run, name="catalog-warm-up", daemon=True)
        self._warm_thread.start()

    def wait_until_warm(self, timeout: float | None = None) -> bool:
        """Wait for the background search warm-up (benchmarks and tests); True when it is over."""
        thread = self._warm_thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._data_version = None
        self._categories, self._children = {}, {}
        self._count, self._synced_at = None, None

    def _refresh(self) -> None:
        """Cached small things (category tree, count, sync time), reloaded when the file changed."""
        conn = self._conn
        assert conn is not None
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return
        with self._transaction(conn):
            rows = conn.execute("SELECT id, name, name_en, parent_id FROM categories ORDER BY position").fetchall()
            self._count = conn.execute("SELECT COUNT(*) FROM products").fetchone()[0]
            synced = schema.get_meta(conn, schema.SYNCED_AT)
        self._categories = {r[0]: Category(id=r[0], name=r[1], name_en=r[2], parent_id=r[3]) for r in rows}
        children: dict[str | None, list[str]] = {}
        for category in self._categories.values():
            children.setdefault(category.parent_id, []).append(category.id)
        self._children = children
        try:
            self._synced_at = datetime.fromisoformat(synced) if synced else None
        except ValueError:
            self._synced_at = None
        self._data_version = version
        self._start_warm_up()  # a new file or a new delta: a new search index version

    @staticmethod
    @contextlib.contextmanager
    def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """The connection in a read transaction (None when there is no catalog), under the lock."""
        with self._lock:
            try:
                stat = os.stat(self.path)
                file_id: tuple[int, int] | None = (stat.st_dev, stat.st_ino)
            except FileNotFoundError:
                file_id = None
            if file_id != self._file_id:
                self.reopen()
            conn = self._conn
            if conn is None:
                yield None
                return
            self._refresh()
            with self._transaction(conn):
                yield conn

    # --- questions ----------------------------------------------------------------------------

    @property
    def is_loaded(self) -> bool:
        with self._read() as conn:
            return conn is not None

    @property
    def synced_at(self) -> datetime | None:
        """When the copy was last brought up to date (UTC): "catalog as of ..." when offline."""
        with self._read():
            return self._synced_at

    @property
    def product_count(self) -> int:
        with self._read():
            return self._count or 0

    def top_categories(self) -> list[Category]:
        with self._read():
            return [self._categories[cid] for cid in self._children.get(None, ())]

    def children(self, category_id: str) -> list[Category]:
        with self._read():
            return [self._categories[cid] for cid in self._children.get(category_id, ())]

    def category(self, category_id: str) -> Category | None:
        with self._read():
            return self._categories.get(category_id)

    def _subtree(self, category_id: str) -> list[str]:
        ids, stack, seen = [], [category_id], set()
        while stack:
            current = stack.pop()
            if current in seen:  # a cycle in bad data must not hang the pillar
                continue
            seen.add(current)
            ids.append(current)
            stack.extend(self._children.get(current, ()))
        return ids

    def product(self, product_id: str) -> Product | None:
        with self._read() as conn:
            if conn is None:
                return None
            row = conn.execute("SELECT rowid, id, name, description, brand, category_id, images FROM products "
                               "WHERE id = ?", (product_id,)).fetchone()
            if row is None:
                return None
            variants = conn.execute("SELECT sku, ean, size, colour, price_cents, available FROM variants "
                                    "WHERE product_rowid = ? ORDER BY position", (row[0],)).fetchall()
        return Product(
            id=row[1], name=row[2], description=row[3], brand=row[4], category_id=row[5], images=json.loads(row[6]),
            variants=[Variant(sku=v[0], ean=v[1], size=v[2], colour=v[3], price_cents=v[4], available=bool(v[5]))
                      for v in variants],
        )

    def products_in(self, category_id: str, *, sort: Sort = "relevance", limit: int | None = None,
                    offset: int = 0) -> list[ProductSummary]:
        """Articles of a category and all its subcategories. "relevance" is catalog order with the
        available ones first; the price sorts go by the lowest variant price ("from € ...")."""
        order = _ORDER.get(sort)
        if order is None:
            raise ValueError(f"unknown sort {sort!r}")
        with self._read() as conn:
            if conn is None:
                return []
            ids = self._subtree(category_id)
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM products WHERE category_id IN ({','.join('?' * len(ids))}) "
                f"ORDER BY {order} LIMIT ? OFFSET ?", (*ids, -1 if limit is None else limit, offset)).fetchall()
        return [_summary(row) for row in rows]

    def count_in(self, category_id: str) -> int:
        with self._read() as conn:
            if conn is None:
                return 0
            ids = self._subtree(category_id)
            return conn.execute(f"SELECT COUNT(*) FROM products WHERE category_id IN ({','.join('?' * len(ids))})",
                                ids).fetchone()[0]

    def find_ean(self, ean: str) -> tuple[str, str] | None:
        """(product id, sku) of the variant with this barcode. A 12-digit UPC-A also finds its EAN-13
        form (a leading 0) and the other way round; spaces around it are ignored."""
        code = ean.strip()
        if not code.isdigit():
            return None
        candidates = [code]
        if len(code) == 12:
            candidates.append("0" + code)
        elif len(code) == 13 and code.startswith("0"):
            candidates.append(code[1:])
        with self._read() as conn:
            if conn is None:
                return None
            for candidate in candidates:
                row = conn.execute("SELECT p.id, v.sku FROM variants v JOIN products p ON p.rowid = v.product_rowid "
                                   "WHERE v.ean = ? ORDER BY p.position, v.position LIMIT 1", (candidate,)).fetchone()
                if row is not None:
                    return row[0], row[1]
        return None

    def search(self, query: str, filters: SearchFilters = SearchFilters(), sort: Sort = "relevance",
               limit: int = 200, upto: int = 0) -> SearchResult:
        """See kiosk.catalog.search.search; `more_ids` (up to `upto`) are read with `summaries`."""
        with self._read() as conn:
            if conn is None:
                return SearchResult(items=[], total=0)
            return search.search(conn, query, filters, sort, limit, upto)

    def summaries(self, ids: Sequence[str]) -> list[ProductSummary]:
        """The articles with these ids, in this order; an id no longer in the catalog is left out."""
        if not ids:
            return []
        with self._read() as conn:
            if conn is None:
                return []
            rows = conn.execute(f"SELECT {_SUMMARY_COLUMNS} FROM products WHERE id IN (SELECT value FROM json_each(?))",
                                (json.dumps(list(ids)),)).fetchall()
        by_id = {row[0]: _summary(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]


