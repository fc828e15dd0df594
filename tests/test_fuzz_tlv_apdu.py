"""Property-based fuzzing of what a card sends (hypothesis, issue 10): BER-TLV and DOLs
(kiosk/hardware/tlv.py), response APDUs and the 61xx/6Cxx transport (apdu.py), and the whole EMV read
flow (emv.py) up to the sealed payload (card_result.py), against cards whose answers are mutated.

The contract under test: a card can only ever cause the documented typed errors — `TlvError` from the
TLV layer, `ApduError` subclasses from the transport, `CardError` subclasses (CardReadFailed,
CardNotSupported, CardNeedsPin, ReadCancelled) from the read flow — never an IndexError, a
RecursionError or a loop that does not end. What is valid round-trips.

FUZZ_TLV_EXAMPLES inputs per property (default 300; a few seconds for the file on 2 cores). The long
run is `bench/fuzz.py --target tlv` (README "Fuzzing"); test_tlv.py keeps the fixed-seed random run.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.hardware import apdu, emv, tlv
from kiosk.hardware.apdu import ApduError, CardChannel, CommandApdu, MalformedResponse, ResponseApdu
from kiosk.contract.sealing import load_public_key
from kiosk.hardware.card_result import seal_readout
from kiosk.hardware.emv import EmvReadout
from kiosk.hardware.terminal import (
    ApplicationChoice,
    CardNeedsPin,
    CardNotSupported,
    CardReadFailed,
    CardReadResult,
    CardRemovedTooEarly,
    CardRequest,
    ReadCancelled,
)
from kiosk.hardware.tlv import DolEntry, Tlv, TlvError
from kiosk.hardware.virtual_card import PROFILES, CardWithdrawn, VirtualCard

EXAMPLES = int(os.environ.get("FUZZ_TLV_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
PUBLIC_KEY = load_public_key(Path(__file__).resolve().parents[1] / "config" / "payment_service_public.pem")

# --- TLV ----------------------------------------------------------------------------------------

EMV_TAGS = [0x4F, 0x50, 0x57, 0x5A, 0x61, 0x6F, 0x70, 0x77, 0x80, 0x82, 0x84, 0x87, 0x88, 0x8C, 0x8E, 0x94,
            0xA5, 0x5F24, 0x5F34, 0x9F10, 0x9F26, 0x9F27, 0x9F36, 0x9F38, 0x9F42, 0x9F6C, 0xBF0C, 0xDF8101]


@st.composite
def tags(draw) -> int:
    """Well-formed tags (EMV Book 3 Annex B1): one byte whose low five bits are not all set, or a
    first byte with them set and up to three more, bit 8 set on every one but the last. Never a first
    byte '00' or 'FF': those are padding between objects (ISO/IEC 7816-4 5.2.2.1)."""
    if draw(st.booleans()):
        return draw(st.sampled_from(EMV_TAGS))
    constructed = 0x20 if draw(st.booleans()) else 0
    klass = draw(st.sampled_from([0x00, 0x40, 0x80, 0xC0]))
    if draw(st.booleans()):
        number = draw(st.integers(0, 0x1E).filter(lambda n: klass | constructed | n not in (0x00, 0xFF)))
        return klass | constructed | number
    more = [draw(st.integers(0x80, 0xFF)) for _ in range(draw(st.integers(0, 2)))]
    raw = bytes([klass | constructed | 0x1F, *more, draw(st.integers(0x00, 0x7F))])
    if raw[0] == 0xFF:
        raw = bytes([0xDF]) + raw[1:]
    return int.from_bytes(raw, "big")


def objects_with(tag_strategy):
    return st.recursive(
        st.builds(lambda t, v: ("p", t, v), tag_strategy.filter(lambda t: not tlv.is_constructed(t)),
                  st.binary(max_size=300)),
        lambda children: st.builds(lambda t, c: ("c", t, c), tag_strategy.filter(tlv.is_constructed),
                                   st.lists(children, max_size=4)),
        max_leaves=12,
    )


trees = objects_with(tags())


def encode_tree(node) -> bytes:
    kind, tag, inner = node
    if kind == "p":
        return tlv.encode(tag, inner)
    return tlv.encode(tag, b"".join(encode_tree(child) for child in inner))


def same(node, obj: Tlv) -> bool:
    kind, tag, inner = node
    if obj.tag != tag:
        return False
    if kind == "p":
        return obj.children is None and obj.value == inner
    return obj.children is not None and len(obj.children) == len(inner) and all(
        same(child, parsed) for child, parsed in zip(inner, obj.children))


def tlv_outcome(data: bytes) -> str:
    """parse and parse_dol of arbitrary bytes: a result or a TlvError; what parses re-encodes."""
    try:
        objects = tlv.parse(data)
    except TlvError as exc:
        assert str(exc)
        result = "TlvError: " + _reason(str(exc))
    else:
        again = tlv.parse(b"".join(tlv.encode_tlv(o) for o in objects))  # padding and long lengths normalised
        assert [o.tag for o in again] == [o.tag for o in objects]
        assert tlv.primitives(again) == tlv.primitives(objects)
        result = "parsed"
    try:
        entries = tlv.parse_dol(data)
    except TlvError:
        return result
    try:
        filled = tlv.fill_dol(entries, {e.tag: bytes([0x11] * (i % 9)) for i, e in enumerate(entries)})
    except TlvError as exc:
        assert "DOL asks for" in str(exc)
    else:
        assert len(filled) == tlv.dol_length(entries) <= tlv.MAX_DOL_DATA
    return result


def _reason(message: str) -> str:
    """A TlvError message without its offsets, numbers and tag names: the kind of rejection, for counting."""
    return re.sub(r"\b\d+\b", "N", re.sub(r"\b(tag|one) [0-9A-F]+\b", r"\1 T", message))


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_parse_or_raise_tlv_error(data):
    tlv_outcome(data)


@st.composite
def mutated_encodings(draw) -> bytes:
    data = bytearray(b"".join(encode_tree(t) for t in draw(st.lists(trees, min_size=1, max_size=3))))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[at] = draw(st.sampled_from([0x00, 0xFF, 0x80, 0x81, 0x82, 0x84, 0x85, 0x1F, 0x9F, 0x7F])
                            | st.integers(0, 255))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[at:at + draw(st.integers(1, 4))]
    return bytes(data)


@FUZZ
@given(mutated_encodings())
def test_mutated_encodings_parse_or_raise_tlv_error(data):
    tlv_outcome(data)


@FUZZ
@given(st.lists(trees, max_size=4), st.lists(st.sampled_from([b"\x00", b"\xff", b"\x00\x00"]), max_size=4))
def test_valid_trees_round_trip(nodes, padding):
    """What `encode` builds, `parse` gives back, object for object, whatever padding lies between."""
    pieces = [encode_tree(node) for node in nodes]
    data = b"".join(p + (padding[i] if i < len(padding) else b"") for i, p in enumerate(pieces))
    objects = tlv.parse(data)
    assert len(objects) == len(nodes) and all(same(n, o) for n, o in zip(nodes, objects))
    assert b"".join(tlv.encode_tlv(o) for o in objects) == b"".join(pieces)
    for node, piece in zip(nodes, pieces):
        assert tlv.parse_one(piece, node[1]).tag == node[1]


@FUZZ
@given(st.integers(min_value=-5, max_value=2**40))
def test_encode_tag_accepts_only_what_parse_reads_back(tag):
    """Round trip from the other side: a tag `encode` accepts is the tag `parse` reads."""
    try:
        raw = tlv.encode(tag, b"\x01")
    except TlvError:
        return
    (obj,) = tlv.parse(raw) if not tlv.is_constructed(tag) else tlv.parse(tlv.encode(tag, b""))
    assert obj.tag == tag


@pytest.mark.parametrize("tag", [0x00, 0xFF, 0xFF01, 0xFF8101, 0x001F])
def test_tags_that_read_back_as_padding_are_refused(tag):
    """Was accepted: encode(0x00, ...) wrote an object that parse skipped as padding, reading its
    length byte as the next tag. '00' and 'FF' are no first tag bytes (ISO/IEC 7816-4 5.2.2.1)."""
    with pytest.raises(TlvError):
        tlv.encode(tag, b"\x01")


@FUZZ
@given(st.lists(st.builds(DolEntry, tags(), st.integers(0, 300)), max_size=12),
       st.dictionaries(tags(), st.binary(max_size=40), max_size=12))
def test_fill_dol_fits_every_value_to_its_length(dol, values):
    try:
        filled = tlv.fill_dol(dol, values)
    except TlvError:
        assert tlv.dol_length(dol) > tlv.MAX_DOL_DATA
        return
    assert len(filled) == tlv.dol_length(dol)
    encoded = b"".join(tlv.encode_tag(e.tag) + tlv.encode_length(e.length) for e in dol)
    assert tlv.parse_dol(encoded) == dol  # a DOL round-trips through its encoding


# --- APDUs --------------------------------------------------------------------------------------

status_words = st.sampled_from([b"\x90\x00", b"\x61\x00", b"\x61\x10", b"\x6c\x05", b"\x6c\x00", b"\x6a\x82",
                                b"\x6a\x83", b"\x69\x85", b"\x62\x83", b"\x6d\x00", b"\x63\xc1", b"\x67\x00"]) \
    | st.binary(min_size=2, max_size=2)
card_answers = st.one_of(st.binary(max_size=3), st.builds(lambda d, sw: d + sw, st.binary(max_size=40), status_words))


def exchange_outcome(script: list[bytes], command: CommandApdu) -> str:
    """CardChannel.exchange against a card answering `script` (then '9000' forever ... or '61xx' forever)."""
    sent: list[bytes] = []

    def transmit(raw: bytes) -> bytes:
        sent.append(raw)
        assert len(raw) <= 5 + 255 and raw[:4] == bytes(raw[:4])  # a short APDU, always
        return script[len(sent) - 1] if len(sent) <= len(script) else script[-1] if script else b"\x90\x00"

    try:
        response = CardChannel(transmit).exchange(command)
    except ApduError as exc:
        assert str(exc)
        outcome = type(exc).__name__
    else:
        assert response.sw == apdu.SW_OK
        outcome = "9000"
    # 61xx rounds are capped; each may take one 6Cxx re-send, plus the first command and its re-send.
    assert len(sent) <= 2 + 2 * (apdu.MAX_GET_RESPONSE_ROUNDS + 1), len(sent)
    return outcome


@FUZZ
@given(st.lists(card_answers, min_size=1, max_size=40),
       st.sampled_from([apdu.select_by_name(emv.PPSE), apdu.get_processing_options(b""), apdu.read_record(1, 1),
                        apdu.generate_ac(apdu.ARQC, bytes(29))]))
def test_the_transport_ends_in_9000_or_an_apdu_error(script, command):
    exchange_outcome(script, command)


@FUZZ
@given(st.binary(max_size=20))
def test_response_apdus_parse_or_raise_malformed(raw):
    try:
        response = ResponseApdu.from_bytes(raw)
    except MalformedResponse:
        assert len(raw) < 2
        return
    assert response.data + bytes([response.sw1, response.sw2]) == raw


def test_a_card_answering_61xx_forever_is_cut_off():
    assert exchange_outcome([b"\x61\x10"], apdu.read_record(1, 1)) == "MalformedResponse"


# --- the whole read flow against mutated cards ---------------------------------------------------

# CardRemovedTooEarly comes from the transmit function (the card left) and passes through.
CARD_ERRORS = (CardReadFailed, CardNotSupported, CardNeedsPin, ReadCancelled, CardRemovedTooEarly)


@st.composite
def mutations(draw):
    """How to spoil one card answer (data + SW1 SW2)."""
    action = draw(st.sampled_from(["flip", "cut", "sw", "data", "wrap", "tree", "append", "empty"]))
    if action == "flip":
        flips = draw(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4))
        return action, flips
    if action == "cut":
        return action, draw(st.integers(0, 60))
    if action == "sw":
        return action, draw(status_words)
    if action == "data":
        return action, draw(st.binary(max_size=60))
    if action == "wrap":
        return action, draw(st.sampled_from([0x6F, 0x70, 0x77, 0x80, 0xA5, 0xBF0C, 0x61]))
    if action == "tree":
        return action, draw(objects_with(st.sampled_from(EMV_TAGS) | tags()).map(encode_tree))
    if action == "append":
        return action, draw(st.binary(min_size=1, max_size=8))
    return action, None


def spoil(answer: bytes, mutation) -> bytes:
    action, arg = mutation
    data, sw = answer[:-2], answer[-2:]
    if action == "flip":
        spoiled = bytearray(answer)
        for at, value in arg:
            if spoiled:
                spoiled[at % len(spoiled)] = value
        return bytes(spoiled)
    if action == "cut":
        return answer[:arg]
    if action == "sw":
        return data + arg
    if action == "data":
        return arg + sw
    if action == "wrap":
        return tlv.encode(arg, data) + sw
    if action == "tree":
        return (data + arg if data else arg) + sw
    if action == "append":
        return data + arg + sw
    return b""


PROFILE_NAMES = sorted(PROFILES)


@st.composite
def card_reads(draw):
    profile = PROFILES[draw(st.sampled_from(PROFILE_NAMES))]
    spoiled = draw(st.dictionaries(st.integers(0, 12), mutations(), max_size=3))
    amount = draw(st.sampled_from([1, 100, 2495, 5000, 5001, 100_000, 99_999_999]))
    interface = draw(st.sampled_from([emv.interface_for_atr(profile.atr), emv.CONTACT, emv.CONTACTLESS]))
    chooser = draw(st.sampled_from(["none", "first", "cancel", "bogus"]))
    return profile, spoiled, amount, interface, chooser


def choose(kind: str):
    if kind == "none":
        return None
    if kind == "first":
        return lambda choices: choices[0]
    if kind == "cancel":
        return lambda choices: None
    return lambda choices: ApplicationChoice("A0000000999999", "nope", 1, "")


def read_outcome(profile, spoiled: dict, amount: int, interface: str, chooser: str) -> str:
    """The read flow and the sealing against a card whose `spoiled` answers (by command number) are
    mutated: an EmvReadout sealed into a CardReadResult, or one of the CardErrors. Nothing else."""
    card = VirtualCard(profile)
    sent: list[bytes] = []

    def transmit(command: bytes) -> bytes:
        sent.append(command)
        try:
            answer = card.respond(command)
        except CardWithdrawn:  # what the simulator and the PC/SC terminal make of it
            raise CardRemovedTooEarly("card left the field") from None
        index = len(sent) - 1
        return spoil(answer, spoiled[index]) if index in spoiled else answer

    request = CardRequest(amount_cents=amount, transaction_date=date(2025, 6, 1))
    try:
        readout = emv.read_emv(transmit, request, unpredictable_number=bytes.fromhex("CAFEBABE"),
                               interface=interface, choose_application=choose(chooser))
        assert isinstance(readout, EmvReadout)
        assert readout.pan not in repr(readout)
        result = seal_readout(readout, PUBLIC_KEY)
        assert isinstance(result, CardReadResult)
        outcome = "read"
    except CARD_ERRORS as exc:
        assert str(exc) and (not card.profile.pan or card.profile.pan not in str(exc))  # never the PAN
        outcome = f"{type(exc).__name__}: {_step_of(str(exc))}"
    # Bounded: the PSE directory at most 255 records, the AFL at most 63 entries of 255 records... a
    # virtual card answers far fewer, so anything near this means a loop that does not end.
    assert len(sent) < 600, len(sent)
    return outcome


def _step_of(message: str) -> str:
    return message.split(":")[0] if ":" in message else message


@FUZZ
@given(card_reads())
def test_mutated_cards_give_a_result_or_a_card_error(case):
    read_outcome(*case)


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_unspoiled_cards_read_as_before(name):
    """The baseline: without mutations every profile reads as it does in test_emv_flow.py."""
    profile = PROFILES[name]
    outcome = read_outcome(profile, {}, 2495, emv.interface_for_atr(profile.atr), "first")
    expected = {"unsupported": "CardNotSupported", "badge": "CardNotSupported", "garbage_gpo": "CardReadFailed",
                "withdrawn": "CardRemovedTooEarly", "garbage": "CardReadFailed"}
    assert outcome.split(":")[0] == expected.get(name, "read"), outcome
