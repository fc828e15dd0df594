"""Catalog search: search as you type, compounds, one typo, facets, over a local SQLite catalog.

Plain sqlite3 (stdlib), no Kivy. `build_index` (after a full sync, on the staging file) and
`update_index` (inside a delta sync's transaction) maintain the tables below; `search` answers.

Tables (all ours, prefixed `search_`):

- `search_fts`: a contentless FTS5 table keyed by products.rowid with three columns, all filled
  with `fold()`ed text (SQLite 3.40 cannot fold diacritics in the trigram tokenizer, so we fold in
  Python for indexing and querying alike):
    name     the words of the name and the brand (word-prefix search: "fiets" finds "fietsbel");
    namesuf  every proper suffix of 3+ letters of every name word ("fietsdrager" -> "ietsdrager",
             ..., "drager", ..., "ger"): a prefix query on it is an infix query on the name, so
             "drager" finds "fietsdrager" and "bel" finds "fietsbel". This does what a trigram
             index would, in the same FTS5 table, so one term is one index lookup per column;
    descr    description, category names and variant colours (word-prefix search).
- `search_docs`: the folded name and description per product (what was indexed: needed to delete
  from a contentless table, for the vocabulary and for re-ranking).
- `search_vocab`: every whole word of names and descriptions with its document frequency, for typo
  correction.
- `search_bits`: one bitset per facet value (a Python int with bit `rowid` set; stored as
  little-endian bytes): every category, brand, colour, size and price bucket, the available
  products, all products, and the 1- and 2-letter name-word prefixes with many products (the
  huge match sets of the first keystrokes).
- `search_state`: a random version token, changed by every build or update; the per-process cache
  of bitsets and vocabulary is keyed by it.

How a query runs: each word is folded; a word of 3+ letters matches a product when it is a prefix
of a name word, an infix of a name word, or a prefix of a description word; a shorter word only
when it is a prefix of a name word. Per word one FTS5 query per column gives a bitset (cached when
large); words are ANDed as bitsets. Filters, facets (each with the *other* filters applied), totals
and ranking tiers are then bitset operations: exact over the whole match set, no cap.

Ranking ("relevance"): tiers by (every word in the name, available, every word at the start of a
name word); within a tier of at most RERANK_MAX products by a word score (whole word 3, word prefix
2, infix 1), then catalog order (rowid); bigger tiers (short prefixes with thousands of equally good
hits) in catalog order. bm25 is not used: it costs 40-220 ms over the big match sets of the first
keystrokes, and these folded short texts give it little to work with.

Building: `build_index` streams the products in rowid batches (BUILD_BATCH), so its memory stays
flat whatever the catalog's size; text is folded and split once per product, suffixes once per
distinct name word, and FTS5 merges its segments once at the end ('optimize'), not while filling.

Warming up: the first search of an index version loads its bitsets, vocabulary and price order, and
the first use of a word with a big match set ("fie", "auto") costs 10-20 ms of FTS5 work. `warm_up`
does both ahead of the shopper, on a background thread (`CatalogStore` starts one when it opens a
catalog file and after every sync): the words typed in the previous version first, then the
vocabulary's most frequent prefixes, within a time budget.

Typo: a word of 5+ letters with no hit at all is replaced by its best Damerau-Levenshtein-1
neighbour (insertion, deletion, substitution, transposition) that is a vocabulary word (most
documents first) or, failing that, a prefix of one (the shopper is still typing); the corrected
query is reported in `SearchResult.corrected`.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import json
import logging
import re
import sqlite3
import threading
import time
import unicodedata
import uuid
from array import array
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain

from kiosk.catalog.models import FACETS, FacetValue, ProductSummary, SearchFilters, SearchResult, Sort
from kiosk.catalog.schema import fold  # noqa: F401 (the reference `_fold` must equal)

log = logging.getLogger("kiosk.catalog.search")

__all__ = [
    "PRICE_BUCKETS", "build_index", "update_index", "search", "price_range", "query_terms", "warm_up",
]

# Fixed price buckets on the lowest variant price, in cents: [low, high), high None = open.
PRICE_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 2500), (2500, 5000), (5000, 10000), (10000, 25000), (25000, None))

SHORT_TERM = 3           # words shorter than this match name-word prefixes only
TYPO_MIN = 5             # words of this length or more get one typo forgiven
MAX_TERMS = 8            # words beyond this are ignored (a 10,000-character paste stays cheap)
MAX_TERM_CHARS = 40      # longer words are cut (no product word is that long)
MAX_INDEXED_WORD = 40    # name words longer than this get no suffixes (absurd data)
MAX_NAME_WORDS = 40
MAX_DESCR_WORDS = 300
RERANK_MAX = 1000        # tiers up to this size are ordered by word score; bigger ones by rowid
PREFIX_BITS_MIN_DF = 500  # 1-2 letter name prefixes with at least this many products get a stored bitset
TERM_CACHE_MIN = 2000    # word bitsets with at least this many products are kept in memory ...
TERM_CACHE_SIZE = 512    # ... up to this many per index version (at most ~40 KB each)
WARM_TERMS = 400         # `warm_up` computes at most this many frequent word prefixes (room left in the cache) ...
WARM_BUDGET_S = 3.0      # ... within about this long
BUILD_BATCH = 5000       # products per step of build_index (memory stays flat)
EAN_RE = re.compile(r"^(?:\d{8}|\d{13})$")

_WORD = re.compile(r"[^\W_]+")
_NONZERO = re.compile(rb"[^\x00]")

_SCHEMA = """
CREATE TABLE search_docs (
    rowid INTEGER PRIMARY KEY,  -- products.rowid
    name  TEXT NOT NULL,        -- folded words of name + brand, space separated
    descr TEXT NOT NULL         -- folded words of description, category names, colours
);
CREATE VIRTUAL TABLE search_fts USING fts5(
    name, namesuf, descr, content='', tokenize='unicode61 remove_diacritics 2', detail=column
);
CREATE TABLE search_vocab (word TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE search_bits (
    kind  TEXT NOT NULL,  -- all, avail, cat, brand, colour, size, price, prefix
    value TEXT NOT NULL,
    bits  BLOB NOT NULL,  -- little-endian int, bit rowid set
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE TABLE search_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE search_prices (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    order_rowids BLOB NOT NULL,  -- array('q'): rowids by (lowest price, rowid)
    prices       BLOB NOT NULL   -- array('q'): their lowest prices, in the same order
);
"""
_TABLES = ("search_docs", "search_fts", "search_vocab", "search_bits", "search_state", "search_prices")

# kinds in search_bits, and which facet / filter they serve
_FACET_KIND = {"brand": "brand", "colour": "colour", "size": "size", "price": "price"}


# --- text ---------------------------------------------------------------------------------------


class _DropCombining(dict):
    """A `str.translate` table that removes combining characters (what NFKD splits off a letter:
    accents, umlauts, ...) and keeps every other character; filled in as characters are met."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.combining(chr(code)) else code
        self[code] = value
        return value


_COMBINING = _DropCombining()


def _fold(text: str) -> str:
    """`schema.fold`, the same result, faster: ASCII (most catalog text) is only lowered, and the
    combining characters go in one `str.translate` instead of a Python loop."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text.casefold()).translate(_COMBINING)


# ASCII text (most catalog text): every byte that is not a letter or digit becomes a space
_ASCII_SPLIT = bytes(b if b < 128 and chr(b).isalnum() else 32 for b in range(256))


def words(text: str) -> list[str]:
    """Folded words as the FTS5 unicode61 tokenizer sees them (letters and digits)."""
    if text.isascii():  # the same words as the regex, about twice as fast
        return text.lower().encode("ascii").translate(_ASCII_SPLIT).decode("ascii").split()
    return _WORD.findall(_fold(text))


def query_terms(query: str) -> list[str]:
    """The words a query searches for: folded, at most MAX_TERMS, each at most MAX_TERM_CHARS."""
    return [w[:MAX_TERM_CHARS] for w in words(query[:2000])[:MAX_TERMS]]


def _suffixes(name: str) -> str:
    out = []
    for word in name.split():
        if 3 < len(word) <= MAX_INDEXED_WORD:
            out.extend(word[i:] for i in range(1, len(word) - 2))
    return " ".join(out)


def _phrase(term: str) -> str:
    # terms are runs of letters and digits: quoting makes FTS5 syntax in them (AND, NEAR, ...) plain text
    return '"' + term.replace('"', '""') + '"*'


# --- bitsets ------------------------------------------------------------------------------------


def _bits_from_sorted(rowids: Sequence[int]) -> int:
    """Bitset of ascending rowids."""
    if not rowids:
        return 0
    top = rowids[-1]
    digits = bytearray(b"0") * (top + 1)
    for r in rowids:
        digits[top - r] = 49
    return int(digits, 2)


def _bits_from_csv(csv: str | None) -> int:
    if not csv:
        return 0
    values = csv.split(",")
    top = int(values[-1])
    digits = bytearray(b"0") * (top + 1)
    for v in values:
        digits[top - int(v)] = 49
    return int(digits, 2)


def _bits_from_any(rowids: Iterable[int]) -> int:
    return _bits_from_sorted(sorted(rowids))


def members(bits: int, limit: int | None = None) -> list[int]:
    """The rowids in a bitset, ascending; the first `limit` only when given."""
    if bits <= 0 or limit == 0:
        return []
    buf = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    out: list[int] = []
    for match in _NONZERO.finditer(buf):
        i = match.start()
        v = buf[i]
        base = i << 3
        while v:
            low = v & -v
            out.append(base + low.bit_length() - 1)
            v ^= low
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def _to_blob(bits: int) -> bytes:
    return bits.to_bytes((bits.bit_length() + 7) // 8, "little")


def _from_blob(blob: bytes) -> int:
    return int.from_bytes(blob, "little")


# --- building -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Doc:
    rowid: int
    name: str
    descr: str
    name_words: list[str]
    category_id: str
    price: str  # price bucket
    available: bool
    brand: str | None
    colours: Iterable[str]
    sizes: Iterable[str]

    @property
    def keys(self) -> list[tuple[str, str]]:
        """The (kind, value) bitsets this product belongs to."""
        keys = [("all", ""), ("cat", self.category_id), ("price", self.price)]
        if self.available:
            keys.append(("avail", ""))
        if self.brand:
            keys.append(("brand", self.brand))
        keys.extend(("colour", colour) for colour in self.colours)
        keys.extend(("size", size) for size in self.sizes)
        keys.extend(("prefix", prefix) for prefix in _name_prefixes(self.name_words))
        return keys


def _name_prefixes(name_words: list[str]) -> set[str]:
    """The 1- and 2-letter prefixes of the name words (bitsets for the first keystrokes)."""
    return {w[:2] for w in name_words} | {w[:1] for w in name_words}


_BUCKET_LOWS = [low for low, _high in PRICE_BUCKETS]
_BUCKET_NAMES = [str(i) for i in range(len(PRICE_BUCKETS))]


def _price_bucket(cents: int) -> str:
    # negative prices cannot come from the contract; they would land in the first bucket
    return _BUCKET_NAMES[max(0, bisect.bisect_right(_BUCKET_LOWS, cents) - 1)]


class _Words:
    """Folded words of category names, colours and brands, and the suffixes of name words, each
    computed once per build or update: catalog text repeats them a great deal. Bounded."""

    MAX = 200_000

    def __init__(self) -> None:
        self._words: dict[str, list[str]] = {}
        self._suffixes: dict[str, str] = {}

    def of(self, text: str) -> list[str]:
        found = self._words.get(text)
        if found is None:
            if len(self._words) >= self.MAX:
                self._words.clear()
            found = self._words[text] = words(text)
        return found

    def suffixes(self, name: str) -> str:
        """`_suffixes(name)`, a name word at a time from the cache."""
        cache = self._suffixes
        out = []
        for word in name.split():
            found = cache.get(word)
            if found is None:
                if len(cache) >= self.MAX:
                    cache.clear()
                found = cache[word] = _suffixes(word)
            if found:
                out.append(found)
        return " ".join(out)


_PRODUCT_COLUMNS = "rowid, name, brand, description, category_id, min_price_cents, available"


def _documents(conn: sqlite3.Connection, rowids: Sequence[int] | None) -> list[_Doc]:
    """What the index holds for these products (all when None), in rowid order."""
    if rowids is None:
        product_rows = conn.execute(f"SELECT {_PRODUCT_COLUMNS} FROM products ORDER BY rowid").fetchall()
        variant_rows = conn.execute("SELECT product_rowid, colour, size FROM variants").fetchall()
    else:
        wanted = json.dumps(sorted(set(rowids)))
        product_rows = conn.execute(
            f"SELECT {_PRODUCT_COLUMNS} FROM products "
            "WHERE rowid IN (SELECT value FROM json_each(?)) ORDER BY rowid", (wanted,)).fetchall()
        variant_rows = conn.execute(
            "SELECT product_rowid, colour, size FROM variants WHERE product_rowid IN (SELECT value FROM json_each(?))",
            (wanted,)).fetchall()
    return list(_make_docs(_categories_of(conn), product_rows, variant_rows, _Words()))


def _categories_of(conn: sqlite3.Connection) -> dict[str, tuple[str, str]]:
    return {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, name, top_id FROM categories")}


def _make_docs(categories: dict[str, tuple[str, str]], product_rows: Iterable[Sequence],
               variant_rows: Iterable[Sequence], cache: _Words) -> Iterable[_Doc]:
    """The documents of these product rows (rowid, name, brand, description, category_id,
    min_price_cents, available), given all the variant rows (product_rowid, colour, size) of them."""
    colours: dict[int, dict[str, None]] = {}  # dicts: ordered and distinct
    sizes: dict[int, dict[str, None]] = {}
    for product_rowid, colour, size in variant_rows:
        if colour:
            colours.setdefault(product_rowid, {})[colour] = None
        if size:
            sizes.setdefault(product_rowid, {})[size] = None

    words_of = cache.of
    # the descr words a category brings (its name and its top category's name), once per category
    category_words: dict[str, list[str]] = {}
    for category_id, (name, top_id) in categories.items():
        found = list(words_of(name))
        top = categories.get(top_id)
        if top and top_id != category_id:
            found += words_of(top[0])
        category_words[category_id] = found
    no_words: list[str] = []
    no_colours: dict[str, None] = {}
    for rowid, name, brand, description, category_id, min_price, available in product_rows:
        name_words = words(f"{name} {brand}" if brand else name)[:MAX_NAME_WORDS]
        descr_words = words(description[:5000])
        descr_words += category_words.get(category_id, no_words)
        product_colours = colours.get(rowid, no_colours)
        for colour in product_colours:
            descr_words += words_of(colour)
        yield _Doc(rowid, " ".join(name_words), " ".join(descr_words[:MAX_DESCR_WORDS]), name_words, category_id,
                   _price_bucket(min_price), bool(available), brand, product_colours, sizes.get(rowid, no_colours))


def _add(groups: dict[str, array], value: str, rowid: int) -> None:
    rowids = groups.get(value)
    if rowids is None:
        rowids = groups[value] = array("q")
    rowids.append(rowid)


def _doc_words(name: str, descr: str) -> set[str]:
    return set(name.split()) | set(descr.split())


def _insert_docs(conn: sqlite3.Connection, docs: list[_Doc], cache: _Words | None = None) -> None:
    suffixes = (cache or _Words()).suffixes
    conn.executemany("INSERT INTO search_docs(rowid, name, descr) VALUES (?, ?, ?)",
                     [(d.rowid, d.name, d.descr) for d in docs])
    conn.executemany("INSERT INTO search_fts(rowid, name, namesuf, descr) VALUES (?, ?, ?, ?)",
                     [(d.rowid, d.name, suffixes(d.name), d.descr) for d in docs])


@contextlib.contextmanager
def _no_gc():
    """Hundreds of thousands of small tuples make the cyclic GC rescan everything: pause it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _write_prices(conn: sqlite3.Connection) -> None:
    order, prices = array("q"), array("q")
    for rowid, cents in conn.execute("SELECT rowid, min_price_cents FROM products ORDER BY min_price_cents, rowid"):
        order.append(rowid)
        prices.append(cents)
    conn.execute("INSERT OR REPLACE INTO search_prices(id, order_rowids, prices) VALUES (1, ?, ?)",
                 (order.tobytes(), prices.tobytes()))


def _new_version(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT OR REPLACE INTO search_state(key, value) VALUES ('version', ?)", (uuid.uuid4().hex,))


def build_index(conn: sqlite3.Connection) -> None:
    """(Re)build every search table from products/variants/categories, and commit.

    Called once after a full sync, on the staging file before it is swapped in.
    """
    with _no_gc():
        _build_index(conn)


def _build_index(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.commit()
    for table in _TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    # no merging while filling: 'optimize' below merges once
    conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 0)")
    # Streamed in rowid batches: memory stays flat whatever the catalog's size.
    categories = _categories_of(conn)
    cache = _Words()
    vocab: Counter[str] = Counter()
    everything, available = array("q"), array("q")
    cat: dict[str, array] = {}
    price: dict[str, array] = {}
    brand: dict[str, array] = {}
    colour_: dict[str, array] = {}
    size_: dict[str, array] = {}
    prefix_: dict[str, array] = {}
    after = -1
    while True:
        product_rows = conn.execute(
            f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, BUILD_BATCH)).fetchall()
        if not product_rows:
            break
        last = product_rows[-1][0]
        variant_rows = conn.execute("SELECT product_rowid, colour, size FROM variants "
                                    "WHERE product_rowid > ? AND product_rowid <= ?", (after, last)).fetchall()
        after = last
        docs = list(_make_docs(categories, product_rows, variant_rows, cache))
        del product_rows, variant_rows
        _insert_docs(conn, docs, cache)
        # every word of a product once: documents per word
        vocab.update(chain.from_iterable(set(f"{d.name} {d.descr}".split()) for d in docs))
        for d in docs:  # rowid order, so every array is ascending
            rowid = d.rowid
            everything.append(rowid)
            if d.available:
                available.append(rowid)
            _add(cat, d.category_id, rowid)
            _add(price, d.price, rowid)
            if d.brand:
                _add(brand, d.brand, rowid)
            for colour in d.colours:
                _add(colour_, colour, rowid)
            for size in d.sizes:
                _add(size_, size, rowid)
            for prefix in _name_prefixes(d.name_words):
                _add(prefix_, prefix, rowid)
        del docs
    conn.executemany("INSERT INTO search_vocab(word, df) VALUES (?, ?)", sorted(vocab.items()))
    groups = {"all": {"": everything}, "avail": {"": available}, "cat": cat, "brand": brand, "colour": colour_,
              "size": size_, "price": price,
              "prefix": {p: rowids for p, rowids in prefix_.items() if len(rowids) >= PREFIX_BITS_MIN_DF}}
    conn.executemany(
        "INSERT INTO search_bits(kind, value, bits) VALUES (?, ?, ?)",
        ((kind, value, _to_blob(_bits_from_sorted(rowids)))
         for kind, values in groups.items() for value, rowids in values.items()),
    )
    _write_prices(conn)
    _new_version(conn)
    conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
    conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 4)")  # the default, for deltas
    conn.commit()


def update_index(conn: sqlite3.Connection, changed_rowids: Sequence[int], removed_rowids: Sequence[int]) -> None:
    """Bring the index up to date for changed (inserted or updated) and removed products.

    Runs inside the caller's transaction and does not commit. A rowid in both lists, or a changed
    rowid no longer in `products`, is treated as removed.
    """
    touched = sorted(set(changed_rowids) | set(removed_rowids))
    if not touched:
        return
    touched_json = json.dumps(touched)

    # 1. take the old documents out of the FTS table and the vocabulary
    vocab_delta: Counter[str] = Counter()
    old = conn.execute("SELECT rowid, name, descr FROM search_docs WHERE rowid IN (SELECT value FROM json_each(?))",
                       (touched_json,)).fetchall()
    conn.executemany(
        "INSERT INTO search_fts(search_fts, rowid, name, namesuf, descr) VALUES ('delete', ?, ?, ?, ?)",
        [(rowid, name, _suffixes(name), descr) for rowid, name, descr in old])
    for _rowid, name, descr in old:
        vocab_delta.subtract(_doc_words(name, descr))
    conn.execute("DELETE FROM search_docs WHERE rowid IN (SELECT value FROM json_each(?))", (touched_json,))

    # 2. put the new ones in (changed rowids that are still products)
    keep = sorted(set(changed_rowids) - set(removed_rowids))
    docs = _documents(conn, keep) if keep else []
    _insert_docs(conn, docs)
    for d in docs:
        vocab_delta.update(_doc_words(d.name, d.descr))
    conn.executemany(
        "INSERT INTO search_vocab(word, df) VALUES (?, ?) ON CONFLICT(word) DO UPDATE SET df = df + excluded.df",
        [(w, n) for w, n in vocab_delta.items() if n])
    conn.execute("DELETE FROM search_vocab WHERE df <= 0")

    # 3. bitsets: clear every touched rowid, then set the new memberships
    clear = _bits_from_sorted(touched)
    stored = {(kind, value): _from_blob(blob) for kind, value, blob in
              conn.execute("SELECT kind, value, bits FROM search_bits")}
    adds: dict[tuple[str, str], list[int]] = defaultdict(list)
    for d in docs:
        for key in d.keys:
            if key[0] != "prefix" or key in stored:  # rare short prefixes are answered by FTS5
                adds[key].append(d.rowid)
    rows_out, rows_gone = [], []
    for key in set(stored) | set(adds):
        before = stored.get(key, 0)
        after = (before & ~clear) | _bits_from_sorted(adds.get(key, ()))
        if after == before and key in stored:
            continue
        if after or key[0] in ("all", "avail"):
            rows_out.append((key[0], key[1], _to_blob(after)))
        else:
            rows_gone.append(key)
    conn.executemany("INSERT OR REPLACE INTO search_bits(kind, value, bits) VALUES (?, ?, ?)", rows_out)
    conn.executemany("DELETE FROM search_bits WHERE kind = ? AND value = ?", rows_gone)
    _write_prices(conn)
    _new_version(conn)


# --- the in-memory side of an index version -----------------------------------------------------


@dataclass
class _Category:
    id: str
    name: str
    parent_id: str | None
    top_id: str
    position: int


@dataclass
class _Index:
    version: str
    all: int
    avail: int
    kinds: dict[str, dict[str, int]]
    categories: dict[str, _Category]
    children: dict[str | None, list[str]]
    tops: dict[str, int]  # top-level category id -> bitset (its subtree)
    vocab: list[str]
    df: dict[str, int]
    alphabet: str
    term_cache: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _price_order: array | None = None  # rowids by (min price, rowid)
    _prices: dict[int, int] | None = None
    # the folded names of search_docs, loaded by `warm_up` (`_names` asks SQLite until then): all
    # names in one string, name of rowid r = names_text[names_at[r]:names_at[r + 1]] (~4 MB at 100k)
    names_text: str | None = None
    names_at: array | None = None

    def load_names(self, conn: sqlite3.Connection) -> None:
        """Read every folded name into memory, for re-ranking without ~1,000 row lookups per query."""
        if self.names_text is not None:
            return
        parts: list[str] = []
        at = array("q", [0])
        size = 0
        for rowid, name in conn.execute("SELECT rowid, name FROM search_docs ORDER BY rowid"):
            if rowid < 0 or rowid > 50_000_000:
                return  # absurd rowids: stay with SQLite
            while len(at) <= rowid:  # rowids without a document get ""
                at.append(size)
            parts.append(name)
            size += len(name)
            at.append(size)
        text = "".join(parts)
        # the same index version still? (a delta committed meanwhile would mix two versions)
        row = conn.execute("SELECT value FROM search_state WHERE key = 'version'").fetchone()
        if row is None or row[0] != self.version:
            return
        with self.lock:
            self.names_text, self.names_at = text, at

    def names_of(self, rowids: list[int]) -> dict[int, str] | None:
        text, at = self.names_text, self.names_at
        if text is None or at is None:
            return None
        last = len(at) - 1
        return {r: text[at[r]:at[r + 1]] for r in rowids if 0 <= r < last}

    def subtree(self, category_id: str) -> int:
        bits, stack, seen = 0, [category_id], set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            bits |= self.kinds.get("cat", {}).get(current, 0)
            stack.extend(self.children.get(current, ()))
        return bits

    def prices(self, conn: sqlite3.Connection) -> tuple[array, dict[int, int]]:
        with self.lock:
            if self._price_order is None:
                order, prices = array("q"), array("q")
                row = conn.execute("SELECT order_rowids, prices FROM search_prices WHERE id = 1").fetchone()
                if row is not None:
                    order.frombytes(row[0])
                    prices.frombytes(row[1])
                self._price_order = order
                self._prices = dict(zip(order, prices))
            return self._price_order, self._prices


_cache: OrderedDict[str, _Index] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_VERSIONS = 3


def _index_for(conn: sqlite3.Connection) -> _Index | None:
    row = conn.execute("SELECT value FROM search_state WHERE key = 'version'").fetchone()
    if row is None:
        return None
    version = row[0]
    with _cache_lock:
        index = _cache.get(version)
        if index is not None:
            _cache.move_to_end(version)
            return index
    index = _load_index(conn, version)
    with _cache_lock:
        _cache[version] = index
        while len(_cache) > _CACHE_VERSIONS:
            _cache.popitem(last=False)
    return index


def _load_index(conn: sqlite3.Connection, version: str) -> _Index:
    kinds: dict[str, dict[str, int]] = defaultdict(dict)
    for kind, value, blob in conn.execute("SELECT kind, value, bits FROM search_bits"):
        kinds[kind][value] = _from_blob(blob)
    categories = {}
    children: dict[str | None, list[str]] = defaultdict(list)
    for cid, name, parent_id, top_id, position in conn.execute(
            "SELECT id, name, parent_id, top_id, position FROM categories ORDER BY position"):
        categories[cid] = _Category(cid, name, parent_id, top_id, position)
        children[parent_id].append(cid)
    tops: dict[str, int] = {}
    for cid, bits in kinds.get("cat", {}).items():
        category = categories.get(cid)
        top = category.top_id if category else cid
        tops[top] = tops.get(top, 0) | bits
    vocab_rows = [(w, n) for w, n in conn.execute("SELECT word, df FROM search_vocab ORDER BY word")]
    vocab = [w for w, _ in vocab_rows]
    alphabet = "".join(sorted({ch for w in vocab for ch in w}))
    return _Index(
        version=version,
        all=kinds.get("all", {}).get("", 0),
        avail=kinds.get("avail", {}).get("", 0),
        kinds=dict(kinds),
        categories=categories,
        children=children,
        tops=tops,
        vocab=vocab,
        df={w: n for w, n in vocab_rows},
        alphabet=alphabet,
    )


# --- warming up ---------------------------------------------------------------------------------


def _frequent_prefixes(index: _Index) -> list[str]:
    """Word prefixes (3+ letters) whose match sets are likely big: the vocabulary words' document
    frequencies summed per prefix (an upper bound of the set's size). The 3- and 4-letter ones
    first (every word typed passes through them, and their sets are the biggest and the dearest to
    compute), then the longer ones; biggest first within each group."""
    sums: Counter[str] = Counter()
    for word, df in index.df.items():
        if df * 8 < TERM_CACHE_MIN:  # a rare word adds little to any prefix: skip the long tail
            continue
        for n in range(SHORT_TERM, min(len(word), MAX_TERM_CHARS) + 1):
            sums[word[:n]] += df
    frequent = [(len(term) > SHORT_TERM + 1, -total, term) for term, total in sums.items() if total >= TERM_CACHE_MIN]
    frequent.sort()
    return [term for _long, _total, term in frequent]


def warm_up(conn: sqlite3.Connection, *, max_terms: int = WARM_TERMS, budget_s: float = WARM_BUDGET_S,
            stop: threading.Event | None = None) -> int:
    """Make the first searches of a shopper as fast as the later ones: load this index version
    (bitsets, vocabulary, price order) and compute the match sets of the words typed before
    (in the previous index version) and of the most frequent word prefixes, into the per-process
    cache. For a background thread at start-up and after a sync (it gives the GIL away between
    words); `stop` ends it early. Returns the number of words computed. Never raises."""
    try:
        index = _index_for(conn)
        if index is None:
            return 0
        index.prices(conn)
        index.load_names(conn)
        with _cache_lock:
            earlier = [other for version, other in _cache.items() if version != index.version]
        typed: list[str] = []
        if earlier:
            with earlier[-1].lock:
                typed = list(reversed(earlier[-1].term_cache))  # most recently used first
        deadline = time.monotonic() + budget_s
        done = 0
        visited: list[str] = []
        for term in dict.fromkeys(typed + _frequent_prefixes(index)):
            if done >= max_terms or time.monotonic() > deadline or (stop is not None and stop.is_set()):
                break
            visited.append(term)
            with index.lock:
                known = term in index.term_cache
            if not known:
                _term_hits(conn, index, term)
                done += 1
                time.sleep(0)  # let the UI thread have the GIL between words
        # the cache drops its least recently used words first: make that the least likely ones
        # (long prefixes), not the first computed (the words typed before, the biggest prefixes)
        with index.lock:
            for term in reversed(visited):
                if term in index.term_cache:
                    index.term_cache.move_to_end(term)
        return done
    except Exception:  # a background nicety: never worth a crash
        log.exception("search warm-up failed")
        return 0


# --- matching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TermHits:
    start: int  # a name word starts with the term
    name: int   # the term is in a name word (start or infix)
    any: int    # ... or a description word starts with it


def _fts_bits(conn: sqlite3.Connection, expression: str) -> int:
    csv = conn.execute("SELECT group_concat(rowid) FROM search_fts WHERE search_fts MATCH ?", (expression,)).fetchone()[0]
    return _bits_from_csv(csv)


def _term_hits(conn: sqlite3.Connection, index: _Index, term: str) -> _TermHits:
    with index.lock:
        hit = index.term_cache.get(term)
        if hit is not None:
            index.term_cache.move_to_end(term)
            return hit
    p = _phrase(term)
    if len(term) < SHORT_TERM:
        start = index.kinds.get("prefix", {}).get(term)
        if start is None:
            start = _fts_bits(conn, f"{{name}} : {p}")
        hit = _TermHits(start, start, start)
    else:
        start = _fts_bits(conn, f"{{name}} : {p}")
        infix = _fts_bits(conn, f"({{namesuf}} : {p}) NOT ({{name}} : {p})")
        descr = _fts_bits(conn, f"({{descr}} : {p}) NOT ({{name namesuf}} : {p})")
        name = start | infix
        hit = _TermHits(start, name, name | descr)
    if hit.any.bit_count() >= TERM_CACHE_MIN:
        with index.lock:
            index.term_cache[term] = hit
            while len(index.term_cache) > TERM_CACHE_SIZE:
                index.term_cache.popitem(last=False)
    return hit


def _edits(word: str, alphabet: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in alphabet if c != b[0]}
    inserts = {a + c + b for a, b in splits for c in alphabet}
    return (deletes | transposes | replaces | inserts) - {word}


def _correct(index: _Index, term: str) -> str | None:
    """The best one-edit neighbour of `term` in the vocabulary: a whole word (most documents
    first), else a prefix of a word (the shopper may still be typing)."""
    if len(term) < TYPO_MIN or len(term) > MAX_TERM_CHARS or not index.vocab:
        return None
    candidates = _edits(term, index.alphabet)
    whole = [(-index.df[c], c) for c in candidates if c in index.df]
    if whole:
        return min(whole)[1]
    prefixes = []
    vocab = index.vocab
    for c in candidates:
        if len(c) < SHORT_TERM:
            continue
        i = bisect.bisect_left(vocab, c)
        if i < len(vocab) and vocab[i].startswith(c):
            prefixes.append((-index.df[vocab[i]], -len(c), c))
    return min(prefixes)[2] if prefixes else None


# --- filters and facets -------------------------------------------------------------------------


def price_range(value: str) -> tuple[int | None, int | None]:
    """A price facet value ("2500-5000", "25000-") as (price_min_cents, price_max_cents)."""
    low, _, high = value.partition("-")
    return (int(low) if low.strip() else None, int(high) if high.strip() else None)


def _euros(cents: int) -> str:
    return f"{cents // 100}" if cents % 100 == 0 else f"{cents / 100:.2f}".replace(".", ",")


def _price_label(low: int, high: int | None) -> str:
    return f"€ {_euros(low)}+" if high is None else f"€ {_euros(low)} – € {_euros(high)}"


def _price_bits(conn: sqlite3.Connection, index: _Index, low: int | None, high: int | None) -> int:
    buckets = index.kinds.get("price", {})
    lows = {b[0] for b in PRICE_BUCKETS}
    highs = {b[1] for b in PRICE_BUCKETS}
    if (low is None or low in lows) and (high in highs):
        bits = 0
        for i, (b_low, b_high) in enumerate(PRICE_BUCKETS):
            if (low is None or b_low >= low) and (high is None or (b_high is not None and b_high <= high)):
                bits |= buckets.get(str(i), 0)
        return bits
    order, prices = index.prices(conn)  # any other range: binary search on the price order
    lo = 0 if low is None else bisect.bisect_left(order, low, key=prices.__getitem__)
    hi = len(order) if high is None else bisect.bisect_left(order, high, key=prices.__getitem__)
    return _bits_from_any(order[lo:hi]) if hi > lo else 0


def _filter_bits(conn: sqlite3.Connection, index: _Index, filters: SearchFilters) -> dict[str, int]:
    """Bitset per active filter, keyed by the facet it belongs to."""
    active: dict[str, int] = {}
    if filters.category_id is not None:
        active["category"] = index.subtree(filters.category_id)
    if filters.brand is not None:
        active["brand"] = index.kinds.get("brand", {}).get(filters.brand, 0)
    if filters.colour is not None:
        active["colour"] = index.kinds.get("colour", {}).get(filters.colour, 0)
    if filters.size is not None:
        active["size"] = index.kinds.get("size", {}).get(filters.size, 0)
    if filters.price_min_cents is not None or filters.price_max_cents is not None:
        active["price"] = _price_bits(conn, index, filters.price_min_cents, filters.price_max_cents)
    return active


def _facets(index: _Index, matches: int, active: dict[str, int]) -> dict[str, list[FacetValue]]:
    facets: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        base = matches
        for other, bits in active.items():
            if other != facet:
                base &= bits
        values: list[FacetValue] = []
        if base:
            if facet == "category":
                for top_id, bits in index.tops.items():
                    count = (base & bits).bit_count()
                    if count:
                        category = index.categories.get(top_id)
                        values.append(FacetValue(top_id, category.name if category else top_id, count))
            elif facet == "price":
                buckets = index.kinds.get("price", {})
                for i, (low, high) in enumerate(PRICE_BUCKETS):
                    count = (base & buckets.get(str(i), 0)).bit_count()
                    if count:
                        values.append(FacetValue(f"{low}-{'' if high is None else high}", _price_label(low, high), count))
            else:
                for value, bits in index.kinds.get(_FACET_KIND[facet], {}).items():
                    count = (base & bits).bit_count()
                    if count:
                        label = value[:1].upper() + value[1:] if facet == "colour" else value
                        values.append(FacetValue(value, label, count))
        if facet != "price":
            values.sort(key=lambda v: (-v.count, v.label.casefold(), v.value))
        facets[facet] = values
    return facets


# --- ordering -----------------------------------------------------------------------------------


def _word_score(name: str, terms: list[str]) -> int:
    name_words = name.split()
    score = 0
    for t in terms:
        best = 0
        for w in name_words:
            if w == t:
                best = 3
                break
            if w.startswith(t):
                best = 2
            elif best < 1 and t in w:
                best = 1
        score += best
    return score


def _names(conn: sqlite3.Connection, rowids: list[int], index: _Index | None = None) -> dict[int, str]:
    if index is not None:
        found = index.names_of(rowids)
        if found is not None:
            return found
    return {r: n for r, n in conn.execute(
        "SELECT rowid, name FROM search_docs WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(rowids),))}


def _by_relevance(conn: sqlite3.Connection, index: _Index, result: int, name: int, start: int,
                  terms: list[str], limit: int) -> list[int]:
    not_name = result & ~name
    in_name = result & name
    tiers = [
        in_name & index.avail & start, in_name & index.avail & ~start,
        in_name & ~index.avail & start, in_name & ~index.avail & ~start,
        not_name & index.avail, not_name & ~index.avail,
    ]
    out: list[int] = []
    for tier in tiers:
        need = limit - len(out)
        if need <= 0:
            break
        if not tier:
            continue
        size = tier.bit_count()
        if terms and 1 < size <= RERANK_MAX:
            rowids = members(tier)
            names = _names(conn, rowids, index)
            rowids.sort(key=lambda r: (-_word_score(names.get(r, ""), terms), r))
            out.extend(rowids[:need])
        else:
            out.extend(members(tier, need))
    return out


def _by_price(conn: sqlite3.Connection, index: _Index, result: int, descending: bool, limit: int) -> list[int]:
    order, prices = index.prices(conn)
    count = result.bit_count()
    # sort the members, or walk the global price order (about limit * N / count steps) keeping members
    if count == 0 or count <= 2 * limit * len(order) / count:
        rowids = members(result)
        if descending:
            rowids.sort(key=lambda r: (-prices.get(r, 0), r))
        else:
            rowids.sort(key=lambda r: (prices.get(r, 0), r))
        return rowids[:limit]
    # a dense result: walk the global price order and keep members
    buf = result.to_bytes((result.bit_length() + 7) // 8, "little")
    size = len(buf)
    out: list[int] = []
    sequence = reversed(order) if descending else iter(order)
    for r in sequence:
        i = r >> 3
        if i < size and buf[i] >> (r & 7) & 1:
            out.append(r)
            if len(out) >= limit:
                break
    if descending:  # equal prices: rowid ascending, as for price_asc
        out.sort(key=lambda r: (-prices.get(r, 0), r))
    return out


def _summaries(conn: sqlite3.Connection, rowids: list[int]) -> list[ProductSummary]:
    if not rowids:
        return []
    rows = conn.execute(
        "SELECT rowid, id, name, brand, min_price_cents, max_price_cents, "
        "CASE WHEN json_valid(images) THEN json_extract(images, '$[0]') END, available FROM products "
        "WHERE rowid IN (SELECT value FROM json_each(?))", (json.dumps(rowids),)).fetchall()
    by_rowid = {}
    for rowid, pid, name, brand, low, high, image, available in rows:
        by_rowid[rowid] = ProductSummary(pid, name, brand, low, high, image if isinstance(image, str) else None,
                                         bool(available))
    return [by_rowid[r] for r in rowids if r in by_rowid]


def _ids(conn: sqlite3.Connection, rowids: list[int]) -> list[str]:
    """The product ids of `rowids`, in that order. Ids, not rowids: a full sync that swaps a new file
    in renumbers the rows, and a list keeps its ids while the shopper scrolls. Plain strings (which
    the garbage collector does not track) and rows read one at a time: 10,000 of them must not set
    off full collections in the middle of a shopper's touch (issue 10)."""
    if not rowids:
        return []
    by_rowid = {}
    for rowid, pid in conn.execute("SELECT rowid, id FROM products WHERE rowid IN (SELECT value FROM json_each(?))",
                                   (json.dumps(rowids),)):
        by_rowid[rowid] = pid
    return [by_rowid[r] for r in rowids if r in by_rowid]


# --- search -------------------------------------------------------------------------------------


def _ean_bits(conn: sqlite3.Connection, query: str) -> int:
    code = query.strip()
    if not EAN_RE.match(code):
        return 0
    return _bits_from_any(r for (r,) in conn.execute("SELECT product_rowid FROM variants WHERE ean = ?", (code,)))


def search(conn: sqlite3.Connection, query: str, filters: SearchFilters = SearchFilters(), sort: Sort = "relevance",
           limit: int = 200, upto: int = 0) -> SearchResult:
    """Products matching `query` (every word as a prefix, ANDed) and `filters`, with facets.

    `items` are the first `limit` matches; with `upto` above `limit`, `more_ids` are the ids of the
    matches after them up to `upto` in all, in order, for a list that shows the rest as the shopper
    scrolls (CatalogStore.summaries). An empty query browses (everything, narrowed by the filters).
    Never raises on user input: a query with no usable word, or any failure, gives an empty result
    (failures are logged).
    """
    try:
        return _search(conn, query if isinstance(query, str) else "", filters or SearchFilters(), sort, limit, upto)
    except Exception:  # the shopper's keyboard must never take the kiosk down
        log.exception("search failed for %r", query[:200] if isinstance(query, str) else query)
        return SearchResult(items=[], total=0)


def _search(conn: sqlite3.Connection, query: str, filters: SearchFilters, sort: Sort, limit: int,
            upto: int) -> SearchResult:
    index = _index_for(conn)
    if index is None:
        log.warning("search before the index was built")
        return SearchResult(items=[], total=0)
    limit = max(0, int(limit))
    ordered = max(limit, int(upto))
    terms = query_terms(query)
    corrected = None
    if terms:
        matched, name, start = index.all, index.all, index.all
        used = []
        for term in terms:
            hits = _term_hits(conn, index, term)
            if not hits.any:
                better = _correct(index, term)
                if better is not None:
                    term, hits = better, _term_hits(conn, index, better)
            used.append(term)
            matched &= hits.any
            name &= hits.name
            start &= hits.start
        if used != terms:
            corrected = " ".join(used)
        terms = used
        ean = _ean_bits(conn, query)
        if ean:
            matched |= ean
            name |= ean
            start |= ean
    elif query.strip():
        return SearchResult(items=[], total=0)  # only punctuation, emoji, ...: nothing to look for
    else:
        matched = name = start = index.all

    active = _filter_bits(conn, index, filters)
    result = matched
    for bits in active.values():
        result &= bits
    facets = _facets(index, matched, active)
    if sort == "price_asc" or sort == "price_desc":
        rowids = _by_price(conn, index, result, sort == "price_desc", ordered)
    else:
        rowids = _by_relevance(conn, index, result, name, start, terms, ordered)
    return SearchResult(items=_summaries(conn, rowids[:limit]), total=result.bit_count(), facets=facets,
                        corrected=corrected, more_ids=_ids(conn, rowids[limit:]))
