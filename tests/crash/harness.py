"""Kill the kiosk with SIGKILL at random points, again and again, then audit the central database.

    .venv/bin/python -m tests.crash.harness --kills 200 [--seed N] [--workdir DIR]   (from the repo root)

The reference server runs in its own process (`python -m kiosk central`), so only the kiosk dies.
The kiosk is `tests/crash/worker.py`: it recovers what the last run left, then pays and orders in a
loop through a fault injector, printing one line per event. The harness starts it, lets it run for
a random number of event lines plus a random few milliseconds, and SIGKILLs it, `kills` times over
the same journal. Then it starts it once more with `--recover-only` (drain everything, no new
checkouts; exit 0 when nothing is unfinished) and checks the central database as an auditor would:
every approved payment has exactly one order, every order exactly one approved payment, and no
approved payment is left without an order or a void. It prints the counts, and where the kills
landed (the last event line the killed process printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "tests"):  # run as `python -m tests.crash.harness` too, not only under pytest
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from kiosk.journal.journal import Journal  # noqa: E402
from tests.support.orders import Audit, audit, stock_up  # noqa: E402

LINE_TIMEOUT_S = 30.0  # a worker silent this long is stuck: that is a failure, not a kill
MAX_LINES_BEFORE_KILL = 45  # about three checkouts' worth of events
MAX_EXTRA_DELAY_S = 0.015  # after the chosen line, so kills also land inside a step


@dataclass(frozen=True)
class CrashAudit(Audit):
    """The central database's audit, plus what the crash run did."""

    kills: int = 0  # SIGKILLs that hit a running worker
    checkouts: int = 0  # checkouts started (over every run of the worker)
    acknowledged: int = 0  # orders the journal holds as acknowledged at the end
    unfinished: int = 0  # journal entries not in a final state at the end (must be 0)
    unpaid_orders: int = 0  # orders whose payment is not approved (must be 0)
    errors: int = 0  # checkouts that ended with an exception in the worker
    unrecorded: int = 0  # payment attempts that failed because the journal refused the `authorising` write
    journal_states: dict[str, int] = field(default_factory=dict)
    landed: dict[str, int] = field(default_factory=dict)  # last event seen before a kill -> count

    def report(self) -> str:
        out = [
            f"kills {self.kills}, checkouts started {self.checkouts}, orders {self.orders}, approved "
            f"{self.payments_approved}, voided {self.payments_voided}, declined {self.payments_declined}, "
            f"lost {self.lost}, doubled {self.doubled}, unpaid orders {self.unpaid_orders}",
            f"journal at the end: {', '.join(f'{k} {v}' for k, v in sorted(self.journal_states.items()))}; "
            f"unfinished {self.unfinished}; checkout errors {self.errors}, attempts the journal refused "
            f"{self.unrecorded}",
            "kills landed after (last event the killed kiosk printed):",
        ]
        width = max((len(k) for k in self.landed), default=0)
        ranked = sorted(self.landed.items(), key=lambda kv: (-kv[1], kv[0]))
        out += [f"  {where:<{width}}  {n:4d}" for where, n in ranked]
        return "\n".join(out)


def _where(line: str | None) -> str:
    """`checkout recv authorise REF approved` -> `checkout: recv authorise approved` (no references)."""
    if line is None:
        return "(nothing printed yet)"
    words = line.split()
    who, rest = words[0], words[1:]
    if rest[:1] in (["journal"], ["send"], ["recv"]):
        event, detail = rest[:2], rest[3:]
        if rest[0] == "recv" and detail:  # the outcome; order numbers are all alike
            detail = ["ok"] if detail[0].startswith("K-") else detail[:1]
        elif rest[0] == "journal":
            detail = detail[:1]
        else:
            detail = []
        return f"{who}: {' '.join(event + detail)}"
    return f"{who}: {rest[0] if rest else ''}"


class _Worker:
    def __init__(self, args: list[str], stderr_log: Path) -> None:
        self._stderr = open(stderr_log, "ab")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.crash.worker", *args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout: float = LINE_TIMEOUT_S) -> str | None:
        line = self.lines.get(timeout=timeout)
        if line is not None:
            self.seen.append(line)
        return line

    def finish(self, timeout: float) -> int:
        rc = self.proc.wait(timeout)
        self._reader.join(5)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(line)
        self._stderr.close()
        return rc

    def kill(self) -> None:
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_central(workdir: Path) -> tuple[subprocess.Popen, str]:
    log = workdir / "central.log"
    with open(log, "wb") as out:  # uvicorn's access log goes to stdout: a file, never an unread pipe
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "central", "--port", "0", "--db",
                                 str(workdir / "central.sqlite"), "--seed-articles", "60"],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"central order API on (http://\S+)", log.read_text(errors="replace"))
        if match:
            # The workers buy random articles to take home now, more than the demo shop holds.
            stock_up(workdir / "central.sqlite")
            return proc, match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"the central server did not start:\n{_tail(log)}")


def _unpaid_orders(db_path: Path) -> int:
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT COUNT(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM payments p "
                          "WHERE p.payment_id = o.payment_id AND p.status = 'approved')").fetchone()[0]


async def _journal_states(path: Path) -> Counter[str]:
    journal = Journal(path)  # also proves the last worker's lock is gone
    await journal.open()
    try:
        return Counter(e.state.value for e in journal.entries())
    finally:
        journal.close()


def run(kills: int, seed: int, workdir: Path, *, fault_rate: float = 0.15, pause_ms: float = 8.0,
        verbose: bool = False) -> CrashAudit:
    import random

    rng = random.Random(seed)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    journal = workdir / "journal.json"
    stderr_log = workdir / "worker.stderr.log"
    server, url = start_central(workdir)
    common = ["--url", url, "--journal", str(journal), "--fault-rate", str(fault_rate), "--pause-ms", str(pause_ms)]
    landed: Counter[str] = Counter()
    checkouts = errors = unrecorded = done = starts = 0
    try:
        while done < kills:
            starts += 1
            worker = _Worker([*common, "--seed", str(seed * 100_000 + starts)], stderr_log)
            target = rng.randint(1, MAX_LINES_BEFORE_KILL)
            try:
                for _ in range(target):
                    if worker.next_line() is None:
                        break
                time.sleep(rng.uniform(0, MAX_EXTRA_DELAY_S))
            except queue.Empty:
                worker.kill()
                worker.finish(10)
                raise RuntimeError(f"worker silent for {LINE_TIMEOUT_S:.0f} s after {worker.seen[-1:]}; "
                                   f"stderr:\n{_tail(stderr_log)}") from None
            worker.kill()
            rc = worker.finish(10)
            checkouts += sum(1 for line in worker.seen if line.startswith("checkout checkout "))
            errors += sum(1 for line in worker.seen if line.startswith("checkout error "))
            unrecorded += sum(1 for line in worker.seen
                              if line.startswith("checkout result ") and line.endswith(" unknown"))
            if rc != -signal.SIGKILL:
                raise RuntimeError(f"worker ended by itself (exit {rc}) after {worker.seen[-3:]}; "
                                   f"stderr:\n{_tail(stderr_log)}")
            done += 1
            where = _where(worker.seen[-1] if worker.seen else None)
            landed[where] += 1
            if verbose:
                print(f"kill {done:4d}/{kills} after {len(worker.seen):3d} lines: {where}", flush=True)

        worker = _Worker([*common, "--seed", str(seed * 100_000), "--recover-only"], stderr_log)
        rc = worker.finish(300)
        if rc != 0:
            raise RuntimeError(f"recovery did not settle the journal (exit {rc}); stderr:\n{_tail(stderr_log)}")
        states = asyncio.run(_journal_states(journal))
        base = audit(workdir / "central.sqlite")
        result = CrashAudit(
            **vars(base), kills=done, checkouts=checkouts, acknowledged=states["acknowledged"],
            unfinished=sum(n for s, n in states.items() if s not in ("acknowledged", "voided", "refunded", "failed")),
            unpaid_orders=_unpaid_orders(workdir / "central.sqlite"), errors=errors, unrecorded=unrecorded,
            journal_states=dict(states), landed=dict(landed))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print(result.report(), flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock (printed)")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a fresh folder under var/")
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--verbose", action="store_true", help="one line per kill")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
    if args.workdir is None:
        (ROOT / "var").mkdir(exist_ok=True)
        args.workdir = Path(tempfile.mkdtemp(prefix="crash-", dir=ROOT / "var"))
    print(f"crash run: {args.kills} kills, seed {seed}, in {args.workdir}", flush=True)
    started = time.monotonic()
    result = run(args.kills, seed, args.workdir, fault_rate=args.fault_rate, verbose=args.verbose)
    ok = (result.lost == 0 and result.doubled == 0 and result.unpaid_orders == 0 and result.unfinished == 0
          and result.kills >= args.kills)
    print(f"{'OK' if ok else 'FAILED'}: {result.kills} kills in {time.monotonic() - started:.0f} s; "
          f"lost {result.lost}, doubled {result.doubled}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
