"""Barcodes: EAN check digits, and telling a keyboard-wedge scanner from a person typing.

A wedge scanner is a keyboard to the computer: it "types" the digits of the code very fast and
presses Enter. A person never types eight digits within a few tenths of a second, so speed tells
the two apart. Plain Python, fed with (character, time) pairs by the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def is_valid_ean(code: str) -> bool:
    """EAN-8 or EAN-13 (GS1 General Specifications 7.9): digits with a correct check digit."""
    if len(code) not in (8, 13) or not code.isdigit():
        return False
    digits = [int(d) for d in code]
    body, check = digits[:-1], digits[-1]
    # Weights 3,1,3,1... from the right of the body.
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


@dataclass
class WedgeDetector:
    """Collects fast keystrokes; `enter()` returns the scanned code if they came from a scanner."""

    max_gap_s: float = 0.08  # scanners send a character every few ms; people need 100+ ms
    min_length: int = 8
    max_length: int = 32
    _chars: list[str] = field(default_factory=list)
    _last: float | None = None

    def key(self, char: str, now: float) -> None:
        if self._last is not None and now - self._last > self.max_gap_s:
            self._chars.clear()  # too slow: a person, or the start of a new scan
        self._last = now
        if len(char) == 1 and char.isprintable():
            self._chars.append(char)
            del self._chars[:-self.max_length]

    def enter(self, now: float) -> str | None:
        fast = self._last is not None and now - self._last <= self.max_gap_s
        code = "".join(self._chars) if fast and len(self._chars) >= self.min_length else None
        self._chars.clear()
        self._last = None
        return code
