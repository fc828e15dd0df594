"""The wire contract with the central order API: pydantic models of every request and answer.

This package is shared by the kiosk's client (`kiosk.api`) and the reference server (`central/`),
which may import nothing else of `kiosk`. It is the single place where the shape of the API lives;
the reference server's OpenAPI document is generated from these models.

Rules that hold for every model here:
- Money is integer cents with an ISO 4217 currency code; the kiosk never computes a price of its own.
- Unknown fields in answers are ignored (the server may grow), but unknown fields in requests to the
  reference server are refused, so a client bug shows up in the contract tests.
- Identifiers are opaque strings.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

API_VERSION = "v1"

Cents = Annotated[int, Field(ge=0, le=100_000_000, description="Amount in euro cents")]
Currency = Literal["EUR"]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class WireModel(BaseModel):
    """Base for answers: tolerant of fields a newer server adds."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class RequestModel(BaseModel):
    """Base for requests: strict, so a malformed request is a 422 and not a silent guess."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- health ---------------------------------------------------------------------------------


class Health(WireModel):
    """`GET /v1/health`, no credential needed: lets a kiosk tell "server down" from "my token is bad"."""

    status: Literal["ok"] = "ok"
    time: datetime
    api_version: str = API_VERSION


# --- errors -----------------------------------------------------------------------------------


class Shortage(WireModel):
    """One line the shop (or the warehouse, for delivery) cannot supply in the asked quantity."""

    sku: Sku
    store_id: Ident | None = Field(default=None, description="None for home delivery (the warehouse)")
    wanted: int = Field(ge=1)
    available: int = Field(ge=0)


class ErrorBody(WireModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'unauthorized', 'price_changed'")
    message: str = Field(description="Human-readable explanation (English), for logs and staff")
    shortages: list[Shortage] = Field(
        default_factory=list, description="With code 'stock_unavailable': which lines are short, and where")


class ErrorResponse(WireModel):
    """Every non-2xx answer of the API has this body."""

    error: ErrorBody


# --- catalog ----------------------------------------------------------------------------------


class Category(WireModel):
    id: Ident
    name: str = Field(description="Dutch name")
    name_en: str | None = None
    parent_id: Ident | None = None


class Variant(WireModel):
    sku: Sku
    ean: str | None = Field(default=None, description="EAN-13 barcode")
    size: str | None = None
    colour: str | None = None
    price_cents: Cents
    currency: Currency = "EUR"
    available: bool = Field(default=True, description="Orderable: in stock somewhere in the chain or at the supplier")


class Product(WireModel):
    id: Ident
    name: str
    description: str = ""
    brand: str | None = None
    category_id: Ident
    images: list[str] = Field(default_factory=list, description="Picture URLs, absolute or relative to the API base")
    variants: list[Variant] = Field(min_length=1)


class CatalogPage(WireModel):
    items: list[Product]
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` to get the next page; on the last page, a cursor for a later delta sync",
    )
    has_more: bool = False
    removed: list[Ident] = Field(
        default_factory=list, description="Products withdrawn since the cursor (delta sync): remove them locally")
    remaining: int | None = Field(
        default=None, description="Products still to come after this page (for a progress bar); None if unknown")


# --- promotions -------------------------------------------------------------------------------


class Promotion(WireModel):
    """A promotion for the attract screen: text in Dutch (and English), usually about one article.

    Only words and a picture: a promotional price is the article's price in the catalog, never a
    number the kiosk shows from here."""

    id: Ident
    title: str = Field(min_length=1, max_length=80)
    title_en: str | None = Field(default=None, max_length=80)
    subtitle: str = Field(default="", max_length=160)
    subtitle_en: str | None = Field(default=None, max_length=160)
    product_id: Ident | None = Field(default=None, description="Tapping the promotion opens this article")
    image_url: str | None = None
    valid_until: datetime | None = None


# --- stores and stock -------------------------------------------------------------------------


class OpeningHours(WireModel):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: str = Field(pattern=r"^\d{2}:\d{2}$")
    closes: str = Field(pattern=r"^\d{2}:\d{2}$")


class Store(WireModel):
    id: Ident
    name: str
    city: str
    address: str = ""
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    opening_hours: list[OpeningHours] = Field(default_factory=list)


class StockQuery(RequestModel):
    skus: list[Sku] = Field(min_length=1, max_length=500)
    store_ids: list[Ident] = Field(min_length=1, max_length=50)


class StockLevel(WireModel):
    sku: Sku
    store_id: Ident
    quantity: int = Field(ge=0, description="Available to sell: on hand minus active reservations")
    location: str | None = Field(default=None, max_length=64,
                                 description="Shelf or aisle in that shop when known, e.g. 'Gang 4, schap B'")


class StockAnswer(WireModel):
    as_of: datetime
    levels: list[StockLevel]


# --- quotes, fulfilment options and reservations ---------------------------------------------


class ItemIn(RequestModel):
    sku: Sku
    quantity: int = Field(ge=1, le=99)


class QuoteRequest(RequestModel):
    """What would this cart cost, and how can the shopper get it? Asked before paying."""

    store_id: Ident = Field(description="The shop where the kiosk stands")
    lines: list[ItemIn] = Field(min_length=1, max_length=100)


class QuoteLine(WireModel):
    sku: Sku
    name: str
    quantity: int = Field(ge=1)
    unit_price_cents: Cents = Field(description="Today's price; the kiosk shows it, never computes one")
    line_total_cents: Cents


FulfilmentType = Literal["take_now", "pickup", "delivery"]


class FulfilmentOption(WireModel):
    type: FulfilmentType
    store_id: Ident | None = Field(default=None, description="For take_now and pickup")
    cost_cents: Cents = Field(description="Delivery or pickup cost; 0 when free")
    total_cents: Cents = Field(description="Lines plus cost: what the shopper pays with this option")
    ready_on: date = Field(description="Pickup: the day it is ready in that shop. Delivery: the promised day")
    in_stock: bool = Field(description="Pickup/take_now: the shop has every line now (else it is sent there)")


class Quote(WireModel):
    as_of: datetime
    lines: list[QuoteLine]
    subtotal_cents: Cents
    currency: Currency = "EUR"
    options: list[FulfilmentOption] = Field(
        description="Only what is possible for this cart; shops that can neither supply nor get it are left out")
    shortages: list[Shortage] = Field(
        default_factory=list, description="Lines this kiosk's own shop cannot supply now (so no take_now)")


class DeliveryAddress(RequestModel):
    """Home delivery in the Netherlands. Personal data: the kiosk scrubs it once the order is placed."""

    postcode: str = Field(pattern=r"^[1-9][0-9]{3}[A-Z]{2}$", description="Dutch postcode, no space: 1234AB")
    house_number: int = Field(ge=1, le=99_999)
    house_number_addition: str = Field(default="", max_length=8, pattern=r"^[A-Za-z0-9 -]*$")
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Fulfilment(RequestModel):
    type: FulfilmentType
    store_id: Ident | None = Field(default=None, description="For take_now and pickup")
    cost_cents: Cents = Field(default=0, description="The cost the shopper saw in the quote")
    delivery: DeliveryAddress | None = Field(default=None, description="Required for delivery, else absent")


class ReservationRequest(RequestModel):
    """Re-check and hold stock for a cart before the shopper pays (Idempotency-Key = reservation_id)."""

    reservation_id: Ident
    store_id: Ident = Field(description="The shop where the kiosk stands")
    lines: list[ItemIn] = Field(min_length=1, max_length=100)
    fulfilment: Fulfilment


class ReservationStatus(str, Enum):
    held = "held"
    committed = "committed"
    released = "released"


class Reservation(WireModel):
    reservation_id: Ident
    status: ReservationStatus
    expires_at: datetime = Field(description="A held reservation lapses then; placing the order commits it")
    fulfilment_type: FulfilmentType
    store_id: Ident | None = Field(default=None, description="Where the stock is held; None for the warehouse")


# --- payments ---------------------------------------------------------------------------------


class SealedCardData(WireModel):
    """Card data sealed by the kiosk's card module for the payment service (see `sealing.py`).

    Only the payment service holds the key that opens it; the kiosk app never sees what is inside.
    """

    alg: Literal["X25519-HKDF-SHA256-AES256GCM"] = "X25519-HKDF-SHA256-AES256GCM"
    key_id: str = Field(min_length=1, max_length=64, description="Which payment-service key it is sealed to")
    epk: str = Field(description="Ephemeral X25519 public key, base64url")
    nonce: str = Field(description="AES-GCM nonce, base64url")
    ciphertext: str = Field(max_length=8192, description="AES-GCM ciphertext and tag, base64url")


class CardSummary(WireModel):
    """The most the kiosk may know and show of a card."""

    scheme: str = Field(description="e.g. 'Maestro', 'Mastercard', 'Visa', 'V PAY'")
    masked_pan: str = Field(pattern=r"^[0-9]{0,6}\*+[0-9]{4}$", description="BIN and last 4 at most")
    expiry_month: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}$")


class PaymentRequest(RequestModel):
    payment_id: Ident = Field(description="Chosen by the kiosk per attempt; equal to the Idempotency-Key")
    order_id: Ident
    amount_cents: Annotated[int, Field(gt=0, le=100_000_000)]
    currency: Currency = "EUR"
    card: SealedCardData
    card_summary: CardSummary


class PaymentStatus(str, Enum):
    approved = "approved"
    declined = "declined"
    voided = "voided"


class Payment(WireModel):
    payment_id: Ident
    order_id: Ident
    status: PaymentStatus
    amount_cents: Cents
    currency: Currency = "EUR"
    auth_code: str | None = None
    decline_code: str | None = Field(default=None, description="e.g. 'insufficient_funds', 'expired_card'")
    decline_message: str | None = None
    card_summary: CardSummary
    created_at: datetime


# --- orders -----------------------------------------------------------------------------------


class OrderLineIn(RequestModel):
    sku: Sku
    quantity: int = Field(ge=1, le=99)
    unit_price_cents: Cents = Field(description="The price the shopper saw; the server refuses a stale one")


class OrderRequest(RequestModel):
    order_id: Ident = Field(description="Chosen by the kiosk; equal to the Idempotency-Key")
    kiosk_id: Ident
    store_id: Ident = Field(description="The shop where the kiosk stands")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=100)
    total_cents: Cents
    currency: Currency = "EUR"
    payment_id: Ident
    fulfilment: Fulfilment
    reservation_id: Ident | None = Field(
        default=None, description="The stock held before paying; without one the server reserves at once")


class OrderStatus(str, Enum):
    placed = "placed"
    ready = "ready"
    completed = "completed"
    cancelled = "cancelled"


class OrderLine(WireModel):
    sku: Sku
    name: str
    quantity: int
    unit_price_cents: Cents
    line_total_cents: Cents


class Order(WireModel):
    order_id: Ident
    order_number: str = Field(description="The central order number the shopper and staff refer to")
    status: OrderStatus
    kiosk_id: Ident
    store_id: Ident
    lines: list[OrderLine]
    total_cents: Cents
    currency: Currency = "EUR"
    payment_id: Ident
    fulfilment_type: FulfilmentType
    fulfilment_store_id: Ident | None = None
    delivery_cost_cents: Cents = 0
    ready_on: date | None = Field(default=None, description="Pickup ready / delivery promised day")
    created_at: datetime
    tracking_url: str


# --- cart hand-off to the shopper's phone ----------------------------------------------------


class CartLinkRequest(RequestModel):
    """`POST /v1/carts`: make a short-lived link that opens this cart on the shopper's phone."""

    store_id: Ident = Field(description="The shop where the kiosk stands")
    lines: list[ItemIn] = Field(min_length=1, max_length=100)


class CartLink(WireModel):
    token: str = Field(description="Unguessable (at least 128 random bits), URL-safe; the only key to the cart")
    url: str = Field(description="The public page of the cart (`/cart/{token}` on the server): the kiosk's QR")
    expires_at: datetime = Field(description="The link answers 410 from then on")


class SharedCartLine(WireModel):
    sku: Sku
    product_id: Ident
    name: str = Field(description="The product's name")
    variant: str = Field(default="", description="Size and colour as the kiosk shows them ('M · rood'); may be ''")
    quantity: int = Field(ge=1)
    unit_price_cents: Cents = Field(description="Today's price, at the moment the cart is looked at")
    line_total_cents: Cents


class SharedCart(WireModel):
    """`GET /v1/carts/{token}` (no credential): a handed-off cart at today's prices. No personal data."""

    store_id: Ident = Field(description="The shop whose kiosk made the link")
    store_name: str
    lines: list[SharedCartLine] = Field(description="In the order of the kiosk's cart")
    unavailable_skus: list[Sku] = Field(
        default_factory=list, description="Lines of the cart no longer in the catalog (left out of lines)")
    subtotal_cents: Cents
    currency: Currency = "EUR"
    as_of: datetime = Field(description="When these prices were read")
    expires_at: datetime


# --- headers ----------------------------------------------------------------------------------

IDEMPOTENCY_HEADER = "Idempotency-Key"


# --- staff (its own module, re-exported here: one import place for the whole contract) --------

from kiosk.contract.staff import (  # noqa: E402, F401 (re-exported; it builds on the models above)
    COUNTED_MAX,
    RECEIVED_MAX,
    STAFF_HEADER,
    AdjustmentKind,
    BadgeUid,
    PickCounts,
    PickLine,
    PickList,
    PickOrder,
    PickStatus,
    StaffMember,
    StaffRole,
    StockAdjustment,
    StockAdjustmentRequest,
)


# --- fleet configuration reports (its own module, re-exported here) ---------------------------

from kiosk.contract.fleet import (  # noqa: E402, F401 (re-exported; it builds on the models above)
    FLEET_LEVELS,
    AppliedBundle,
    BundleRef,
    BundleVersion,
    FleetKiosk,
    FleetLevel,
    FleetOverview,
    FleetReport,
    FleetReportReceipt,
    FleetVersions,
    KioskHealth,
    PendingBundle,
    PendingReason,
    RejectedBundle,
    RejectReason,
    ReportedApplied,
    ReportedBundleRef,
    ReportedHealth,
    ReportedPending,
    ReportedRejection,
)
