"""The reference server's test acquirer: one test per documented rule, with REAL test-card ARQCs.

Payloads are built with an ARQC computed exactly as the emulated cards do
(`kiosk.hardware.virtual_card.application_cryptogram` over the CDOL1 data the kiosk sends), and
end-to-end cases run the real EMV read flow against virtual cards and seal the result as the card
module does. Only `central/` must not import `kiosk.hardware`; tests may.
"""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from pathlib import Path

import pytest

import central.acquirer as acquirer
from central.acquirer import DECLINE_MESSAGES, TestAcquirer, auth_code_for, expected_arqc
from kiosk.contract.sealing import CardDataPayload, load_public_key, seal
from kiosk.hardware import emv
from kiosk.hardware.card_result import seal_readout
from kiosk.hardware.terminal import CardRequest
from kiosk.hardware.tlv import fill_dol, parse_dol
from kiosk.hardware.virtual_card import (
    CDOL1,
    TEST_ISSUER_MASTER_KEY,
    VirtualCard,
    application_cryptogram,
)

REPO = Path(__file__).resolve().parents[1]
PUBLIC_KEY = load_public_key(REPO / "config" / "payment_service_public.pem")
TODAY = date(2026, 3, 14)
VISA_PAN = "4761739001010010"  # the virtual 'visa' profile's test PAN
AIP = bytes.fromhex("1980")
UN = bytes.fromhex("CAFEBABE")


@pytest.fixture(scope="module")
def bank() -> TestAcquirer:
    return TestAcquirer()


def cdol1(amount_cents: int, *, tvr: str, currency: str, day: date, un: bytes) -> bytes:
    """The CDOL1 data as kiosk/hardware/emv.py fills the test cards' CDOL1 '8C'."""
    values = emv.terminal_values(CardRequest(amount_cents=amount_cents, currency_code=currency), day, un)
    values[0x95] = bytes.fromhex(tvr)
    return fill_dol(parse_dol(CDOL1), values)


def payload(amount_cents: int = 2495, *, pan: str = VISA_PAN, expiry: str = "301231", psn: int = 1,
            cid: str = "80", atc: str = "0007", tvr: str = "0000000000", day: date = TODAY,
            aip: str | None = "1980", arqc: str | None = None, tamper: dict | None = None) -> CardDataPayload:
    """A payload whose ARQC a genuine test card made over exactly these values; `tamper` alters the
    payload AFTER the cryptogram was computed (a forged or altered payload)."""
    cryptogram = application_cryptogram(pan, psn, cdol1(amount_cents, tvr=tvr, currency="0978", day=day, un=UN),
                                         AIP, bytes.fromhex(atc))
    card = CardDataPayload(
        pan=pan, expiry=expiry, pan_sequence=f"{psn:02d}", aid="A0000000031010",
        arqc=arqc or cryptogram.hex().upper(), cid=cid, atc=atc, iad="06010A03A00000",
        unpredictable_number=UN.hex().upper(), amount_cents=amount_cents, currency_code="0978",
        transaction_date=day.strftime("%y%m%d"), tvr=tvr, aip=aip,
    )
    return CardDataPayload.model_validate(card.model_dump() | (tamper or {}))


def sealed(card: CardDataPayload):
    return seal(card.model_dump_json().encode(), PUBLIC_KEY)


def authorise(bank, card, amount_cents=None, **kwargs):
    return bank.authorise(sealed(card), card.amount_cents if amount_cents is None else amount_cents,
                          today=kwargs.pop("today", TODAY), **kwargs)


def luhn_pan_ending(prefix: str, ending: str) -> str:
    for d in range(10):
        pan = f"{prefix}{d}{ending}"
        if acquirer.luhn_valid(pan):
            return pan
    raise AssertionError("unreachable")


def assert_declined(decision, code):
    assert (decision.approved, decision.decline_code, decision.auth_code) == (False, code, None)
    assert decision.decline_message == DECLINE_MESSAGES[code]


# --- the acquirer's own crypto is the cards' -------------------------------------------------------------


def test_the_acquirer_has_the_same_test_issuer_key_and_computes_the_cards_arqc():
    assert acquirer.TEST_ISSUER_MASTER_KEY == TEST_ISSUER_MASTER_KEY
    card = payload()
    assert expected_arqc(card).hex().upper() == card.arqc
    # and the rebuilt CDOL1 data is byte for byte what the kiosk sends
    assert acquirer.cdol1_data(card) == cdol1(2495, tvr="0000000000", currency="0978", day=TODAY, un=UN)


def test_triple_des_comes_without_a_deprecation_warning(bank):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert authorise(bank, payload()).approved


# --- approved ---------------------------------------------------------------------------------------------


def test_a_genuine_card_is_approved_with_a_six_character_code(bank):
    decision = authorise(bank, payload())
    assert decision.approved and decision.decline_code is None and decision.decline_message is None
    assert len(decision.auth_code) == 6
    assert all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for c in decision.auth_code)


def test_the_auth_code_is_deterministic_per_payment_id(bank):
    first = authorise(bank, payload(), payment_id="pay-123")
    again = authorise(bank, payload(atc="0008"), payment_id="pay-123")
    other = authorise(bank, payload(), payment_id="pay-124")
    assert first.auth_code == again.auth_code == auth_code_for("pay-123")
    assert other.auth_code != first.auth_code
    assert all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" for c in first.auth_code) and len(first.auth_code) == 6


def test_a_payload_without_aip_verifies_with_the_test_cards_aip(bank):
    """Backwards compatible: a kiosk that does not send '82' yet still gets approved."""
    assert authorise(bank, payload(aip=None)).approved


def test_the_date_may_be_one_day_off_either_way(bank):
    for skew in (-1, 1):
        assert authorise(bank, payload(day=TODAY + timedelta(days=skew))).approved


def test_an_expired_application_bit_in_the_tvr_is_part_of_the_verified_data(bank):
    tvr = "0040000000"
    assert authorise(bank, payload(tvr=tvr)).approved
    assert_declined(authorise(bank, payload(tvr=tvr, tamper={"tvr": "0000000000"})), "invalid_cryptogram")


def test_the_amount_limit_is_inclusive(bank):
    assert authorise(bank, payload(500_000)).approved


# --- one test per decline rule ----------------------------------------------------------------------------


def test_rule_1_a_seal_that_does_not_open_is_invalid_card_data(bank):
    good = sealed(payload())
    flipped = good.ciphertext[:-2] + ("A" if good.ciphertext[-2] != "A" else "B") + good.ciphertext[-1]
    tampered = good.model_copy(update={"ciphertext": flipped})
    assert_declined(bank.authorise(tampered, 2495, today=TODAY), "invalid_card_data")


def test_rule_2_a_bad_luhn_pan_is_invalid_card(bank):
    bad = VISA_PAN[:-1] + str((int(VISA_PAN[-1]) + 1) % 10)
    assert_declined(authorise(bank, payload(pan=bad)), "invalid_card")


def test_rule_3_an_expired_card_is_expired_card(bank):
    assert_declined(authorise(bank, payload(expiry="260228")), "expired_card")
    assert authorise(bank, payload(expiry="260331")).approved  # valid through its month


@pytest.mark.parametrize("cid", ["00", "40", "C0"])
def test_rule_4_a_cryptogram_that_is_not_an_arqc_declines(bank, cid):
    assert_declined(authorise(bank, payload(cid=cid)), "cryptogram_not_arqc")


@pytest.mark.parametrize("skew", [-2, 2, 400])
def test_rule_5_a_transaction_date_more_than_a_day_off_declines(bank, skew):
    assert_declined(authorise(bank, payload(day=TODAY + timedelta(days=skew))), "invalid_transaction_date")


def test_rule_6_a_payload_amount_other_than_the_request_declines(bank):
    assert_declined(authorise(bank, payload(2495), amount_cents=2496), "amount_mismatch")


@pytest.mark.parametrize("change", [
    {"arqc": "0123456789ABCDEF"},        # made up
    {"amount_cents": 1},                 # amount changed after the card signed (request says 1 too)
    {"unpredictable_number": "00000000"},
    {"atc": "0008"},
    {"currency_code": "0840"},
    {"aip": "1900"},
    {"pan_sequence": "02"},
    {"pan": luhn_pan_ending("47617390010", "0028")},  # another card's number
])
def test_rule_7_an_arqc_that_does_not_verify_is_invalid_cryptogram(bank, change):
    card = payload(tamper=change)
    assert_declined(authorise(bank, card, amount_cents=card.amount_cents), "invalid_cryptogram")
    assert "could not be verified" in DECLINE_MESSAGES["invalid_cryptogram"]


@pytest.mark.parametrize("amount", [51, 1051, 249_951])
def test_rule_8_an_amount_ending_in_51_cents_is_insufficient_funds(bank, amount):
    assert_declined(authorise(bank, payload(amount)), "insufficient_funds")


@pytest.mark.parametrize("amount", [5, 1005, 249_905])
def test_rule_9_an_amount_ending_in_05_cents_is_do_not_honour(bank, amount):
    assert_declined(authorise(bank, payload(amount)), "do_not_honour")


def test_rule_10_a_pan_ending_in_0002_is_insufficient_funds(bank):
    assert_declined(authorise(bank, payload(pan="4761739001010002")), "insufficient_funds")


def test_rule_11_over_five_thousand_euro_is_amount_limit(bank):
    assert_declined(authorise(bank, payload(500_001)), "amount_limit")


def test_the_seeded_catalog_never_prices_an_article_at_51_or_05_cents():
    from central.seed import retail_price_cents
    endings = {retail_price_cents(e / 4) % 100 for e in range(0, 4 * 6000)}
    assert endings <= {95, 99}


# --- end to end: the real EMV read flow against the virtual cards -----------------------------------------


def read_and_seal(profile: str, amount_cents: int, day: date = TODAY):
    request = CardRequest(amount_cents=amount_cents, transaction_date=day)
    readout = emv.read_emv(VirtualCard(profile).respond, request)
    return seal_readout(readout, PUBLIC_KEY).sealed


@pytest.mark.parametrize("profile", ["visa", "mastercard", "maestro", "vpay", "no_ppse", "t0"])
def test_every_virtual_card_read_is_approved(bank, profile):
    decision = bank.authorise(read_and_seal(profile, 2495), 2495, today=TODAY, payment_id="p1")
    assert decision.approved, decision.decline_code


@pytest.mark.parametrize("profile, amount, code", [
    ("declined", 2495, "insufficient_funds"),
    ("expired", 2495, "expired_card"),
    ("visa", 1051, "insufficient_funds"),
    ("visa", 1005, "do_not_honour"),
])
def test_virtual_cards_decline_by_rule(bank, profile, amount, code):
    assert_declined(bank.authorise(read_and_seal(profile, amount), amount, today=TODAY), code)


def test_a_virtual_card_read_for_another_amount_is_amount_mismatch(bank):
    assert_declined(bank.authorise(read_and_seal("visa", 2495), 2595, today=TODAY), "amount_mismatch")


def test_a_virtual_card_read_replayed_days_later_declines(bank):
    assert_declined(bank.authorise(read_and_seal("visa", 2495), 2495, today=TODAY + timedelta(days=3)),
                    "invalid_transaction_date")
