"""What the journal holds of a staff stock adjustment (restock, count) on its way to the central API.

An adjustment is journalled BEFORE it is sent, like an order, so a count typed in while the central
API is down, or the kiosk killed mid-send, is never lost. Its life cycle:

    pending --> sent --> acknowledged      the central API's answer (`result`, the new figure) is kept
               ^  |  --> rejected          refused for good (`last_error`); staff are alerted
               +--+
    sent -> pending: the send failed in a way worth trying again (down, timeout, 5xx); `last_error`
                     and `next_attempt_at` say why and when.
    sent -> sent:    an entry found `sent` after a restart is sent again.

`sent` is written before every send, so an entry found `sent` after a crash says "this may have
reached the central API". Either way the very same request goes again under the same Idempotency-Key
(= adjustment_id), which the central API answers with its first answer: one move of stock, whatever
was lost on the way.
"""

from __future__ import annotations

from enum import Enum

from pydantic import AwareDatetime, Field, model_validator

from kiosk.contract import Ident, StockAdjustment, StockAdjustmentRequest
from kiosk.journal.models import FreeText, _JournalModel, looks_like_pan, utc_now


class AdjustmentState(str, Enum):
    pending = "pending"
    sent = "sent"
    acknowledged = "acknowledged"
    rejected = "rejected"

    @property
    def is_final(self) -> bool:
        return self in ADJUSTMENT_FINAL_STATES


ADJUSTMENT_FINAL_STATES: frozenset[AdjustmentState] = frozenset(
    {AdjustmentState.acknowledged, AdjustmentState.rejected})

A = AdjustmentState
ADJUSTMENT_TRANSITIONS: dict[AdjustmentState, frozenset[AdjustmentState]] = {
    A.pending: frozenset({A.sent}),
    A.sent: frozenset({A.sent, A.pending, A.acknowledged, A.rejected}),
    A.acknowledged: frozenset(),
    A.rejected: frozenset(),
}
del A


class AdjustmentEntry(_JournalModel):
    """One stock adjustment as the journal knows it. `adjustment_id` is also its idempotency key."""

    adjustment_id: Ident
    request: StockAdjustmentRequest  # exactly what is sent, every time (the key's body must not change)
    staff_id: Ident  # who received or counted it: sent as the staff header, part of the key's identity
    state: AdjustmentState = AdjustmentState.pending
    attempts: int = Field(default=0, ge=0)  # sends that went out (counted before each one)
    last_error: FreeText | None = None  # why the last send failed, or why it was rejected
    result: StockAdjustment | None = None  # the central API's answer: the new on-hand figure
    next_attempt_at: AwareDatetime | None = None  # backoff: not sent again before this
    created_at: AwareDatetime = Field(default_factory=utc_now)
    updated_at: AwareDatetime = Field(default_factory=utc_now)

    @model_validator(mode="after")
    def _consistent(self) -> AdjustmentEntry:
        if self.request.adjustment_id != self.adjustment_id:
            raise ValueError("the request belongs to another adjustment")
        if self.request.note is not None and looks_like_pan(self.request.note):
            raise ValueError("the note looks like a card number; card data is never written to the journal")
        if self.state is AdjustmentState.acknowledged:
            if self.result is None:
                raise ValueError("an acknowledged adjustment needs the central API's answer")
            if self.result.adjustment_id != self.adjustment_id or self.result.sku != self.request.sku:
                raise ValueError("the answer belongs to another adjustment")
        elif self.result is not None:
            raise ValueError("only an acknowledged adjustment has an answer")
        if self.state is AdjustmentState.rejected and not self.last_error:
            raise ValueError("a rejected adjustment needs the reason in last_error")
        return self

    @property
    def is_final(self) -> bool:
        return self.state.is_final
