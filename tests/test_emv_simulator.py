"""SimulatedTerminal and open_terminal: the demo's card path, no hardware needed."""

import threading
import time
from pathlib import Path

import pytest

from kiosk.contract.sealing import CardDataPayload, load_private_key, open_sealed
from kiosk.hardware import open_terminal
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.hardware.terminal import (
    CardRemovedTooEarly,
    CardRequest,
    NoCardPresented,
    ReadCancelled,
    ReaderUnavailable,
)

REPO = Path(__file__).resolve().parents[1]
PUBLIC_KEY_PATH = REPO / "config" / "payment_service_public.pem"
PRIVATE_KEY = load_private_key(REPO / "central" / "keys" / "demo_payment_service_private.pem")


def simulated(profile="visa", delay_s=0.05):
    return open_terminal(
        "simulated", reader=None, public_key_path=PUBLIC_KEY_PATH, simulated_profile=profile, simulated_delay_s=delay_s
    )


def test_simulated_read_after_the_tap_delay():
    terminal = simulated(delay_s=0.2)
    assert terminal.name == "simulated" and terminal.is_available()
    started = time.monotonic()
    result = terminal.read_card(CardRequest(amount_cents=1000), threading.Event())
    assert time.monotonic() - started >= 0.2
    assert result.summary.masked_pan == "476173******0010"
    payload = CardDataPayload.model_validate_json(open_sealed(result.sealed, PRIVATE_KEY))
    assert payload.pan == "4761739001010010" and payload.amount_cents == 1000


def test_the_atc_counts_up_across_reads():
    terminal = simulated()
    atcs = [
        CardDataPayload.model_validate_json(
            open_sealed(terminal.read_card(CardRequest(100), threading.Event()).sealed, PRIVATE_KEY)
        ).atc
        for _ in range(2)
    ]
    assert atcs == ["0001", "0002"]


def test_cancel_during_the_wait_is_prompt():
    terminal = simulated(delay_s=30)
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ReadCancelled):
        terminal.read_card(CardRequest(100), cancel)
    assert time.monotonic() - started < 0.5


def test_timeout_when_the_card_comes_too_late_or_never():
    with pytest.raises(NoCardPresented):
        simulated(delay_s=5).read_card(CardRequest(100, card_timeout_s=0.1), threading.Event())
    never = SimulatedTerminal(PUBLIC_KEY_PATH, delay_s=None)
    with pytest.raises(NoCardPresented):
        never.read_card(CardRequest(100, card_timeout_s=0.1), threading.Event())


def test_withdrawn_card_is_removed_too_early():
    with pytest.raises(CardRemovedTooEarly):
        simulated("withdrawn").read_card(CardRequest(100), threading.Event())


def test_open_terminal_auto_falls_back_to_the_simulator(monkeypatch):
    import kiosk.hardware as hardware

    monkeypatch.setattr(hardware, "pcsc_readers", lambda: [])
    terminal = open_terminal("auto", reader=None, public_key_path=PUBLIC_KEY_PATH)
    assert terminal.name == "simulated"


def test_open_terminal_refuses_unknown_kinds_profiles_and_missing_keys(tmp_path):
    with pytest.raises(ValueError, match="unknown terminal kind"):
        open_terminal("nfc", reader=None, public_key_path=PUBLIC_KEY_PATH)
    with pytest.raises(ValueError, match="unknown card profile"):
        simulated(profile="diners")
    with pytest.raises(ReaderUnavailable, match="payment service key"):
        open_terminal("simulated", reader=None, public_key_path=tmp_path / "missing.pem")
