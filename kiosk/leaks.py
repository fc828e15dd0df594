"""Looking for what must never stay on a pillar: full card numbers, PINs, a shopper's personal data.

    leaks = scan([data_dir, log_file], pans=TEST_PANS, secrets={"pin": ["918273"], "email": ["zoe@x.nl"]})

Every regular file under the given paths is read whole, as bytes: logs, the journal and its previous
generation, files set aside, the staff and fleet stores, SQLite files with their WAL, pictures. A
value counts as found in any of the forms software writes text in: UTF-8, UTF-16 (either byte order,
as some loggers and Windows tools write), JSON-escaped (`"Zo\\u00eb"`); a card number also with
spaces or dashes between its digits ("4111 1111 ..."). Findings are shown masked, so the report of a
leak is not a leak itself.

Used after the soak and the payment tests (issue 10, point 4), and usable by an auditor on a real
pillar's data folder (`python -m kiosk.leaks --pan ... PATH...`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from kiosk.contract.sealing import luhn_valid

# 13 to 19 digits, single spaces or dashes allowed between them (as card numbers are printed).
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


@dataclass(frozen=True)
class Leak:
    path: Path
    kind: str     # "card_number", or the kind of secret given ("pin", "name", "email", "address")
    offset: int   # in the file's bytes (of the decoded text for UTF-16 finds)
    shown: str    # masked

    def __str__(self) -> str:
        return f"{self.path}: {self.kind} {self.shown} at {self.offset}"


def mask(value: str, kind: str) -> str:
    if kind == "card_number":
        return f"{value[:6]}…{value[-4:]}"
    return f"{value[:2]}…({len(value)} characters)"


def _texts(data: bytes) -> Iterator[tuple[str, str]]:
    """The file as text in each encoding it may hold text in: (label, text)."""
    yield "utf-8", data.decode("utf-8", errors="replace")
    for label in ("utf-16-le", "utf-16-be"):
        for start in (0, 1):  # a UTF-16 string may start at an odd offset inside a binary file
            yield label, data[start:].decode(label, errors="replace")


def _forms(value: str) -> set[str]:
    """The ways `value` shows up in text: as is, JSON-escaped (ASCII), and JSON with escaped slashes."""
    escaped = json.dumps(value)[1:-1]
    return {value, escaped, escaped.replace("/", "\\/")}


def card_numbers(text: str, pans: frozenset[str]) -> Iterator[tuple[int, str]]:
    """(offset, digits) of every Luhn-valid 13-19 digit run in `text` that is one of `pans`."""
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if digits in pans and luhn_valid(digits):
            yield match.start(), digits


def files_under(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        path = Path(path)
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())


def scan_bytes(data: bytes, path: Path, *, pans: frozenset[str],
               secrets: Mapping[str, Iterable[str]]) -> list[Leak]:
    found: dict[tuple[str, str], Leak] = {}  # one finding per value and file is enough to act on
    wanted = {(kind, value): _forms(value) for kind, values in secrets.items() for value in values if value}
    for _label, text in _texts(data):
        for offset, digits in card_numbers(text, pans):
            found.setdefault(("card_number", digits), Leak(path, "card_number", offset, mask(digits, "card_number")))
        for (kind, value), forms in wanted.items():
            if (kind, value) in found:
                continue
            for form in forms:
                offset = text.find(form)
                if offset >= 0:
                    found[(kind, value)] = Leak(path, kind, offset, mask(value, kind))
                    break
    return list(found.values())


def scan(paths: Iterable[Path], *, pans: Iterable[str] = (),
         secrets: Mapping[str, Iterable[str]] | None = None) -> list[Leak]:
    """Every leak in every file under `paths`."""
    pan_set = frozenset(pans)
    leaks: list[Leak] = []
    for path in files_under(paths):
        try:
            data = path.read_bytes()
        except OSError:  # gone meanwhile (a temporary file), or unreadable: nothing it says can leak here
            continue
        leaks.extend(scan_bytes(data, path, pans=pan_set, secrets=secrets or {}))
    return leaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.leaks",
                                     description="Find full card numbers and given secrets in files.")
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders (searched recursively)")
    parser.add_argument("--pan", action="append", default=[], help="a card number to look for (repeatable)")
    parser.add_argument("--secret", action="append", default=[], metavar="KIND=VALUE",
                        help="e.g. pin=1234, email=jan@example.nl (repeatable)")
    args = parser.parse_args(argv)
    secrets: dict[str, list[str]] = {}
    for item in args.secret:
        kind, _, value = item.partition("=")
        secrets.setdefault(kind or "secret", []).append(value)
    leaks = scan(args.paths, pans=args.pan, secrets=secrets)
    for leak in leaks:
        print(leak)
    print(f"{len(leaks)} leak(s) in {sum(1 for _ in files_under(args.paths))} file(s)", file=sys.stderr)
    return 1 if leaks else 0


if __name__ == "__main__":
    sys.exit(main())
