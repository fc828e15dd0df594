"""BER-TLV as EMV uses it: parse, encode, and Data Object Lists (DOLs).

References:
- EMV 4.4 Book 3, Annex B "Rules for BER-TLV Data Objects" (B1 tag field, B2 length field, B3 value
  field; a subset of ISO/IEC 8825-1). Bit 6 of the first tag byte marks a constructed object; low five
  bits all set mean "subsequent bytes follow", and bit 8 of each subsequent byte means "another
  follows". A length byte with bit 8 set gives the number of length bytes that follow.
- EMV 4.4 Book 3, section 5.4 "Rules for Using a Data Object List (DOL)": a DOL is a list of tags and
  lengths, without values; the terminal answers with the concatenated values, padded or truncated.
- EMV 4.4 Book 3, Annex B: "Before, between, or after TLV-coded data objects, '00' bytes without any
  meaning may occur" (ISO 7816-4 also allows 'FF' padding).

Everything here is total: any input gives a result or a `TlvError`, never an `IndexError`.

Values may be card data (a PAN inside '5A'), so `Tlv.__repr__` shows tags and lengths, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

# Recursion guard: EMV templates nest three or four deep (6F > A5 > BF0C > 61); a hostile card
# must not be able to exhaust the Python stack.
MAX_DEPTH = 16
# A short-APDU card answer is at most 256 bytes, extended ones 64 KiB; four length bytes is far more
# than enough and keeps a hostile length from asking for gigabytes.
MAX_LENGTH_BYTES = 4
# A filled DOL travels in one short command APDU (Lc at most 255 bytes).
MAX_DOL_DATA = 255

# Tags whose format is 'n' (numeric BCD, right-justified). DOL filling pads and truncates these on the
# left, every other format on the right (EMV Book 3 section 5.4). Formats from EMV Book 3 Annex A.
NUMERIC_TAGS = frozenset(
    {
        0x5F2A,  # Transaction Currency Code
        0x5F36,  # Transaction Currency Exponent
        0x9A,  # Transaction Date
        0x9C,  # Transaction Type
        0x9F02,  # Amount, Authorised
        0x9F03,  # Amount, Other
        0x9F1A,  # Terminal Country Code
        0x9F21,  # Transaction Time
        0x9F35,  # Terminal Type
        0x9F41,  # Transaction Sequence Counter
        0x9F15,  # Merchant Category Code
        0x5F57,  # Account Type
    }
)


class TlvError(ValueError):
    """Malformed BER-TLV or DOL data. The message says what and where, never the value bytes."""


@dataclass(frozen=True)
class Tlv:
    """One data object. `children` is set for constructed objects (EMV Book 3 Annex B1, bit 6)."""

    tag: int
    value: bytes = field(repr=False)
    children: tuple[Tlv, ...] | None = field(default=None, repr=False)

    @property
    def constructed(self) -> bool:
        return is_constructed(self.tag)

    def __repr__(self) -> str:
        # Never show values: '5A' and '57' hold the card number.
        inner = f", children={len(self.children)}" if self.children is not None else ""
        return f"Tlv(tag={tag_hex(self.tag)}, length={len(self.value)}{inner})"

    def walk(self) -> Iterator[Tlv]:
        """This object and every object nested in it, depth first."""
        yield self
        for child in self.children or ():
            yield from child.walk()


def tag_hex(tag: int) -> str:
    """'9F02' style name of a tag, for messages and logs."""
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big").hex().upper()


def is_constructed(tag: int) -> bool:
    """Bit 6 of the first tag byte (EMV Book 3 Annex B1)."""
    first = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")[0]
    return bool(first & 0x20)


# --- reading --------------------------------------------------------------------------------------


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    """Tag at `pos` -> (tag as int, next position). EMV Book 3 Annex B1."""
    start = pos
    if pos >= len(data):
        raise TlvError(f"tag expected at offset {pos}, data ends")
    first = data[pos]
    pos += 1
    if first & 0x1F == 0x1F:  # subsequent bytes follow
        while True:
            if pos >= len(data):
                raise TlvError(f"multi-byte tag at offset {start} is cut off")
            byte = data[pos]
            pos += 1
            if not byte & 0x80:
                break
            if pos - start > 4:
                raise TlvError(f"tag at offset {start} is longer than 4 bytes")
    return int.from_bytes(data[start:pos], "big"), pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    """Length at `pos` -> (length, next position). EMV Book 3 Annex B2."""
    if pos >= len(data):
        raise TlvError(f"length expected at offset {pos}, data ends")
    first = data[pos]
    pos += 1
    if not first & 0x80:  # short form: 0..127
        return first, pos
    count = first & 0x7F
    if count == 0:
        raise TlvError(f"indefinite length at offset {pos - 1} is not allowed in EMV")
    if count > MAX_LENGTH_BYTES:
        raise TlvError(f"length at offset {pos - 1} uses {count} bytes, at most {MAX_LENGTH_BYTES} allowed")
    if pos + count > len(data):
        raise TlvError(f"long-form length at offset {pos - 1} is cut off")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def _parse(data: bytes, depth: int) -> list[Tlv]:
    if depth > MAX_DEPTH:
        raise TlvError(f"templates nested deeper than {MAX_DEPTH}")
    objects: list[Tlv] = []
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF):  # padding between objects (EMV Book 3 Annex B)
            pos += 1
            continue
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        if pos + length > len(data):
            raise TlvError(f"tag {tag_hex(tag)} says {length} bytes, only {len(data) - pos} left")
        value = data[pos : pos + length]
        pos += length
        children = tuple(_parse(value, depth + 1)) if is_constructed(tag) else None
        objects.append(Tlv(tag, value, children))
    return objects


def parse(data: bytes) -> list[Tlv]:
    """Every top-level data object in `data`; constructed ones are parsed recursively.

    Raises TlvError for anything that is not well-formed BER-TLV (EMV Book 3 Annex B).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TlvError(f"expected bytes, got {type(data).__name__}")
    return _parse(bytes(data), 0)


def parse_one(data: bytes, expected_tag: int) -> Tlv:
    """The single object a card answer must consist of (e.g. template '70' of a record)."""
    objects = parse(data)
    if len(objects) != 1 or objects[0].tag != expected_tag:
        found = ", ".join(tag_hex(o.tag) for o in objects) or "nothing"
        raise TlvError(f"expected one {tag_hex(expected_tag)} object, found {found}")
    return objects[0]


def find(objects: Iterable[Tlv], tag: int) -> Tlv | None:
    """First object with `tag`, searching nested templates depth first."""
    for top in objects:
        for obj in top.walk():
            if obj.tag == tag:
                return obj
    return None


def primitives(objects: Iterable[Tlv]) -> dict[int, bytes]:
    """Every primitive object's value by tag, nested ones included; the first occurrence wins."""
    found: dict[int, bytes] = {}
    for top in objects:
        for obj in top.walk():
            if obj.children is None:
                found.setdefault(obj.tag, obj.value)
    return found


# --- writing --------------------------------------------------------------------------------------


def encode_tag(tag: int) -> bytes:
    """The tag's bytes (EMV Book 3 Annex B1); checks that they are a well-formed tag."""
    if not isinstance(tag, int) or tag < 0:
        raise TlvError(f"tag must be a non-negative int, got {tag!r}")
    raw = tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
    if raw[0] in (0x00, 0xFF):  # ISO/IEC 7816-4 5.2.2.1: no first tag byte; `parse` skips them as padding
        raise TlvError(f"{tag_hex(tag)} is not a well-formed tag: its first byte is padding")
    try:
        parsed, end = _read_tag(raw, 0)
    except TlvError as exc:
        raise TlvError(f"{tag_hex(tag)} is not a well-formed tag: {exc}") from None
    if end != len(raw) or parsed != tag:
        raise TlvError(f"{tag_hex(tag)} is not a well-formed tag")
    return raw


def encode_length(length: int) -> bytes:
    """Definite length, shortest form (EMV Book 3 Annex B2)."""
    if length < 0:
        raise TlvError(f"negative length {length}")
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(raw) > MAX_LENGTH_BYTES:
        raise TlvError(f"length {length} is too large")
    return bytes([0x80 | len(raw)]) + raw


def encode(tag: int, value: bytes | Iterable[Tlv]) -> bytes:
    """One data object; `value` is raw bytes or, for a template, the objects inside it."""
    if not isinstance(value, (bytes, bytearray)):
        value = b"".join(encode_tlv(child) for child in value)
    return encode_tag(tag) + encode_length(len(value)) + bytes(value)


def encode_tlv(obj: Tlv) -> bytes:
    """Re-encode a parsed object (children win over `value` for templates)."""
    if obj.children is not None:
        return encode(obj.tag, obj.children)
    return encode(obj.tag, obj.value)


def template(tag: int, *objects: tuple[int, bytes] | bytes) -> bytes:
    """Build a template from (tag, value) pairs or already-encoded objects: handy for card answers."""
    body = b"".join(o if isinstance(o, (bytes, bytearray)) else encode(o[0], o[1]) for o in objects)
    return encode(tag, body)


# --- Data Object Lists ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DolEntry:
    tag: int
    length: int


def parse_dol(data: bytes) -> list[DolEntry]:
    """A DOL such as PDOL '9F38' or CDOL1 '8C': tags and lengths, no values (EMV Book 3 section 5.4)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TlvError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    entries: list[DolEntry] = []
    pos = 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        entries.append(DolEntry(tag, length))
    return entries


def fill_dol(dol: Iterable[DolEntry], values: Mapping[int, bytes]) -> bytes:
    """The terminal's answer to a DOL: each listed value, fitted to the listed length.

    EMV Book 3 section 5.4: a value the terminal does not have, or one that is constructed, is sent as
    zeros. A value that is too long is truncated (numeric 'n' on the left, others on the right); one
    that is too short is padded (numeric on the left with '00', others on the right with '00').
    """
    dol = list(dol)
    if dol_length(dol) > MAX_DOL_DATA:  # a hostile card must not make us allocate gigabytes
        raise TlvError(f"DOL asks for {dol_length(dol)} bytes, at most {MAX_DOL_DATA} fit in a command")
    out = bytearray()
    for entry in dol:
        value = values.get(entry.tag)
        if value is None or is_constructed(entry.tag):
            out += bytes(entry.length)
            continue
        numeric = entry.tag in NUMERIC_TAGS
        if len(value) > entry.length:
            value = value[len(value) - entry.length :] if numeric else value[: entry.length]
        elif len(value) < entry.length:
            padding = bytes(entry.length - len(value))
            value = padding + value if numeric else value + padding
        out += value
    return bytes(out)


def dol_length(dol: Iterable[DolEntry]) -> int:
    return sum(entry.length for entry in dol)
