"""`kiosk doctor card`: read a card on the configured reader as a payment would, without authorising.

For staff and installers checking a reader and a card. Prints only what may be shown of a card
(scheme, AID, masked number, expiry month) and the CVM decision for the amount: may this card pay
that amount here, without a PIN?
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

from kiosk.hardware.card_reader import PcscContext
from kiosk.hardware.emv import interface_for_atr, read_emv
from kiosk.hardware.masking import expiry_month
from kiosk.hardware.terminal import CardNeedsPin, CardRequest


@dataclass(frozen=True)
class CardCheck:
    reader: str
    interface: str
    amount_cents: int
    no_cvm_limit_cents: int
    cvm: str  # "no_cvm" (can pay here) or "pin_required" (cannot pay this amount here)
    scheme: str | None = None
    aid: str | None = None
    masked_pan: str | None = None
    expiry_month: str | None = None
    detail: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def check_card(reader_contains: str | None, amount_cents: int, *, no_cvm_limit_cents: int = 5000,
               timeout_s: float = 30.0) -> CardCheck:
    """Wait for a card and run the EMV read flow up to the ARQC (no authorisation is ever sent).

    Raises the usual CardError subclasses: ReaderUnavailable (no pcscd, no reader),
    NoCardPresented (timeout), CardReadFailed / CardNotSupported / CardRemovedTooEarly.
    """
    request = CardRequest(amount_cents=amount_cents, card_timeout_s=timeout_s, no_cvm_limit_cents=no_cvm_limit_cents)
    with PcscContext() as context:
        reader = context.choose_reader(reader_contains)
        connection = context.wait_for_card(reader, timeout_s, threading.Event())
        interface = interface_for_atr(connection.atr)
        base = dict(reader=reader, interface=interface, amount_cents=amount_cents,
                    no_cvm_limit_cents=no_cvm_limit_cents)
        try:
            readout = read_emv(connection.transmit, request, interface=interface)
        except CardNeedsPin as exc:
            return CardCheck(**base, cvm="pin_required", detail=str(exc))
        finally:
            connection.disconnect()
    return CardCheck(**base, cvm="no_cvm", scheme=readout.scheme, aid=readout.aid.hex().upper(),
                     masked_pan=readout.masked_pan, expiry_month=expiry_month(readout.expiry),
                     detail="this card can pay this amount here, without a PIN")
