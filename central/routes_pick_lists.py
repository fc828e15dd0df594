"""Pick lists: staff pick a shop's pickup orders and hand them over (see `central.pick_lists`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from central import examples, pick_lists
from central.deps import Parts, Staff
from central.errors import ApiProblem, error_responses
from kiosk.contract import STAFF_HEADER, PickList, PickOrder

router = APIRouter(prefix="/v1")


@router.get("/pick-lists", response_model=PickList, tags=["staff"], responses=error_responses(401, 403, 422),
            summary="Staff: the shop's pickup orders to pick and to hand over (handed over: today's only)",
            description=f"Header `{STAFF_HEADER}` names the staff member. `store` may be left out; it is always "
                        "the kiosk's own shop (else 403 `store_mismatch`). Days are Dutch local time.")
def get_pick_list(parts: Parts, staff: Staff,
                  store: Annotated[str | None, Query(description="The kiosk's own shop (the default)",
                                                     openapi_examples=examples.PICK_STORE)] = None) -> PickList:
    if store is not None and store != staff.store_id:
        raise ApiProblem(403, "store_mismatch", f"This kiosk may only see the pick list of shop {staff.store_id}.")
    with parts.db.session() as conn:
        return pick_lists.pick_list(conn, staff.store_id, parts.clock())


@router.post("/pick-lists/{order_id}/picked", response_model=PickOrder, tags=["staff"],
             responses=error_responses(401, 403, 404),
             summary="Staff: the order is picked (the order is then 'ready'). Idempotent: again answers as it is")
def picked(parts: Parts, staff: Staff, order_id: str) -> PickOrder:
    with parts.db.write_lock, parts.db.session() as conn, conn:
        return pick_lists.mark_picked(conn, staff.store_id, order_id, staff.staff_id, parts.clock())


@router.post("/pick-lists/{order_id}/handed-over", response_model=PickOrder, tags=["staff"],
             responses=error_responses(401, 403, 404, 409),
             summary="Staff: the shopper has the order (it is then 'completed'). Idempotent; "
                     "409 not_picked before it was picked")
def handed_over(parts: Parts, staff: Staff, order_id: str) -> PickOrder:
    with parts.db.write_lock, parts.db.session() as conn, conn:
        return pick_lists.mark_handed_over(conn, staff.store_id, order_id, staff.staff_id, parts.clock())
