"""The one step every terminal ends with: card data -> sealed payload + masked summary.

Shared by the PC/SC terminal and the simulator, so what leaves `kiosk/hardware/` is built in one
place: a `CardSummary` (scheme, BIN + last 4, expiry month) and the `CardDataPayload` sealed to the
payment service's key (kiosk.contract.sealing). The full card data exists unsealed only here.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from pydantic import ValidationError

from kiosk.contract import CardSummary
from kiosk.contract.sealing import CardDataPayload, load_public_key, seal
from kiosk.hardware.emv import EmvReadout
from kiosk.hardware.masking import expiry_month
from kiosk.hardware.terminal import CardReadFailed, CardReadResult, ReaderUnavailable


def load_payment_key(path: Path) -> X25519PublicKey:
    """The payment service's public key, or ReaderUnavailable: without it no card can be paid with."""
    try:
        return load_public_key(Path(path))
    except (OSError, ValueError) as exc:
        raise ReaderUnavailable(f"payment service key {path} cannot be loaded: {exc}") from None


def seal_readout(readout: EmvReadout, public_key: X25519PublicKey) -> CardReadResult:
    """Build the sealed `CardDataPayload` and the `CardSummary` from one EMV read."""
    try:
        payload = CardDataPayload(
            pan=readout.pan,
            expiry=readout.expiry,
            pan_sequence=readout.pan_sequence.hex().upper() if readout.pan_sequence is not None else None,
            aid=readout.aid.hex().upper(),
            arqc=readout.arqc.hex().upper(),
            cid=f"{readout.cid:02X}",
            atc=readout.atc.hex().upper(),
            iad=readout.iad.hex().upper() if readout.iad is not None else None,
            unpredictable_number=readout.unpredictable_number.hex().upper(),
            amount_cents=readout.amount_cents,
            currency_code=readout.currency_code,
            transaction_date=readout.transaction_date.strftime("%y%m%d"),
            tvr=readout.tvr.hex().upper(),
            aip=readout.aip.hex().upper() if readout.aip else None,
        )
        summary = CardSummary(
            scheme=readout.scheme, masked_pan=readout.masked_pan, expiry_month=expiry_month(readout.expiry)
        )
    except (ValidationError, ValueError):
        # A pydantic error message quotes the input, i.e. possibly the PAN: never pass it on.
        raise CardReadFailed("the card's data does not form a valid payment record") from None
    sealed = seal(payload.model_dump_json().encode("utf-8"), public_key)
    return CardReadResult(summary=summary, sealed=sealed)
