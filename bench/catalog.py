"""Catalog benchmark (issue 3): sync, delta, search latency, RSS and cold start, against targets.

    .venv/bin/python bench/catalog.py [--articles 100000]

Starts the reference server in-process (seeding is not timed), then runs each kiosk-side part in a
child process so its figures (and its peak RSS) are the kiosk's own, not the server's:

  sync    full sync through `CatalogSync.full_sync()` (HTTP, parse, validate, write, build_index)
  delta   1,000 products changed on the server (`central.db.change_random_products`), then `delta_sync()`
  search  as the shopper meets it: "catalog open" (CatalogStore + top_categories + products_in of the
          biggest category, as at start-up; the store starts its search warm-up on a background
          thread), the warm-up awaited (its duration is printed; it does not hold up the attract
          screen), then 200 fixed queries through `CatalogStore.search()`: a first pass and a second,
          the same queries as a bare FTS5 MATCH ... LIMIT 200, and peak RSS (VmHWM)
  unwarmed  the reference without warm-up: `search()` on a plain connection at once, so the first
          queries pay for loading the index version and for every big word set
  tinydb  the naive reference: the catalog as TinyDB documents (MemoryStorage), scanned per query with
          a Python substring test (folded with `schema.fold`); only every 10th query (a full scan
          takes about a second), the ratio is taken on that same subset of the unwarmed timings
  startup bench/startup.py: fresh processes to the first frame of the attract screen in a real Kivy
          window (Xvfb when there is no display) with this catalog cached and the API unreachable

Prints figures next to their targets with OK/MISSED; never asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stats import percentile  # noqa: E402 (bench/stats.py: this script's own folder is on the path)

TOKEN = "demo-kiosk-token"

# --- the 200 fixed queries ---------------------------------------------------------------------------

_TYPED = ["fietsdrager", "slaapzak", "regenjas", "dakkoffer", "wandelschoen", "rugzak", "kettingslot",
          "hoofdlamp", "powerbank", "koelbox", "tent", "thule", "fietsbel", "campingstoel", "verrekijker"]
_FULL = ["fietslamp", "achterlicht", "vouwslot", "fietstas", "stuurtas", "fietspomp", "fietshelm", "tarp",
         "slaapmat", "luchtbed", "kooktoestel", "pannenset", "campingtafel", "dakdrager", "gevarendriehoek",
         "brandblusser", "autolader", "koffer", "reistas", "toilettas", "nekkussen", "fleecevest", "softshelljas",
         "wandelbroek", "drinkfles", "wegenkaart", "reisgids", "fietsgids", "navigatiesysteem", "garmin",
         "vaude", "samsonite", "ortlieb", "zwart", "blauw", "waterdicht", "gekeurd", "ademend"]
_TYPOS = ["fietsdrgaer", "slaapzk", "regejnas", "dakkofer", "wandelschone", "kettingsolt", "hoofdlampp",
          "powrebank", "koelbx", "campingstoelt", "verrekijekr", "fietspmop", "samsnoite", "navigatiesysteme",
          "softshelljsa", "toilettsa", "brandbluser", "gevarendriehoke", "luchtebd", "pannenst"]
_COMPOUNDS = ["drager", "bel", "lamp", "tas", "slot", "schoen", "zak", "koffer", "stoel", "kijker", "jas",
              "kussen", "kaart", "gids", "pomp", "helm", "mat", "licht", "fles", "tafel"]
_MULTI = ["thule dak", "vaude tent", "slaapzak mammut", "fietsdrager thule", "rugzak deuter 30",
          "regenjas xl", "tent 2-persoons", "koffer groot", "garmin navigatie", "axa slot",
          "ortlieb fietstas", "jack wolfskin", "the north face", "wandelschoen 42", "koelbox 24",
          "fiets", "kamp", "auto", "reis", "wandel"]


def fixed_queries() -> list[tuple[str, dict, str]]:
    """200 (query, filters, sort): prefixes of 1-6 letters as typed, full words, typos, compounds,
    several words, and a part of them with a filter (the facets come with every query)."""
    queries: list[tuple[str, dict, str]] = []
    for word in _TYPED:  # as typed: 1..6 letters
        queries.extend((word[:n], {}, "relevance") for n in range(1, 7))
    queries.extend((w, {}, "relevance") for w in _FULL)
    queries.extend((w, {}, "relevance") for w in _TYPOS)
    queries.extend((w, {}, "relevance") for w in _COMPOUNDS)
    queries.extend((w, {}, "relevance") for w in _MULTI)
    filtered = [
        ("", {"category_id": "fietsen"}, "relevance"), ("", {"category_id": "kamperen-tenten"}, "price_asc"),
        ("", {"brand": "Thule"}, "relevance"), ("", {"colour": "zwart"}, "price_desc"),
        ("f", {"category_id": "fietsen"}, "relevance"), ("fiets", {"brand": "Thule"}, "relevance"),
        ("tent", {"size": "2-persoons"}, "price_asc"), ("s", {"colour": "rood"}, "relevance"),
        ("slaapzak", {"price_min_cents": 5000, "price_max_cents": 10000}, "relevance"),
        ("jas", {"size": "XL", "colour": "blauw"}, "relevance"), ("k", {"price_min_cents": 25000}, "price_desc"),
        ("drager", {"category_id": "auto"}, "relevance"), ("regenjas", {"brand": "Vaude"}, "price_asc"),
        ("", {"price_min_cents": 10000, "price_max_cents": 25000}, "relevance"),
        ("w", {"category_id": "wandelen"}, "price_asc"), ("rugzak", {"size": "30 L"}, "relevance"),
        ("fietsdrager", {"colour": "zwart", "brand": "Thule"}, "relevance"),
        ("wandelschoen", {"size": "42"}, "price_asc"), ("koffer", {"colour": "blauw"}, "relevance"),
        ("t", {"price_min_cents": 0, "price_max_cents": 2500}, "relevance"),
    ]
    queries.extend(filtered)
    queries = queries[:200]
    assert len(queries) == 200, len(queries)
    return queries


# --- helpers ---------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(role: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--role", role, *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=600)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"bench child {role!r} failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- roles (child processes) --------------------------------------------------------------------------


def role_sync(base_url: str, directory: str, kind: str) -> dict:
    from kiosk.api import CentralApi
    from kiosk.catalog.sync import CatalogSync

    async def run():
        api = CentralApi(base_url, TOKEN, read_timeout=60.0)
        try:
            sync = CatalogSync(api, Path(directory))
            start = time.perf_counter()
            report = await (sync.full_sync() if kind == "full" else sync.delta_sync())
            return time.perf_counter() - start, report
        finally:
            await api.aclose()

    seconds, report = asyncio.run(run())
    return {"seconds": seconds, "written": report.written, "removed": report.removed,
            "skipped": len(report.skipped), "rss_mb": peak_rss_mb()}


def role_search(directory: str, biggest: str) -> dict:
    """As the shopper meets it: the store opened as at start-up (its search warm-up runs in the
    background meanwhile), the warm-up awaited (it does not hold up the attract screen: see
    bench/startup.py), then the 200 queries twice through `CatalogStore.search`."""
    start = time.perf_counter()
    from kiosk.catalog.store import CatalogStore
    imported = time.perf_counter() - start

    start = time.perf_counter()
    store = CatalogStore(Path(directory))
    store.top_categories()
    first_page = store.products_in(biggest, limit=60)
    catalog_open = time.perf_counter() - start
    store.wait_until_warm()
    warm_up = time.perf_counter() - start

    from kiosk.catalog import schema
    from kiosk.catalog.models import SearchFilters
    from kiosk.catalog.search import query_terms

    queries = fixed_queries()
    passes = []
    totals = []
    for _ in range(2):
        times = []
        for query, filters, sort in queries:
            t = time.perf_counter()
            result = store.search(query, SearchFilters(**filters), sort)
            times.append(time.perf_counter() - t)
            if len(passes) == 0:
                totals.append(result.total)
        passes.append(times)

    conn = schema.connect(Path(directory) / store.path.name, readonly=True)
    bare = []
    for query, _filters, _sort in queries:
        terms = query_terms(query)
        if not terms:
            continue
        expression = " AND ".join('"' + t + '"*' for t in terms)
        t = time.perf_counter()
        conn.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH ? LIMIT 200", (expression,)).fetchall()
        bare.append(time.perf_counter() - t)
    return {
        "import_s": imported, "catalog_open_s": catalog_open, "first_page": len(first_page),
        "warm_up_s": warm_up, "cold": passes[0], "warm": passes[1], "bare": bare, "totals": totals,
        "rss_mb": peak_rss_mb(),
    }


def role_search_unwarmed(directory: str) -> dict:
    """The reference without any warm-up: a plain connection, `search()` straight away, so the first
    pass pays for loading the index version and for every big word set (what the warm-up saves)."""
    from kiosk.catalog import schema
    from kiosk.catalog.models import SearchFilters
    from kiosk.catalog.search import search

    conn = schema.connect(Path(directory) / "catalog.sqlite", readonly=True)
    times = []
    for query, filters, sort in fixed_queries():
        t = time.perf_counter()
        search(conn, query, SearchFilters(**filters), sort)
        times.append(time.perf_counter() - t)
    return {"times": times}


def role_tinydb(directory: str) -> dict:
    from tinydb import TinyDB
    from tinydb.storages import MemoryStorage

    from kiosk.catalog import schema
    from kiosk.catalog.schema import fold

    conn = schema.connect(Path(directory) / "catalog.sqlite", readonly=True)
    variants: dict[int, list[dict]] = {}
    for row in conn.execute("SELECT product_rowid, sku, ean, size, colour, price_cents, available FROM variants"):
        variants.setdefault(row[0], []).append(
            {"sku": row[1], "ean": row[2], "size": row[3], "colour": row[4], "price_cents": row[5], "available": row[6]})
    top = dict(conn.execute("SELECT id, top_id FROM categories").fetchall())
    db = TinyDB(storage=MemoryStorage)
    db.insert_multiple(
        {"id": r[1], "name": r[2], "description": r[3], "brand": r[4], "category_id": r[5],
         "top_id": top.get(r[5], r[5]), "min_price_cents": r[6], "variants": variants.get(r[0], [])}
        for r in conn.execute("SELECT rowid, id, name, description, brand, category_id, min_price_cents FROM products"))

    def naive(query: str, filters: dict) -> int:
        terms = fold(query).split()

        def ok(doc: dict) -> bool:
            text = fold(f"{doc['name']} {doc['brand'] or ''} {doc['description']}")
            if not all(t in text for t in terms):
                return False
            if "category_id" in filters and filters["category_id"] not in (doc["category_id"], doc["top_id"]):
                return False
            if "brand" in filters and doc["brand"] != filters["brand"]:
                return False
            for key in ("colour", "size"):
                if key in filters and not any(v[key] == filters[key] for v in doc["variants"]):
                    return False
            low, high = filters.get("price_min_cents"), filters.get("price_max_cents")
            return (low is None or doc["min_price_cents"] >= low) and (high is None or doc["min_price_cents"] < high)

        return len(db.search(_Fn(ok)))

    times = []
    indexes = list(range(0, 200, 10))
    for i in indexes:
        query, filters, _sort = fixed_queries()[i]
        t = time.perf_counter()
        naive(query, filters)
        times.append(time.perf_counter() - t)
    return {"indexes": indexes, "times": times}


class _Fn:
    """A TinyDB condition from a plain Python predicate (TinyDB calls it per document)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, doc):
        return self.fn(doc)

    def __hash__(self):  # TinyDB caches query results by condition; a fresh one per query
        return id(self)


# --- the table ----------------------------------------------------------------------------------------------


def startup(kiosk_dir: Path, runs: int) -> dict:
    """bench/startup.py on this catalog: fresh processes, real Kivy window (Xvfb when no display)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "startup.py"), "--catalog-dir", str(kiosk_dir),
                          "--runs", str(runs)], capture_output=True, text=True, cwd=ROOT, timeout=900)
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-2000:] + out.stderr[-4000:])
        raise SystemExit("bench/startup.py failed")
    lines = out.stdout.strip().splitlines()
    for line in lines[:-1]:
        print("  " + line, flush=True)
    return json.loads(lines[-1])


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--startup-runs", type=int, default=3, help="cold starts to take the median of")
    parser.add_argument("--role", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.role:
        roles = {"sync": role_sync, "search": role_search, "unwarmed": role_search_unwarmed, "tinydb": role_tinydb}
        print(json.dumps(roles[options.role](*options.args)))
        return

    from central.db import Database, change_random_products
    from central.embedded import start_server

    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as tmp:
        tmp_path = Path(tmp)
        t = time.perf_counter()
        server = start_server(tmp_path / "central.sqlite", seed_articles=options.articles)
        print(f"reference server seeded with {options.articles:,} articles in {time.perf_counter() - t:.1f} s "
              f"(not counted)", flush=True)
        kiosk_dir = tmp_path / "kiosk"
        kiosk_dir.mkdir()
        try:
            full = child("sync", server.base_url, str(kiosk_dir), "full")
            print(f"full sync done: {full['written']:,} products", flush=True)
            with Database(tmp_path / "central.sqlite").session() as conn:
                change_random_products(conn, options.changes, seed="bench")
            delta = child("sync", server.base_url, str(kiosk_dir), "delta")
            print(f"delta sync done: {delta['written']:,} products", flush=True)
        finally:
            server.stop()

        from kiosk.catalog import schema
        conn = schema.connect(kiosk_dir / "catalog.sqlite", readonly=True)
        biggest = conn.execute(
            "SELECT c.top_id, count(*) n FROM products p JOIN categories c ON c.id = p.category_id "
            "GROUP BY c.top_id ORDER BY n DESC LIMIT 1").fetchone()[0]
        products = conn.execute("SELECT count(*) FROM products").fetchone()[0]
        variants = conn.execute("SELECT count(*) FROM variants").fetchone()[0]
        conn.close()
        found = child("search", str(kiosk_dir), biggest)
        unwarmed = child("unwarmed", str(kiosk_dir))
        print("searches done", flush=True)
        naive = child("tinydb", str(kiosk_dir))
        size_mb = (kiosk_dir / "catalog.sqlite").stat().st_size / 1e6
        started = startup(kiosk_dir, options.startup_runs)
        print("cold starts done", flush=True)

    ms = 1000.0
    cold, warm, bare, plain = found["cold"], found["warm"], found["bare"], unwarmed["times"]
    cold_p50, cold_p99 = percentile(cold, 50) * ms, percentile(cold, 99) * ms
    warm_p50, warm_p99 = percentile(warm, 50) * ms, percentile(warm, 99) * ms
    plain_p50, plain_p99 = percentile(plain, 50) * ms, percentile(plain, 99) * ms
    bare_p50, bare_p99 = percentile(bare, 50) * ms, percentile(bare, 99) * ms
    subset = [plain[i] for i in naive["indexes"]]  # the unwarmed timings: the ratio at its least flattering
    tiny_p50 = percentile(naive["times"], 50) * ms
    speedup = statistics.fmean(naive["times"]) / statistics.fmean(subset)
    rss = max(full["rss_mb"], delta["rss_mb"], found["rss_mb"])
    start_s = started["median_s"]

    rows = [
        ("catalog", f"{products:,} products, {variants:,} variants, file {size_mb:.0f} MB", "", None),
        ("full sync", f"{full['seconds']:.2f} s", "<= 10 s", full["seconds"] <= 10),
        (f"delta sync ({options.changes:,} changes)", f"{delta['seconds']:.2f} s", "<= 1 s", delta["seconds"] <= 1),
        ("search p50 / p99, first pass after start", f"{cold_p50:.2f} / {cold_p99:.2f} ms", "p99 <= 10 ms",
         cold_p99 <= 10),
        ("search p50 / p99, second pass", f"{warm_p50:.2f} / {warm_p99:.2f} ms", "p99 <= 10 ms", warm_p99 <= 10),
        ("search p50 / p99, no warm-up at all", f"{plain_p50:.2f} / {plain_p99:.2f} ms", "reference", None),
        ("bare FTS5 MATCH LIMIT 200 p50 / p99", f"{bare_p50:.2f} / {bare_p99:.2f} ms", "reference", None),
        ("search p99 / bare FTS5 p99 (first pass)", f"{cold_p99 / bare_p99:.1f}x", "<= 2x", cold_p99 / bare_p99 <= 2),
        ("TinyDB full scan p50 (20 queries)", f"{tiny_p50:.0f} ms", "reference", None),
        ("speed-up vs TinyDB (mean, same 20, no warm-up)", f"{speedup:,.0f}x", ">= 100x", speedup >= 100),
        ("peak RSS (sync / delta / search)",
         f"{full['rss_mb']:.0f} / {delta['rss_mb']:.0f} / {found['rss_mb']:.0f} MB", "<= 250 MB", rss <= 250),
        ("cold start to attract screen (Kivy, median)",
         f"{start_s:.2f} s ({' / '.join(f'{r:.2f}' for r in started['runs'])})", "<= 3 s", start_s <= 3),
        ("  catalog open (store + first category page)", f"{found['catalog_open_s'] * ms:.0f} ms "
         f"(+ {found['import_s'] * ms:.0f} ms imports)", "", None),
        ("  search warm-up (background, after open)", f"{found['warm_up_s']:.2f} s; in the app: warm "
         f"{started['warm_s']:.2f} s after spawn", "", None),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'figure':<{width}}  {'measured':<44} {'target':<14} verdict")
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {value:<44} {target:<14} {'' if ok is None else verdict(ok)}")
    slowest = sorted(zip(cold, fixed_queries()), key=lambda x: -x[0])[:5]
    print("\nslowest queries (first pass after start): "
          + ", ".join(f"{q!r}{' ' + str(f) if f else ''} {t * ms:.1f} ms" for t, (q, f, _s) in slowest))


if __name__ == "__main__":
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    main()
