"""The long fuzzing run (issue 10): at least 100,000 inputs per target, through the same properties as
the short runs in tests/test_fuzz_*.py, with figures.

    .venv/bin/python bench/fuzz.py                         # every target, 100,000 inputs each
    .venv/bin/python bench/fuzz.py --target tlv --count 20000
    .venv/bin/python bench/fuzz.py --target tlv --engine atheris   # coverage-guided (tlv, config)

Targets:
- tlv     BER-TLV and DOL parsing, the APDU transport (61xx/6Cxx) and the EMV read flow to the sealed
          payload, against mutated card answers (tests/test_fuzz_tlv_apdu.py)
- config  parse_settings on mutated and arbitrary data, load_settings on mutated kiosk.toml files and
          arbitrary bytes (tests/test_fuzz_config.py)
- api     every CentralApi method against mutated answers through httpx.MockTransport, raw HTTP/1.1
          answers over a real loopback socket, and slow drips against the whole-answer deadline
          (tests/test_fuzz_api_answers.py; drips take about half a second each, so they are a
          fixed --drips share of the count)

Per target it prints the inputs run, the distinct outcomes (results and rejections by type and
reason) with their counts, the elapsed time, and every crash — an exception other than the documented
typed error, or a broken round trip — with its input. Exit status 1 when there was a crash.

Engines: hypothesis (default; structure-aware strategies, run in a loop of large `max_examples`) or
atheris (libFuzzer, coverage-guided over raw bytes; `pip install atheris`, a manylinux wheel exists
for CPython 3.11 on x86_64): it drives the byte-level properties only (TLV and DOL parsing, the
transport with a scripted card, config files), since the structured ones need hypothesis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ.setdefault("KIVY_NO_ARGS", "1")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

CHUNK = 5000  # max_examples per hypothesis run; runs repeat (new seeds) until the count is reached


class Tally:
    def __init__(self, target: str) -> None:
        self.target = target
        self.outcomes: Counter[str] = Counter()
        self.crashes: list[tuple[str, str, str]] = []
        self.runs = 0
        self.started = time.monotonic()

    def record(self, prop: str, describe: Callable[[], str], check: Callable[[], str]) -> None:
        self.runs += 1
        try:
            self.outcomes[f"{prop}: {check()}"] += 1
        except Exception as exc:  # noqa: BLE001 - the point: anything escaping is a finding
            self.outcomes[f"{prop}: CRASH {type(exc).__name__}"] += 1
            if len(self.crashes) < 50:
                self.crashes.append((prop, describe()[:600], "".join(traceback.format_exception(exc))[-1500:]))

    def report(self) -> None:
        elapsed = time.monotonic() - self.started
        print(f"\n== {self.target}: {self.runs:,} inputs in {elapsed:.1f} s ({self.runs / elapsed:,.0f}/s)")
        print(f"   distinct outcomes: {len(self.outcomes)}")
        for outcome, count in sorted(self.outcomes.items()):
            print(f"   {count:>8,}  {outcome}")
        print(f"   crashes: {len(self.crashes)}")
        for prop, described, trace in self.crashes:
            print(f"   --- {prop}: input {described}\n{trace}")
        sys.stdout.flush()


def hypothesis_loop(tally: Tally, prop: str, strategy: st.SearchStrategy, check: Callable[[Any], str],
                    describe: Callable[[Any], str], count: int) -> None:
    """Run `check` on `count` inputs drawn from `strategy`, recording outcomes instead of failing."""
    done = 0
    while done < count:
        batch = min(CHUNK, count - done)
        seen = [0]

        @settings(max_examples=batch, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=["generate"])
        @given(strategy)
        def one(value):
            seen[0] += 1
            tally.record(prop, lambda: describe(value), lambda: check(value))

        one()
        done += max(seen[0], 1)  # hypothesis may stop a run early when it has seen the whole space


def tlv_target(tally: Tally, count: int) -> None:
    import test_fuzz_tlv_apdu as t

    share = count // 4
    hypothesis_loop(tally, "tlv.parse(bytes)", st.binary(max_size=400), t.tlv_outcome, lambda v: v.hex(), share)
    hypothesis_loop(tally, "tlv.parse(mutated)", t.mutated_encodings(), t.tlv_outcome, lambda v: v.hex(), share)
    commands = st.sampled_from([t.apdu.select_by_name(t.emv.PPSE), t.apdu.read_record(1, 1)])
    hypothesis_loop(tally, "apdu.exchange", st.tuples(st.lists(t.card_answers, min_size=1, max_size=40), commands),
                    lambda v: t.exchange_outcome(*v), lambda v: repr([a.hex() for a in v[0]]), share)
    hypothesis_loop(tally, "emv.read_emv", t.card_reads(), lambda v: t.read_outcome(*v),
                    lambda v: f"{v[0].name} {v[1]} amount={v[2]} {v[3]} chooser={v[4]}", count - 3 * share)


def config_target(tally: Tally, count: int) -> None:
    import test_fuzz_config as t

    share = count // 4
    hypothesis_loop(tally, "parse_settings(mutated)", t.mutated_dicts(), t.config_outcome, repr, share)
    anything = st.dictionaries(st.sampled_from(t.SECTIONS) | st.text(max_size=6),
                               st.dictionaries(st.sampled_from(t.KEYS) | st.text(max_size=6), t.toml_values,
                                               max_size=5) | t.toml_values, max_size=5) | t.toml_values
    hypothesis_loop(tally, "parse_settings(any)", anything, t.config_outcome, repr, share)
    hypothesis_loop(tally, "load_settings(mutated file)", t.mutated_texts(), t.load_outcome, repr, share)
    hypothesis_loop(tally, "load_settings(bytes)", st.binary(max_size=300), t.load_outcome, repr, count - 3 * share)


def api_target(tally: Tally, count: int, drips: int) -> None:
    import test_fuzz_api_answers as t

    raw_share = count // 10
    hypothesis_loop(tally, "answer via MockTransport", t.answer_cases, lambda v: t.check(v[0], v[1], t.run(*v)),
                    lambda v: t.api_input(*v), count - raw_share - drips)

    def raw_check(case) -> str:
        kind, value = asyncio.run(t.raw_call(*case))
        assert kind == "ok" or isinstance(value, t.ApiError)
        return "ok" if kind == "ok" else type(value).__name__

    hypothesis_loop(tally, "raw HTTP over loopback", t.raw_cases, raw_check, lambda v: f"{v[0]} <- {v[1][:300]!r}",
                    raw_share)

    def drip_check(case) -> str:
        name, where, interval, retries = case
        error, elapsed = asyncio.run(t.drip_call(name, where, interval, retries))
        assert isinstance(error, t.ApiTimeoutError), error
        assert elapsed < (retries + 1) * (t.DEADLINE + 0.02) + 1.5, f"{elapsed:.2f} s"
        return f"ApiTimeoutError ({where})"

    drip_cases = st.tuples(st.sampled_from(t.ALL_METHODS), st.sampled_from(["head", "body", "chunks"]),
                           st.floats(min_value=0.005, max_value=t.READ * 0.5), st.integers(0, 1))
    hypothesis_loop(tally, "slow drip over loopback", drip_cases, drip_check, repr, drips)


def atheris_run(target: str, count: int) -> None:
    """libFuzzer over raw bytes; the summary prints at exit (atheris.Fuzz() does not return)."""
    import atheris

    if target == "tlv":
        import test_fuzz_tlv_apdu as t

        def check(data: bytes) -> str:
            if data[:1] == b"\x01":  # the rest is a card's answers, split on a marker byte
                answers = [a for a in data[1:].split(b"\xfe")] or [b""]
                return "apdu " + t.exchange_outcome(answers, t.apdu.read_record(1, 1))
            return t.tlv_outcome(data)
    elif target == "config":
        import test_fuzz_config as t

        check = t.load_outcome
    else:
        raise SystemExit("atheris drives the byte-level targets only: tlv, config")
    atheris.instrument_all()  # coverage of everything imported (kiosk.*), after the imports above
    tally = Tally(f"{target} (atheris)")

    def one(data: bytes) -> None:
        tally.record(target, lambda: data[:300].hex(), lambda: check(data))
        if tally.runs == count:  # libFuzzer leaves with _exit after its last run: no atexit, report now
            tally.report()

    # A seed corpus, so mutations start from real inputs: the shipped config, or real card answers.
    import tempfile

    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-corpus-"))
    if target == "config":
        (corpus / "kiosk.toml").write_bytes(t.SHIPPED_TEXT.encode())
    else:
        card = t.VirtualCard(t.PROFILES["visa"])
        for i, command in enumerate([t.apdu.select_by_name(t.emv.PPSE), t.apdu.select_by_name(t.emv.VISA)]):
            (corpus / f"answer{i}").write_bytes(card.respond(command.to_bytes())[:-2])
    atheris.Setup([sys.argv[0], str(corpus), f"-runs={count}", "-max_len=4096", "-print_final_stats=1"], one)
    atheris.Fuzz()


def main() -> int:
    # The client logs every refused answer (warnings for oversized bundles): noise at 100,000 inputs.
    import logging

    logging.disable(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["tlv", "config", "api", "all"], default="all")
    parser.add_argument("--count", type=int, default=100_000, help="inputs per target (default 100,000)")
    parser.add_argument("--drips", type=int, default=200, help="of the api count, slow drips (about 0.5 s each)")
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis")
    args = parser.parse_args()
    if args.engine == "atheris":
        atheris_run(args.target, args.count)
        return 0
    crashed = False
    for target in ["tlv", "config", "api"] if args.target == "all" else [args.target]:
        tally = Tally(target)
        if target == "tlv":
            tlv_target(tally, args.count)
        elif target == "config":
            config_target(tally, args.count)
        else:
            api_target(tally, args.count, min(args.drips, args.count))
        tally.report()
        crashed = crashed or bool(tally.crashes)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
