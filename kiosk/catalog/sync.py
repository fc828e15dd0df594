"""Catalog sync: the central API's `/v1/catalog` into the kiosk's local SQLite copy.

- Full sync: writes a NEW file `catalog.staging.sqlite` page by page, each page committed together
  with its cursor, so an interrupted full sync (killed, network gone) resumes from the last
  committed page. When complete: categories, search index, meta; then the file is swapped over
  `catalog.sqlite` with `os.replace` (file and folder fsynced). A shopper never sees half a catalog.
- Delta sync: from the live file's cursor, fetch every changed page, then apply them all in ONE
  transaction on the live file (products, withdrawals, categories, search index, cursor).

Threads: fetching happens on the asyncio loop (httpx); parsing, validating and writing happen on a
worker thread (one per sync run, so the database work of a run is strictly sequential), so the
loop (Kivy's UI thread) only ever does a few hundred microseconds of work per page.

Bad data never stops a sync; it is skipped item by item, with the product id (when there is one)
and the reason in `SyncReport.skipped` and the log:
- an item that is not an object, misses a field, has a wrong type, a negative price, no variants
  (all: `Product.model_validate` fails), or a blank name: skipped;
- a SKU twice in one product: the product is skipped; a SKU that another product already holds
  (earlier in this sync, or already stored): the LATER product is skipped, the stored one stays;
- the same product id twice in one sync: the last one wins (that is how the server sends a product
  that changed while the sync was running);
- absurdly long strings are truncated, not skipped (noted in `SyncReport.adjusted`): name 200,
  description 4000, brand 100, size and colour 60 characters; at most 20 picture URLs of at most
  2048 characters each (longer ones are dropped). Prices are never changed: a price the API did
  not send cannot appear, and a product whose prices are not valid is skipped whole.
A page that is not a catalog page at all (not JSON, not an object, no item list, a cursor that does
not advance) fails the sync with `SyncError`: nothing of it is applied and the previous catalog stays
(a full sync keeps its committed pages in the staging file and resumes later).

The staging file is a bulk load: written with synchronous=OFF (it is fsynced before the swap, and a
resumed sync first runs `PRAGMA quick_check` on it: a file torn by a power cut is started over), and
the indexes only lookups by barcode and category need (`schema.LATE_INDEXES`) are made once at the
end instead of row by row.

The live file is kept in rollback-journal mode, not WAL: it is replaced by `os.replace` on every
full sync, and a WAL file (`catalog.sqlite-wal`) left by a reader of the old file would be read as
belonging to the new one, which corrupts it. Readers (the `CatalogStore`) use read-only connections
and transactions, so they still see either the old or the new catalog, never a mix; during the
commit of a delta (milliseconds) they wait for the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from kiosk.catalog import schema, search
from kiosk.contract import CatalogPage, Category, Product

log = logging.getLogger("kiosk.catalog.sync")

LIVE_NAME = "catalog.sqlite"
STAGING_NAME = "catalog.staging.sqlite"
LOCK_NAME = "catalog.sync.lock"

# Caps on strings (characters): longer ones are truncated with an ellipsis.
MAX_NAME = 200
MAX_DESCRIPTION = 4000
MAX_BRAND = 100
MAX_LABEL = 60  # variant size and colour
MAX_IMAGES = 20
MAX_IMAGE_URL = 2048
# A delta bigger than this is done as a full sync: cheaper than one huge transaction.
MAX_DELTA_PRODUCTS = 20_000
MAX_LOGGED_SKIPS = 50  # per sync; the report has them all

# staging-only meta keys
_STAGING_POSITION = "staging_position"
_STAGING_ITEMS = "staging_items"
NEXT_POSITION = "next_position"  # live file: the catalog position the next delta starts at

Kind = Literal["full", "delta"]


class SyncError(Exception):
    """The sync could not complete; the previous catalog is untouched."""


class CatalogApi(Protocol):
    async def catalog_page_raw(self, cursor: str | None = None, limit: int = 500) -> bytes: ...

    async def categories_raw(self) -> bytes: ...


@dataclass(frozen=True)
class SyncProgress:
    kind: Kind
    done: int  # products received so far (skipped ones included)
    total: int | None  # done + what the server says remains; None when it does not say
    pages: int = field(default=0, compare=False)  # pages received so far by this run


@dataclass
class SyncReport:
    kind: Kind
    written: int  # products written (new or changed) by this run
    removed: int  # products removed locally
    skipped: list[tuple[str, str]]  # (product id or "item N of page P", reason)
    duration_s: float
    cursor: str | None  # the delta cursor the catalog now stands at
    adjusted: list[tuple[str, str]] = field(default_factory=list)  # kept, but truncated: (id, what)
    resumed: bool = False  # a full sync that went on from an interrupted one
    pages: int = 0  # pages fetched by this run


# --- parsing (worker thread) -------------------------------------------------------------------


@dataclass
class _Page:
    items: list[Any]
    next_cursor: str | None
    has_more: bool
    removed: list[Any]
    remaining: int | None


def decode_page(body: bytes, cursor: str | None) -> _Page:
    """The envelope of a catalog page; anything that is not one raises SyncError."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SyncError(f"catalog page is not JSON ({len(body)} bytes: {body[:60]!r})") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise SyncError("catalog page is not a CatalogPage (no list of items)")
    next_cursor, has_more = data.get("next_cursor"), data.get("has_more", False)
    removed, remaining = data.get("removed", []), data.get("remaining")
    if next_cursor is not None and not isinstance(next_cursor, str) or not isinstance(has_more, bool):
        raise SyncError("catalog page has a next_cursor or has_more of the wrong type")
    if not isinstance(removed, list):
        raise SyncError("catalog page has a 'removed' that is not a list")
    if not isinstance(remaining, int) or isinstance(remaining, bool) or remaining < 0:
        remaining = None
    return _checked_envelope(_Page(data["items"], next_cursor, has_more, removed, remaining), cursor)


def _checked_envelope(page: _Page, cursor: str | None) -> _Page:
    if page.has_more and (not page.next_cursor or page.next_cursor == cursor):
        raise SyncError("catalog page says there is more but its cursor does not advance")
    return page


def parse_page(body: bytes, cursor: str | None, page_no: int, skipped: list[tuple[str, str]],
               adjusted: list[tuple[str, str]]) -> tuple[_Page, list[Product], list[str]]:
    """A page's envelope, its valid products and its withdrawn ids. A clean page is validated in one
    pass (pydantic parses the JSON itself: ~4 ms for 500 products); a page with any bad item is
    decoded and validated again item by item, so only the bad items are lost."""
    try:
        clean = CatalogPage.model_validate_json(body)
    except ValidationError:
        page = decode_page(body, cursor)
        return page, validate_items(page.items, page_no, skipped, adjusted), validate_removed(page.removed, skipped)
    page = _checked_envelope(_Page(clean.items, clean.next_cursor, clean.has_more, clean.removed, clean.remaining),
                             cursor)
    return page, _sound(clean.items, skipped, adjusted), list(clean.removed)


def describe_validation(exc: ValidationError) -> str:
    """Where and what, never the value (an absurd value could be megabytes)."""
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(item)'}: {e['msg']}" for e in errors[:3]]
    more = len(errors) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _capped(product: Product, adjusted: list[tuple[str, str]]) -> Product:
    changes: dict[str, Any] = {}
    notes = []
    for name, limit in (("name", MAX_NAME), ("description", MAX_DESCRIPTION), ("brand", MAX_BRAND)):
        value = getattr(product, name)
        if value is not None and len(value) > limit:
            changes[name] = _cut(value, limit)
            notes.append(f"{name} cut from {len(value)} to {limit} characters")
    images = [url for url in product.images if len(url) <= MAX_IMAGE_URL][:MAX_IMAGES]
    if images != product.images:
        changes["images"] = images
        notes.append(f"pictures: kept {len(images)} of {len(product.images)}")
    if any(len(v.size or "") > MAX_LABEL or len(v.colour or "") > MAX_LABEL for v in product.variants):
        changes["variants"] = [
            v.model_copy(update={"size": None if v.size is None else _cut(v.size, MAX_LABEL),
                                 "colour": None if v.colour is None else _cut(v.colour, MAX_LABEL)})
            for v in product.variants]
        notes.append(f"variant size/colour cut to {MAX_LABEL} characters")
    if not changes:
        return product
    adjusted.append((product.id, "; ".join(notes)))
    return product.model_copy(update=changes)


def validate_items(raw_items: list[Any], page_no: int, skipped: list[tuple[str, str]],
                   adjusted: list[tuple[str, str]]) -> list[Product]:
    """Each raw item through the contract model; bad ones go to `skipped` with a reason."""
    products = []
    for n, raw in enumerate(raw_items, 1):
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        label = raw_id[:64] if isinstance(raw_id, str) and raw_id else f"item {n} of page {page_no}"
        if not isinstance(raw, dict):
            _skip(skipped, label, f"not a JSON object ({type(raw).__name__})")
            continue
        try:
            products.append(Product.model_validate(raw))
        except ValidationError as exc:
            _skip(skipped, label, describe_validation(exc))
    return _sound(products, skipped, adjusted)


def _sound(products: list[Product], skipped: list[tuple[str, str]], adjusted: list[tuple[str, str]]) -> list[Product]:
    """What the contract model does not check: a blank name, a SKU twice in one product; and the caps."""
    sound = []
    for product in products:
        if not product.name.strip():
            _skip(skipped, product.id, "blank name")
            continue
        skus = [v.sku for v in product.variants]
        if len(set(skus)) != len(skus):
            seen: set[str] = set()
            twice = next(sku for sku in skus if sku in seen or seen.add(sku))
            _skip(skipped, product.id, f"sku {twice!r} twice in the product")
            continue
        sound.append(_capped(product, adjusted) if _may_need_caps(product) else product)
    return sound


def _may_need_caps(product: Product) -> bool:
    """A quick look for anything `_capped` would cut (nearly every product: no)."""
    return (len(product.name) > MAX_NAME or len(product.description) > MAX_DESCRIPTION
            or (product.brand is not None and len(product.brand) > MAX_BRAND)
            or len(product.images) > MAX_IMAGES or any(len(url) > MAX_IMAGE_URL for url in product.images)
            or any(len(v.size or "") > MAX_LABEL or len(v.colour or "") > MAX_LABEL for v in product.variants))


def validate_removed(raw_ids: list[Any], skipped: list[tuple[str, str]]) -> list[str]:
    ids = []
    for raw in raw_ids:
        if isinstance(raw, str) and 0 < len(raw) <= 64:
            ids.append(raw)
        else:
            _skip(skipped, "removed", f"not a product id: {str(raw)[:40]!r}")
    return ids


def validate_categories(body: bytes, skipped: list[tuple[str, str]]) -> list[Category]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SyncError("the category list is not JSON") from None
    if not isinstance(data, list):
        raise SyncError("the category list is not a list")
    categories = []
    for n, raw in enumerate(data, 1):
        try:
            categories.append(Category.model_validate(raw))
        except ValidationError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            _skip(skipped, f"category {raw_id if isinstance(raw_id, str) else n}", describe_validation(exc))
    return categories


def _skip(skipped: list[tuple[str, str]], label: str, reason: str) -> None:
    skipped.append((label, reason))
    if len(skipped) <= MAX_LOGGED_SKIPS:
        log.warning("catalog item skipped: %s: %s", label, reason)
    elif len(skipped) == MAX_LOGGED_SKIPS + 1:
        log.warning("more catalog items skipped; the sync report lists them all")


# --- writing (worker thread) -------------------------------------------------------------------


@dataclass
class _Applied:
    changed: list[int] = field(default_factory=list)  # rowids written
    removed: list[int] = field(default_factory=list)  # rowids deleted
    written: int = 0
    removed_count: int = 0


def apply_page(conn: sqlite3.Connection, products: list[Product], removed_ids: list[str], position: int,
               skipped: list[tuple[str, str]], applied: _Applied) -> int:
    """Write one page inside the caller's transaction: withdrawals first, then the products, each
    after the SKU check against what is stored and what came before it. Returns the next position."""
    if removed_ids:
        gone = schema.delete_products(conn, removed_ids)
        applied.removed.extend(gone)
        applied.removed_count += len(gone)
    skus = [v.sku for p in products for v in p.variants]
    owner: dict[str, str] = dict(conn.execute(
        "SELECT v.sku, p.id FROM json_each(?) j JOIN variants v ON v.sku = j.value "
        "JOIN products p ON p.rowid = v.product_rowid", (json.dumps(skus),)).fetchall()) if skus else {}
    skus_of: dict[str, set[str]] = defaultdict(set)
    for sku, product_id in owner.items():
        skus_of[product_id].add(sku)
    accepted = []
    for product in products:
        clash = next((v.sku for v in product.variants if owner.get(v.sku, product.id) != product.id), None)
        if clash is not None:
            _skip(skipped, product.id, f"sku {clash!r} already belongs to product {owner[clash]!r}")
            continue
        for sku in skus_of.pop(product.id, ()):  # its old SKUs are free once it is rewritten
            owner.pop(sku, None)
        for variant in product.variants:
            owner[variant.sku] = product.id
        skus_of[product.id] = {v.sku for v in product.variants}
        accepted.append(product)
    # Products not stored yet (nearly all of a full sync) go in bulk; the others one by one, each
    # at its own position in page order.
    ids = list({p.id for p in accepted})
    stored = {r[0] for r in conn.execute(
        "SELECT p.id FROM json_each(?) j JOIN products p ON p.id = j.value", (json.dumps(ids),))} if ids else set()
    counts: dict[str, int] = defaultdict(int)
    for product in accepted:
        counts[product.id] += 1
    fresh = [(i, p) for i, p in enumerate(accepted) if p.id not in stored and counts[p.id] == 1]
    if len(fresh) == len(accepted):
        applied.changed.extend(schema.insert_new_products(conn, accepted, position))
    else:
        fresh_index = {i for i, _ in fresh}
        for i, product in enumerate(accepted):
            if i not in fresh_index:
                applied.changed.extend(schema.write_products(conn, [product], position + i))
            else:
                applied.changed.extend(schema.insert_new_products(conn, [product], position + i))
    applied.written += len(accepted)
    return position + len(accepted)


def build_search_index(conn: sqlite3.Connection) -> None:
    search.build_index(conn)


def update_search_index(conn: sqlite3.Connection, changed: list[int], removed: list[int]) -> None:
    search.update_index(conn, changed, removed)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_writer(path: Path, *, wal: bool) -> sqlite3.Connection:
    """A writing connection: WAL for the staging file (only the sync ever opens it), rollback journal
    for the live file (see the module doc). Autocommit mode: transactions are explicit."""
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}")
    # The staging file is fsynced before it is swapped in, and checked when a sync resumes on it:
    # no sync per commit. The live file: every commit durable.
    conn.execute("PRAGMA synchronous=OFF" if wal else "PRAGMA synchronous=FULL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MB: a delta commits without spilling mid-way
    return conn


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# --- the sync ----------------------------------------------------------------------------------


class CatalogSync:
    def __init__(self, api: CatalogApi, directory: Path, *, page_size: int = 500,
                 on_progress: Callable[[SyncProgress], None] | None = None) -> None:
        self._api = api
        self.directory = Path(directory)
        self.page_size = page_size
        self.on_progress = on_progress
        # More observers of every run's progress (diagnostics' "sync now" shows a background run too);
        # called on the asyncio loop after `on_progress`. A listener that raises is logged, not fatal.
        self.progress_listeners: list[Callable[[SyncProgress], None]] = []

    @property
    def live_path(self) -> Path:
        return self.directory / LIVE_NAME

    @property
    def staging_path(self) -> Path:
        return self.directory / STAGING_NAME

    def needs_full(self) -> bool:
        """No usable catalog yet, or an interrupted full sync waiting to be resumed."""
        return self.staging_path.exists() or self._live_cursor() is None

    async def sync(self, *, full: bool = False) -> SyncReport:
        """Full when asked, when there is no catalog yet or an interrupted full sync waits; else delta."""
        if full or self.needs_full():
            return await self.full_sync()
        return await self.delta_sync()

    async def full_sync(self) -> SyncReport:
        with self._lock():
            return await self._full()

    async def delta_sync(self) -> SyncReport:
        with self._lock():
            return await self._delta()

    # --- plumbing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """One sync at a time per folder, across processes too (the app and `kiosk catalog sync`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SyncError(f"another catalog sync is running on {self.directory}") from None
            yield
        finally:
            os.close(fd)  # releases the lock

    def _live_cursor(self) -> str | None:
        if not self.live_path.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{self.live_path}?mode=ro", uri=True, timeout=5.0)
            try:
                return schema.get_meta(conn, schema.CURSOR) or None
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            log.warning("the catalog file %s cannot be read (%s): a full sync replaces it", self.live_path, exc)
            return None

    def _progress(self, kind: Kind, done: int, remaining: int | None, pages: int = 0) -> None:
        progress = SyncProgress(kind, done, None if remaining is None else done + remaining, pages)
        if self.on_progress is not None:
            self.on_progress(progress)
        for listener in list(self.progress_listeners):
            try:
                listener(progress)
            except Exception:  # a progress display must never stop a sync
                log.exception("catalog sync progress listener failed")

    async def _fetch(self, cursor: str | None) -> bytes:
        return await self._api.catalog_page_raw(cursor, self.page_size)

    # --- full ---------------------------------------------------------------------------------

    async def _full(self) -> SyncReport:
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(1, thread_name_prefix="catalog-sync")
        parser = ThreadPoolExecutor(1, thread_name_prefix="catalog-parse")

        def run(fn: Callable[..., Any], *args: Any) -> asyncio.Future:
            return loop.run_in_executor(executor, fn, *args)

        skipped: list[tuple[str, str]] = []
        adjusted: list[tuple[str, str]] = []
        applied = _Applied()
        state: dict[str, Any] = {}
        try:
            conn, cursor, position, done = await run(self._open_staging)
            state["conn"] = conn
            resumed = cursor is not None
            if resumed:
                log.info("resuming an interrupted full catalog sync (%d products already staged)", done)
            pages = 0

            async def fetch_parsed(after: str | None, page_no: int) -> tuple[_Page, list[Product], list[str]]:
                body = await self._fetch(after)
                # Parsed on a thread of its own: it overlaps with the previous page's write (SQLite
                # releases the GIL while it works).
                return await loop.run_in_executor(parser, parse_page, body, after, page_no, skipped, adjusted)

            try:
                parsed = await fetch_parsed(cursor, 1)
            except Exception as exc:
                if not (resumed and getattr(exc, "code", None) == "invalid_cursor"):
                    raise
                # The server no longer knows the staging file's cursor: start over.
                log.warning("the server refused the staged cursor; the full sync starts over")
                await run(self._close_staging, conn, True)
                state.pop("conn")
                conn, cursor, position, done = await run(self._open_staging)
                state["conn"], resumed = conn, False
                parsed = await fetch_parsed(None, 1)
            while True:
                pages += 1
                page, products, removed = parsed
                write = run(self._write_staged_page, conn, page, products, removed, position, done, applied, skipped)
                following = asyncio.ensure_future(fetch_parsed(page.next_cursor, pages + 1)) if page.has_more else None
                try:
                    position = await write
                except BaseException:
                    if following is not None:
                        following.cancel()
                        with contextlib.suppress(BaseException):
                            await following
                    raise
                cursor = page.next_cursor
                done += len(page.items)
                self._progress("full", done, page.remaining if page.has_more else 0, pages)
                if following is None:
                    break
                parsed = await following
            categories = validate_categories(await self._api.categories_raw(), skipped)
            await run(self._finish_full, conn, categories, cursor, position)
            state.pop("conn")
        finally:
            if "conn" in state:  # failed or cancelled: keep what is committed, for the next run
                cleanup = run(self._close_staging, state["conn"], False)
                with contextlib.suppress(BaseException):
                    await asyncio.shield(cleanup)
            executor.shutdown(wait=False)
            parser.shutdown(wait=False)
        report = SyncReport("full", applied.written, applied.removed_count, skipped, time.monotonic() - started,
                            cursor, adjusted, resumed, pages)
        log.info("full catalog sync: %d products written, %d skipped, %d pages, %.1f s%s", report.written,
                 len(skipped), pages, report.duration_s, " (resumed)" if resumed else "")
        return report

    def _open_staging(self) -> tuple[sqlite3.Connection, str | None, int, int]:
        path = self.staging_path
        if path.exists():
            try:
                conn = open_writer(path, wal=True)
                # written with synchronous=OFF: a power cut may have torn it; a process killed cannot
                if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise sqlite3.DatabaseError("quick_check failed")
                cursor = schema.get_meta(conn, schema.CURSOR)
                position = int(schema.get_meta(conn, _STAGING_POSITION) or 0)
                done = int(schema.get_meta(conn, _STAGING_ITEMS) or 0)
                if cursor is not None:
                    return conn, cursor, position, done
                conn.close()
            except (sqlite3.DatabaseError, ValueError) as exc:
                log.warning("the staging catalog %s is unusable (%s): starting over", path, exc)
            self._remove_staging()
        conn = open_writer(path, wal=True)
        schema.create(conn, late_indexes=False)  # executescript commits by itself; _finish_full adds them
        return conn, None, 0, 0

    def _remove_staging(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.staging_path}{suffix}")

    def _close_staging(self, conn: sqlite3.Connection, remove: bool) -> None:
        conn.close()
        if remove:
            self._remove_staging()

    def _write_staged_page(self, conn: sqlite3.Connection, page: _Page, products: list[Product], removed: list[str],
                           position: int, done: int, applied: _Applied, skipped: list) -> int:
        with _transaction(conn):
            position = apply_page(conn, products, removed, position, skipped, applied)
            schema.set_meta(conn, schema.CURSOR, page.next_cursor or "")
            schema.set_meta(conn, _STAGING_POSITION, str(position))
            schema.set_meta(conn, _STAGING_ITEMS, str(done + len(page.items)))
        applied.changed.clear()  # the full index is built at the end; no need to keep rowids
        applied.removed.clear()
        return position

    def _finish_full(self, conn: sqlite3.Connection, categories: list[Category], cursor: str | None,
                     position: int) -> None:
        with _transaction(conn):
            schema.create_late_indexes(conn)
            for statement in schema.BROWSE_INDEXES.split(";"):
                if statement.strip():
                    conn.execute(statement)
            schema.write_categories(conn, categories)
            now = _now()
            schema.set_meta(conn, schema.CURSOR, cursor or "")
            schema.set_meta(conn, schema.SYNCED_AT, now)
            schema.set_meta(conn, schema.FULL_SYNC_AT, now)
            schema.set_meta(conn, NEXT_POSITION, str(position))
            conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (_STAGING_POSITION, _STAGING_ITEMS))
        # build_index commits by itself and counts on Python's implicit transactions (one for all its
        # inserts); killed before the swap, the next run resumes at the last cursor and builds it again.
        conn.isolation_level = ""
        try:
            build_search_index(conn)
            if conn.in_transaction:
                conn.commit()
        finally:
            conn.isolation_level = None
        # A self-contained file in rollback-journal mode: no -wal to travel with it.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("ANALYZE")
        conn.close()
        _fsync_path(self.staging_path)
        self._settle_live_wal()
        os.replace(self.staging_path, self.live_path)
        _fsync_path(self.directory)

    def _settle_live_wal(self) -> None:
        """A live file left in WAL mode (by an older version, or a stray writer) is checkpointed and
        put back in rollback mode, so its -wal cannot be mistaken for the new file's."""
        if not Path(f"{self.live_path}-wal").exists():
            return
        try:
            conn = sqlite3.connect(self.live_path, timeout=5.0, isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA journal_mode=DELETE")
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            log.warning("could not settle %s-wal before the swap: %s", self.live_path, exc)

    # --- delta --------------------------------------------------------------------------------

    async def _delta(self) -> SyncReport:
        started = time.monotonic()
        cursor = self._live_cursor()
        if cursor is None:
            return await self._full()
        skipped: list[tuple[str, str]] = []
        adjusted: list[tuple[str, str]] = []
        pages: list[tuple[list[Product], list[str]]] = []
        done = 0
        page_no = 0
        while True:
            page_no += 1
            try:
                body = await self._fetch(cursor)
            except Exception as exc:
                if page_no == 1 and getattr(exc, "code", None) == "invalid_cursor":
                    log.warning("the server refused the catalog's cursor: a full sync instead")
                    return await self._full()
                raise
            page, products, removed = await asyncio.to_thread(parse_page, body, cursor, page_no, skipped, adjusted)
            if page_no == 1 and page.remaining is not None and len(page.items) + page.remaining > MAX_DELTA_PRODUCTS:
                log.info("%d catalog changes: a full sync instead of a delta", len(page.items) + page.remaining)
                return await self._full()
            pages.append((products, removed))
            done += len(page.items)
            cursor = page.next_cursor or cursor
            self._progress("delta", done, page.remaining if page.has_more else 0, page_no)
            if not page.has_more:
                break
        categories = validate_categories(await self._api.categories_raw(), skipped)
        applied = await asyncio.to_thread(self._apply_delta, pages, categories, cursor, skipped)
        report = SyncReport("delta", applied.written, applied.removed_count, skipped, time.monotonic() - started,
                            cursor, adjusted, False, page_no)
        log.info("delta catalog sync: %d written, %d removed, %d skipped, %.2f s", report.written, report.removed,
                 len(skipped), report.duration_s)
        return report

    def _apply_delta(self, pages: list[tuple[list[Product], list[str]]], categories: list[Category],
                     cursor: str | None, skipped: list) -> _Applied:
        applied = _Applied()
        conn = open_writer(self.live_path, wal=False)
        try:
            with _transaction(conn):
                stored = schema.get_meta(conn, NEXT_POSITION)
                position = int(stored) if stored else conn.execute(
                    "SELECT COALESCE(MAX(position), -1) + 1 FROM products").fetchone()[0]
                for products, removed in pages:
                    position = apply_page(conn, products, removed, position, skipped, applied)
                if categories:
                    schema.write_categories(conn, categories)
                gone = set(applied.removed)
                changed = [rowid for rowid in dict.fromkeys(applied.changed) if rowid not in gone]
                if changed or applied.removed:
                    update_search_index(conn, changed, applied.removed)
                schema.set_meta(conn, schema.CURSOR, cursor or "")
                schema.set_meta(conn, schema.SYNCED_AT, _now())
                schema.set_meta(conn, NEXT_POSITION, str(position))
        finally:
            conn.close()
        return applied


__all__ = ["CatalogSync", "SyncError", "SyncProgress", "SyncReport"]
