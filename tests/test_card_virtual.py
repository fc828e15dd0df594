"""The emulated card answers like a card, including to what it does not support."""

import pytest

from kiosk.hardware import apdu, tlv
from kiosk.hardware.virtual_card import PROFILES, VirtualCard, mac_algorithm_3


def sw(answer: bytes) -> str:
    return answer[-2:].hex().upper()


def test_unknown_instruction_class_and_file():
    card = VirtualCard("visa")
    assert sw(card.respond(bytes.fromhex("0084000008"))) == "6D00"  # GET CHALLENGE: not here
    assert sw(card.respond(bytes.fromhex("B0A4040000"))) == "6E00"
    assert sw(card.respond(apdu.select_by_name(bytes.fromhex("A0000000999999")).to_bytes())) == "6A82"
    assert sw(card.respond(b"\x00")) == "6700"


def test_commands_out_of_order_are_refused():
    card = VirtualCard("visa")
    assert sw(card.respond(apdu.get_processing_options(b"").to_bytes())) == "6985"  # nothing selected
    assert sw(card.respond(apdu.read_record(1, 1).to_bytes())) == "6985"  # no GPO yet


def test_records_and_record_not_found():
    card = VirtualCard("mastercard")  # no PDOL: GPO data is '8300'
    card.respond(apdu.select_by_name(PROFILES["mastercard"].aid).to_bytes())
    gpo = card.respond(apdu.get_processing_options(b"").to_bytes())
    assert sw(gpo) == "9000" and gpo[0] == 0x80  # format 1
    record = card.respond(apdu.read_record(1, 2).to_bytes())
    fields = tlv.primitives([tlv.parse_one(record[:-2], 0x70)])
    assert fields[0x5A].hex() == "5413330089010012" and fields[0x5F24].hex() == "291130"
    assert sw(card.respond(apdu.read_record(1, 9).to_bytes())) == "6A83"


def test_wrong_pdol_length_is_refused():
    card = VirtualCard("visa")
    card.respond(apdu.select_by_name(PROFILES["visa"].aid).to_bytes())
    assert sw(card.respond(apdu.get_processing_options(b"\x00").to_bytes())) == "6700"


def test_iso9797_mac_algorithm_3_known_answer():
    # ISO/IEC 9797-1 Annex B example: key K || K', "Now is the time for it", padding method 2.
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert mac_algorithm_3(key, b"Now is the time for it").hex().upper() == "5A692CE64F404145"


def test_unknown_profile_is_named():
    with pytest.raises(KeyError, match="known: visa"):
        VirtualCard("diners")
