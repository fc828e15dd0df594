"""Application selection (EMV Book 1 section 12): contact PSE directory, PPSE priorities, the
shopper's choice when the card asks for one, and the interface told by the ATR."""

from dataclasses import replace
from datetime import date

import pytest

from kiosk.hardware import emv
from kiosk.hardware.terminal import ApplicationChoice, CardNotSupported, CardRequest, ReadCancelled
from kiosk.hardware.virtual_card import CONTACT_ATR, CONTACTLESS_ATR, MIFARE_1K_ATR, PROFILES, VirtualCard

REQUEST = CardRequest(amount_cents=2495, transaction_date=date(2025, 6, 1))


def run(profile, *, interface=emv.CONTACTLESS, choose=None):
    card = VirtualCard(profile)
    sent: list[bytes] = []

    def transmit(command: bytes) -> bytes:
        sent.append(command)
        return card.respond(command)

    readout = emv.read_emv(transmit, REQUEST, interface=interface, choose_application=choose)
    return readout, sent


def selected_names(sent):
    return [c[5 : 5 + c[4]] for c in sent if c[1] == 0xA4]


def test_interface_from_the_atr():
    assert emv.interface_for_atr(CONTACTLESS_ATR) == emv.CONTACTLESS
    assert emv.interface_for_atr(MIFARE_1K_ATR) == emv.CONTACTLESS
    assert emv.interface_for_atr(CONTACT_ATR) == emv.CONTACT
    assert emv.interface_for_atr(b"") == emv.CONTACT


def test_contact_pse_directory_is_read_with_read_record():
    readout, sent = run("maestro_contact", interface=emv.CONTACT)
    assert readout.scheme == "Maestro" and readout.masked_pan == "679999*********0019"
    assert selected_names(sent) == [emv.PSE, emv.MAESTRO]
    # READ RECORD SFI 1 record 1 (the directory), then record 2 -> 6A83 ends it.
    assert [c[:4].hex().upper() for c in sent if c[1] == 0xB2][:2] == ["00B2010C", "00B2020C"]


def test_contact_without_pse_falls_back_to_the_aid_list():
    profile = replace(PROFILES["vpay_contact"], pse=False)
    readout, sent = run(profile, interface=emv.CONTACT)
    assert readout.scheme == "V PAY"
    assert selected_names(sent)[0] == emv.PSE and selected_names(sent)[-1] == emv.VISA_VPAY


@pytest.mark.parametrize("broken", ["6283", "6F00", "9000", "6F029000"])
def test_unusable_pse_falls_back_to_the_aid_list(broken):
    profile = replace(PROFILES["vpay_contact"], responses={"SELECT PSE": bytes.fromhex(broken)})
    assert run(profile, interface=emv.CONTACT)[0].scheme == "V PAY"


def test_broken_pse_directory_record_falls_back_to_the_aid_list():
    profile = replace(PROFILES["maestro_contact"], directory=((emv.MAESTRO, "MAESTRO", 0x01),))
    card = VirtualCard(profile)

    def transmit(command: bytes) -> bytes:
        if command[1] == 0xB2 and card._selected == emv.PSE:
            return bytes.fromhex("6F00")
        return card.respond(command)

    assert emv.read_emv(transmit, REQUEST, interface=emv.CONTACT).scheme == "Maestro"


def test_two_applications_highest_priority_wins_without_asking():
    asked = []
    readout, sent = run("two_apps", choose=lambda apps: asked.append(apps))
    assert readout.scheme == "Mastercard" and asked == []
    # Priorities swapped: Maestro wins.
    swapped = replace(PROFILES["two_apps"], directory=((emv.MASTERCARD, "MASTERCARD", 2), (emv.MAESTRO, "MAESTRO", 1)))
    assert run(swapped)[0].scheme == "Maestro"


def test_confirmation_required_asks_the_shopper():
    offered: list[list[ApplicationChoice]] = []

    def pick_maestro(apps):
        offered.append(apps)
        return next(a for a in apps if a.scheme == "Maestro")

    readout, sent = run("two_apps_confirm", choose=pick_maestro)
    assert readout.scheme == "Maestro"
    assert offered == [[
        ApplicationChoice("A0000000041010", "MASTERCARD", 1, "Mastercard"),
        ApplicationChoice("A0000000043060", "MAESTRO", 2, "Maestro"),
    ]]
    assert selected_names(sent)[-1] == emv.MAESTRO
    # No chooser: the highest priority, without asking (the brief's rule for today's callers).
    assert run("two_apps_confirm")[0].scheme == "Mastercard"


def test_equal_priorities_ask_the_shopper_and_cancel_is_a_cancel():
    equal = replace(PROFILES["two_apps"], directory=((emv.MASTERCARD, "MASTERCARD", 1), (emv.MAESTRO, "MAESTRO", 1)))
    assert run(equal, choose=lambda apps: apps[1])[0].scheme == "Maestro"
    assert run(equal)[0].scheme == "Mastercard"  # directory order among equals
    with pytest.raises(ReadCancelled):
        run(equal, choose=lambda apps: None)
    with pytest.raises(CardNotSupported):
        run(equal, choose=lambda apps: ApplicationChoice("A0000000999999", "X", 1))


def test_single_application_needing_confirmation_is_asked():
    confirm = replace(PROFILES["visa"], directory=((emv.VISA, "VISA DEBIT", 0x81),))
    offered = []
    readout, _ = run(confirm, choose=lambda apps: offered.append(apps) or apps[0])
    assert readout.scheme == "Visa" and len(offered) == 1 and offered[0][0].label == "VISA DEBIT"


def test_needs_choice_rules():
    a, b = emv.Application(emv.VISA, priority=1), emv.Application(emv.MAESTRO, priority=2)
    assert not emv.needs_choice([]) and not emv.needs_choice([a]) and not emv.needs_choice([a, b])
    assert emv.needs_choice([a, replace(b, priority=1)])
    assert emv.needs_choice([replace(a, confirm=True), b])
    assert emv.needs_choice([emv.Application(emv.VISA), emv.Application(emv.MAESTRO)])  # both "no priority"


def test_garbage_card_is_a_read_failure():
    from kiosk.hardware.terminal import CardReadFailed

    with pytest.raises(CardReadFailed, match="application selection"):
        run("garbage")
