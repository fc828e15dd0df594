"""Soak (issue 10): 1,000 shopper sessions in one kiosk process, and what grows meanwhile.

    .venv/bin/python bench/soak.py [--sessions 1000] [--every 100] [--warm-up 100] [--window 540x960]

One KioskApp in a real 1080x1920 Kivy window (under Xvfb: without an X display the benchmark re-runs
itself through `xvfb-run`), against the reference central server on a loopback port (in its own
process: RSS is the kiosk's alone), paid with the simulated card terminal. The sessions
(tests/support/soak.py): purchases through every screen — attract, categories, article list,
article, cart, "how to get it", pay, receipt — some with a search typed on the on-screen keyboard,
some delivered (the address typed on the keys), some in English; and every 6th abandoned on the cart
and reset by the idle clock ("Still there?", countdown, reset; the idle times are shortened to
1.5 s + 1 s through the settings). The next session starts once the app's upkeep after the last is
done (kiosk/heap.py: a collection 3 s after the reset on the attract screen), as shoppers a few
seconds apart would let it.

Printed before the first session, after the warm-up, every `--every` sessions and at the end: RSS,
open file descriptors, threads, asyncio tasks, Kivy Screen / Widget / Texture objects alive, Clock
events scheduled, Kivy bindings (BoundCallbacks); at the end the 20 Python object types that grew
most (from the warm-up, and from the start), and the verdict on the targets: RSS growth under 5%
after the warm-up, no growing count of screens, widgets, textures, tasks, threads, descriptors or
bindings. Exit 1 when a target is missed.

The warm-up (first sessions) is where caches fill for good: fonts, label textures, the picture
cache's index, SQLite's page cache, the executor's threads, Python's own free lists. Growth is judged
from there; growth from the very start is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests", ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1080x1920x24"]

# Growth allowed from the warm-up to the end, per count: the targets say "no growing count"; one or
# two of a kind come and go with what is on screen at the moment of counting.
COUNT_SLACK = {"screens": 0, "widgets": 40, "textures": 40, "tasks": 2, "threads": 2, "fds": 3, "clock_events": 3,
               "bindings": 400}
RSS_TARGET = 0.05


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000, help="shopper sessions (default 1,000)")
    parser.add_argument("--every", type=int, default=100, help="print the figures every N sessions")
    parser.add_argument("--warm-up", type=int, default=100,
                        help="growth is judged from this session on (default 100: like every count after it, "
                             "it follows a searched, delivered purchase, so the counts compare like with like)")
    parser.add_argument("--seed-articles", type=int, default=300)
    parser.add_argument("--window", default="1080x1920",
                        help="window WxH (default the pillar's 1080x1920; a smaller one shows the same layout "
                             "scaled down; llvmpipe draws it faster: 540x960 makes a session about twice as quick)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop after the session that runs past this (the figures say how many ran); "
                             "SIGTERM or Ctrl-C stop it the same way")
    options = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise SystemExit("no DISPLAY and no xvfb-run: install xvfb (see README)")
        return subprocess.run([*XVFB, sys.executable, *sys.argv], cwd=ROOT).returncode

    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    kivy_home = None
    if "KIVY_HOME" not in os.environ:  # Kivy writes its config and logs there: not in ~/.kivy
        kivy_home = os.environ["KIVY_HOME"] = tempfile.mkdtemp(prefix="kivy-home-")
    import dataclasses

    from support.window import UI_WINDOW
    from kiosk.launch import prepare_kivy

    width, height = (int(part) for part in options.window.lower().split("x"))
    prepare_kivy(dataclasses.replace(UI_WINDOW, width=width, height=height))
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(run(options))
    finally:
        if kivy_home:
            shutil.rmtree(kivy_home, ignore_errors=True)


async def run(options) -> int:
    from central_process import restock, start_central, stop_central
    from kiosk.hardware import open_terminal
    from support import memory
    from support.soak import SOAK_SESSION, soak
    from support.ui import kiosk_settings, running_app

    warm_up = min(options.warm_up, options.sessions)
    measure_at = {0, warm_up, options.sessions, *range(options.every, options.sessions + 1, options.every)}
    with tempfile.TemporaryDirectory(prefix="kiosk-soak-") as tmp:
        data = Path(tmp)
        print(f"soak: {options.sessions} sessions, reference server with {options.seed_articles} articles", flush=True)
        # In its own process: the orders of 1,000 sessions grow the server's memory, not the kiosk's.
        server, base_url = start_central(data / "central.sqlite", options.seed_articles, data / "central.log")
        try:
            settings = kiosk_settings(base_url, data / "kiosk", terminal="simulated", simulated_delay_s=0.2)
            # Finished orders leave the journal at once (`between` compacts after every session): a
            # pillar keeps 30 days of them, a steady number; 1,000 orders in an hour would otherwise
            # read as growth. The journal's own compaction is tested in tests/test_journal*.
            journal = settings.journal.model_copy(update={"retention_days": 0})
            settings = settings.model_copy(update={"session": SOAK_SESSION, "journal": journal})
            terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                                     simulated_delay_s=0.2)

            def report(progress) -> None:
                rate = progress.sessions / progress.elapsed_s if progress.elapsed_s else 0
                print(f"[{progress.sessions:5d} sessions, {progress.elapsed_s:7.0f} s, {rate:.2f}/s] "
                      f"{progress.snapshot.line()}; failed sessions {len(progress.failures)}", flush=True)

            # SIGTERM or Ctrl-C: stop after the session under way, with the full report (a long soak
            # on a shared machine is ended when its time is up, and its figures are not lost).
            stopping = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stopping.set)
            started = time.monotonic()
            async with running_app(settings, terminal, freeze_heap=True) as app:

                async def between() -> None:
                    # Restocked shelves (1,000 orders empty a 300-article seed) and the journal as after
                    # its retention: what a pillar sees in its weeks, not the bench's compression of them.
                    await asyncio.to_thread(restock, data / "central.sqlite")
                    await app.services.compact_journal()
                    # The next shopper comes once the pillar's upkeep after the last is done (kiosk/heap.py:
                    # a collection 3 s after the reset, on the attract screen), as in the UI bench: shoppers
                    # a fraction of a second apart left it to Python's rarer automatic full collections.
                    deadline = time.monotonic() + 30
                    while not app.heap_settled and time.monotonic() < deadline:
                        await asyncio.sleep(0.1)

                taken = await soak(app, options.sessions, measure_at=measure_at, on_measure=report,
                                   budget_s=options.minutes * 60 if options.minutes else None,
                                   stop=stopping.is_set, between=between)
        finally:
            stop_central(server)
    wall = time.monotonic() - started
    done = max(taken)
    if warm_up not in taken:  # the time budget ran out before the warm-up: judge from the start
        warm_up = 0
    start, warm, end = taken[0], taken[warm_up], taken[done]
    print()
    print(f"soak: {done} of {options.sessions} sessions in {wall:.0f} s ({wall / done:.2f} s per session)")
    for title, before in ((f"from the warm-up (session {warm_up})", warm), ("from the start", start)):
        print(f"\ntop 20 object types by growth {title} to the end:")
        for name, was, now, delta in memory.growth(before.snapshot, end.snapshot, 20):
            print(f"  {delta:+8d}  {was:8d} -> {now:8d}  {name}")
    failures = end.failures
    print(f"\nfailed sessions: {len(failures)}")
    for failure in failures[:20]:
        print(f"  {failure}")

    missed = []
    s0, sw, se = start.snapshot, warm.snapshot, end.snapshot
    # The trend over every count from the warm-up on (least squares, per 1,000 sessions): what a
    # figure does over weeks, where end minus warm-up can be one session's state against another's.
    series = [taken[n] for n in sorted(taken) if n >= warm_up]
    rss_growth = (se.rss_kib - sw.rss_kib) / sw.rss_kib
    print(f"\nRSS: start {s0.rss_kib / 1024:.1f} MiB, after warm-up {sw.rss_kib / 1024:.1f} MiB, "
          f"end {se.rss_kib / 1024:.1f} MiB: {rss_growth:+.1%} from the warm-up "
          f"({(se.rss_kib - s0.rss_kib) / s0.rss_kib:+.1%} from the start); target < {RSS_TARGET:.0%}")
    rss_trend = per_thousand([(p.sessions, p.snapshot.rss_kib / 1024) for p in series])
    print(f"RSS trend from the warm-up on: {rss_trend:+.1f} MiB per 1,000 sessions")
    if rss_growth >= RSS_TARGET:
        missed.append(f"RSS grew {rss_growth:.1%} after the warm-up")
    for name, slack in COUNT_SLACK.items():
        a, b, c = getattr(s0, name), getattr(sw, name), getattr(se, name)
        verdict = "OK" if c - b <= slack else "GROWING"
        trend = per_thousand([(p.sessions, getattr(p.snapshot, name)) for p in series])
        print(f"{name:13s} start {a:6d}  warm-up {b:6d}  end {c:6d}  ({c - b:+d}, slack {slack}; trend "
              f"{trend:+.0f} per 1,000 sessions): {verdict}")
        if c - b > slack:
            missed.append(f"{name} grew {b} -> {c}")
    if missed:
        print("targets missed: " + "; ".join(missed))
        return 1
    print("targets met")
    return 0


def per_thousand(points: list[tuple[int, float]]) -> float:
    """The least-squares slope of (session, value) points, per 1,000 sessions (0 for fewer than 3)."""
    if len(points) < 3:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    return 1000 * sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0


if __name__ == "__main__":
    raise SystemExit(main())
