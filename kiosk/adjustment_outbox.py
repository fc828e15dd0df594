"""Delivers journalled stock adjustments to the central API until each is acknowledged or refused.

A sibling of `kiosk.outbox` (orders) rather than part of it: an adjustment has no payment to settle
and no shopper waiting, so its whole life is "send the same request until the central API answers",
and keeping that apart keeps the order outbox's life cycle readable.

One attempt (`deliver`):
1. the journal records `sent` (attempts + 1) BEFORE the request goes out;
2. the request goes with Idempotency-Key = adjustment_id and the staff member's header, the very same
   body every time, so the central API records it once and answers any repeat with its first answer;
3. acknowledged -> the answer (the new on-hand figure) is journalled; worth retrying (could not
   connect, no answer, garbled answer, 408/429/5xx, and 401: the kiosk's own credential is wrong,
   which says nothing about the adjustment and is fixed for all of them at once) -> back to
   `pending` with `last_error` and a backoff time; any other refusal (422 unknown_sku,
   403 staff_unknown, 409 ...) -> `rejected` with the reason, and a staff alert.

`deliver_pending` runs one pass over what is due, oldest first, one at a time (a shop's restock is a
trickle; in order of making is what staff expect). A pass stops at the first "could not connect":
the rest would only wait for the same timeout. `run` repeats passes forever on the app's loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from kiosk.api import ApiConnectionError, ApiError, ApiResponseError, ApiStatusError, ApiTimeoutError
from kiosk.contract import StockAdjustment
from kiosk.journal import AdjustmentEntry, AdjustmentState, UnknownAdjustment
from kiosk.journal.journal import Journal
from kiosk.outbox import FAILED_STEP_MIN_WAIT_S, backoff_s

log = logging.getLogger("kiosk.adjustment_outbox")

REJECTED_ALERT = "adjustment_rejected"


def worth_retrying(exc: ApiError) -> bool:
    if isinstance(exc, (ApiConnectionError, ApiTimeoutError, ApiResponseError)):
        return True
    return isinstance(exc, ApiStatusError) and (exc.status >= 500 or exc.status in (401, 408, 429))


def _describe(exc: ApiError) -> str:
    """Short and stable, for the journal and the staff screen: a code, never a request body."""
    if isinstance(exc, ApiStatusError):
        return f"{exc.code} (HTTP {exc.status}): {exc.message}"[:500]
    return type(exc).__name__


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AdjustmentOutbox:
    def __init__(self, api, journal: Journal, *, base_delay_s: float = 2.0, max_delay_s: float = 300.0,
                 clock: Callable[[], datetime] = _utc_now, rng: random.Random | None = None,
                 on_change: Callable[[AdjustmentEntry], None] | None = None) -> None:
        self._api = api
        self._journal = journal
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_change = on_change or (lambda entry: None)
        self._busy: set[str] = set()  # being sent right now (by the foreground or a pass)
        self._cooling: dict[str, float] = {}  # adjustment id -> loop time before which it is not tried
        self._failures: dict[str, int] = {}
        self._unreachable = False  # the last attempt could not connect at all
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Something new to send: do not wait for the idle time."""
        self._wake.set()

    # --- one attempt --------------------------------------------------------------------------

    async def deliver(self, adjustment_id: str) -> AdjustmentEntry:
        """Send one adjustment now (whatever its backoff says); returns the entry as it stands after.
        An entry already being sent, or already final, is returned as it is."""
        entry = self._journal.get_adjustment(adjustment_id)
        if entry is None:
            raise UnknownAdjustment(adjustment_id)
        if entry.is_final or adjustment_id in self._busy:
            return entry
        self._busy.add(adjustment_id)
        try:
            entry = await self._attempt(entry)
        finally:
            self._busy.discard(adjustment_id)
        self._on_change(entry)
        return entry

    async def _attempt(self, entry: AdjustmentEntry) -> AdjustmentEntry:
        adjustment_id = entry.adjustment_id
        # Written before the request goes out: after a crash, `sent` says it may have arrived.
        entry = await self._journal.advance_adjustment(adjustment_id, AdjustmentState.sent,
                                                       attempts=entry.attempts + 1, next_attempt_at=None)
        self._unreachable = False
        try:
            result: StockAdjustment = await self._api.adjust_stock(entry.request, entry.staff_id)
            if result.adjustment_id != adjustment_id or result.sku != entry.request.sku:
                raise ApiResponseError(f"the answer is adjustment {result.adjustment_id} of {result.sku}")
        except ApiError as exc:
            self._unreachable = isinstance(exc, ApiConnectionError)
            if worth_retrying(exc):
                return await self._retry_later(entry, exc)
            return await self._reject(entry, exc)
        log.info("adjustment %s acknowledged: %s on hand %d (delta %+d)", adjustment_id, result.sku,
                 result.on_hand, result.delta)
        return await self._journal.advance_adjustment(adjustment_id, AdjustmentState.acknowledged, result=result,
                                                      last_error=None)

    async def _retry_later(self, entry: AdjustmentEntry, exc: ApiError) -> AdjustmentEntry:
        delay = backoff_s(entry.attempts - 1, base=self._base_delay_s, cap=self._max_delay_s, rng=self._rng)
        log.warning("adjustment %s not delivered yet (attempt %d): %s; again in %.1f s", entry.adjustment_id,
                    entry.attempts, type(exc).__name__, delay)
        return await self._journal.advance_adjustment(
            entry.adjustment_id, AdjustmentState.pending, last_error=_describe(exc),
            next_attempt_at=self._clock() + timedelta(seconds=delay))

    async def _reject(self, entry: AdjustmentEntry, exc: ApiError) -> AdjustmentEntry:
        reason = _describe(exc)
        log.error("adjustment %s refused for good: %s", entry.adjustment_id, reason)
        request = entry.request
        self._journal.add_alert(REJECTED_ALERT, (
            f"Stock adjustment {entry.adjustment_id} ({request.kind} {request.quantity} x {request.sku}, by "
            f"{entry.staff_id}) was refused by the central API: {reason}. The stock was not changed; enter it "
            f"again if it should be."))
        return await self._journal.advance_adjustment(entry.adjustment_id, AdjustmentState.rejected,
                                                      last_error=reason, next_attempt_at=None)

    # --- passes -------------------------------------------------------------------------------

    def due(self, now: datetime | None = None) -> list[AdjustmentEntry]:
        now = now or self._clock()
        loop_time = asyncio.get_running_loop().time()
        return [e for e in self._journal.pending_adjustments()
                if e.adjustment_id not in self._busy and self._cooling.get(e.adjustment_id, 0.0) <= loop_time
                and (e.next_attempt_at is None or e.next_attempt_at <= now)]

    async def deliver_pending(self) -> int:
        """One pass: send every due adjustment, oldest first; returns how many were tried."""
        tried = 0
        for entry in self.due():
            tried += 1
            try:
                entry = await self.deliver(entry.adjustment_id)
            except Exception:
                # A journal that cannot be written (disk full) must not make the loop spin on it.
                self._cool(entry.adjustment_id)
                log.exception("adjustment %s: delivery step failed", entry.adjustment_id)
                continue
            self._failures.pop(entry.adjustment_id, None)
            self._cooling.pop(entry.adjustment_id, None)
            if self._unreachable:
                break  # the central API cannot be reached: the rest would only wait for the same timeout
        return tried

    def _cool(self, adjustment_id: str) -> None:
        failures = self._failures[adjustment_id] = self._failures.get(adjustment_id, 0) + 1
        delay = backoff_s(failures, base=self._base_delay_s, cap=self._max_delay_s, rng=self._rng)
        self._cooling[adjustment_id] = asyncio.get_running_loop().time() + max(delay, FAILED_STEP_MIN_WAIT_S)

    async def deliver_until_settled(self, timeout_s: float = 60.0) -> None:
        """Recovery and tests: keep passing until nothing is pending (or time runs out)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._journal.pending_adjustments() and loop.time() < deadline:
            if not await self.deliver_pending():
                await asyncio.sleep(0.05)

    async def run(self, idle_s: float = 1.0) -> None:
        """Forever: a pass over what is due, then sleep until kicked or `idle_s` passed."""
        while True:
            self._wake.clear()
            try:
                await self.deliver_pending()
            except Exception:  # never let the background sender die
                log.exception("adjustment outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle_s)
            except asyncio.TimeoutError:
                pass
