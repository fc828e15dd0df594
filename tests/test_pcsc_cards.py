"""Every test card of issue 5 point 7, and a staff badge (point 9), through the real pcscd, the vpcd
virtual reader and `PcscTerminal`: contact and contactless, two applications, the broken ones."""

import threading

import pytest

from kiosk.contract.sealing import CardDataPayload, load_private_key, open_sealed
from kiosk.hardware import open_terminal
from kiosk.hardware.badges import BadgeMatcher
from kiosk.hardware.pcsc_terminal import PcscTerminal
from kiosk.hardware.terminal import (
    BadgePresented,
    CardNeedsPin,
    CardNotSupported,
    CardReadFailed,
    CardRemovedTooEarly,
    CardRequest,
    ReadCancelled,
)
from kiosk.hardware.virtual_card import PROFILES, VirtualCard
from support.pcsc import PAYMENT_PRIVATE_KEY, PAYMENT_PUBLIC_KEY

PRIVATE_KEY = load_private_key(PAYMENT_PRIVATE_KEY)
pytestmark = pytest.mark.hardware

BADGE_UID = PROFILES["badge"].uid.hex().upper()


def terminal(reader: str, **kwargs) -> PcscTerminal:
    return PcscTerminal(reader, PAYMENT_PUBLIC_KEY, **kwargs)


def read(reader: str, amount: int = 2495, **kwargs):
    choose = kwargs.pop("choose_application", None)
    request = CardRequest(amount_cents=amount, card_timeout_s=5)
    return terminal(reader, **kwargs).read_card(request, threading.Event(), choose_application=choose)


def payload(result) -> CardDataPayload:
    return CardDataPayload.model_validate_json(open_sealed(result.sealed, PRIVATE_KEY))


@pytest.mark.parametrize(
    "profile, scheme, masked",
    [
        ("visa", "Visa", "476173******0010"),
        ("mastercard", "Mastercard", "541333******0012"),
        ("maestro_contact", "Maestro", "679999*********0019"),
        ("vpay_contact", "V PAY", "482039******0027"),
        ("expired", "Visa", "476173******0010"),  # read; the TVR says expired, the acquirer declines
        ("pin_above_limit", "Visa", "476173******0010"),  # under the limit: no PIN
    ],
)
def test_card_reads_to_an_arqc(vpcd_reader, vpcd_card, profile, scheme, masked):
    card = vpcd_card(profile)
    result = read(vpcd_reader)
    assert (result.summary.scheme, result.summary.masked_pan) == (scheme, masked)
    data = payload(result)
    assert data.pan == PROFILES[profile].pan and data.cid == "80" and len(data.arqc) == 16
    assert data.tvr == ("0040000000" if profile == "expired" else "0000000000")
    assert [c[1] for c in card.commands if c[1] != 0xC0][-1] == 0xAE  # GENERATE AC last (then GET RESPONSE on T=0)


def test_contact_card_uses_the_pse_directory_and_t0(vpcd_reader, vpcd_card):
    card = vpcd_card("maestro_contact")
    read(vpcd_reader)
    selects = [c[5 : 5 + c[4]] for c in card.commands if c[1] == 0xA4]
    assert selects == [b"1PAY.SYS.DDF01", bytes.fromhex("A0000000043060")]
    assert 0xC0 in [c[1] for c in card.commands]  # 61xx answers fetched with GET RESPONSE


def test_pin_above_the_limit_stops_before_generate_ac(vpcd_reader, vpcd_card):
    card = vpcd_card("pin_above_limit")
    with pytest.raises(CardNeedsPin, match="online PIN") as caught:
        read(vpcd_reader, amount=5001)
    assert caught.value.reason == "pin_required"
    assert 0xAE not in [c[1] for c in card.commands]


def test_contact_card_above_its_cvm_list_limit_needs_a_pin(vpcd_reader, vpcd_card):
    vpcd_card("maestro_contact")
    with pytest.raises(CardNeedsPin):
        read(vpcd_reader, amount=7500)


def test_two_applications_by_priority_and_by_choice(vpcd_reader, vpcd_card):
    vpcd_card("two_apps")
    assert read(vpcd_reader).summary.scheme == "Mastercard"


def test_two_applications_the_shopper_chooses(vpcd_reader, vpcd_card):
    vpcd_card("two_apps_confirm")
    offered = []

    def choose(apps):
        offered.append([a.scheme for a in apps])
        return apps[1]

    assert read(vpcd_reader, choose_application=choose).summary.scheme == "Maestro"
    assert offered == [["Mastercard", "Maestro"]]


def test_two_applications_shopper_cancels(vpcd_reader, vpcd_card):
    vpcd_card("two_apps_confirm")
    with pytest.raises(ReadCancelled):
        read(vpcd_reader, choose_application=lambda apps: None)


@pytest.mark.parametrize("profile", ["garbage", "garbage_gpo"])
def test_card_answering_garbage_is_unreadable(vpcd_reader, vpcd_card, profile):
    vpcd_card(profile)
    with pytest.raises(CardReadFailed) as caught:
        read(vpcd_reader)
    assert caught.value.reason == "card_unreadable"


def test_card_removed_in_the_middle_of_the_read(vpcd_reader, vpcd_card):
    card = vpcd_card("withdrawn")
    with pytest.raises(CardRemovedTooEarly):
        read(vpcd_reader)
    assert card.withdrawn.is_set()


def test_badge_by_uid(vpcd_reader, vpcd_card):
    card = vpcd_card("badge")
    with pytest.raises(BadgePresented) as caught:
        read(vpcd_reader, badge_matcher=BadgeMatcher(uids=[BADGE_UID]))
    assert caught.value.reason == "staff_badge" and caught.value.badge_id == BADGE_UID
    assert [c.hex().upper() for c in card.commands] == ["FFCA000000"]  # no EMV command sent


def test_badge_by_atr_pattern_sends_nothing(vpcd_reader, vpcd_card):
    card = vpcd_card("badge")
    matcher = BadgeMatcher(atr_patterns=["3B 8F 80 01 80 4F 0C A0 00 00 03 06 03 00 01 00 00 00 00 XX"])
    terminal_ = open_terminal("pcsc", reader=vpcd_reader, public_key_path=PAYMENT_PUBLIC_KEY, badge_matcher=matcher)
    with pytest.raises(BadgePresented) as caught:
        terminal_.read_card(CardRequest(100, card_timeout_s=5), threading.Event())
    assert caught.value.badge_id == PROFILES["badge"].atr.hex().upper()
    assert card.commands == []


def test_unknown_badge_is_no_payment_card(vpcd_reader, vpcd_card):
    vpcd_card("badge")
    with pytest.raises(CardNotSupported):
        read(vpcd_reader, badge_matcher=BadgeMatcher(uids=["11223344"]))


def test_payment_card_with_badges_configured_still_pays(vpcd_reader, vpcd_card):
    vpcd_card("visa")
    result = read(vpcd_reader, badge_matcher=BadgeMatcher(atr_patterns=["3B8F8001XX"], uids=[BADGE_UID]))
    assert result.summary.scheme == "Visa"


def test_every_profile_has_a_pcscd_test():
    """Issue 5 point 7: each test card is read through pcscd somewhere in the hardware tests."""
    import pathlib
    import re

    here = pathlib.Path(__file__).parent
    text = "".join(p.read_text() for p in here.glob("test_pcsc_*.py"))
    named = set(re.findall(r'"([a-z0-9_]+)"', text))
    untested = set(PROFILES) - named - {"declined", "no_ppse", "unsupported", "t0", "maestro", "vpay", "phone_cdcvm"}
    assert untested == set()
    assert VirtualCard("badge").atr == PROFILES["badge"].atr
