"""Staff badges (issue 9): ATR patterns with XX wildcards, UIDs, and the simulated terminal."""

import threading
from pathlib import Path

import pytest

from kiosk.hardware.badges import GET_UID, BadgeMatcher, classify_card, identify_badge
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.hardware.terminal import BadgePresented, CardError, CardNotSupported, CardRequest
from kiosk.hardware.virtual_card import CONTACT_ATR, CONTACTLESS_ATR, MIFARE_1K_ATR, VirtualCard

KEY = Path(__file__).resolve().parents[1] / "config" / "payment_service_public.pem"


class Conn:
    def __init__(self, profile):
        self.card = VirtualCard(profile)
        self.atr = self.card.atr
        self.sent = []

    def transmit(self, command):
        self.sent.append(command)
        return self.card.respond(command)


def test_atr_patterns_and_uids():
    m = BadgeMatcher(atr_patterns=["3B 8F 80 01 XX 4F", "3b:80:80:01:01"], uids=["04a1b2c3", "04 11 22 33 44 55 66"])
    assert m.is_badge(bytes.fromhex("3B8F8001804F")) and m.is_badge("3B8F8001FF4F")
    assert not m.is_badge(bytes.fromhex("3B8F8001804F00"))  # length must match
    assert m.is_badge(CONTACTLESS_ATR)
    assert m.is_badge(b"\x3b\x00", uid=bytes.fromhex("04A1B2C3")) and m.is_badge([0x3B], uid="04112233445566")
    assert not m.is_badge(CONTACT_ATR, uid=b"\x01\x02\x03\x04") and not m.is_badge(CONTACT_ATR)
    assert not BadgeMatcher() and BadgeMatcher(uids=["01"])


@pytest.mark.parametrize("pattern", ["", "3B8", "3BZZ", "X3B"])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(ValueError):
        BadgeMatcher(atr_patterns=[pattern])


def test_classify_asks_the_uid_only_when_needed():
    badge = Conn("badge")
    assert classify_card(badge, BadgeMatcher(uids=["04A1B2C3"])) == "badge" and badge.sent == [GET_UID]
    by_atr = Conn("badge")
    assert identify_badge(by_atr, BadgeMatcher(atr_patterns=[MIFARE_1K_ATR.hex()], uids=["00"])) == MIFARE_1K_ATR.hex().upper()
    assert by_atr.sent == []
    contact = Conn("maestro_contact")
    assert classify_card(contact, BadgeMatcher(uids=["04A1B2C3"])) == "payment" and contact.sent == []  # no UID on contact
    visa = Conn("visa")
    assert classify_card(visa, BadgeMatcher(uids=["04A1B2C3"])) == "payment" and visa.sent == [GET_UID]
    assert classify_card(Conn("badge"), None) == "payment"


def test_simulated_terminal_tells_a_badge():
    matcher = BadgeMatcher(uids=["04A1B2C3"])
    with pytest.raises(BadgePresented) as caught:
        SimulatedTerminal(KEY, profile="badge", delay_s=0, badge_matcher=matcher).read_card(CardRequest(100), threading.Event())
    assert isinstance(caught.value, CardError) and caught.value.reason == "staff_badge" and caught.value.badge_id == "04A1B2C3"
    with pytest.raises(CardNotSupported):  # no badges configured: just a card we cannot pay with
        SimulatedTerminal(KEY, profile="badge", delay_s=0).read_card(CardRequest(100), threading.Event())
    result = SimulatedTerminal(KEY, profile="visa", delay_s=0, badge_matcher=matcher).read_card(CardRequest(100), threading.Event())
    assert result.summary.scheme == "Visa"


def test_simulated_terminal_passes_the_chooser_and_the_contact_interface():
    result = SimulatedTerminal(KEY, profile="two_apps_confirm", delay_s=0).read_card(
        CardRequest(100), threading.Event(), choose_application=lambda apps: apps[-1]
    )
    assert result.summary.scheme == "Maestro"
    assert SimulatedTerminal(KEY, profile="maestro_contact", delay_s=0).read_card(
        CardRequest(100), threading.Event()
    ).summary.scheme == "Maestro"
