"""kill -9 at random moments: the journal always opens cleanly with every write that had returned.

A child process drives orders through their life cycle in a loop and prints a line after each write
returns (so the line proves the write was acknowledged). The test SIGKILLs it at a random moment,
20 times over the same journal, and after each kill opens the journal and checks it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.journal import Journal, OrderState

ROOT = Path(__file__).resolve().parent.parent
KILLS = 20
SEQUENCE = ["created", "awaiting_payment", "authorising", "paid", "submitting", "acknowledged"]

CHILD = r'''
import asyncio, sys
from pathlib import Path
from kiosk.contract import CardSummary, Fulfilment
from kiosk.journal import Customer, Journal, JournalEntry, JournalLine, OrderState as S

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

async def main(path, start):
    journal = Journal(Path(path))
    alerts = await journal.open()
    print("open", len(alerts), flush=True)
    card = CardSummary(scheme="Visa", masked_pan="476173******0010")

    async def finish(entry, i):
        for state, changes in [
            (S.awaiting_payment, {}), (S.authorising, {"payment_id": f"pay-{i}", "card_summary": card}),
            (S.paid, {}), (S.submitting, {}), (S.acknowledged, {"order_number": f"A{i}"}),
        ]:
            if list(S).index(state) <= list(S).index(journal.get(entry.order_id).state):
                continue
            await journal.advance(entry.order_id, state, **changes)
            print("w", entry.order_id, state.value, flush=True)

    for entry in journal.unfinished():  # what the killed child left: drive it on, like recovery does
        await finish(entry, 0)
    i = start
    while True:
        ref = "".join(ALPHABET[(i >> (5 * n)) % 32] for n in reversed(range(8)))
        entry = JournalEntry(
            order_id=f"kiosk-01.{ref}", reference=ref, kiosk_id="kiosk-01", store_id="s1",
            lines=[JournalLine(sku="SKU-1", name="Fietsbel", quantity=1, unit_price_cents=499)],
            total_cents=499, fulfilment=Fulfilment(type="pickup", store_id="s1"),
            customer=Customer(email=f"shopper{i}@example.nl"))
        await journal.create(entry)
        print("w", entry.order_id, "created", flush=True)
        await finish(entry, i)
        i += 1

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
'''


def _next(state: str) -> str | None:
    i = SEQUENCE.index(state)
    return SEQUENCE[i + 1] if i + 1 < len(SEQUENCE) else None


async def test_journal_survives_kill_9_at_random_moments(tmp_path):
    seed = int(os.environ.get("JOURNAL_KILL_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    path = tmp_path / "journal.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    confirmed: dict[str, str] = {}  # order id -> last state the child saw written
    total_writes = 0
    torn = {"temp file left": 0, "between the renames": 0}
    for run in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(run * 100_000)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        first = child.stdout.readline()
        assert first.startswith("open "), f"seed {seed} run {run}: child did not start: {first!r} {child.stderr.read()}"
        assert first.split()[1] == "0", f"seed {seed} run {run}: alerts after the previous kill"
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        child.wait()
        rest = child.stdout.read()
        child.stdout.close()
        child.stderr.close()
        this_run: dict[str, str] = {}
        # The kill can cut the child's last confirmation mid-line: only whole lines count (a write
        # confirmed in half is simply not counted as confirmed, which only makes the check stricter).
        for line in rest.split("\n")[:-1]:
            tag, order_id, state = line.split()
            assert tag == "w"
            this_run[order_id] = state
            total_writes += 1
        confirmed.update(this_run)
        if path.with_name("journal.json.tmp").exists():
            torn["temp file left" if path.exists() else "between the renames"] += 1

        journal = Journal(path)
        alerts = await journal.open()
        try:
            assert alerts == [], f"seed {seed} run {run}: {alerts}"
            entries = {e.order_id: e for e in journal.entries()}
            for order_id, state in confirmed.items():
                found = entries.get(order_id)
                assert found is not None, f"seed {seed} run {run}: acknowledged write of {order_id} lost"
                # What was confirmed, or one step further (written, killed before the print), never
                # behind and never two steps ahead (the child prints after every write).
                allowed = {state, _next(state)} - {None}
                assert found.state.value in allowed, (
                    f"seed {seed} run {run}: {order_id} is {found.state.value}, confirmed {state}")
            unconfirmed = set(entries) - set(confirmed)
            assert len(unconfirmed) <= 1  # at most the create that was cut short before its print
            assert all(entries[o].state is OrderState.created for o in unconfirmed)
            assert journal.depth() <= 1  # the child works on one order at a time
            confirmed.update({o: e.state.value for o, e in entries.items()})  # the next child goes on from here
        finally:
            journal.close()
        leftovers = sorted(p.name for p in tmp_path.iterdir() if "corrupt" in p.name or p.name.endswith(".tmp"))
        assert leftovers == [], f"seed {seed} run {run}: {leftovers}"
    assert total_writes > KILLS * 5, f"seed {seed}: too few writes ({total_writes}) to prove anything"
    print(f"kill -9 test: seed {seed}, {KILLS} kills, {total_writes} confirmed writes, {len(confirmed)} orders; "
          f"kills mid-write: {torn}")
