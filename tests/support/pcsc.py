"""Fixtures for hardware tests: a running pcscd, the vpcd virtual reader, cards put on it.

`scripts/pcscd.sh start` normally runs before pytest (the Makefile's test target). When it did not,
the `pcscd` fixture starts it the same way and stops it at the end of the session.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.vpcd_card import DEFAULT_PORT, VpcdCard

REPO = Path(__file__).resolve().parents[2]
PCSCD_SCRIPT = REPO / "scripts" / "pcscd.sh"
VPCD_READER = "Virtual PCD 00 00"  # the reader whose card emulator connects to DEFAULT_PORT
PAYMENT_PUBLIC_KEY = REPO / "config" / "payment_service_public.pem"
PAYMENT_PRIVATE_KEY = REPO / "central" / "keys" / "demo_payment_service_private.pem"


def _readers() -> list[str] | None:
    """Reader names, or None when pcscd does not answer."""
    from kiosk.hardware.card_reader import list_readers
    from kiosk.hardware.terminal import ReaderUnavailable

    try:
        return list_readers()
    except ReaderUnavailable:
        return None


def _pcscd(action: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PCSCD_SCRIPT), action], capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="session")
def pcscd() -> Iterator[None]:
    """pcscd answers for the whole session (started here if the test command did not)."""
    started_here = False
    if _readers() is None:
        result = _pcscd("start")
        if result.returncode != 0 or _readers() is None:
            pytest.fail(
                "pcscd is not running and could not be started with scripts/pcscd.sh start "
                f"(is pcscd installed? scripts/setup.sh installs it):\n{result.stdout}{result.stderr}",
                pytrace=False,
            )
        started_here = True
    yield
    if started_here:
        _pcscd("stop")


@pytest.fixture(scope="session")
def vpcd_reader(pcscd: None) -> str:
    """The name of the vpcd virtual reader (package vsmartcard-vpcd)."""
    readers = _readers() or []
    if VPCD_READER not in readers:
        pytest.fail(
            f"reader {VPCD_READER!r} not listed by pcscd (found: {readers}); "
            "install vsmartcard-vpcd and restart pcscd",
            pytrace=False,
        )
    return VPCD_READER


def wait_for_card_state(reader: str, present: bool, timeout_s: float = 3.0) -> None:
    """Block until pcscd reports the card on `reader` as present / absent (it polls ~every 400 ms)."""
    from smartcard import scard

    from kiosk.hardware.card_reader import PcscContext

    deadline = time.monotonic() + timeout_s
    with PcscContext() as context:
        state = scard.SCARD_STATE_UNAWARE
        while time.monotonic() < deadline:
            _, states = scard.SCardGetStatusChange(context.handle, 100, [(reader, state)])
            if states:
                state = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if bool(state & scard.SCARD_STATE_PRESENT) == present:
                    return
    raise AssertionError(f"card on {reader!r} not {'present' if present else 'absent'} after {timeout_s} s")


@pytest.fixture
def vpcd_card(vpcd_reader: str) -> Iterator[Callable[..., VpcdCard]]:
    """Factory: `vpcd_card("visa")` puts a card on the vpcd reader; it is removed after the test.

    `vpcd_card("visa", wait=False)` returns at once, without waiting for pcscd to see the card.
    The reader is empty (as pcscd sees it) when the test starts and when it ends.
    """
    wait_for_card_state(vpcd_reader, present=False)
    cards: list[VpcdCard] = []

    def insert(profile: str = "visa", *, wait: bool = True) -> VpcdCard:
        card = VpcdCard(profile, port=DEFAULT_PORT)
        cards.append(card)
        card.insert()
        if wait:
            wait_for_card_state(vpcd_reader, present=True)
        return card

    yield insert
    for card in cards:
        card.remove()
    wait_for_card_state(vpcd_reader, present=False)


def insert_later(card: VpcdCard, delay_s: float) -> threading.Thread:
    """Put `card` on the reader after `delay_s` from a background thread (a shopper tapping late)."""
    thread = threading.Timer(delay_s, card.insert)
    thread.start()
    return thread
