"""PC/SC through pyscard: find the reader, wait for a card, exchange APDUs, notice removal.

Uses pyscard's thin `smartcard.scard` layer (the PC/SC API itself) rather than `CardRequest`: one
context per read, `SCardGetStatusChange` in short slices so a cancel is noticed within
`POLL_SLICE_S`, and PC/SC error codes mapped to the port's `CardError`s:

- pcscd not running, no reader, reader unplugged -> ReaderUnavailable (with what to do about it)
- nothing on the reader in time -> NoCardPresented; the cancel event set -> ReadCancelled
- the card gone during an exchange -> CardRemovedTooEarly: an empty answer, a failed transmission,
  or the card's state changed (removed, reset) since it was connected. This is decided from what
  the exchange itself says, never from whether a card is on the reader *now*: a shopper who lifts
  the card and taps it again before pcscd polls the reader (about every 400 ms) leaves a card that
  looks present, yet the command it was lifted during got no answer. Only a card that answers, with
  a status word, something malformed is unreadable (CardReadFailed, decided by the EMV layer).

Every call blocks the caller's thread (the app runs `read_card` in a worker thread). pyscard is
imported when this module is, so `kiosk.hardware` imports this module lazily.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from smartcard import scard

from kiosk.hardware.terminal import (
    CardReadFailed,
    CardRemovedTooEarly,
    NoCardPresented,
    ReadCancelled,
    ReaderUnavailable,
)

log = logging.getLogger("kiosk.hardware.card_reader")

POLL_SLICE_S = 0.25  # how often a wait looks at the cancel event
SETTLE_S = 0.6  # pcscd polls a reader about every 400 ms: how long to let it see a card move


def _code(hresult: int) -> int:
    return hresult & 0xFFFFFFFF


def _message(hresult: int) -> str:
    try:
        return f"{scard.SCardGetErrorMessage(hresult)} (0x{_code(hresult):08X})"
    except Exception:  # pyscard's message lookup must never hide the real error
        return f"0x{_code(hresult):08X}"


_NO_SERVICE = {_code(c) for c in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED)}
_READER_GONE = {
    _code(c) for c in (scard.SCARD_E_READER_UNAVAILABLE, scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_NO_READERS_AVAILABLE)
}
_CARD_GONE = {
    _code(c)
    for c in (scard.SCARD_W_REMOVED_CARD, scard.SCARD_E_NO_SMARTCARD, scard.SCARD_W_UNPOWERED_CARD, scard.SCARD_W_RESET_CARD)
}
# Transmission failures: what a card leaving the field (or moving in it) causes before pcscd has
# noticed a removal. The card did not answer, so it was not "unreadable": the shopper taps again.
_TRANSMISSION_FAILED = {
    _code(c)
    for c in (
        scard.SCARD_E_NOT_TRANSACTED,
        scard.SCARD_E_COMM_DATA_LOST,
        scard.SCARD_W_UNRESPONSIVE_CARD,
        scard.SCARD_F_COMM_ERROR,
        scard.SCARD_E_TIMEOUT,
    )
}
# SCardStatus card state bits (pcsc-lite's pcsclite.h; pyscard does not export them).
_STATUS_PRESENT = 0x0004

NO_PCSCD_HINT = "pcscd is not running (start it with scripts/pcscd.sh start, or check the pcscd service)"


def _reader_unavailable(hresult: int, what: str) -> ReaderUnavailable:
    if _code(hresult) in _NO_SERVICE:
        return ReaderUnavailable(f"{what}: {NO_PCSCD_HINT}")
    return ReaderUnavailable(f"{what}: {_message(hresult)}")


class PcscContext:
    """One PC/SC context (`SCardEstablishContext`); use as a context manager."""

    def __init__(self) -> None:
        hresult, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise _reader_unavailable(hresult, "cannot reach the PC/SC service")

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc_info: object) -> None:
        scard.SCardReleaseContext(self.handle)

    def readers(self) -> list[str]:
        hresult, names = scard.SCardListReaders(self.handle, [])
        if _code(hresult) == _code(scard.SCARD_E_NO_READERS_AVAILABLE):
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise _reader_unavailable(hresult, "cannot list card readers")
        return list(names)

    def choose_reader(self, name_contains: str | None) -> str:
        """The first reader whose name contains `name_contains` (case-insensitive), or the first one."""
        names = self.readers()
        if not names:
            raise ReaderUnavailable("no card reader is connected")
        if not name_contains:
            return names[0]
        for name in names:
            if name_contains.lower() in name.lower():
                return name
        raise ReaderUnavailable(f"no card reader named like {name_contains!r} (found: {', '.join(names)})")

    def wait_for_card(self, reader: str, timeout_s: float, cancel: threading.Event) -> CardConnection:
        """Block until a card is on `reader` and connected, the timeout passes, or `cancel` is set."""
        deadline = time.monotonic() + timeout_s
        state = scard.SCARD_STATE_UNAWARE
        while True:
            if cancel.is_set():
                raise ReadCancelled("card read cancelled")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoCardPresented(f"no card presented within {timeout_s:g} s")
            slice_ms = int(min(POLL_SLICE_S, remaining) * 1000) or 1
            hresult, states = scard.SCardGetStatusChange(self.handle, slice_ms, [(reader, state)])
            if _code(hresult) == _code(scard.SCARD_E_TIMEOUT):
                continue
            if hresult != scard.SCARD_S_SUCCESS:
                raise _reader_unavailable(hresult, f"reader {reader!r}")
            _, event_state, _atr = states[0]
            state = event_state & ~scard.SCARD_STATE_CHANGED
            if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                raise ReaderUnavailable(f"reader {reader!r} is gone or unavailable")
            if event_state & scard.SCARD_STATE_PRESENT and not event_state & scard.SCARD_STATE_MUTE:
                connection = self._connect(reader)
                if connection is not None:
                    return connection

    def _connect(self, reader: str) -> CardConnection | None:
        hresult, card, protocol = scard.SCardConnect(
            self.handle, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        if _code(hresult) in _CARD_GONE or _code(hresult) == _code(scard.SCARD_W_UNRESPONSIVE_CARD):
            return None  # the card left (or never answered) between the state change and connect
        if hresult != scard.SCARD_S_SUCCESS:
            raise _reader_unavailable(hresult, f"cannot connect to the card in {reader!r}")
        log.debug("card connected in %r, protocol T=%d", reader, 0 if protocol == scard.SCARD_PROTOCOL_T0 else 1)
        status = scard.SCardStatus(card)  # (hresult, reader, state, protocol, ATR)
        atr = bytes(status[4]) if status[0] == scard.SCARD_S_SUCCESS and len(status) > 4 else b""
        return CardConnection(self, reader, card, protocol, atr)

    def settle(self, reader: str, timeout_s: float = SETTLE_S) -> None:
        """After a card moved mid-read: give pcscd up to `timeout_s` to notice (it polls the reader),
        so that the next read finds the card powered up afresh instead of a slot pcscd still
        believes holds the old, half-read card. Returns early once pcscd reports a change."""
        hresult, states = scard.SCardGetStatusChange(self.handle, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        if hresult != scard.SCARD_S_SUCCESS or not states:
            return
        current = states[0][1] & ~scard.SCARD_STATE_CHANGED
        scard.SCardGetStatusChange(self.handle, int(timeout_s * 1000), [(reader, current)])


@dataclass
class CardConnection:
    """A connected card: `transmit(command) -> response` with PC/SC errors mapped to CardErrors."""

    context: PcscContext
    reader: str
    handle: int
    protocol: int
    atr: bytes = b""  # the card's ATR (a contactless card's PC/SC pseudo-ATR)

    def transmit(self, command: bytes) -> bytes:
        pci = scard.SCARD_PCI_T0 if self.protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        hresult, response = scard.SCardTransmit(self.handle, pci, list(command))
        if hresult == scard.SCARD_S_SUCCESS and len(response) >= 2:
            return bytes(response)
        if hresult == scard.SCARD_S_SUCCESS and not response:
            # No answer at all: vpcd (and some readers) report a card that left mid-command this
            # way. Whether a card is on the reader now says nothing: it may be back already.
            raise CardRemovedTooEarly("the card gave no answer: it left the reader during a command")
        if hresult == scard.SCARD_S_SUCCESS:
            # It answered, but not even a status word: a broken card, not a moved one.
            raise CardReadFailed(f"the card answered {len(response)} byte(s), no status word")
        code = _code(hresult)
        if code in _CARD_GONE:
            raise CardRemovedTooEarly(f"the card left the reader during the read: {_message(hresult)}")
        if code in _TRANSMISSION_FAILED:
            raise CardRemovedTooEarly(f"the exchange with the card failed: {_message(hresult)}")
        if code in _NO_SERVICE or code in _READER_GONE:
            raise _reader_unavailable(hresult, f"reader {self.reader!r} during the card read")
        raise CardReadFailed(f"card exchange failed: {_message(hresult)}")

    def state_changed(self) -> bool:
        """Whether the card was removed, reset or replaced since it was connected, as far as pcscd
        knows now (`SCardStatus` on this connection; does not wait). A failure that comes with such a
        change is the card moving, not the card being unreadable."""
        try:
            status = scard.SCardStatus(self.handle)  # (hresult, reader, state, protocol, ATR)
        except Exception:  # pyscard raising here must not hide the original failure
            return False
        hresult = status[0]
        if _code(hresult) in _CARD_GONE:
            return True
        if hresult != scard.SCARD_S_SUCCESS:
            return False
        state = status[2] if len(status) > 2 else _STATUS_PRESENT
        atr = bytes(status[4]) if len(status) > 4 else self.atr
        return not state & _STATUS_PRESENT or (bool(self.atr) and atr != self.atr)

    def disconnect(self) -> None:
        # Leave the card powered: the shopper takes it away, and pcscd powers it down then.
        scard.SCardDisconnect(self.handle, scard.SCARD_LEAVE_CARD)


def list_readers() -> list[str]:
    """Reader names; raises ReaderUnavailable when pcscd does not answer."""
    with PcscContext() as context:
        return context.readers()
