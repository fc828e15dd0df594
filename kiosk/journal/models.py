"""What the order journal holds: pydantic models of an order's life cycle, checked on every write.

The journal is a boundary (the kiosk's own disk, read back after a crash), so everything in it is
validated when written and again when read.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kiosk.contract import CardSummary, Cents, Currency, Fulfilment, Ident, PaymentRequest, Sku
from kiosk.contract.sealing import luhn_valid


class OrderState(str, Enum):
    created = "created"
    awaiting_payment = "awaiting_payment"
    authorising = "authorising"
    paid = "paid"
    submitting = "submitting"
    acknowledged = "acknowledged"
    voided = "voided"
    refunded = "refunded"
    failed = "failed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES: frozenset[OrderState] = frozenset(
    {OrderState.acknowledged, OrderState.voided, OrderState.refunded, OrderState.failed})

S = OrderState
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    # Written before the card is touched; the shopper may walk away (failed, reason "cancelled").
    S.created: frozenset({S.awaiting_payment, S.failed}),
    # Written before authorisation is sent (with the payment id of this attempt and its request).
    # awaiting_payment -> awaiting_payment: the shopper went back and chose another way to get it
    #   (new fulfilment, total and reservation); nothing was charged yet.
    S.awaiting_payment: frozenset({S.awaiting_payment, S.authorising, S.failed}),
    # authorising -> authorising: a status inquiry for a lost answer ("payment_unknown") that did
    #   not settle yet; the entry stays here until it does.
    # -> awaiting_payment: declined, the shopper may try another card (a new payment id).
    # -> failed: declined and given up, or the payment service never got the request.
    # -> voided: the payment turned out voided, or an approval found after a crash was voided.
    S.authorising: frozenset({S.authorising, S.paid, S.awaiting_payment, S.failed, S.voided}),
    # Money is reserved: the only way on is to submit the order.
    S.paid: frozenset({S.submitting}),
    # submitting -> submitting: a retry (same idempotency key). Refused for good: the payment is
    # voided (or refunded). There is no submitting -> failed: a paid order ends placed or paid back.
    S.submitting: frozenset({S.submitting, S.acknowledged, S.voided, S.refunded}),
    S.acknowledged: frozenset(),
    S.voided: frozenset(),
    S.refunded: frozenset(),
    S.failed: frozenset(),
}
del S

# A full card number is 12-19 digits; a run like that in free text is refused outright when it
# passes the Luhn check (what card numbers do), so a bug can never write one to disk.
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")


def looks_like_pan(text: str) -> bool:
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 12 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def _no_pan(value: str) -> str:
    if looks_like_pan(value):
        raise ValueError("looks like a card number; card data is never written to the journal")
    return value


FreeText = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_pan)]
Reference = Annotated[str, StringConstraints(pattern=r"^[0-9A-HJKMNP-TV-Z]{8}$")]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _JournalModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JournalLine(_JournalModel):
    sku: Sku
    name: Annotated[str, StringConstraints(max_length=300)]
    variant_label: Annotated[str, StringConstraints(max_length=200)] = ""
    quantity: int = Field(ge=1, le=99)
    unit_price_cents: Cents


class Customer(_JournalModel):
    """Personal data for delivery or a receipt by email: PII, removed once the order is acknowledged."""

    name: FreeText | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    address: FreeText | None = None
    postcode: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{3}[A-Z]{2}$")] | None = None
    house_number: Annotated[int, Field(ge=1, le=99_999)] | None = None
    house_number_addition: Annotated[str, StringConstraints(max_length=8)] = ""


class HistoryItem(_JournalModel):
    state: OrderState
    at: AwareDatetime
    note: FreeText | None = None  # a stable code or short text for staff; never personal or card data


class JournalEntry(_JournalModel):
    """One order as the journal knows it. `order_id` is also the order's idempotency key."""

    order_id: Ident
    reference: Reference
    kiosk_id: Ident
    store_id: Ident
    lines: list[JournalLine] = Field(min_length=1, max_length=100)
    total_cents: Cents
    currency: Currency = "EUR"
    fulfilment: Fulfilment  # never holds the delivery address: that is `customer`, scrubbed when placed
    customer: Customer | None = None
    reservation_id: Ident | None = None  # the stock the central API holds for this order

    state: OrderState = OrderState.created
    payment_id: Ident | None = None  # the current payment attempt (its idempotency key)
    card_summary: CardSummary | None = None  # masked only (BIN + last 4 at most)
    # The exact authorisation request of the current attempt, kept only while `authorising`, so a
    # status inquiry that finds nothing can replay the very same body under the same key. It holds
    # the card data SEALED to the payment service (ciphertext the kiosk cannot open), never in clear.
    payment_request: PaymentRequest | None = None
    order_number: Annotated[str, StringConstraints(max_length=64)] | None = None
    failure_reason: FreeText | None = None
    attempts: int = Field(default=0, ge=0)
    next_attempt_at: AwareDatetime | None = None
    created_at: AwareDatetime = Field(default_factory=utc_now)
    updated_at: AwareDatetime = Field(default_factory=utc_now)
    history: list[HistoryItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> JournalEntry:
        if self.state is OrderState.failed and not self.failure_reason:
            raise ValueError("a failed order needs a failure_reason")
        if self.state in (OrderState.authorising, OrderState.paid, OrderState.submitting,
                          OrderState.acknowledged) and self.payment_id is None:
            raise ValueError(f"state {self.state.value} needs a payment_id")
        if self.state is OrderState.acknowledged:
            if not self.order_number:
                raise ValueError("an acknowledged order needs the central order_number")
            if self.customer is not None:
                raise ValueError("an acknowledged order keeps no personal data")
        if self.payment_request is not None:
            if self.state is not OrderState.authorising:
                raise ValueError("the sealed payment request is kept only while authorising")
            request = self.payment_request
            if (request.payment_id != self.payment_id or request.order_id != self.order_id
                    or request.amount_cents != self.total_cents):
                raise ValueError("payment_request does not belong to this order and payment attempt")
        return self

    @property
    def is_final(self) -> bool:
        return self.state.is_final


class StaffAlert(_JournalModel):
    """Something staff must see (the staff screens show them); plain data."""

    kind: str  # e.g. "journal_recovered", "journal_unrecoverable", "order_possibly_lost"
    message: str
    at: AwareDatetime = Field(default_factory=utc_now)
    order_id: str | None = None
