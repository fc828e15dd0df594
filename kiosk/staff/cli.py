"""`kiosk staff hash-pin`: the line to put in `[[staff.members]] pin_hash`, never the PIN itself.

At a terminal it asks for the PIN twice without echo; with stdin from a pipe or file it reads one
line (`printf '1234\\n' | kiosk staff hash-pin`), so a provisioning script can use it. It prints
only the hash, on stdout. Exit 0, or 1 with a one-line reason (not 4-8 digits, the two differ,
no input); the PIN is never printed, not even in an error.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from kiosk.staff.pins import hash_pin, is_pin

EXIT_REFUSED = 1


def add_arguments(staff_commands) -> None:
    """The `kiosk staff ...` subcommands (for kiosk/__main__.py)."""
    staff_commands.add_parser("hash-pin", help="make the pin_hash of a staff PIN (asks twice, no echo)")


def _read_pin(stdin: TextIO) -> str:
    if stdin.isatty():
        first = getpass.getpass("Staff PIN (4-8 digits): ")
        if not is_pin(first):
            raise ValueError("a PIN is 4 to 8 digits")
        if getpass.getpass("Once more: ") != first:
            raise ValueError("the two PINs differ")
        return first
    line = stdin.readline()
    if not line:
        raise ValueError("no PIN on stdin")
    pin = line.rstrip("\r\n")
    if not is_pin(pin):
        raise ValueError("a PIN is 4 to 8 digits")
    return pin


def main(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    if args.staff_command == "hash-pin":
        try:
            pin = _read_pin(stdin)
        except (ValueError, EOFError) as exc:
            print(f"kiosk staff hash-pin: {exc or 'no PIN given'}", file=sys.stderr)
            return EXIT_REFUSED
        print(hash_pin(pin), file=stdout)
        return 0
    raise AssertionError(f"unknown staff command {args.staff_command!r}")
