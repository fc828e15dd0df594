"""The staff part of the wire contract: who works in a shop, stock adjustments, and pick lists.

Staff use the pillar with their badge: the kiosk matches a badge's UID against `GET /v1/staff` (the
active staff of its own shop) and then sends every staff call with the header STAFF_HEADER (the
staff id) next to its own bearer token. The server checks that the staff member works, and is active,
in the kiosk's shop; so a stolen badge list gives nothing without a kiosk credential of that shop.

Re-exported by `kiosk.contract`; the rules of that module (answers tolerant, requests strict) hold here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from kiosk.contract import Ident, RequestModel, Sku, WireModel

STAFF_HEADER = "X-Staff-Id"

StaffRole = Literal["staff", "manager"]
# As a reader gives it: 4, 7 or 10 bytes (ISO 14443), hex, upper-case, no separators.
BadgeUid = Annotated[str, StringConstraints(pattern=r"^(?:[0-9A-F]{2}){4,10}$")]


class StaffMember(WireModel):
    """`GET /v1/staff`: someone who works in the kiosk's shop (active ones only)."""

    staff_id: Ident
    name: str = Field(description="Full name, for the pillar's staff screen ('Ingelogd: Sanne de Vries')")
    role: StaffRole
    badge_uids: list[BadgeUid] = Field(description="The UIDs of this person's badges")


# --- stock adjustments ------------------------------------------------------------------------

AdjustmentKind = Literal["received", "counted"]
RECEIVED_MAX = 10_000
COUNTED_MAX = 100_000


class StockAdjustmentRequest(RequestModel):
    """`POST /v1/stock-adjustments` (staff; Idempotency-Key = adjustment_id), always in the kiosk's shop.

    received: `quantity` (1..RECEIVED_MAX) came in and is added. counted: `quantity` (0..COUNTED_MAX) is
    what was on the shelf at `made_at`; sales recorded after that moment still count against it."""

    adjustment_id: Ident = Field(description="Chosen by the kiosk; equal to the Idempotency-Key")
    sku: Sku
    kind: AdjustmentKind
    quantity: int = Field(ge=0, le=COUNTED_MAX, description=f"received: 1..{RECEIVED_MAX}; counted: 0..{COUNTED_MAX}")
    made_at: AwareDatetime = Field(description="When the goods came in or were counted, with its time zone")
    note: str | None = Field(default=None, max_length=200, description="Short text for the stock history")

    @model_validator(mode="after")
    def _quantity_fits_kind(self) -> StockAdjustmentRequest:
        if self.kind == "received" and not 1 <= self.quantity <= RECEIVED_MAX:
            raise ValueError(f"received quantity must be 1..{RECEIVED_MAX}")
        return self


class StockAdjustment(WireModel):
    adjustment_id: Ident
    sku: Sku
    store_id: Ident
    kind: AdjustmentKind
    quantity: int
    delta: int = Field(description="What this adjustment changed the on-hand stock by "
                                   "(0 when a later count already covers it)")
    on_hand: int = Field(description="On hand right after it was recorded (below 0 only when more was sold "
                                     "than counted)")
    available: int = Field(ge=0, description="On hand minus held reservations, right after it was recorded")
    staff_id: Ident
    made_at: datetime
    recorded_at: datetime
    note: str | None = None


# --- pick lists -------------------------------------------------------------------------------

PickStatus = Literal["to_pick", "picked", "handed_over"]


class PickLine(WireModel):
    sku: Sku
    name: str = Field(description="The product's name")
    variant: str = Field(default="", description="Size and colour as the kiosk shows them ('M · rood'); may be ''")
    quantity: int = Field(ge=1)
    location: str | None = Field(default=None, max_length=64,
                                 description="Shelf in this shop, e.g. 'Gang 4, schap B'; None: the stockroom")


class PickOrder(WireModel):
    """A pickup order in a pick list. No personal data beyond a short name: no e-mail, no address."""

    order_id: Ident
    reference: str = Field(description="The short reference on the shopper's receipt (XXXX-XXXX), else the "
                                       "order number")
    order_number: str
    placed_at: datetime
    ready_on: date | None = Field(default=None, description="The day promised to the shopper")
    status: PickStatus
    customer_name: str | None = Field(default=None, max_length=40,
                                      description="Initials or first name and initial; None when not known")
    lines: list[PickLine]
    picked_by: Ident | None = None
    picked_at: datetime | None = None
    handed_over_by: Ident | None = None
    handed_over_at: datetime | None = None


class PickCounts(WireModel):
    to_pick: int = Field(ge=0)
    picked: int = Field(ge=0)
    handed_over_today: int = Field(ge=0)


class PickList(WireModel):
    """`GET /v1/pick-lists`: the pickup orders of one shop, to pick and to hand over."""

    store_id: Ident
    generated_at: datetime
    orders: list[PickOrder] = Field(description="Ready day, then order of placing; handed over ones of today only")
    counts: PickCounts
