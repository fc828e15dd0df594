"""The kiosk killed with SIGKILL at random points while it pays and orders: nothing lost, nothing doubled.

The short run of `tests/crash/harness.py` (the long run is
`.venv/bin/python -m tests.crash.harness --kills 200`): the reference server in its own process, the
kiosk (`tests/crash/worker.py`) started and SIGKILLed 25 times over one journal, through a fault
injector, then recovered once more and the central database audited. `CRASH_SEED=n` replays the
kill plan of a run (timing still varies).
"""

from __future__ import annotations

import os
import time

from crash.harness import run

KILLS = 25


def test_kill_9_at_random_points_never_loses_or_doubles_an_order(tmp_path):
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 1_000_000))
    print(f"\ncrash run: {KILLS} kills, seed {seed} (CRASH_SEED={seed} replays the plan)")
    result = run(KILLS, seed, tmp_path)
    assert result.kills >= KILLS, "every kill hit a running kiosk"
    assert result.lost == 0, f"approved payments without an order or a void: {result}"
    assert result.doubled == 0, f"payments or orders placed twice: {result}"
    assert result.unpaid_orders == 0, "every order has exactly one approved payment"
    assert result.unfinished == 0, f"recovery left unfinished entries: {result.journal_states}"
    assert result.orders > 0 and result.acknowledged > 0, "orders went through between the kills"
    assert result.orders == result.acknowledged, "the journal and the central API agree on what was ordered"
    assert result.errors == 0 and result.unrecorded == 0, "no shopper's checkout was spoilt by the background"
