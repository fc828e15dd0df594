"""The PC/SC terminal through a real pcscd, the vpcd virtual reader and an emulated card."""

import threading
import time
from pathlib import Path

import pytest
from smartcard import scard

from kiosk.contract.sealing import CardDataPayload, load_private_key, open_sealed
from kiosk.hardware import open_terminal, pcsc_readers
from kiosk.hardware.pcsc_terminal import PcscTerminal
from kiosk.hardware.terminal import (
    CardRemovedTooEarly,
    CardRequest,
    NoCardPresented,
    ReadCancelled,
    ReaderUnavailable,
)
from support.pcsc import PAYMENT_PRIVATE_KEY, PAYMENT_PUBLIC_KEY, insert_later, wait_for_card_state
from support.vpcd_card import VpcdCard

PRIVATE_KEY = load_private_key(PAYMENT_PRIVATE_KEY)


def terminal(reader: str) -> PcscTerminal:
    return PcscTerminal(reader, PAYMENT_PUBLIC_KEY)


@pytest.mark.hardware
def test_pcsc_readers_lists_the_virtual_readers(vpcd_reader):
    assert {"Virtual PCD 00 00", "Virtual PCD 00 01"} <= set(pcsc_readers())
    # Virtual readers never count as "a reader is attached" unless named in the config.
    assert open_terminal("auto", reader=None, public_key_path=PAYMENT_PUBLIC_KEY).name == "simulated"
    assert open_terminal("auto", reader="virtual pcd 00 00", public_key_path=PAYMENT_PUBLIC_KEY).name == "pcsc"
    assert terminal("00 00").is_available()
    assert not terminal("no such reader").is_available()


@pytest.mark.hardware
def test_card_read_through_pcscd(vpcd_reader, vpcd_card):
    card = vpcd_card("visa")
    result = terminal(vpcd_reader).read_card(CardRequest(amount_cents=4250), threading.Event())
    assert result.summary.scheme == "Visa" and result.summary.masked_pan == "476173******0010"
    payload = CardDataPayload.model_validate_json(open_sealed(result.sealed, PRIVATE_KEY))
    assert payload.pan == "4761739001010010" and payload.amount_cents == 4250 and payload.cid == "80"
    assert [c[1] for c in card.commands] == [0xA4, 0xA4, 0xA8, 0xB2, 0xB2, 0xAE]


@pytest.mark.hardware
def test_card_tapped_while_waiting_and_t0_get_response(vpcd_reader, vpcd_card):
    card = vpcd_card("t0", wait=False)  # inserted now, but pcscd notices it only later
    result = terminal("virtual pcd 00 00").read_card(CardRequest(100, card_timeout_s=5), threading.Event())
    assert result.summary.masked_pan == "476173******0010"
    assert 0xC0 in [c[1] for c in card.commands]  # the 61xx answers were fetched with GET RESPONSE


@pytest.mark.hardware
def test_late_tap(vpcd_reader, vpcd_card):
    card = VpcdCard("mastercard")
    timer = insert_later(card, 0.3)
    try:
        result = terminal(vpcd_reader).read_card(CardRequest(100, card_timeout_s=5), threading.Event())
        assert result.summary.scheme == "Mastercard"
    finally:
        timer.join()
        card.remove()
        wait_for_card_state(vpcd_reader, present=False)


@pytest.mark.hardware
def test_no_card_times_out(vpcd_reader, vpcd_card):
    started = time.monotonic()
    with pytest.raises(NoCardPresented):
        terminal(vpcd_reader).read_card(CardRequest(100, card_timeout_s=0.6), threading.Event())
    assert time.monotonic() - started < 1.5


@pytest.mark.hardware
def test_cancel_is_honoured_promptly(vpcd_reader, vpcd_card):
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ReadCancelled):
        terminal(vpcd_reader).read_card(CardRequest(100, card_timeout_s=30), cancel)
    assert time.monotonic() - started < 0.2 + 0.5


@pytest.mark.hardware
def test_card_removed_mid_read(vpcd_reader, vpcd_card):
    card = vpcd_card("withdrawn")  # leaves the field when GENERATE AC arrives
    with pytest.raises(CardRemovedTooEarly):
        terminal(vpcd_reader).read_card(CardRequest(100), threading.Event())
    assert card.withdrawn.is_set()


@pytest.mark.hardware
def test_unknown_reader_is_unavailable(vpcd_reader):
    with pytest.raises(ReaderUnavailable, match="no card reader named like"):
        terminal("Acme 3000").read_card(CardRequest(100, card_timeout_s=0.2), threading.Event())


def test_pcscd_down_means_no_readers_and_a_clear_error(monkeypatch):
    """No pcscd needed: PC/SC answers "no service" as it does when the daemon is not running."""
    monkeypatch.setattr(scard, "SCardEstablishContext", lambda scope: (scard.SCARD_E_NO_SERVICE, 0))
    assert pcsc_readers() == []
    pcsc = terminal("Virtual PCD")
    assert not pcsc.is_available()
    with pytest.raises(ReaderUnavailable, match="pcscd is not running"):
        pcsc.read_card(CardRequest(100, card_timeout_s=0.2), threading.Event())
    assert open_terminal("auto", reader=None, public_key_path=PAYMENT_PUBLIC_KEY).name == "simulated"


def test_kiosk_hardware_imports_without_pyscard_loaded():
    import subprocess
    import sys

    code = "import sys, kiosk.hardware, kiosk.hardware.simulator; assert 'smartcard' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
