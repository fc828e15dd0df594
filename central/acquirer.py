"""The test acquirer: decides approve or decline from the sealed card data, by fixed rules.

It stands in for the bank. It is the only code that opens the seal, and it keeps the card number
inside this module: the answer carries the card summary the kiosk sent, never the PAN.

Rules, checked in this order:
- the seal does not open, or what is inside is not a `CardDataPayload` -> `invalid_card_data`
- the PAN fails the Luhn check                                         -> `invalid_card`
- the card expired before the current month                           -> `expired_card`
- the PAN ends in 0002                                                 -> `insufficient_funds`
- the amount is over 5,000.00 euro (500000 cents)                      -> `amount_limit`
- otherwise approved, with a random 6-character authorisation code.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import ValidationError

from kiosk.contract import SealedCardData
from kiosk.contract.sealing import CardDataPayload, SealError, load_private_key, open_sealed

DEFAULT_KEY_PATH = Path(__file__).parent / "keys" / "demo_payment_service_private.pem"
AMOUNT_LIMIT_CENTS = 500_000

DECLINE_MESSAGES = {
    "invalid_card_data": "The card data could not be read by the payment service.",
    "invalid_card": "The card number is not valid.",
    "expired_card": "The card has expired.",
    "insufficient_funds": "Insufficient funds.",
    "amount_limit": "The amount is over the limit for this card.",
}


@dataclass(frozen=True)
class Decision:
    approved: bool
    auth_code: str | None = None
    decline_code: str | None = None

    @property
    def decline_message(self) -> str | None:
        return DECLINE_MESSAGES.get(self.decline_code) if self.decline_code else None


def luhn_valid(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_expired(expiry_yymmdd: str, today: date) -> bool:
    """A card is valid through the end of its expiry month."""
    year, month = 2000 + int(expiry_yymmdd[0:2]), int(expiry_yymmdd[2:4])
    return (year, month) < (today.year, today.month)


def _decline(code: str) -> Decision:
    return Decision(approved=False, decline_code=code)


class TestAcquirer:
    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, key_path: Path | None = None) -> None:
        self._key: X25519PrivateKey = load_private_key(key_path or DEFAULT_KEY_PATH)

    def authorise(self, sealed: SealedCardData, amount_cents: int, *, today: date | None = None) -> Decision:
        try:
            card = CardDataPayload.model_validate_json(open_sealed(sealed, self._key))
        except (SealError, ValidationError, ValueError):
            return _decline("invalid_card_data")
        if not luhn_valid(card.pan):
            return _decline("invalid_card")
        if is_expired(card.expiry, today or date.today()):
            return _decline("expired_card")
        if card.pan.endswith("0002"):
            return _decline("insufficient_funds")
        if amount_cents > AMOUNT_LIMIT_CENTS:
            return _decline("amount_limit")
        alphabet = string.ascii_uppercase + string.digits
        return Decision(approved=True, auth_code="".join(secrets.choice(alphabet) for _ in range(6)))
