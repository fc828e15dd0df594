"""The payment terminal port: what the rest of the kiosk may ask of the card hardware.

Everything outside `kiosk/hardware/` talks to the card reader only through `PaymentTerminal`, and
only ever receives a `CardReadResult`: scheme, masked card number, expiry month and the card data
sealed for the payment service. The full card number never leaves this package unsealed.

Calls are blocking (pyscard blocks): the payment service runs them in a worker thread
(`asyncio.to_thread`) and cancels through the `threading.Event` it passes in.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from kiosk.contract import CardSummary, SealedCardData


@dataclass(frozen=True)
class CardRequest:
    """Terminal data for one card read (EMV Book 3 section 5.4 / Book 4 terminal data)."""

    amount_cents: int
    currency_code: str = "0978"  # ISO 4217 numeric, EUR
    country_code: str = "0528"  # ISO 3166 numeric, the Netherlands
    transaction_date: date | None = None  # today when None
    card_timeout_s: float = 60.0


@dataclass(frozen=True)
class CardReadResult:
    summary: CardSummary
    sealed: SealedCardData


class CardError(Exception):
    """Base of every card-path failure; `reason` is a stable code the UI maps to a message."""

    reason = "card_error"


class NoCardPresented(CardError):
    reason = "timeout"


class ReadCancelled(CardError):
    reason = "cancelled"


class CardRemovedTooEarly(CardError):
    reason = "card_removed"


class ReaderUnavailable(CardError):
    reason = "reader_unavailable"


class CardNotSupported(CardError):
    """No application we accept, or the card answered something we cannot use."""

    reason = "card_not_supported"


class CardReadFailed(CardError):
    """A broken or unreadable card (malformed answers, unexpected status words)."""

    reason = "card_unreadable"


class PaymentTerminal(Protocol):
    name: str

    def is_available(self) -> bool:
        """True when the reader is there and usable (pcscd running, reader plugged in)."""

    def read_card(self, request: CardRequest, cancel: threading.Event) -> CardReadResult:
        """Wait for a card (up to request.card_timeout_s), run the EMV flow, return the sealed result.

        Raises a `CardError` subclass for every failure a shopper can cause.
        """
