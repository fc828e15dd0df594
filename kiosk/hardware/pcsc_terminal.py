"""The real payment terminal: a PC/SC card reader, the EMV flow, the sealed result.

    wait for a card (card_reader) -> staff badge? (badges) -> emv.read_emv -> card_result.seal_readout

A card lifted mid-read is `CardRemovedTooEarly` ("hold it still and tap again"): an empty answer or a
failed transmission (card_reader), or an odd answer while the card's state changed under the
connection. Only a card that stays and answers malformed data is `CardReadFailed` ("unreadable").

The interface (contact or contactless) comes from the card's ATR (`emv.interface_for_atr`).

Outside a payment, `wait_for_badge` watches the reader for staff badges:

    SCardGetStatusChange (slices) -> a card arrived? -> seen before? -> connect -> badges.identify_badge

A card is known by pcscd's event counter for the reader (the high 16 bits of dwEventState, bumped at
every insertion and removal) and its ATR. The last card looked at (by `wait_for_badge` or
`read_card`) is remembered, so a payment card left on the reader is looked at once, never again until
it was taken away, and never gets an EMV command from here.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from smartcard import scard

from kiosk.hardware.badges import BadgeMatcher, identify_badge
from kiosk.hardware.card_reader import PcscContext, _code, _reader_unavailable
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
    ReaderUnavailable,
)

log = logging.getLogger("kiosk.hardware.pcsc_terminal")

BADGE_SLICE_S = 0.1  # how often `wait_for_badge` looks at its cancel event


@dataclass(frozen=True)
class _SeenCard:
    """One presence of a card on a reader: pcscd's event counter changes when it is removed."""

    reader: str
    event_counter: int
    atr: bytes


def _reader_state(context: PcscContext, reader: str) -> tuple[int, bytes] | None:
    """(dwEventState, ATR) of `reader` now, or None when pcscd does not say."""
    hresult, states = scard.SCardGetStatusChange(context.handle, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
    if hresult != scard.SCARD_S_SUCCESS or not states:
        return None
    return states[0][1], bytes(states[0][2])


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
        # The card last looked at (wait_for_badge or read_card), while it stays on the reader. Only
        # the one thread that owns the reader (watcher or payment, never both) touches it.
        self._seen: _SeenCard | None = None

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
            self._remember_card(context, reader)
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

    def _remember_card(self, context: PcscContext, reader: str) -> None:
        """The card just connected for a payment is not looked at again by `wait_for_badge` while it
        stays (a card left on the reader after paying is no new tap). Never raises."""
        try:
            state = _reader_state(context, reader)
        except Exception:  # bookkeeping must never break a payment
            log.debug("could not note the card's reader state", exc_info=True)
            return
        if state is not None and state[0] & scard.SCARD_STATE_PRESENT:
            self._seen = _SeenCard(reader, state[0] >> 16, state[1])

    def wait_for_badge(self, timeout_s: float, cancel: threading.Event | None = None) -> str | None:
        """See `PaymentTerminal.wait_for_badge`. Sends no command at all unless a card newly on the
        reader needs one to be told apart (GET DATA for the UID); never an EMV command."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        try:
            with PcscContext() as context:
                reader = context.choose_reader(self.reader_name_contains)
                return self._wait_for_badge(context, reader, deadline, cancel)
        except ReaderUnavailable:
            self._seen = None  # pcscd restarted or the reader was replugged: its counters start over
            raise

    def _wait_for_badge(
        self, context: PcscContext, reader: str, deadline: float, cancel: threading.Event | None
    ) -> str | None:
        state = scard.SCARD_STATE_UNAWARE  # the first call answers at once with the reader's state
        while True:
            if cancel is not None and cancel.is_set():
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0 and state != scard.SCARD_STATE_UNAWARE:
                return None
            wait_s = max(0.0, min(remaining, BADGE_SLICE_S) if cancel is not None else remaining)
            hresult, states = scard.SCardGetStatusChange(context.handle, int(wait_s * 1000), [(reader, state)])
            if _code(hresult) == _code(scard.SCARD_E_TIMEOUT):
                continue
            if hresult != scard.SCARD_S_SUCCESS:
                raise _reader_unavailable(hresult, f"reader {reader!r}")
            _, event_state, atr = states[0]
            state = event_state & ~scard.SCARD_STATE_CHANGED
            if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                raise ReaderUnavailable(f"reader {reader!r} is gone or unavailable")
            if not event_state & scard.SCARD_STATE_PRESENT:
                self._seen = None  # the card was taken away: the next one is news
                continue
            if event_state & (scard.SCARD_STATE_MUTE | scard.SCARD_STATE_EXCLUSIVE):
                continue  # no answer to reset yet, or another program holds the card: wait
            card = _SeenCard(reader, event_state >> 16, bytes(atr))
            if card == self._seen:
                continue  # still the card looked at before: wait for its removal
            self._seen = card
            return self._identify(context, reader, card.atr)

    def _identify(self, context: PcscContext, reader: str, atr: bytes) -> str | None:
        """The badge id of the card on `reader`, or None. Connects only when the ATR alone cannot
        tell (a UID to ask for), so a payment card is usually not even connected to."""
        if not self.badge_matcher:
            return None  # no badges configured: nothing to ask the card
        lazy = _LazyConnection(context, reader, atr)
        try:
            return identify_badge(lazy, self.badge_matcher)
        except (CardRemovedTooEarly, CardReadFailed) as exc:
            # Lifted during GET DATA (its removal will be seen) or a card answering junk: no badge.
            log.info("card not identified (%s)", type(exc).__name__)
            return None
        finally:
            lazy.disconnect()


class _LazyConnection:
    """What `identify_badge` needs (`atr`, `transmit`), connecting to the card on the first command."""

    def __init__(self, context: PcscContext, reader: str, atr: bytes):
        self.context, self.reader, self.atr = context, reader, atr
        self._connection = None

    def transmit(self, command: bytes) -> bytes:
        if self._connection is None:
            self._connection = self.context._connect(self.reader)
            if self._connection is None:
                raise CardRemovedTooEarly("the card left before it could be identified")
        return self._connection.transmit(command)

    def disconnect(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()
            self._connection = None
