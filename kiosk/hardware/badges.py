"""Staff badges on the payment reader (issue 9): tell a badge from a payment card.

A badge is recognised by its ATR (hex patterns where 'XX' matches any byte, e.g. every MIFARE
Classic 1K: "3B8F8001804F0CA000000306030001000000006A") or by its UID, which a contactless reader
gives for the PC/SC GET DATA pseudo-APDU 'FF CA 00 00 00' (PC/SC part 3 section 3.2.2.1.3).

    matcher = BadgeMatcher(atr_patterns=["3B8F8001804F0CA0000003060300XX0000000XX"], uids=["04A1B2C3"])
    classify_card(connection, matcher)  -> "badge" | "payment"
    identify_badge(connection, matcher) -> badge id (UID or ATR hex) | None

`PcscTerminal(..., badge_matcher=matcher).read_card` raises `BadgePresented` (reason
"staff_badge", `badge_id` = UID or ATR in hex) when a badge is tapped on the pay screen, before any
EMV command is sent. Outside a payment, `wait_for_badge` on either terminal (run by
`badge_watch.BadgeWatcher`) reports badge taps the same way. A UID is no card data (it is no card number), but it is still only logged
masked here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Literal, Protocol

from kiosk.hardware.emv import CONTACTLESS, interface_for_atr

log = logging.getLogger("kiosk.hardware.badges")

GET_UID = bytes.fromhex("FFCA000000")  # PC/SC part 3 section 3.2.2.1.3, GET DATA: UID

CardKind = Literal["badge", "payment"]


def _hex(value: str) -> str:
    return re.sub(r"[\s:.-]", "", value).upper()


def normal_badge_id(value: str) -> str:
    """A badge id as `identify_badge` reports it (upper-case hex, no separators); ValueError if no hex."""
    text = _hex(value)
    if not text or len(text) % 2 or not re.fullmatch(r"[0-9A-F]+", text):
        raise ValueError(f"badge id {value!r} is not hex bytes")
    return text


def _to_bytes(value: bytes | bytearray | list[int] | str) -> bytes:
    return bytes.fromhex(_hex(value)) if isinstance(value, str) else bytes(value)


class BadgeMatcher:
    """Which ATRs and UIDs are staff badges. Patterns and UIDs are hex (spaces and colons allowed);
    an 'XX' byte in a pattern matches any byte; a pattern matches an ATR of exactly its length."""

    def __init__(self, atr_patterns: Iterable[str] = (), uids: Iterable[str] = ()):
        self.atr_patterns: list[list[int | None]] = []
        for pattern in atr_patterns:
            text = _hex(pattern)
            if not text or len(text) % 2 or not re.fullmatch(r"([0-9A-F]{2}|XX)+", text):
                raise ValueError(f"badge ATR pattern {pattern!r} is not hex bytes with XX wildcards")
            self.atr_patterns.append([None if text[i : i + 2] == "XX" else int(text[i : i + 2], 16) for i in range(0, len(text), 2)])
        self.uids: set[bytes] = set()
        for uid in uids:
            text = _hex(uid)
            if not text or len(text) % 2 or not re.fullmatch(r"[0-9A-F]+", text):
                raise ValueError(f"badge UID {uid!r} is not hex")
            self.uids.add(bytes.fromhex(text))

    def __repr__(self) -> str:
        return f"BadgeMatcher({len(self.atr_patterns)} ATR patterns, {len(self.uids)} UIDs)"

    def __bool__(self) -> bool:
        return bool(self.atr_patterns or self.uids)

    def matches_atr(self, atr: bytes | list[int] | str) -> bool:
        atr = _to_bytes(atr)
        return any(
            len(p) == len(atr) and all(b is None or b == a for b, a in zip(p, atr)) for p in self.atr_patterns
        )

    def is_badge(self, atr: bytes | list[int] | str, uid: bytes | list[int] | str | None = None) -> bool:
        if self.matches_atr(atr):
            return True
        return uid is not None and _to_bytes(uid) in self.uids


class _Connection(Protocol):
    atr: bytes

    def transmit(self, command: bytes) -> bytes: ...


def read_uid(transmit: Callable[[bytes], bytes]) -> bytes | None:
    """The card's UID through the reader's GET DATA pseudo-APDU, or None (contact card, a reader
    that does not know it, any non-'9000' answer)."""
    response = transmit(GET_UID)
    if len(response) < 3 or response[-2:] != b"\x90\x00":
        return None
    return bytes(response[:-2])


def identify_badge(connection: _Connection, matcher: BadgeMatcher | None) -> str | None:
    """The badge id (UID hex, else ATR hex) when the connected card (`.atr`, `.transmit`) is a staff
    badge, else None.

    The ATR is checked first (no command sent); the UID is asked for only when UIDs are configured
    and the card is contactless. CardErrors from `transmit` (card removed) pass through.
    """
    if not matcher:
        return None
    atr = bytes(connection.atr)
    uid = None
    if not matcher.matches_atr(atr) and matcher.uids and interface_for_atr(atr) == CONTACTLESS:
        uid = read_uid(connection.transmit)
    if not matcher.is_badge(atr, uid):
        return None
    badge_id = (uid or atr).hex().upper()
    log.info("staff badge presented (%s…)", badge_id[:4])
    return badge_id


def classify_card(connection: _Connection, matcher: BadgeMatcher | None) -> CardKind:
    """"badge" or "payment" for a connected card (see `identify_badge`)."""
    return "badge" if identify_badge(connection, matcher) is not None else "payment"
