"""The real payment terminal: a PC/SC card reader, the EMV flow, the sealed result.

    wait for a card (card_reader) -> staff badge? (badges) -> emv.read_emv -> card_result.seal_readout

A card lifted mid-read is `CardRemovedTooEarly` ("hold it still and tap again"): an empty answer or a
failed transmission (card_reader), or an odd answer while the card's state changed under the
connection. Only a card that stays and answers malformed data is `CardReadFailed` ("unreadable").

The interface (contact or contactless) comes from the card's ATR (`emv.interface_for_atr`).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from kiosk.hardware.badges import BadgeMatcher, identify_badge
from kiosk.hardware.card_reader import PcscContext
from kiosk.hardware.card_result import load_payment_key, seal_readout
from kiosk.hardware.emv import interface_for_atr, read_emv
from kiosk.hardware.terminal import (
    ApplicationChooser,
    BadgePresented,
    CardError,
    CardNotSupported,
    CardReadFailed,
    CardReadResult,
    CardRemovedTooEarly,
    CardRequest,
    ReadCancelled,
)

log = logging.getLogger("kiosk.hardware.pcsc_terminal")


class PcscTerminal:
    """PaymentTerminal on a PC/SC reader chosen by a name substring (or the first reader)."""

    name = "pcsc"

    def __init__(
        self,
        reader_name_contains: str | None,
        payment_public_key_path: Path,
        *,
        badge_matcher: BadgeMatcher | None = None,
    ):
        self.reader_name_contains = reader_name_contains
        self._public_key = load_payment_key(payment_public_key_path)
        self.badge_matcher = badge_matcher

    def __repr__(self) -> str:
        return f"PcscTerminal(reader_name_contains={self.reader_name_contains!r})"

    def is_available(self) -> bool:
        try:
            with PcscContext() as context:
                context.choose_reader(self.reader_name_contains)
            return True
        except CardError:
            return False

    def read_card(
        self,
        request: CardRequest,
        cancel: threading.Event,
        *,
        choose_application: ApplicationChooser | None = None,
    ) -> CardReadResult:
        # A fresh context per read: survives pcscd restarts and readers plugged in later.
        with PcscContext() as context:
            reader = context.choose_reader(self.reader_name_contains)
            log.info("waiting up to %g s for a card on %r", request.card_timeout_s, reader)
            connection = context.wait_for_card(reader, request.card_timeout_s, cancel)
            if request.on_card_present is not None:
                request.on_card_present()
            try:

                def transmit(command: bytes) -> bytes:
                    if cancel.is_set():  # between commands: never mid-APDU
                        raise ReadCancelled("card read cancelled")
                    return connection.transmit(command)

                try:
                    badge_id = identify_badge(connection, self.badge_matcher)
                    if badge_id is not None:
                        raise BadgePresented("a staff badge was presented", badge_id=badge_id)
                    readout = read_emv(
                        transmit,
                        request,
                        interface=interface_for_atr(connection.atr),
                        choose_application=choose_application,
                    )
                except (CardReadFailed, CardNotSupported) as exc:
                    # An odd answer from a card that was meanwhile removed, reset or swapped is the
                    # card moving (tap again), not a card that cannot be read.
                    if connection.state_changed():
                        log.info("card changed state mid-read (%s): removed too early", type(exc).__name__)
                        raise CardRemovedTooEarly("the card left the reader during the read") from None
                    raise
            except CardRemovedTooEarly:
                context.settle(reader)
                raise
            finally:
                connection.disconnect()
        return seal_readout(readout, self._public_key)
