"""A payment terminal without hardware: the real EMV flow against an in-process `VirtualCard`.

Used by the demo and by tests when no PC/SC reader is present. After `delay_s` (the shopper taking
out their card and tapping it) it runs exactly what the PC/SC terminal runs: `emv.read_emv`, then
`card_result.seal_readout`. Cancel and timeout behave like the real reader's.

Staff badges outside a payment: `present_badge("04A1B2C3")` (any thread: the demo, a UI test) queues
a badge tap that the next `wait_for_badge` returns, as the PC/SC terminal does for a real tap.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from kiosk.hardware.badges import BadgeMatcher, identify_badge, normal_badge_id
from kiosk.hardware.card_result import load_payment_key, seal_readout
from kiosk.hardware.emv import interface_for_atr, read_emv
from kiosk.hardware.terminal import (
    ApplicationChooser,
    BadgePresented,
    CardReadResult,
    CardRemovedTooEarly,
    CardRequest,
    NoCardPresented,
    ReadCancelled,
    ReaderUnavailable,
)
from kiosk.hardware.virtual_card import PROFILES, CardProfile, CardWithdrawn, VirtualCard

log = logging.getLogger("kiosk.hardware.simulator")


class SimulatedTerminal:
    """PaymentTerminal that "taps" a virtual card after `delay_s`; `delay_s=None` never taps one."""

    name = "simulated"

    def __init__(
        self,
        public_key_path: Path,
        *,
        profile: CardProfile | str = "visa",
        delay_s: float | None = 1.5,
        badge_matcher: BadgeMatcher | None = None,
    ):
        if isinstance(profile, str) and profile not in PROFILES:
            raise ValueError(f"unknown card profile {profile!r}; known: {', '.join(PROFILES)}")
        self._public_key = load_payment_key(public_key_path)
        self.card = VirtualCard(profile)  # one card for the terminal's life, so its ATC counts up
        self.delay_s = delay_s
        self.badge_matcher = badge_matcher
        self._badge_taps: queue.SimpleQueue[str] = queue.SimpleQueue()
        # A simulated reader can be "unplugged" (the demo, the fleet's health check in tests): it then
        # behaves as a pcsc reader that is gone: not available, every read ReaderUnavailable.
        self.plugged_in = True

    def __repr__(self) -> str:
        return f"SimulatedTerminal(profile={self.card.profile.name!r}, delay_s={self.delay_s})"

    def is_available(self) -> bool:
        return self.plugged_in

    def present_badge(self, badge_id: str) -> None:
        """Tap a staff badge (UID or ATR hex; separators and case do not matter). Thread-safe."""
        self._badge_taps.put(normal_badge_id(badge_id))

    def wait_for_badge(self, timeout_s: float, cancel: threading.Event | None = None) -> str | None:
        """The next badge presented with `present_badge`, waiting up to `timeout_s`; None on timeout
        or soon after `cancel` is set."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            if cancel is not None and cancel.is_set():
                return None
            remaining = max(0.0, deadline - time.monotonic())
            try:
                badge_id = self._badge_taps.get(timeout=min(remaining, 0.05) if cancel is not None else remaining)
            except queue.Empty:
                if time.monotonic() >= deadline:
                    return None
                continue
            log.info("simulated staff badge tapped (%s…)", badge_id[:4])
            return badge_id

    def read_card(
        self,
        request: CardRequest,
        cancel: threading.Event,
        *,
        choose_application: ApplicationChooser | None = None,
    ) -> CardReadResult:
        if not self.plugged_in:
            raise ReaderUnavailable("the simulated reader is unplugged")
        started = time.monotonic()
        wait = request.card_timeout_s if self.delay_s is None else min(self.delay_s, request.card_timeout_s)
        if cancel.wait(max(0.0, wait)):
            raise ReadCancelled("card read cancelled")
        if self.delay_s is None or self.delay_s > request.card_timeout_s:
            raise NoCardPresented(f"no card presented within {request.card_timeout_s:g} s")
        log.info("simulated %s card tapped after %.1f s", self.card.profile.name, time.monotonic() - started)

        if request.on_card_present is not None:
            request.on_card_present()
        self.card.reset()

        def transmit(command: bytes) -> bytes:
            if cancel.is_set():
                raise ReadCancelled("card read cancelled")
            try:
                return self.card.respond(command)
            except CardWithdrawn:
                raise CardRemovedTooEarly("the card was removed before the read finished") from None

        card = self.card

        class _Connection:  # what badges.identify_badge needs: the ATR and a transmit
            atr = card.atr

            @staticmethod
            def transmit(command: bytes) -> bytes:
                return transmit(command)

        badge_id = identify_badge(_Connection(), self.badge_matcher)
        if badge_id is not None:
            raise BadgePresented("a staff badge was presented", badge_id=badge_id)
        readout = read_emv(
            transmit, request, interface=interface_for_atr(card.atr), choose_application=choose_application
        )
        return seal_readout(readout, self._public_key)
