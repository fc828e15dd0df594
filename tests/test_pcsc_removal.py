"""A card lifted mid-read is "removed too early" (hold it still, tap again), also when it is back on
the reader before pcscd notices; only a card that stays and answers malformed data is "unreadable".

Through the real pcscd and the vpcd reader with the emulated cards ("withdrawn" leaves the field when
GENERATE AC arrives, "garbage" answers junk), plus the PC/SC error mapping on its own.
"""

import threading

import pytest
from smartcard import scard

from kiosk.hardware import pcsc_terminal
from kiosk.hardware.card_reader import CardConnection
from kiosk.hardware.pcsc_terminal import PcscTerminal
from kiosk.hardware.terminal import CardReadFailed, CardRemovedTooEarly, CardRequest
from support.pcsc import PAYMENT_PUBLIC_KEY, wait_for_card_state


def read(reader: str):
    return PcscTerminal(reader, PAYMENT_PUBLIC_KEY).read_card(CardRequest(100, card_timeout_s=5), threading.Event())


def tap_again_at_once(card) -> threading.Event:
    """When the card leaves the field by itself (its profile's `withdraw_at`), put it straight back:
    a shopper whose hand wobbled. pcscd polls the reader about every 400 ms, so it does not see the
    card go. Returns an event set once the card is back."""
    back = threading.Event()

    def watch() -> None:
        if not card.withdrawn.wait(10):
            return
        old, card._sock = card._sock, None  # the emulator already closed its side
        if old is not None:
            old.close()
        card.insert()
        back.set()

    threading.Thread(target=watch, daemon=True).start()
    return back


@pytest.mark.hardware
@pytest.mark.parametrize("attempt", range(3))
def test_card_lifted_mid_command_and_back_at_once_is_removed_not_unreadable(vpcd_reader, vpcd_card, attempt):
    card = vpcd_card("withdrawn")
    back = tap_again_at_once(card)
    with pytest.raises(CardRemovedTooEarly) as caught:
        read(vpcd_reader)
    assert caught.value.reason == "card_removed"
    assert back.wait(2), "the card was tapped again"
    wait_for_card_state(vpcd_reader, present=True)  # it IS on the reader: presence decides nothing


@pytest.mark.hardware
def test_card_lifted_for_good_is_removed(vpcd_reader, vpcd_card):
    card = vpcd_card("withdrawn")
    with pytest.raises(CardRemovedTooEarly):
        read(vpcd_reader)
    assert card.withdrawn.is_set()


@pytest.mark.hardware
@pytest.mark.parametrize("profile", ["garbage", "garbage_gpo"])
def test_card_that_stays_and_answers_garbage_is_unreadable(vpcd_reader, vpcd_card, profile):
    vpcd_card(profile)
    with pytest.raises(CardReadFailed) as caught:
        read(vpcd_reader)
    assert caught.value.reason == "card_unreadable"


@pytest.mark.hardware
def test_an_odd_answer_from_a_card_swapped_under_the_connection_is_removed(vpcd_reader, vpcd_card, monkeypatch):
    """The last answer was junk, and meanwhile pcscd saw the card go and come back: the card moved."""
    first = vpcd_card("visa")
    swapped = []

    def read_emv_while_the_card_is_swapped(transmit, request, **kwargs):
        transmit(bytes.fromhex("00A404000E325041592E5359532E444446303100"))  # SELECT PPSE: answered
        first.remove()
        wait_for_card_state(vpcd_reader, present=False)
        swapped.append(vpcd_card("visa"))
        raise CardReadFailed("GET PROCESSING OPTIONS: malformed card answer")

    monkeypatch.setattr(pcsc_terminal, "read_emv", read_emv_while_the_card_is_swapped)
    with pytest.raises(CardRemovedTooEarly):
        read(vpcd_reader)
    assert swapped


@pytest.mark.hardware
def test_a_card_that_stays_has_no_state_change(vpcd_reader, vpcd_card, monkeypatch):
    vpcd_card("visa")

    def malformed(transmit, request, **kwargs):
        transmit(bytes.fromhex("00A404000E325041592E5359532E444446303100"))
        raise CardReadFailed("GET PROCESSING OPTIONS: malformed card answer")

    monkeypatch.setattr(pcsc_terminal, "read_emv", malformed)
    with pytest.raises(CardReadFailed):
        read(vpcd_reader)


# --- the PC/SC answer mapping, without pcscd ----------------------------------------------------------


def connection() -> CardConnection:
    return CardConnection(context=None, reader="Test Reader", handle=1, protocol=scard.SCARD_PROTOCOL_T1, atr=b"")


@pytest.mark.parametrize(
    "hresult, response, expected",
    [
        (scard.SCARD_S_SUCCESS, [], CardRemovedTooEarly),  # no answer at all: left mid-command
        (scard.SCARD_S_SUCCESS, [0x90], CardReadFailed),  # answered, but not even a status word
        (scard.SCARD_E_NOT_TRANSACTED, [], CardRemovedTooEarly),
        (scard.SCARD_E_COMM_DATA_LOST, [], CardRemovedTooEarly),
        (scard.SCARD_W_UNRESPONSIVE_CARD, [], CardRemovedTooEarly),
        (scard.SCARD_F_COMM_ERROR, [], CardRemovedTooEarly),
        (scard.SCARD_W_REMOVED_CARD, [], CardRemovedTooEarly),
        (scard.SCARD_W_RESET_CARD, [], CardRemovedTooEarly),
        (scard.SCARD_E_NO_SMARTCARD, [], CardRemovedTooEarly),
    ],
)
def test_transmit_failures_are_classified_by_what_the_exchange_says(monkeypatch, hresult, response, expected):
    monkeypatch.setattr(scard, "SCardTransmit", lambda handle, pci, command: (hresult, response))
    presence_asked = []
    monkeypatch.setattr(scard, "SCardGetStatusChange", lambda *a: presence_asked.append(a) or (0, []))
    with pytest.raises(expected):
        connection().transmit(bytes.fromhex("00A4040000"))
    assert presence_asked == [], "whether a card is on the reader now decides nothing"


def test_a_full_answer_passes(monkeypatch):
    monkeypatch.setattr(scard, "SCardTransmit", lambda handle, pci, command: (scard.SCARD_S_SUCCESS, [0x6A, 0x82]))
    assert connection().transmit(bytes.fromhex("00A4040000")) == b"\x6a\x82"
