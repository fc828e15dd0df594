"""The fast paths of building and warming the search index give exactly what the plain ones do."""

from __future__ import annotations

import random
import re

import pytest

from kiosk.catalog import schema, search
from kiosk.catalog.models import SearchFilters
from kiosk.catalog.search import build_index, update_index, warm_up
from kiosk.contract import Product, Variant

from test_catalog_search import CATEGORIES, PRODUCTS, make_catalog

TABLES = ("search_docs", "search_vocab", "search_bits", "search_prices")


def tables(conn):
    return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def results(conn, queries=("fiets", "slaap", "zak", "thule", "cafe", "regejnas", "f", "", "zwart", "ortlieb tas")):
    return [search.search(conn, q, SearchFilters(), sort) for q in queries for sort in ("relevance", "price_asc")]


def many_products(n: int) -> list[Product]:
    rng = random.Random(7)
    nouns = ["fietsdrager", "fietsbel", "slaapzak", "regenjas", "tent", "koffer", "fietstas", "wandelschoen"]
    brands = ["Thule", "Vaude", "Ortlieb", "Café Noir", None]
    cats = [c.id for c in CATEGORIES]
    return [Product(id=f"M{i}", name=f"{rng.choice(nouns).title()} {rng.choice(['XL', 'Pro', 'Één', 'Basic'])} {i}",
                    description=f"{rng.choice(nouns)} met {rng.choice(['garantie', 'licht', 'extra ruimte'])}.",
                    brand=rng.choice(brands), category_id=rng.choice(cats),
                    variants=[Variant(sku=f"M{i}-{k}", price_cents=rng.randrange(100, 40000),
                                      colour=rng.choice(["zwart", "rood", None]), size=rng.choice(["S", "M", None]),
                                      available=rng.random() < 0.8) for k in range(rng.randint(1, 3))])
            for i in range(n)]


@pytest.fixture(autouse=True)
def fresh_cache():
    search._cache.clear()
    yield
    search._cache.clear()


def test_a_build_in_small_batches_equals_one_in_a_single_batch(tmp_path, monkeypatch):
    products = PRODUCTS + many_products(60)
    whole = make_catalog(tmp_path / "whole.sqlite", products)
    monkeypatch.setattr(search, "BUILD_BATCH", 7)
    batched = make_catalog(tmp_path / "batched.sqlite", products)
    assert tables(batched) == tables(whole)
    assert results(batched) == results(whole)


def test_automerge_is_back_to_the_default(tmp_path):
    conn = make_catalog(tmp_path / "c.sqlite")
    rows = dict(conn.execute("SELECT k, v FROM search_fts_config").fetchall())
    assert rows.get("automerge", 4) == 4


def test_fast_fold_is_schema_fold():
    rng = random.Random(5)
    samples = ["Café", "ÉÉN", "ß", "İ", "ǅ", "e\u0301", "\ufeff", "Ω", "ﬁets", "Italië", "ABC", "", "Straße 12"]
    for _ in range(5000):
        samples.append("".join(chr(rng.choice([rng.randrange(0x20, 0x250), rng.randrange(0x300, 0x370),
                                               rng.randrange(0x1E00, 0x1F00), rng.randrange(0, 0x110000)]))
                               for _ in range(rng.randrange(0, 12))))
    for text in samples:
        assert search._fold(text) == schema.fold(text), repr(text)


def test_words_of_ascii_text_are_the_regex_words():
    rng = random.Random(9)
    alphabet = "abcXYZ019 _-.,;:!?'\"()[]{}/\\\t\n\x00\x7f~`@#$%^&*+=|<>"
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        assert search.words(text) == re.findall(r"[^\W_]+", text.lower()), repr(text)


def test_warm_up_caches_the_frequent_prefixes_and_changes_no_answer(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "TERM_CACHE_MIN", 5)
    conn = make_catalog(tmp_path / "c.sqlite", PRODUCTS + many_products(200))
    cold = results(conn)
    search._cache.clear()
    assert warm_up(conn) > 0
    index = search._index_for(conn)
    assert "fie" in index.term_cache and "fiets" in index.term_cache
    assert index._price_order is not None, "the price order is loaded too"
    rowids = [r for (r,) in conn.execute("SELECT rowid FROM search_docs")] + [0, 10**6]
    assert index.names_text is not None, "the names are loaded too"
    in_memory, stored = index.names_of(rowids), search._names(conn, rowids)
    assert [in_memory.get(r, "") for r in rowids] == [stored.get(r, "") for r in rowids], "the names SQLite gives"
    assert results(conn) == cold


def test_warm_up_takes_the_words_typed_before_into_the_next_index_version(tmp_path, monkeypatch):
    monkeypatch.setattr(search, "TERM_CACHE_MIN", 1)
    conn = make_catalog(tmp_path / "c.sqlite")
    search.search(conn, "riten")  # typed by a shopper: cached in this version
    with conn:
        rowids = schema.write_products(conn, [PRODUCTS[1].model_copy(update={"name": "Fietsbel Riten Mini"})], 50)
        update_index(conn, rowids, [])
    monkeypatch.setattr(search, "_frequent_prefixes", lambda index: [])
    assert warm_up(conn) == 1
    assert "riten" in search._index_for(conn).term_cache


def test_warm_up_stops_when_asked_and_never_raises(tmp_path):
    conn = make_catalog(tmp_path / "c.sqlite")
    stop = search.threading.Event()
    stop.set()
    assert warm_up(conn, stop=stop) == 0
    conn.close()
    assert warm_up(conn) == 0  # a closed connection: logged, not raised


def test_warm_up_without_an_index_does_nothing(tmp_path):
    conn = schema.connect(tmp_path / "empty.sqlite")
    schema.create(conn)
    assert warm_up(conn) == 0


def test_rebuild_after_update_still_equal(tmp_path, monkeypatch):
    """update_index (per product, not batched) and a batched build agree."""
    monkeypatch.setattr(search, "BUILD_BATCH", 3)
    conn = make_catalog(tmp_path / "c.sqlite", PRODUCTS + many_products(20))
    with conn:
        rowids = schema.write_products(conn, many_products(25)[20:], 100)
        update_index(conn, rowids, schema.delete_products(conn, ["P3", "M4"]))
    after_update = (tables(conn)["search_docs"], tables(conn)["search_vocab"], results(conn))
    build_index(conn)
    assert (tables(conn)["search_docs"], tables(conn)["search_vocab"], results(conn)) == after_update
