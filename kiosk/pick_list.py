"""Pick lists (issue 8): this shop's pickup orders, picked and handed over by staff.

    picks = PickListService(api)
    await picks.load(staff_id)                    # PickList, also kept as `picks.current`
    await picks.mark_picked(order_id, staff_id)   # PickOrder as the central API now has it
    await picks.mark_handed_over(order_id, staff_id)
    picks.counts                                  # PickCounts for the staff home; None before a load

A mark is optimistic: the loaded list changes at once (the screen redraws without waiting for the
network), the central API's answer then replaces the order, and a failure puts the order back as it
was and raises a typed error the screen can show:

- `PickListUnreachable`  could not connect, no answer in time, 5xx or a garbled answer. Marks are
                         idempotent on the central API, so "try again" is safe even when the first
                         one did arrive and only its answer was lost.
- `NotPicked`            409 not_picked: an order is picked before it is handed over.
- `PickOrderGone`        404: not (or no longer) a pickup order of this shop: reload the list.
- `PickListRefused`      any other refusal (403 staff_unknown, 401 ...), with the central `code`.

Nothing here is journalled, on purpose: the pick list lives on the central API (another pillar in
the shop may mark the same orders), and a mark that did not arrive is simply not done, which the
list then shows. Only stock adjustments need the journal (a count typed in must not be lost).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone

from kiosk.api import (
    ApiConflict,
    ApiConnectionError,
    ApiError,
    ApiNotFound,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
)
from kiosk.contract import PickCounts, PickList, PickOrder

log = logging.getLogger("kiosk.pick_list")


class PickListError(Exception):
    pass


class PickListUnreachable(PickListError):
    """The central API could not be reached (or gave no usable answer): nothing changed; try again."""


class NotPicked(PickListError):
    """The order must be picked before it is handed over."""


class PickOrderGone(PickListError):
    """Not a pickup order of this shop (any more): reload the list."""


class PickListRefused(PickListError):
    """The central API refused (e.g. 403 staff_unknown); `code` says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _typed(exc: ApiError) -> PickListError:
    if isinstance(exc, (ApiConnectionError, ApiTimeoutError, ApiResponseError)) or (
            isinstance(exc, ApiStatusError) and (exc.status >= 500 or exc.status in (408, 429))):
        return PickListUnreachable(f"the central order system is not reachable ({type(exc).__name__})")
    if isinstance(exc, ApiConflict) and exc.code == "not_picked":
        return NotPicked(exc.message)
    if isinstance(exc, ApiNotFound):
        return PickOrderGone(exc.message)
    if isinstance(exc, ApiStatusError):
        return PickListRefused(exc.message, exc.code)
    return PickListUnreachable(str(exc))


def count(orders: list[PickOrder]) -> PickCounts:
    """As the central API counts a pick list (its orders are those to pick, picked, handed over today)."""
    return PickCounts(to_pick=sum(o.status == "to_pick" for o in orders),
                      picked=sum(o.status == "picked" for o in orders),
                      handed_over_today=sum(o.status == "handed_over" for o in orders))


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class PickListService:
    def __init__(self, api, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._api = api
        self._clock = clock
        self.current: PickList | None = None
        self.listeners: list[Callable[[PickList], None]] = []  # the pick list screen, the staff home counts

    @property
    def counts(self) -> PickCounts | None:
        """The staff home's figures, from the list as last loaded and marked (None: never loaded)."""
        return self.current.counts if self.current is not None else None

    async def load(self, staff_id: str) -> PickList:
        """The shop's pick list from the central API; on failure the last loaded list stays."""
        try:
            picks = await self._api.pick_list(staff_id)
        except ApiError as exc:
            raise _typed(exc) from exc
        self._set(picks)
        return picks

    async def mark_picked(self, order_id: str, staff_id: str) -> PickOrder:
        now = self._clock()
        return await self._mark(order_id, self._api.mark_picked, staff_id,
                                status="picked", picked_by=staff_id, picked_at=now)

    async def mark_handed_over(self, order_id: str, staff_id: str) -> PickOrder:
        now = self._clock()
        return await self._mark(order_id, self._api.mark_handed_over, staff_id,
                                status="handed_over", handed_over_by=staff_id, handed_over_at=now)

    async def _mark(self, order_id: str, send, staff_id: str, **optimistic: object) -> PickOrder:
        before = self._order(order_id)
        guess = before.model_copy(update=optimistic) if before is not None else None
        if guess is not None:
            self._replace(guess)
        try:
            answer: PickOrder = await send(order_id, staff_id)
        except ApiError as exc:
            # Put it back, unless a reload meanwhile brought newer news of this order.
            if guess is not None and self._order(order_id) is guess:
                self._replace(before)
            log.warning("pick list: %s of %s failed: %s", optimistic["status"], order_id, exc)
            raise _typed(exc) from exc
        if self._order(order_id) is not None:
            self._replace(answer)
        return answer

    # --- the loaded list ----------------------------------------------------------------------

    def _order(self, order_id: str) -> PickOrder | None:
        if self.current is None:
            return None
        return next((o for o in self.current.orders if o.order_id == order_id), None)

    def _replace(self, order: PickOrder) -> None:
        assert self.current is not None
        orders = [order if o.order_id == order.order_id else o for o in self.current.orders]
        self._set(self.current.model_copy(update={"orders": orders, "counts": count(orders)}))

    def _set(self, picks: PickList) -> None:
        self.current = picks
        for listener in list(self.listeners):
            try:
                listener(picks)
            except Exception:  # a broken screen must not undo a mark that was made
                log.exception("pick list listener failed")
