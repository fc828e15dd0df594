"""BER-TLV and DOLs (EMV Book 3 Annex B, section 5.4)."""

import random

import pytest

from kiosk.hardware import tlv
from kiosk.hardware.tlv import DolEntry, Tlv, TlvError


def test_primitive_round_trip():
    raw = tlv.encode(0x5A, bytes.fromhex("4761739001010010"))
    assert raw == bytes.fromhex("5A084761739001010010")
    (obj,) = tlv.parse(raw)
    assert obj.tag == 0x5A and obj.value == bytes.fromhex("4761739001010010") and obj.children is None
    assert tlv.encode_tlv(obj) == raw


def test_multi_byte_tags():
    raw = bytes.fromhex("9F3704DEADBEEF") + bytes.fromhex("5F2A020978") + bytes.fromhex("DF810102AABB")
    objects = tlv.parse(raw)
    assert [o.tag for o in objects] == [0x9F37, 0x5F2A, 0xDF8101]
    assert objects[2].value == b"\xaa\xbb"
    assert b"".join(tlv.encode_tlv(o) for o in objects) == raw


def test_long_form_lengths():
    for size in (0, 127, 128, 255, 256, 1000):
        raw = tlv.encode(0x70, tlv.encode(0x9F10, bytes(size))) if size < 200 else tlv.encode(0xDF01, bytes(size))
        assert tlv.encode_tlv(tlv.parse(raw)[0]) == raw
    assert tlv.encode_length(127) == b"\x7f"
    assert tlv.encode_length(128) == b"\x81\x80"
    assert tlv.encode_length(256) == b"\x82\x01\x00"
    (obj,) = tlv.parse(b"\x5a\x82\x00\x02\x12\x34")  # non-minimal long form is still valid BER
    assert obj.value == b"\x12\x34"


def test_nested_templates_and_find():
    fci = tlv.template(
        0x6F,
        (0x84, b"2PAY.SYS.DDF01"),
        tlv.template(0xA5, tlv.encode(0xBF0C, tlv.template(0x61, (0x4F, bytes.fromhex("A0000000031010")), (0x87, b"\x01")))),
    )
    (top,) = tlv.parse(fci)
    assert top.constructed and top.children is not None
    entry = tlv.find([top], 0x61)
    assert entry is not None and entry.constructed
    assert tlv.primitives([entry]) == {0x4F: bytes.fromhex("A0000000031010"), 0x87: b"\x01"}
    assert tlv.find([top], 0x9F38) is None
    assert tlv.encode_tlv(top) == fci


def test_padding_between_objects_is_skipped():
    objects = tlv.parse(b"\x00\x00" + bytes.fromhex("9C0100") + b"\xff" + bytes.fromhex("9A03250101") + b"\x00")
    assert [o.tag for o in objects] == [0x9C, 0x9A]


def test_parse_one_and_wrong_template():
    assert tlv.parse_one(bytes.fromhex("70035A0112"), 0x70).tag == 0x70
    with pytest.raises(TlvError, match="expected one 70"):
        tlv.parse_one(bytes.fromhex("77035A0112"), 0x70)


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x9f", "cut off"),
        (b"\x9f\x81", "cut off"),
        (b"\x5a", "length expected"),
        (b"\x5a\x05\x01", "says 5 bytes"),
        (b"\x5a\x80", "indefinite"),
        (b"\x5a\x85\x00\x00\x00\x00\x01", "at most 4"),
        (b"\x5a\x82\x01", "cut off"),
        (b"\x9f\x81\x81\x81\x81\x01\x00", "longer than 4"),
        (b"\x70\x03\x5a\x05\x00", "says 5 bytes"),  # broken inside a template
    ],
)
def test_malformed_input_gives_tlv_error(raw, message):
    with pytest.raises(TlvError, match=message):
        tlv.parse(raw)


def test_deep_nesting_is_refused():
    raw = b""
    for _ in range(40):
        raw = tlv.encode(0x70, raw)
    with pytest.raises(TlvError, match="deeper"):
        tlv.parse(raw)


def test_tlv_error_is_a_value_error_and_values_stay_out_of_repr():
    assert issubclass(TlvError, ValueError)
    obj = Tlv(0x5A, bytes.fromhex("4761739001010010"))
    assert "4761" not in repr(obj) and "5A" in repr(obj)


def test_encode_rejects_bad_tags():
    with pytest.raises(TlvError):
        tlv.encode(0x9F, b"")  # says "more tag bytes follow" but has none
    with pytest.raises(TlvError):
        tlv.encode(-1, b"")


def test_parse_dol():
    pdol = bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F3704")
    entries = tlv.parse_dol(pdol)
    assert entries[:2] == [DolEntry(0x9F66, 4), DolEntry(0x9F02, 6)]
    assert tlv.dol_length(entries) == 33
    with pytest.raises(TlvError):
        tlv.parse_dol(bytes.fromhex("9F66"))


def test_fill_dol_pads_truncates_and_zero_fills():
    dol = [
        DolEntry(0x9F02, 6),  # numeric, exact
        DolEntry(0x9F1A, 3),  # numeric, too short: padded on the left
        DolEntry(0x9F37, 2),  # binary, too long: cut on the right
        DolEntry(0x9F4E, 4),  # name, too short: padded on the right
        DolEntry(0x9F03, 2),  # numeric, too long: cut on the left
        DolEntry(0x9F45, 2),  # unknown to the terminal: zeros
        DolEntry(0x70, 2),  # constructed: zeros
    ]
    values = {
        0x9F02: bytes.fromhex("000000001234"),
        0x9F1A: bytes.fromhex("0528"),
        0x9F37: bytes.fromhex("DEADBEEF"),
        0x9F4E: b"AB",
        0x9F03: bytes.fromhex("000000000099"),
        0x70: b"\x01\x02",
    }
    filled = tlv.fill_dol(dol, values)
    assert filled.hex().upper() == "000000001234" "000528" "DEAD" "41420000" "0099" "0000" "0000"
    assert len(filled) == tlv.dol_length(dol)


def _mutations(rng: random.Random, seed_data: bytes) -> bytes:
    data = bytearray(seed_data)
    for _ in range(rng.randint(1, 4)):
        action = rng.randrange(3)
        if action == 0 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif action == 1 and data:
            del data[rng.randrange(len(data)) :]
        else:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
    return bytes(data)


def test_parse_is_total_on_random_and_mutated_bytes():
    """Any bytes: a result or a TlvError, nothing else (no IndexError, no RecursionError)."""
    rng = random.Random(20240611)
    valid = tlv.template(
        0x6F,
        (0x84, bytes.fromhex("A0000000031010")),
        tlv.template(0xA5, (0x50, b"VISA"), (0x9F38, bytes.fromhex("9F66049F0206"))),
    )
    for i in range(20000):
        if i % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        else:
            data = _mutations(rng, valid)
        for parser in (tlv.parse, tlv.parse_dol):
            try:
                result = parser(data)
            except TlvError:
                continue
            assert isinstance(result, list)
        try:
            objects = tlv.parse(data)
        except TlvError:
            continue
        # What parses re-encodes (padding dropped) to the same objects.
        reparsed = tlv.parse(b"".join(tlv.encode_tlv(o) for o in objects))
        assert [o.tag for o in reparsed] == [o.tag for o in objects]
        assert tlv.primitives(reparsed) == tlv.primitives(objects)


def test_parse_rejects_non_bytes():
    with pytest.raises(TlvError):
        tlv.parse("5A00")  # type: ignore[arg-type]
