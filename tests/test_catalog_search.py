"""Catalog search over a small hand-made catalog: exact assertions, no wall-time asserts."""

from __future__ import annotations

import logging
import random
import sqlite3

import pytest

from kiosk.catalog import schema
from kiosk.catalog.models import FacetValue, SearchFilters
from kiosk.catalog.search import (
    PRICE_BUCKETS, build_index, members, price_range, query_terms, search, update_index,
)
from kiosk.contract import Category, Product, Variant

CATEGORIES = [
    Category(id="fietsen", name="Fietsen & accessoires"),
    Category(id="kamperen", name="Kamperen"),
    Category(id="wandelen", name="Wandelen & outdoor"),
    Category(id="fietsen-dragers", name="Fietsdragers", parent_id="fietsen"),
    Category(id="fietsen-acc", name="Fietsaccessoires", parent_id="fietsen"),
    Category(id="kamperen-slapen", name="Slapen", parent_id="kamperen"),
    Category(id="wandelen-kleding", name="Kleding", parent_id="wandelen"),
]


def v(sku, price, *, ean=None, size=None, colour=None, available=True):
    return Variant(sku=sku, ean=ean, size=size, colour=colour, price_cents=price, available=available)


def p(pid, name, category, variants, *, brand=None, description="", images=("v1/images/x/1.png",)):
    return Product(id=pid, name=name, description=description, brand=brand, category_id=category,
                   images=list(images), variants=variants)


PRODUCTS = [
    p("P1", "Fietsdrager Thule VeloCompact", "fietsen-dragers", brand="Thule",
      description="Trekhaakdrager voor twee fietsen.",
      variants=[v("P1-1", 39900, ean="8710000000011", size="2 fietsen", colour="zwart"),
                v("P1-2", 44900, ean="8710000000028", size="3 fietsen", colour="zwart")]),
    p("P2", "Fietsbel Crane Riten", "fietsen-acc", brand="Crane", description="Heldere klank.",
      variants=[v("P2-1", 1295, colour="rood"), v("P2-2", 1295, colour="geel")]),
    p("P3", "Slaapzak Vaude Sioux", "kamperen-slapen", brand="Vaude", description="Mummieslaapzak.",
      variants=[v("P3-1", 8995, size="Regular", available=False), v("P3-2", 9995, size="Long", available=False)]),
    p("P4", "Slaapzak Nomad Blue", "kamperen-slapen", brand="Nomad", description="Warme slaapzak.",
      variants=[v("P4-1", 7995, size="Regular", colour="blauw")]),
    p("P5", "Spanband Basic", "fietsen-acc", brand="Basil",
      description="Handig bij een fietsdrager op de auto.", variants=[v("P5-1", 995)]),
    p("P6", "Regenjas Rukka Ellen", "wandelen-kleding", brand="Rukka", description="Ademend en waterdicht.",
      variants=[v("P6-1", 12995, size="S", colour="blauw"), v("P6-2", 12995, size="M", colour="rood")]),
    p("P7", "Koffiebeker Café Noir", "kamperen-slapen", brand="Nomad", description="Dubbelwandig.",
      variants=[v("P7-1", 2495)], images=()),
    p("P8", "Fietstas Ortlieb Back-Roller", "fietsen-acc", brand="Ortlieb", description="Waterdicht.",
      variants=[v("P8-1", 12995, colour="zwart"), v("P8-2", 13995, colour="rood", available=False)]),
]


def make_catalog(path, products=PRODUCTS) -> sqlite3.Connection:
    conn = schema.connect(path)
    schema.create(conn)
    with conn:
        schema.write_categories(conn, CATEGORIES)
        schema.write_products(conn, products, 0)
    build_index(conn)
    return conn


@pytest.fixture
def conn(tmp_path):
    conn = make_catalog(tmp_path / "catalog.sqlite")
    yield conn
    conn.close()


def ids(result):
    return [item.id for item in result.items]


def find(conn, query, **filters):
    return search(conn, query, SearchFilters(**filters))


# --- matching -------------------------------------------------------------------------------------


def test_every_word_is_a_prefix_and_words_are_anded(conn):
    assert set(ids(find(conn, "fiets"))) >= {"P1", "P2", "P8"}
    assert set(ids(find(conn, "f"))) >= {"P1", "P2", "P8"}
    assert ids(find(conn, "fiets thu")) == ["P1"]  # brand is part of the name
    assert ids(find(conn, "slaapzak nom")) == ["P4"]
    assert find(conn, "fiets slaapzak").total == 0


def test_case_and_diacritics_are_folded(conn):
    for query in ("cafe", "CAFÉ", "Café", "café noir", "CAFE N"):
        assert ids(find(conn, query)) == ["P7"], query
    assert ids(find(conn, "koffiebeker")) == ["P7"]


def test_compounds_are_found_from_their_parts(conn):
    assert "P1" in ids(find(conn, "drager"))
    assert "P2" in ids(find(conn, "bel"))
    assert "P2" in ids(find(conn, "BEL"))
    assert "P3" in ids(find(conn, "zak"))
    # two-letter words match the start of a name word only
    assert "P2" not in ids(find(conn, "el"))
    assert "P6" in ids(find(conn, "el"))  # "Ellen"


def test_one_typo_is_forgiven_in_words_of_five_letters_or_more(conn):
    cases = {
        "fietsdrgaer": "fietsdrager",   # transposition
        "fietsdraager": "fietsdrager",  # insertion
        "fietsdrger": "fietsdrager",    # deletion
        "fietsdrsger": "fietsdrager",   # substitution
        "slaapzk": "slaapzak",
        "regejnas": "regenjas",
    }
    for typo, word in cases.items():
        result = find(conn, typo)
        assert result.corrected == word, typo
        assert ids(find(conn, word))[0] in ids(result), typo
    assert ids(find(conn, "fietsdrgaer"))[0] == "P1"
    result = find(conn, "Regejnas rukka")
    assert result.corrected == "regenjas rukka" and ids(result) == ["P6"]


def test_typo_while_still_typing_corrects_to_a_prefix(conn):
    result = find(conn, "regenjs")
    assert result.corrected is not None and ids(result) == ["P6"]


def test_short_words_and_words_with_hits_are_not_corrected(conn):
    result = find(conn, "qwxyz")  # five letters, but no neighbour in the vocabulary
    assert result.total == 0 and result.corrected is None
    result = find(conn, "bleu")  # "blue" with one typo, but only four letters
    assert result.total == 0 and result.corrected is None
    result = find(conn, "fiets")
    assert result.corrected is None


def test_ean_finds_the_product_of_that_variant(conn):
    assert ids(find(conn, "8710000000028")) == ["P1"]
    assert ids(find(conn, " 8710000000011 ")) == ["P1"]
    assert find(conn, "8710000000035").total == 0


# --- ranking and sorting -------------------------------------------------------------------------


def test_name_hits_come_before_description_hits(conn):
    assert ids(find(conn, "fietsdrager")) == ["P1", "P5"]
    assert ids(find(conn, "waterdicht")) == ["P6", "P8"]  # description-only: rowid order
    # within name hits: whole word before prefix, prefix before infix
    assert ids(find(conn, "slaapzak"))[:2] == ["P4", "P3"]  # P3 is unavailable


def test_available_comes_before_unavailable(conn):
    assert ids(find(conn, "slaapzak vaude")) == ["P3"]
    result = find(conn, "slaapzak")
    assert ids(result).index("P4") < ids(result).index("P3")
    assert [i.available for i in result.items if i.id in ("P3", "P4")] == [True, False]


def test_sort_by_lowest_variant_price(conn):
    asc = search(conn, "", SearchFilters(), sort="price_asc")
    prices = [i.min_price_cents for i in asc.items]
    assert prices == sorted(prices) and asc.total == len(PRODUCTS)
    desc = search(conn, "", SearchFilters(category_id="fietsen"), sort="price_desc")
    assert [i.id for i in desc.items] == ["P1", "P8", "P2", "P5"]


def test_limit_and_summary_fields(conn):
    result = search(conn, "", SearchFilters(), limit=3)
    assert len(result.items) == 3 and result.total == len(PRODUCTS)
    p1 = next(i for i in search(conn, "thule").items)
    assert (p1.id, p1.name, p1.brand, p1.min_price_cents, p1.max_price_cents) == (
        "P1", "Fietsdrager Thule VeloCompact", "Thule", 39900, 44900)
    assert p1.image == "v1/images/x/1.png" and p1.available is True
    assert ids(find(conn, "koffiebeker")) == ["P7"] and find(conn, "koffiebeker").items[0].image is None


# --- browsing, filters and facets -------------------------------------------------------------------


def test_empty_query_browses_with_facets(conn):
    result = find(conn, "")
    assert result.total == len(PRODUCTS)
    assert {f.value: f.count for f in result.facets["category"]} == {"fietsen": 4, "kamperen": 3, "wandelen": 1}
    assert result.facets["category"][0] == FacetValue("fietsen", "Fietsen & accessoires", 4)
    result = find(conn, "", category_id="fietsen")  # a top category includes its subcategories
    assert sorted(ids(result)) == ["P1", "P2", "P5", "P8"]
    assert sorted(ids(find(conn, "", category_id="fietsen-acc"))) == ["P2", "P5", "P8"]
    assert find(conn, "", category_id="nope").total == 0


def test_filters_match_any_variant(conn):
    assert sorted(ids(find(conn, "", colour="rood"))) == ["P2", "P6", "P8"]  # P8's red one is sold out
    assert sorted(ids(find(conn, "", size="Regular"))) == ["P3", "P4"]
    assert ids(find(conn, "", brand="Thule")) == ["P1"]
    assert sorted(ids(find(conn, "", price_min_cents=5000, price_max_cents=10000))) == ["P3", "P4"]
    assert sorted(ids(find(conn, "", price_min_cents=10000))) == ["P1", "P6", "P8"]
    assert sorted(ids(find(conn, "", price_min_cents=1000, price_max_cents=1300))) == ["P2"]  # not a bucket
    assert ids(find(conn, "fiets", colour="zwart", brand="Ortlieb")) == ["P8"]


def test_facet_counts_apply_the_other_filters(conn):
    result = find(conn, "fiets", brand="Thule")
    assert ids(result) == ["P1"] and result.total == 1
    brands = {f.value: f.count for f in result.facets["brand"]}
    assert brands == {"Thule": 1, "Crane": 1, "Ortlieb": 1, "Basil": 1}  # the brand filter itself not applied
    assert {f.value: f.count for f in result.facets["colour"]} == {"zwart": 1}  # brand filter applied
    result = find(conn, "", colour="blauw")
    assert {f.value: f.count for f in result.facets["colour"]} == {
        "zwart": 2, "rood": 3, "geel": 1, "blauw": 2}
    assert {f.value: f.count for f in result.facets["brand"]} == {"Nomad": 1, "Rukka": 1}
    assert {f.value: f.count for f in result.facets["size"]} == {"Regular": 1, "S": 1, "M": 1}


def test_facets_sorted_by_count_and_price_buckets_in_price_order(conn):
    result = find(conn, "")
    for name in ("category", "brand", "colour", "size"):
        counts = [f.count for f in result.facets[name]]
        assert counts == sorted(counts, reverse=True) and all(counts), name
    assert result.facets["colour"][0] == FacetValue("rood", "Rood", 3)
    price = result.facets["price"]
    assert [(f.value, f.count) for f in price] == [("0-2500", 3), ("5000-10000", 2), ("10000-25000", 2), ("25000-", 1)]
    by_value = {f.value: f for f in price}
    assert by_value["0-2500"] == FacetValue("0-2500", "€ 0 – € 25", 3)  # P2, P5, P7
    assert by_value["5000-10000"].count == 2 and by_value["10000-25000"].count == 2
    assert by_value["25000-"] == FacetValue("25000-", "€ 250+", 1)
    assert "2500-5000" not in by_value  # zero counts are left out
    low, high = price_range("25000-")
    assert ids(find(conn, "", price_min_cents=low, price_max_cents=high)) == ["P1"]
    assert price_range("2500-5000") == (2500, 5000) and len(PRICE_BUCKETS) == 5


# --- incremental updates ----------------------------------------------------------------------------

QUERIES = ["", "f", "fiets", "drager", "slaapzak", "zwart", "cafe", "tent", "regejnas", "kampeer", "blauw"]
FILTERS = [SearchFilters(), SearchFilters(category_id="fietsen"), SearchFilters(colour="rood"),
           SearchFilters(brand="Nomad"), SearchFilters(price_min_cents=2500, price_max_cents=10000)]


def snapshot(conn):
    return [(q, f, search(conn, q, f, sort=s)) for q in QUERIES for f in FILTERS for s in ("relevance", "price_asc")]


def test_update_index_matches_a_rebuild(tmp_path):
    conn = make_catalog(tmp_path / "c.sqlite")
    changed = [
        p("P2", "Fietsbel Crane Riten Deluxe", "fietsen-acc", brand="Crane",
          variants=[v("P2-1", 1995, colour="blauw")]),  # new price, colour, name
        p("P4", "Slaapzak Nomad Blue", "kamperen-slapen", brand="Nomad",
          variants=[v("P4-1", 7995, size="Regular", colour="blauw", available=False)]),  # now sold out
        p("P9", "Tent Vango Café", "kamperen-slapen", brand="Vango", description="Kampeertent.",
          variants=[v("P9-1", 19900, size="2-persoons", colour="groen")]),  # new product, new values
    ]
    with conn:
        rowids = schema.write_products(conn, changed, 100)
        removed = schema.delete_products(conn, ["P7", "P3"])
        update_index(conn, rowids, removed)
    after_update = snapshot(conn)
    assert ids(find(conn, "tent")) == ["P9"] and ids(find(conn, "cafe")) == ["P9"]
    assert find(conn, "sioux").total == 0
    assert ids(find(conn, "", colour="groen")) == ["P9"]
    assert ids(find(conn, "riten deluxe")) == ["P2"]
    build_index(conn)
    assert snapshot(conn) == after_update


def test_update_index_removes_values_and_words_that_are_gone(tmp_path):
    conn = make_catalog(tmp_path / "c.sqlite")
    with conn:
        removed = schema.delete_products(conn, ["P6"])
        update_index(conn, [], removed)
    result = find(conn, "")
    assert "Rukka" not in {f.value for f in result.facets["brand"]}
    assert {"S", "M"}.isdisjoint({f.value for f in result.facets["size"]})
    assert find(conn, "regejnas").corrected is None  # "regenjas" left the vocabulary
    assert conn.execute("SELECT count(*) FROM search_vocab WHERE word = 'rukka'").fetchone()[0] == 0


def test_update_index_inside_the_callers_transaction_rolls_back(tmp_path):
    conn = make_catalog(tmp_path / "c.sqlite")
    before = snapshot(conn)
    try:
        with conn:
            rowids = schema.write_products(conn, [p("P1", "Iets anders", "fietsen", variants=[v("P1-1", 100)])], 0)
            update_index(conn, rowids, [])
            raise RuntimeError("sync failed")
    except RuntimeError:
        pass
    assert snapshot(conn) == before


# --- hostile input ----------------------------------------------------------------------------------


HOSTILE = ['"', '""', "'", "*", "AND", "OR", "NOT", "fiets AND", "NEAR(fiets bel)", "fiets -bel", "-", "(", ")",
           "^fiets", "{name}: fiets", "name:fiets", "fiets*", '"fiets', "💩", "🚲 fiets", "\x00", "\\", "%", "_",
           "' OR 1=1 --", "a" * 10_000, "fiets " * 3000, "ß", "İ", "ǅ", "\u0301", "e\u0301", "\ufeff", "NULL"]


def test_hostile_input_never_raises(conn, caplog):
    rng = random.Random(3)
    alphabet = 'abcdefgé "*()-^:{}+.,;AND OR NOT NEAR\x00\t\n💩ß0123456789_'
    queries = HOSTILE + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(300)]
    with caplog.at_level(logging.WARNING, logger="kiosk.catalog.search"):
        for query in queries:
            for filters in (SearchFilters(), SearchFilters(brand=query[:20], colour=query[:5], category_id=query[:9])):
                result = search(conn, query, filters)
                assert result.total >= len(result.items) >= 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert find(conn, "fiets AND").total == find(conn, "fiets and").total > 0
    assert find(conn, "💩").total == 0 and find(conn, "!!!").total == 0 and find(conn, "   ").total == len(PRODUCTS)


def test_query_terms_are_capped():
    assert query_terms("a" * 10_000) == ["a" * 40]
    assert len(query_terms("fiets " * 3000)) == 8


def test_search_before_the_index_exists_is_empty(tmp_path):
    conn = schema.connect(tmp_path / "empty.sqlite")
    schema.create(conn)
    assert search(conn, "fiets", SearchFilters()).total == 0


def test_members_of_a_bitset():
    bits = (1 << 3) | (1 << 64) | (1 << 100_000)
    assert members(bits) == [3, 64, 100_000]
    assert members(bits, 2) == [3, 64] and members(0) == []


def test_bad_images_json_gives_no_picture(conn):
    with conn:
        conn.execute("UPDATE products SET images = 'not json' WHERE id = 'P1'")
        conn.execute("UPDATE products SET images = '[3]' WHERE id = 'P2'")
    assert find(conn, "thule").items[0].image is None
    assert find(conn, "riten").items[0].image is None
