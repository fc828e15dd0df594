"""Card hardware: the payment terminal port (`terminal.py`) and its adapters.

    open_terminal("auto", reader=None, public_key_path=...) -> PaymentTerminal
    pcsc_readers() -> list[str]

Adapters: `PcscTerminal` (pyscard + pcscd) and `SimulatedTerminal` (an in-process virtual card).
Both run the same EMV flow (`emv.py`) and the same sealing step (`card_result.py`). pyscard is only
imported when a PC/SC adapter is asked for, so this package imports on a machine without pcscd.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.hardware.badges import BadgeMatcher
from kiosk.hardware.terminal import CardError, PaymentTerminal

log = logging.getLogger("kiosk.hardware")

TERMINAL_KINDS = ("pcsc", "simulated", "auto")


def pcsc_readers() -> list[str]:
    """Names of the PC/SC readers; an empty list (never an exception) when pcscd or pyscard is missing."""
    try:
        from kiosk.hardware.card_reader import list_readers
    except ImportError:
        return []
    try:
        return list_readers()
    except CardError:
        return []


# vsmartcard's virtual readers exist whenever vpcd is installed (test machines); with no emulator
# connected they never see a card, so "auto" must not pick them.
VIRTUAL_READER_PREFIX = "Virtual PCD"


def physical_readers() -> list[str]:
    return [name for name in pcsc_readers() if not name.startswith(VIRTUAL_READER_PREFIX)]


def open_terminal(
    kind: str,
    *,
    reader: str | None,
    public_key_path: Path,
    simulated_profile: str = "visa",
    simulated_delay_s: float = 1.5,
    badge_matcher: BadgeMatcher | None = None,
) -> PaymentTerminal:
    """The payment terminal to use: "pcsc", "simulated", or "auto" (PC/SC when pcscd answers and lists
    at least one physical reader, else the simulator). `reader` is a reader-name substring (None: the
    first); naming a reader, virtual or not, makes "auto" use it when it is there."""
    if kind not in TERMINAL_KINDS:
        raise ValueError(f"unknown terminal kind {kind!r}; use one of {', '.join(TERMINAL_KINDS)}")
    if kind == "auto":
        readers = pcsc_readers() if reader else physical_readers()
        if reader:
            readers = [name for name in readers if reader.lower() in name.lower()]
        kind = "pcsc" if readers else "simulated"
        log.info("terminal auto: %s (readers: %s)", kind, ", ".join(readers) or "none")
    if kind == "pcsc":
        from kiosk.hardware.pcsc_terminal import PcscTerminal

        return PcscTerminal(reader, Path(public_key_path), badge_matcher=badge_matcher)
    from kiosk.hardware.simulator import SimulatedTerminal

    return SimulatedTerminal(
        Path(public_key_path), profile=simulated_profile, delay_s=simulated_delay_s, badge_matcher=badge_matcher
    )
