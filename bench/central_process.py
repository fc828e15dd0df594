"""The reference server in its own process, for the benches (bench/ui.py, bench/soak.py): its CPU
work does not share the kiosk's GIL, and its memory (the orders a soak places, SQLite's caches) is not
counted in the kiosk's RSS: as on a pillar, where the central API is far away."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_central(db: Path, articles: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    """`kiosk central` in its own process: its CPU work does not share the kiosk's GIL, as on a pillar."""
    log = log_path.open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "central", "--host", "127.0.0.1", "--port", "0",
                             "--db", str(db), "--seed-articles", str(articles)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    line = proc.stdout.readline()  # "central order API on http://127.0.0.1:PORT  (...)", after seeding
    if "central order API on" not in line:
        proc.kill()
        raise SystemExit(f"the reference server did not start (see {log_path}): {line!r}")
    base_url = line.split(" on ", 1)[1].split()[0]
    # Keep reading what it prints, into its log: an undrained pipe fills (64 KiB) and then the server
    # blocks on its next print, every request hanging (a soak's 150th session found that).
    threading.Thread(target=_copy_lines, args=(proc.stdout, log), name="central-stdout", daemon=True).start()
    return proc, base_url


def _copy_lines(source, log) -> None:
    for text in source:
        log.write(text.encode())
        log.flush()


def stop_central(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def restock(db: Path) -> None:
    """Undo the stock moves the orders made (on hand = seeded figure + moves: central/stock.py), so
    every journey finds its article as the first did: without it a shop runs out after some dozens of
    take-it-here orders (a soak's 430 orders emptied a 300-article seed). Only a bench's working copy
    of the server's database, between journeys."""
    import sqlite3

    conn = sqlite3.connect(db, timeout=30)
    try:
        with conn:
            conn.execute("DELETE FROM stock_moves")
    finally:
        conn.close()
