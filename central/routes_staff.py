"""Staff at the pillar: who works in the kiosk's shop, and their stock adjustments (restock, count)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Path
from fastapi.responses import JSONResponse

from central import adjustments, examples, idempotency
from central.deps import Kiosk, Parts, Staff, StaffIdentity
from central.errors import ApiProblem, error_responses
from central.staff import active_staff
from kiosk.contract import (
    COUNTED_MAX,
    IDEMPOTENCY_HEADER,
    RECEIVED_MAX,
    STAFF_HEADER,
    StaffMember,
    StockAdjustment,
    StockAdjustmentRequest,
)

router = APIRouter(prefix="/v1")

_AHEAD_MINUTES = int(adjustments.MAX_AHEAD.total_seconds() // 60)
_ADJUSTMENT_RULES = f"""
Always in the kiosk's own shop, by the staff member of header `{STAFF_HEADER}`.
`received`: `quantity` (1..{RECEIVED_MAX}) is added. `counted`: `quantity` (0..{COUNTED_MAX}) is what was on
hand at `made_at`; the move is that minus what was on hand just before `made_at`, so sales recorded after
that moment (before or after this request arrives) still count against it. An adjustment at or before
the latest count of the sku in the shop is already in that count: `delta` 0. `made_at` more than
{_AHEAD_MINUTES} minutes ahead of the server's clock is a 422 `made_at_in_future`; a little
ahead is taken as now. Unknown sku: 422 `unknown_sku`. The same Idempotency-Key, body and staff member
replay the first answer (header Idempotent-Replayed); anything else with that key is a 409
`idempotency_conflict`. `on_hand` and `available` are as right after it was recorded.
"""


def _digest(body: StockAdjustmentRequest, staff: StaffIdentity) -> str:
    # The shop and the staff member are part of the request: the same id from another is a conflict.
    return idempotency.body_hash(body) + f":{staff.store_id}:{staff.staff_id}"


@router.get("/staff", response_model=list[StaffMember], tags=["staff"], responses=error_responses(401),
            summary="The active staff of the kiosk's own shop, with their badge UIDs (to recognise a badge)")
def staff_members(parts: Parts, kiosk: Kiosk) -> list[StaffMember]:
    with parts.db.session() as conn:
        return active_staff(conn, kiosk.store_id)


@router.post("/stock-adjustments", response_model=StockAdjustment, status_code=201, tags=["staff"],
             responses=error_responses(400, 401, 403, 409, 422),
             summary="Staff: goods received (added) or counted (on hand at made_at). "
                     "Idempotency-Key = adjustment_id",
             description=_ADJUSTMENT_RULES)
def adjust_stock(parts: Parts, staff: Staff,
                 body: Annotated[StockAdjustmentRequest, Body(openapi_examples=examples.STOCK_ADJUSTMENT)],
                 idempotency_key: Annotated[str | None, Header(
                     alias=IDEMPOTENCY_HEADER, description="Required; equal to adjustment_id of the body",
                     openapi_examples=examples.STOCK_ADJUSTMENT_KEY)] = None) -> JSONResponse:
    idempotency.check_key(idempotency_key, body.adjustment_id, "adjustment_id")
    digest = _digest(body, staff)
    with parts.db.write_lock, parts.db.session() as conn:
        recorded = idempotency.lookup(conn, "stock-adjustments", body.adjustment_id, digest)
        if recorded:
            return recorded.replay()
        now = parts.clock()
        with conn:  # the move, the adjustment and its idempotency record: all or nothing
            adjustment = adjustments.record(conn, body, staff.store_id, staff.staff_id, staff.kiosk.kiosk_id, now)
            return idempotency.remember(conn, "stock-adjustments", body.adjustment_id, digest, 201, adjustment)


@router.get("/stock-adjustments/{adjustment_id}", response_model=StockAdjustment, tags=["staff"],
            responses=error_responses(401, 403, 404),
            summary="Staff: a stock adjustment of the kiosk's shop, as it was recorded")
def get_adjustment(parts: Parts, staff: Staff,
                   adjustment_id: Annotated[str, Path(openapi_examples=examples.STOCK_ADJUSTMENT_ID)]
                   ) -> StockAdjustment:
    with parts.db.session() as conn:
        adjustment = adjustments.load(conn, adjustment_id)
    # Another shop's adjustment is "not found": none of this kiosk's business.
    if adjustment is None or adjustment.store_id != staff.store_id:
        raise ApiProblem(404, "not_found", f"No stock adjustment {adjustment_id!r} in shop {staff.store_id}.")
    return adjustment
