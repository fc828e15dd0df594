"""The blocking PC/SC side of the diagnostics (run on a worker thread): is pcscd there, which readers,
is a card on ours; and the doctor's test read. pyscard is imported only when a probe runs, so the
diagnostics import on a machine without it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["ok", "no_pyscard", "no_service", "error"]

# pcsc-lite reader state bits (SCardGetStatusChange's event state)
_STATE_UNAVAILABLE = 0x0008
_STATE_EMPTY = 0x0010
_STATE_PRESENT = 0x0020
_STATE_MUTE = 0x0200


@dataclass(frozen=True)
class PcscProbe:
    outcome: Outcome
    error: str = ""  # what went wrong, technical (for `detail`)
    readers: list[str] = field(default_factory=list)
    chosen: str | None = None  # the reader the terminal would use (None: none matches)
    card_present: bool | None = None  # on the chosen reader; None when not known
    unavailable: bool = False  # pcscd lists the chosen reader but cannot use it


def _matching(readers: list[str], name_contains: str | None) -> str | None:
    """As `PcscContext.choose_reader`: the first reader whose name contains it, or the first one."""
    if not readers:
        return None
    if not name_contains:
        return readers[0]
    return next((name for name in readers if name_contains.lower() in name.lower()), None)


def probe_pcsc(reader_contains: str | None) -> PcscProbe:
    """Ask pcscd, never raising: a context, the reader list, the chosen reader's state (no waiting)."""
    try:
        from smartcard import scard
    except ImportError as exc:
        return PcscProbe("no_pyscard", f"pyscard is not installed: {exc}")

    def _message(hresult: int) -> str:
        try:
            return f"{scard.SCardGetErrorMessage(hresult)} (0x{hresult & 0xFFFFFFFF:08X})"
        except Exception:  # the message lookup must never hide the error
            return f"0x{hresult & 0xFFFFFFFF:08X}"

    no_service = {c & 0xFFFFFFFF for c in (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED)}
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        if hresult & 0xFFFFFFFF in no_service:
            return PcscProbe("no_service", f"pcscd is not running: {_message(hresult)}")
        return PcscProbe("error", f"cannot reach the PC/SC service: {_message(hresult)}")
    try:
        hresult, names = scard.SCardListReaders(context, [])
        if hresult & 0xFFFFFFFF == scard.SCARD_E_NO_READERS_AVAILABLE & 0xFFFFFFFF:
            names = []
        elif hresult != scard.SCARD_S_SUCCESS:
            if hresult & 0xFFFFFFFF in no_service:
                return PcscProbe("no_service", f"pcscd is not running: {_message(hresult)}")
            return PcscProbe("error", f"cannot list card readers: {_message(hresult)}")
        readers = list(names)
        chosen = _matching(readers, reader_contains)
        if chosen is None:
            return PcscProbe("ok", readers=readers)
        hresult, states = scard.SCardGetStatusChange(context, 0, [(chosen, scard.SCARD_STATE_UNAWARE)])
        if hresult != scard.SCARD_S_SUCCESS or not states:
            return PcscProbe("ok", f"reader state unknown: {_message(hresult)}", readers, chosen)
        state = states[0][1]
        if state & _STATE_UNAVAILABLE:
            return PcscProbe("ok", "pcscd lists the reader but reports it unavailable", readers, chosen,
                             unavailable=True)
        return PcscProbe("ok", "", readers, chosen,
                         card_present=bool(state & _STATE_PRESENT) and not state & _STATE_MUTE)
    finally:
        scard.SCardReleaseContext(context)
