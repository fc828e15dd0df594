"""The EMV read flow against in-process virtual cards, and the sealed result it produces."""

import json
import logging
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from kiosk.contract.sealing import CardDataPayload, load_private_key, load_public_key, open_sealed
from kiosk.hardware import emv
from kiosk.hardware.card_result import seal_readout
from kiosk.hardware.masking import expiry_month, mask_pan
from kiosk.hardware.terminal import CardNotSupported, CardReadFailed, CardRequest
from kiosk.hardware.virtual_card import (
    PROFILES,
    SW_OK,
    VirtualCard,
    application_cryptogram,
)

REPO = Path(__file__).resolve().parents[1]
PUBLIC_KEY = load_public_key(REPO / "config" / "payment_service_public.pem")
PRIVATE_KEY = load_private_key(REPO / "central" / "keys" / "demo_payment_service_private.pem")
TODAY = date(2025, 6, 1)
REQUEST = CardRequest(amount_cents=2495, transaction_date=TODAY)
UN = bytes.fromhex("CAFEBABE")


def read(profile, request=REQUEST, **kwargs):
    card = profile if isinstance(profile, VirtualCard) else VirtualCard(profile)
    return emv.read_emv(card.respond, request, unpredictable_number=UN, **kwargs)


def open_payload(result) -> CardDataPayload:
    return CardDataPayload.model_validate_json(open_sealed(result.sealed, PRIVATE_KEY))


@pytest.mark.parametrize(
    "profile, scheme, masked, month",
    [
        ("visa", "Visa", "476173******0010", "2030-12"),
        ("mastercard", "Mastercard", "541333******0012", "2029-11"),
        ("maestro", "Maestro", "679999*********0019", "2028-10"),
        ("vpay", "V PAY", "482039******0027", "2029-06"),
        ("declined", "Visa", "476173******0002", "2030-12"),
        ("expired", "Visa", "476173******0010", "2020-01"),
        ("no_ppse", "Visa", "476173******0010", "2030-12"),
        ("t0", "Visa", "476173******0010", "2030-12"),
    ],
)
def test_each_profile_reads_to_a_masked_summary_and_a_sealed_payload(profile, scheme, masked, month):
    result = seal_readout(read(profile), PUBLIC_KEY)
    assert (result.summary.scheme, result.summary.masked_pan, result.summary.expiry_month) == (scheme, masked, month)

    payload = open_payload(result)
    card = PROFILES[profile]
    assert payload.pan == card.pan
    assert payload.expiry == card.expiry
    assert payload.aid == card.aid.hex().upper()
    assert payload.cid == "80"  # ARQC: go online
    assert payload.atc == "0001"
    assert payload.amount_cents == 2495 and payload.currency_code == "0978"
    assert payload.transaction_date == "250601" and payload.unpredictable_number == "CAFEBABE"


def test_arqc_is_the_test_issuers_mac_over_the_cdol1_data():
    readout = read("visa")
    values = emv.terminal_values(REQUEST, TODAY, UN)
    cdol_data = emv.tlv.fill_dol(emv.tlv.parse_dol(PROFILES["visa"].cdol1), values)
    expected = application_cryptogram(PROFILES["visa"].pan, 1, cdol_data, PROFILES["visa"].aip, b"\x00\x01")
    assert readout.arqc == expected
    assert open_payload(seal_readout(readout, PUBLIC_KEY)).arqc == expected.hex().upper()


def test_atc_counts_up_per_read():
    card = VirtualCard("visa")
    assert [read(card).atc for _ in range(3)] == [b"\x00\x01", b"\x00\x02", b"\x00\x03"]


def test_expired_card_sets_the_tvr_bit():
    assert read("expired").tvr == bytes.fromhex("0040000000")
    assert read("visa").tvr == bytes(5)


def test_ppse_priority_picks_the_best_accepted_application():
    """A co-badged card: Maestro (priority 2), Mastercard (priority 1), an unknown AID (priority 0)."""
    from kiosk.hardware import tlv

    entries = [
        tlv.template(0x61, (0x4F, bytes.fromhex("A0000000043060")), (0x87, b"\x02")),
        tlv.template(0x61, (0x4F, bytes.fromhex("A0000009999999")), (0x87, b"\x00")),
        tlv.template(0x61, (0x4F, bytes.fromhex("A0000000041010")), (0x87, b"\x01")),
    ]
    fci = tlv.template(0x6F, (0x84, emv.PPSE), tlv.template(0xA5, tlv.encode(0xBF0C, b"".join(entries))))

    def card(command: bytes) -> bytes:
        return fci + SW_OK

    channel = emv.CardChannel(card)
    assert emv.candidate_applications(channel, emv.DEFAULT_AIDS) == [
        bytes.fromhex("A0000000041010"),
        bytes.fromhex("A0000000043060"),
    ]


def test_without_ppse_the_accepted_aid_list_is_tried_in_order():
    card = VirtualCard(replace(PROFILES["maestro"], has_ppse=False))
    sent = []

    def transmit(command: bytes) -> bytes:
        sent.append(command)
        return card.respond(command)

    readout = emv.read_emv(transmit, REQUEST)
    assert readout.scheme == "Maestro"
    selects = [c[5 : 5 + c[4]].hex().upper() for c in sent if c[1] == 0xA4]
    assert selects == ["325041592E5359532E4444463031", "A0000000031010", "A0000000041010", "A0000000043060"]


def test_card_without_an_accepted_application_is_not_supported():
    with pytest.raises(CardNotSupported):
        read("unsupported")
    with pytest.raises(CardNotSupported):
        read("visa", accepted_aids=(emv.MASTERCARD,))
    with pytest.raises(CardNotSupported):
        read(replace(PROFILES["unsupported"], has_ppse=False))


def test_garbage_gpo_is_a_read_failure():
    with pytest.raises(CardReadFailed, match="GET PROCESSING OPTIONS"):
        read("garbage_gpo")


@pytest.mark.parametrize(
    "command, answer, message",
    [
        ("GPO", "6F00", "GET PROCESSING OPTIONS"),
        ("GPO", "7704820219809000", "GET PROCESSING OPTIONS"),  # no AFL
        ("GPO", "770882021980940400000000" "9000", "GET PROCESSING OPTIONS"),  # invalid AFL entry
        ("GPO", "8002198090" "00", "card number"),  # format 1, empty AFL: no records, so no PAN
        ("READ RECORD", "6A83", "READ RECORD"),
        ("READ RECORD", "77035A01119000", "READ RECORD"),  # a record must be template 70
        ("GENERATE AC", "770A9F2701809F360200019000", "GENERATE AC"),  # no cryptogram
        ("GENERATE AC", "9000", "GENERATE AC"),
        ("SELECT AID", "6F029000", "application selection"),
    ],
)
def test_broken_answers_become_read_failures(command, answer, message):
    profile = replace(PROFILES["visa"], name="broken", responses={command: bytes.fromhex(answer)})
    with pytest.raises(CardReadFailed, match=message):
        read(profile)


def test_gpo_refused_means_not_supported():
    profile = replace(PROFILES["visa"], responses={"GPO": bytes.fromhex("6985")})
    with pytest.raises(CardNotSupported, match="6985"):
        read(profile)


def test_card_declining_offline_with_an_aac_is_not_supported():
    profile = replace(PROFILES["visa"], responses={"GENERATE AC": bytes.fromhex("770B9F2701009F360200019F2600" + "9000")})
    with pytest.raises(CardReadFailed):  # malformed 9F26: a read failure
        read(profile)
    aac = "7718" "9F270100" "9F36020001" "9F2608" + "11" * 8 + "9F100100"
    profile = replace(PROFILES["visa"], responses={"GENERATE AC": bytes.fromhex(aac) + SW_OK})
    with pytest.raises(CardNotSupported, match="AAC"):
        read(profile)


def test_pan_and_expiry_fall_back_to_track_2():
    data = {0x57: bytes.fromhex("4761739001010010D30122010000000000")}
    assert emv.card_number_and_expiry(data) == ("4761739001010010", "301231")
    with pytest.raises(CardReadFailed, match="card number"):
        emv.card_number_and_expiry({0x5F24: bytes.fromhex("301231")})


def test_masking():
    assert mask_pan("4761739001010010") == "476173******0010"
    assert mask_pan("6799990100000000019") == "679999*********0019"
    assert mask_pan("123456789012") == "123456**9012"
    assert expiry_month("301231") == "2030-12"
    assert expiry_month("9912") == "1999-12"


def test_full_pan_never_in_repr_str_errors_or_logs(caplog):
    pan = PROFILES["visa"].pan
    caplog.set_level(logging.DEBUG, logger="kiosk")
    readout = read("visa")
    result = seal_readout(readout, PUBLIC_KEY)
    for text in (repr(readout), str(readout), repr(result), str(result), result.summary.model_dump_json(),
                 result.sealed.model_dump_json(), caplog.text):
        assert pan not in text
    assert "476173******0010" in caplog.text  # the masked form is what gets logged

    # An invalid record (here an expiry with month 13) must not carry the PAN in its error.
    bad = replace(readout, expiry="301331")
    with pytest.raises(CardReadFailed) as caught:
        seal_readout(bad, PUBLIC_KEY)
    assert pan not in str(caught.value)
    assert caught.value.__suppress_context__  # the validation error (which quotes input) is not chained


def test_payload_is_json_the_payment_service_can_read():
    payload = json.loads(open_sealed(seal_readout(read("mastercard"), PUBLIC_KEY).sealed, PRIVATE_KEY))
    assert payload["pan"] == "5413330089010012" and len(payload["arqc"]) == 16


def test_hostile_pdol_asking_for_gigabytes_is_a_read_failure():
    profile = replace(PROFILES["visa"], pdol=bytes.fromhex("9F0284FFFFFFFF"))
    with pytest.raises(CardReadFailed, match="DOL asks for"):
        read(profile)


def test_any_garbage_answer_ends_in_a_card_error():
    """Random answers at every step: the flow only ever raises a CardError subclass."""
    import random

    from kiosk.hardware.terminal import CardError

    rng = random.Random(7)
    steps = ["SELECT PPSE", "SELECT AID", "GPO", "READ RECORD", "GENERATE AC"]
    for i in range(2000):
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30)))
        if rng.random() < 0.7:
            garbage += SW_OK
        profile = replace(PROFILES["visa"], responses={steps[i % len(steps)]: garbage})
        try:
            read(profile)
        except CardError:
            pass
