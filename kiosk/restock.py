"""Restock and count (issue 8): this shop's stock per variant, and staff adjustments that are never lost.

    restock = RestockService(api, journal, store_id)
    shop = await restock.stock_for(product)          # available + shelf per variant, never raises offline
    entry = await restock.record(staff, sku, "received", 12)
    entry.state   acknowledged -> entry.result.on_hand / .available: the new figure to show
                  pending      -> queued: the central API is not reachable now (entry.last_error);
                                  the background sender delivers it, also after a restart
                  rejected     -> refused for good (entry.last_error); a staff alert was raised

`record` checks the quantity against the contract's limits BEFORE anything is written (a typed
`InvalidAdjustment`), journals the adjustment (written before it is sent, like an order), and tries
to send it at once through the `AdjustmentOutbox`, whose background loop (`deliver_pending`, run by
`KioskServices.run_outbox`) delivers whatever is still pending with backoff.

Figures: `POST /v1/stock:query` gives what is available to sell in this shop (on hand minus held
reservations) and the shelf; the on-hand figure itself only comes back in an adjustment's answer, so a
variant shows that from its latest acknowledged adjustment. Staff need today's figure, so stock is
asked of the central API every time, never from the shopper's short-lived stock cache.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from kiosk.adjustment_outbox import AdjustmentOutbox
from kiosk.api import ApiError
from kiosk.contract import COUNTED_MAX, RECEIVED_MAX, AdjustmentKind, Product, StockAdjustmentRequest
from kiosk.journal import AdjustmentEntry, JournalError, looks_like_pan
from kiosk.journal.journal import Journal

log = logging.getLogger("kiosk.restock")

# What each kind accepts (the contract's limits, so the central API never has to refuse it for that).
QUANTITY_LIMITS: dict[str, tuple[int, int]] = {"received": (1, RECEIVED_MAX), "counted": (0, COUNTED_MAX)}
NOTE_MAX = 200


class RestockError(Exception):
    pass


class InvalidAdjustment(RestockError, ValueError):
    """What staff typed cannot be an adjustment; nothing was journalled or sent. `field` names the input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class InvalidQuantity(InvalidAdjustment):
    """The quantity is outside what this kind allows: the screen can say "1 to 10000" from these."""

    def __init__(self, kind: str, quantity: object, minimum: int, maximum: int) -> None:
        super().__init__("quantity", f"a {kind} quantity must be a whole number from {minimum} to {maximum}, "
                                     f"not {quantity!r}")
        self.kind, self.quantity, self.minimum, self.maximum = kind, quantity, minimum, maximum


class _HasId(Protocol):
    id: str


class _HasStaff(Protocol):
    staff: _HasId


StaffRef = str | _HasId | _HasStaff


def staff_id_of(staff: StaffRef) -> str:
    """A staff id from what the screens hold: the id itself, a directory `StaffMember` (`.id`) or a
    `StaffSession` (`.staff.id`)."""
    if isinstance(staff, str):
        return staff
    member = getattr(staff, "staff", staff)
    staff_id = getattr(member, "id", None) or getattr(member, "staff_id", None)
    if not isinstance(staff_id, str) or not staff_id:
        raise InvalidAdjustment("staff", "no staff member: log in first")
    return staff_id


def new_adjustment_id() -> str:
    # Unique without coordination (several pillars in a shop); the server scopes it to shop and staff.
    return f"adj-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class VariantStock:
    sku: str
    label: str  # size and colour as the kiosk shows them ('M · rood'); '' for a single variant
    available: int | None  # to sell in this shop now; None when the central API could not be asked
    location: str | None  # shelf in this shop; None: the stockroom, or not known
    last: AdjustmentEntry | None  # this kiosk's latest adjustment of the sku (any state), for "last count"

    @property
    def on_hand(self) -> int | None:
        """On hand right after the latest acknowledged adjustment from this kiosk, if there is one."""
        return self.last.result.on_hand if self.last and self.last.result else None


@dataclass(frozen=True)
class ShopStock:
    store_id: str
    variants: list[VariantStock]
    as_of: datetime | None  # when the central API counted; None when it could not be asked
    error: str | None = None  # why the figures are missing (central API not reachable)

    @property
    def reachable(self) -> bool:
        return self.error is None


def _label(size: str | None, colour: str | None) -> str:
    # As kiosk.views.variant_label (not imported: that module pulls in the shopper's view helpers).
    return " · ".join(part for part in (size, colour) if part)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class RestockService:
    def __init__(self, api, journal: Journal, store_id: str, clock: Callable[[], datetime] = _utc_now, *,
                 outbox: AdjustmentOutbox | None = None, new_id: Callable[[], str] = new_adjustment_id) -> None:
        self._api = api
        self._journal = journal
        self.store_id = store_id
        self._clock = clock
        self._new_id = new_id
        self.outbox = outbox or AdjustmentOutbox(api, journal, clock=clock)

    # --- stock in this shop -------------------------------------------------------------------

    async def stock_for(self, product: Product) -> ShopStock:
        labels = {v.sku: _label(v.size, v.colour) for v in product.variants}
        return await self._stock(list(labels), labels)

    async def stock_for_skus(self, skus: Sequence[str]) -> ShopStock:
        return await self._stock(list(dict.fromkeys(skus)), {})

    async def _stock(self, skus: list[str], labels: dict[str, str]) -> ShopStock:
        latest = self._latest_adjustments()
        try:
            answer = await self._api.stock(skus, [self.store_id])
        except ApiError as exc:
            log.warning("stock of %d skus in %s not read: %s", len(skus), self.store_id, exc)
            variants = [VariantStock(sku, labels.get(sku, ""), None, None, latest.get(sku)) for sku in skus]
            return ShopStock(self.store_id, variants, None, error=type(exc).__name__)
        levels = {lv.sku: lv for lv in answer.levels if lv.store_id == self.store_id}
        variants = []
        for sku in skus:
            level = levels.get(sku)
            # An sku the answer leaves out is one the central API does not know here: none to sell.
            variants.append(VariantStock(sku, labels.get(sku, ""), level.quantity if level else 0,
                                         level.location if level else None, latest.get(sku)))
        return ShopStock(self.store_id, variants, answer.as_of)

    def _latest_adjustments(self) -> dict[str, AdjustmentEntry]:
        latest: dict[str, AdjustmentEntry] = {}
        for entry in self._journal.adjustments():  # oldest first: the last one written wins
            latest[entry.request.sku] = entry
        return latest

    # --- adjustments --------------------------------------------------------------------------

    def request_for(self, sku: str, kind: AdjustmentKind, quantity: int, note: str | None = None,
                    made_at: datetime | None = None) -> StockAdjustmentRequest:
        """The wire request for what staff typed, or InvalidAdjustment saying which input is wrong."""
        if kind not in QUANTITY_LIMITS:
            raise InvalidAdjustment("kind", f"kind must be one of {', '.join(QUANTITY_LIMITS)}, not {kind!r}")
        minimum, maximum = QUANTITY_LIMITS[kind]
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not minimum <= quantity <= maximum:
            raise InvalidQuantity(kind, quantity, minimum, maximum)
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 64:
            raise InvalidAdjustment("sku", "choose an article (variant) first")
        if note is not None:
            note = note.strip() or None
        if note is not None and len(note) > NOTE_MAX:
            raise InvalidAdjustment("note", f"the note is longer than {NOTE_MAX} characters")
        if note is not None and looks_like_pan(note):
            raise InvalidAdjustment("note", "the note looks like a card number: leave card numbers out")
        return StockAdjustmentRequest(adjustment_id=self._new_id(), sku=sku, kind=kind, quantity=quantity,
                                      made_at=made_at or self._clock(), note=note)

    async def record(self, staff: StaffRef, sku: str, kind: AdjustmentKind, quantity: int,
                     note: str | None = None) -> AdjustmentEntry:
        """Journal the adjustment, then try to send it at once; returns the entry as it stands after
        (acknowledged with the new figure, pending when it could not be delivered now, or rejected).

        Raises InvalidAdjustment (nothing written) or a JournalError when it could not be journalled
        (nothing was sent either). Never raises for the central API: that is what `pending` is for."""
        staff_id = staff_id_of(staff)
        # made_at is now: a count is the shelf at this moment, whenever it reaches the central API.
        request = self.request_for(sku, kind, quantity, note)
        entry = await self._journal.add_adjustment(
            AdjustmentEntry(adjustment_id=request.adjustment_id, request=request, staff_id=staff_id))
        log.info("adjustment %s journalled: %s %d x %s by %s", entry.adjustment_id, kind, quantity, sku, staff_id)
        try:
            # Still pending afterwards: the background sender takes it from here, after its backoff.
            return await self.outbox.deliver(entry.adjustment_id)
        except JournalError as exc:
            # It IS journalled; a later write failed (the journal raised a staff alert). Whatever
            # the journal holds now is the truth, and the background sender goes on from there.
            log.error("adjustment %s journalled, but not sent now: %s", entry.adjustment_id, exc)
            return self._journal.get_adjustment(entry.adjustment_id) or entry

    def pending(self) -> list[AdjustmentEntry]:
        """Adjustments not acknowledged yet, oldest first (the staff screen's "to be sent")."""
        return self._journal.pending_adjustments()

    def get(self, adjustment_id: str) -> AdjustmentEntry | None:
        return self._journal.get_adjustment(adjustment_id)

    async def deliver_pending(self) -> int:
        """One pass of the background sender over what is due (see `AdjustmentOutbox`)."""
        return await self.outbox.deliver_pending()
