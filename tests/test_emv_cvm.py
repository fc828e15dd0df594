"""Cardholder verification decision (issue 5 point 2): no PIN is ever taken at the kiosk.

EMV Book 3 section 10.5 (CVM List), Books C-2/C-3 (contactless no-CVM limit, CTQ '9F6C').
"""

from dataclasses import replace
from datetime import date

import pytest

from kiosk.hardware import emv
from kiosk.hardware.terminal import CardError, CardNeedsPin, CardReadFailed, CardRequest
from kiosk.hardware.virtual_card import PROFILES, VirtualCard

TODAY = date(2025, 6, 1)
UN = bytes.fromhex("CAFEBABE")


def read(profile, amount, *, interface=emv.CONTACTLESS, limit=None, transmit_log=None):
    request = CardRequest(amount_cents=amount, transaction_date=TODAY)
    if limit is not None:
        request = replace(request, no_cvm_limit_cents=limit)
    card = VirtualCard(profile)

    def transmit(command: bytes) -> bytes:
        if transmit_log is not None:
            transmit_log.append(command)
        return card.respond(command)

    return emv.read_emv(transmit, request, unpredictable_number=UN, interface=interface)


def test_default_limit_is_eur_50_and_optional():
    assert CardRequest(amount_cents=100).no_cvm_limit_cents == 5000
    assert issubclass(CardNeedsPin, CardError) and CardNeedsPin.reason == "pin_required"


@pytest.mark.parametrize("profile", ["visa", "mastercard", "pin_above_limit", "phone_cdcvm"])
def test_contactless_at_or_under_the_limit_needs_no_cvm(profile):
    assert read(profile, 5000).cid == 0x80
    assert read(profile, 1).cid == 0x80


@pytest.mark.parametrize("profile, needed", [("visa", "PIN"), ("mastercard", "PIN"), ("pin_above_limit", "online PIN")])
def test_contactless_above_the_limit_needs_a_pin_before_generate_ac(profile, needed):
    sent = []
    with pytest.raises(CardNeedsPin, match=needed) as caught:
        read(profile, 5001, transmit_log=sent)
    assert caught.value.reason == "pin_required"
    assert 0xAE not in [c[1] for c in sent], "GENERATE AC must not be sent"
    assert PROFILES[profile].pan not in str(caught.value)


def test_the_limit_comes_from_the_request():
    assert read("pin_above_limit", 7500, limit=10000).cid == 0x80
    with pytest.raises(CardNeedsPin):
        read("pin_above_limit", 2000, limit=1999)


def test_a_phone_that_verified_its_owner_pays_above_the_limit():
    assert read("phone_cdcvm", 25000).cid == 0x80


def test_ttq_says_cvm_required_above_the_limit():
    low = emv.terminal_values(CardRequest(5000), TODAY, UN)[0x9F66]
    high = emv.terminal_values(CardRequest(5001), TODAY, UN)[0x9F66]
    assert low == emv.TTQ and high[1] & 0x40 and high[0] == low[0]


def test_contact_cvm_list_decides_under_the_limit():
    # Maestro contact: "no CVM if under X = 50.00", then "online PIN always".
    assert read("maestro_contact", 4999, interface=emv.CONTACT).scheme == "Maestro"
    with pytest.raises(CardNeedsPin, match="online PIN"):
        read("maestro_contact", 5000, interface=emv.CONTACT, limit=9000)  # not under X
    with pytest.raises(CardNeedsPin):
        read("maestro_contact", 6000, interface=emv.CONTACT)  # above the kiosk limit too
    # V PAY contact: offline PIN and online PIN not supported, both "apply succeeding": no CVM.
    assert read("vpay_contact", 4500, interface=emv.CONTACT).scheme == "V PAY"


def rules(*pairs: str, x: int = 0, y: int = 0) -> dict[int, bytes]:
    cvm = x.to_bytes(4, "big") + y.to_bytes(4, "big") + bytes.fromhex("".join(pairs))
    return {0x82: bytes.fromhex("1980"), 0x8E: cvm, 0x9F42: bytes.fromhex("0978")}


@pytest.mark.parametrize(
    "card_data, no_cvm, needed",
    [
        (rules("1F00"), True, None),
        (rules("0200"), False, "online PIN"),  # no "apply succeeding": fails at once
        (rules("0200", "1F00"), False, "online PIN"),
        (rules("4200", "1F00"), True, None),  # apply succeeding CVM rule if unsuccessful
        (rules("5E00", "1F00"), True, None),  # signature not possible here, then no CVM
        (rules("1E00"), False, "signature"),
        (rules("4403", "1F03"), True, None),  # "if terminal supports": PIN rule skipped
        (rules("0000"), False, "cardholder verification"),  # fail CVM processing
        (rules("1F06", "0200", x=3000), True, None),  # amount 2500 under X
        (rules("1F08", "0200", y=2000), False, "online PIN"),  # not under Y
        (rules("0209", "1F00", y=2000), False, "online PIN"),  # over Y
        (rules("1F01", "1F04", "1F05", "1F0A", "0200"), False, "online PIN"),  # conditions never met here
        ({0x82: bytes.fromhex("0980"), 0x8E: rules("0200")[0x8E]}, True, None),  # AIP: no CVM support
        ({0x82: bytes.fromhex("1980")}, True, None),  # no CVM list
        ({**rules("1F06", "0200", x=3000), 0x9F42: bytes.fromhex("0840")}, False, "online PIN"),  # USD app
    ],
)
def test_cvm_list_processing(card_data, no_cvm, needed):
    decision = emv.process_cvm_list(CardRequest(2500), card_data)
    assert (decision.no_cvm, decision.needed) == (no_cvm, needed)


def test_malformed_cvm_list_is_a_read_failure():
    profile = replace(PROFILES["maestro_contact"], cvm_list=bytes(8) + b"\x1f")
    with pytest.raises(CardReadFailed, match="cardholder verification"):
        read(profile, 100, interface=emv.CONTACT)
