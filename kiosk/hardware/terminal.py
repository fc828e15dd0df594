"""The payment terminal port: what the rest of the kiosk may ask of the card hardware.

Everything outside `kiosk/hardware/` talks to the card reader only through `PaymentTerminal`, and
only ever receives a `CardReadResult`: scheme, masked card number, expiry month and the card data
sealed for the payment service. The full card number never leaves this package unsealed.

Calls are blocking (pyscard blocks): the payment service runs them in a worker thread
(`asyncio.to_thread`) and cancels through the `threading.Event` it passes in.

Besides paying, the reader notices staff badges at any time the pillar is not taking a payment:
`wait_for_badge` (driven by `kiosk.hardware.badge_watch.BadgeWatcher`, which owns the reader while no
payment does). Only one thread may be inside a terminal's reader calls at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
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
    # Contactless no-CVM limit ("reader CVM required limit", EMV Book C-2 section 3.5 / Book C-3
    # section 5.2.2): at or under it a contactless payment needs no cardholder verification.
    no_cvm_limit_cents: int = 5000  # EUR 50
    # Called (on the reading thread) the moment a card is there, before the EMV flow starts, so the
    # pay screen can say "reading, keep the card still". Must be quick and thread-safe.
    on_card_present: Callable[[], None] | None = field(default=None, compare=False)


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
    """The card left (or moved in) the field during the read: no answer to a command, a failed
    transmission, or the card's state changed under the connection. Also when the card is back on
    the reader by the time anyone looks. The shopper is asked to hold it still and tap again."""

    reason = "card_removed"


class ReaderUnavailable(CardError):
    reason = "reader_unavailable"


class CardNotSupported(CardError):
    """No application we accept, or the card answered something we cannot use."""

    reason = "card_not_supported"


class CardReadFailed(CardError):
    """A broken or unreadable card: it stayed and answered, but with malformed data or unexpected
    status words. Never used for a card that did not answer at all (that is CardRemovedTooEarly)."""

    reason = "card_unreadable"


class CardNeedsPin(CardError):
    """The card requires a PIN (or a signature) for this amount, and the kiosk takes neither.

    Raised before GENERATE AC (EMV Book 3 section 10.5, Books C-2/C-3 CVM processing), so the card
    never computes a cryptogram for a payment that cannot go through. No PIN is ever asked on screen:
    the UI tells the shopper this card cannot pay this amount here (pay at the till, or tap a phone).
    """

    reason = "pin_required"


class BadgePresented(CardError):
    """A staff badge, not a payment card, was presented on the pay screen (issue 9: staff mode).

    `badge_id` is the badge's UID (hex) when the reader gave one, else its ATR (hex): never card data.
    """

    reason = "staff_badge"

    def __init__(self, message: str = "a staff badge was presented", *, badge_id: str | None = None):
        super().__init__(message)
        self.badge_id = badge_id


@dataclass(frozen=True)
class ApplicationChoice:
    """One payment application the card offers, as shown to the shopper when a choice is needed
    (EMV Book 1 section 12.4). `aid` is hex; `label` is the card's '50' (or '9F12') text."""

    aid: str
    label: str
    priority: int  # '87' bits 4-1; 0 = none given, 1 = highest
    scheme: str = ""


ApplicationChooser = Callable[[list[ApplicationChoice]], "ApplicationChoice | None"]
"""Called (on the card-read thread) when the card asks for cardholder confirmation or offers
applications of equal priority; returns the chosen one, or None when the shopper cancels."""


class PaymentTerminal(Protocol):
    name: str

    def is_available(self) -> bool:
        """True when the reader is there and usable (pcscd running, reader plugged in)."""

    def read_card(
        self,
        request: CardRequest,
        cancel: threading.Event,
        *,
        choose_application: ApplicationChooser | None = None,
    ) -> CardReadResult:
        """Wait for a card (up to request.card_timeout_s), run the EMV flow, return the sealed result.

        Raises a `CardError` subclass for every failure a shopper can cause (`CardNeedsPin` above the
        no-CVM limit, `BadgePresented` for a staff badge). `choose_application` None: the card's
        highest-priority application is used without asking.
        """

    def wait_for_badge(self, timeout_s: float, cancel: threading.Event | None = None) -> str | None:
        """Wait up to `timeout_s` for a card to be put on the reader; a staff badge -> its id (UID hex
        upper-case, else ATR hex), anything else (a payment card, an unknown card, nothing) -> None.

        Never sends an EMV command: a card is touched only as far as telling a badge needs (its ATR,
        at most GET DATA for the UID). A card already reported (or already read by `read_card`) that
        stays on the reader is not looked at again: the next card is reported once it was removed.
        `cancel` (optional) set -> returns None soon (within ~0.1 s). Blocking: run it in a worker
        thread, never while `read_card` runs. Raises `ReaderUnavailable` (pcscd down, reader gone)
        without waiting longer than `timeout_s`.
        """
