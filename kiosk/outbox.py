"""The outbox: drives every journal entry the shopper is no longer waiting for to a final state.

It runs in the background on the app's loop (and once at start-up, as crash recovery):

- `created` / `awaiting_payment`: no authorisation was ever sent -> failed ("abandoned").
- `authorising`: the outcome of a sent authorisation is unknown (lost answer, crash). It is ASKED
  for (`GET /v1/payments/{id}`), never resent blind. If the payment service never got it, the very
  same request (same payment id, same sealed body) is sent again, so an in-flight original and the
  resend can only ever make one payment. Whatever the answer, nobody is at the pillar waiting for
  this order any more: an approval is voided (the money goes back), a decline ends as failed.
  The pay screen sends its shopper's "cancel" after an approval down this same path: the entry
  stays `authorising` with the note `cancelled_by_shopper` (written before the void is tried), so a
  failed void or a crash still ends in a void.
- `paid` / `submitting`: the order is submitted with its order id as idempotency key, again and
  again with exponential backoff and jitter, until the central API acknowledges it. An order the
  central API refuses for good (e.g. a price changed) is voided and staff are alerted.

Concurrency is bounded; entries at the pay screen are `hold`-ed so the foreground owns them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from kiosk.api import (
    ApiConnectionError,
    ApiError,
    ApiNotFound,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
)
from kiosk.contract import DeliveryAddress, Fulfilment, Order, OrderLineIn, OrderRequest, Payment, PaymentStatus
from kiosk.journal import JournalEntry, OrderState
from kiosk.journal.journal import Journal

log = logging.getLogger("kiosk.outbox")

TRANSIENT = (ApiConnectionError, ApiTimeoutError, ApiResponseError)
FAILED_STEP_MIN_WAIT_S = 1.0  # a step that raised is not tried again sooner than this
# Journal note on an `authorising` entry: the shopper cancelled; an approval is voided, no order placed.
CANCELLED_BY_SHOPPER = "cancelled_by_shopper"


def cancelled_by_shopper(entry: JournalEntry) -> bool:
    """Whether the shopper cancelled the current payment attempt (noted since it was last awaiting payment)."""
    for item in reversed(entry.history):
        if item.note == CANCELLED_BY_SHOPPER:
            return True
        if item.state is not OrderState.authorising:
            return False
    return False


def _transient(exc: ApiError) -> bool:
    return isinstance(exc, TRANSIENT) or (isinstance(exc, ApiStatusError) and (exc.status >= 500 or exc.status in (408, 429)))


def backoff_s(attempts: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: a fleet of pillars does not retry in lockstep."""
    return rng.uniform(0, min(cap, base * 2 ** min(attempts, 20)))


class Outbox:
    def __init__(self, api, journal: Journal, *, kiosk_id: str, concurrency: int = 4, base_delay_s: float = 1.0,
                 max_delay_s: float = 300.0, on_change: Callable[[JournalEntry], None] | None = None,
                 rng: random.Random | None = None) -> None:
        self._api = api
        self._journal = journal
        self._kiosk_id = kiosk_id
        self._semaphore = asyncio.Semaphore(concurrency)
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._on_change = on_change or (lambda entry: None)
        self._rng = rng or random.Random()
        self._held: set[str] = set()
        self._busy: set[str] = set()
        self._cooling: dict[str, float] = {}  # order id -> loop time before which it is not retried
        self._failures: dict[str, int] = {}
        self._tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._forced: set[str] = set()  # "send now": due at once, whatever their backoff says (one step)

    # --- the foreground's hand-over -----------------------------------------------------------

    def hold(self, order_id: str) -> None:
        self._held.add(order_id)

    def release(self, order_id: str) -> None:
        self._held.discard(order_id)
        self.kick()

    def kick(self) -> None:
        self._wake.set()

    def retry_now(self) -> list[str]:
        """Staff's "send now": every unfinished entry not held by the pay screen gets one step at once,
        whatever its backoff (`next_attempt_at`) or cool-down says. The steps start here, on the
        running loop, next to the drain loop (an entry being stepped is not stepped twice: one that
        is busy now gets its extra step when the current one ends). Returns the order ids it covers;
        their outcome is in the journal (each step writes it)."""
        ids = [e.order_id for e in self._journal.unfinished() if e.order_id not in self._held]
        self._forced = set(ids)  # (drops ids that were finished meanwhile by a step already under way)
        for order_id in ids:
            self._cooling.pop(order_id, None)
        self._start_due()
        return ids

    # --- one step per entry -------------------------------------------------------------------

    async def _schedule_retry(self, entry: JournalEntry, note: str) -> JournalEntry:
        delay = backoff_s(entry.attempts, base=self._base_delay_s, cap=self._max_delay_s, rng=self._rng)
        return await self._journal.advance(entry.order_id, entry.state, note=note,
                                           next_attempt_at=datetime.now(timezone.utc) + timedelta(seconds=delay))

    def _order_request(self, entry: JournalEntry) -> OrderRequest:
        return OrderRequest(
            order_id=entry.order_id, kiosk_id=entry.kiosk_id, store_id=entry.store_id,
            lines=[OrderLineIn(sku=l.sku, quantity=l.quantity, unit_price_cents=l.unit_price_cents)
                   for l in entry.lines],
            total_cents=entry.total_cents, currency=entry.currency, payment_id=entry.payment_id,
            fulfilment=self._fulfilment(entry), reservation_id=entry.reservation_id,
        )

    @staticmethod
    def _fulfilment(entry: JournalEntry) -> Fulfilment:
        """The journal keeps the delivery address apart (as `customer`, scrubbed once placed); it joins
        the fulfilment only in the request itself."""
        customer = entry.customer
        if entry.fulfilment.type != "delivery" or customer is None or customer.postcode is None:
            return entry.fulfilment
        address = DeliveryAddress(postcode=customer.postcode, house_number=customer.house_number,
                                  house_number_addition=customer.house_number_addition, email=customer.email)
        return entry.fulfilment.model_copy(update={"delivery": address})

    async def submit(self, order_id: str) -> JournalEntry:
        """One submission attempt of a paid order; returns the entry as it stands afterwards."""
        entry = self._journal.get(order_id)
        if entry.state is OrderState.paid:
            entry = await self._journal.advance(order_id, OrderState.submitting)
        try:
            order: Order = await self._api.place_order(self._order_request(entry))
        except ApiError as exc:
            if _transient(exc):
                log.warning("order %s not delivered yet: %s", order_id, type(exc).__name__)
                return await self._schedule_retry(entry, type(exc).__name__)
            log.error("order %s refused for good: %s", order_id, exc)
            return await self._void(entry, f"order refused: {getattr(exc, 'code', type(exc).__name__)}")
        entry = await self._journal.advance(order_id, OrderState.acknowledged, order_number=order.order_number,
                                            customer=None, next_attempt_at=None)
        log.info("order %s acknowledged as %s", order_id, order.order_number)
        return entry

    async def _void(self, entry: JournalEntry, why: str, *, alert: bool = True) -> JournalEntry:
        try:
            await self._api.void_payment(entry.payment_id)
        except ApiError as exc:
            if _transient(exc):
                return await self._schedule_retry(entry, f"void pending: {type(exc).__name__}")
            # Not voidable (e.g. already captured): a person must refund it.
            self._journal.add_alert("refund_needed", f"order {entry.order_id} ({why}) could not be voided: "
                                    f"{exc}; refund payment {entry.payment_id} by hand", entry.order_id)
            return await self._journal.advance(entry.order_id, OrderState.refunded, note="manual refund",
                                               payment_request=None, next_attempt_at=None)
        if alert:
            self._journal.add_alert("order_voided", f"order {entry.order_id}: {why}; payment voided", entry.order_id)
        return await self._journal.advance(entry.order_id, OrderState.voided, note=why, payment_request=None,
                                           next_attempt_at=None)

    async def settle_payment(self, order_id: str) -> JournalEntry:
        """An authorisation whose outcome is unknown: ask; resend the same request only if it never
        arrived; then void an approval (nobody is waiting for this order) or record the decline."""
        entry = self._journal.get(order_id)
        try:
            try:
                payment: Payment = await self._api.payment_status(entry.payment_id)
            except ApiNotFound:
                if entry.payment_request is None:
                    return await self._journal.advance(order_id, OrderState.failed, failure_reason="not_received",
                                                       next_attempt_at=None)
                payment = await self._api.authorise_payment(entry.payment_request)
        except ApiError as exc:
            if _transient(exc):
                return await self._schedule_retry(entry, f"status unknown: {type(exc).__name__}")
            return await self._journal.advance(order_id, OrderState.failed, failure_reason="payment_refused",
                                               payment_request=None, next_attempt_at=None)
        if payment.status is PaymentStatus.approved:
            if cancelled_by_shopper(entry):  # what the shopper asked for: nothing for staff to do
                return await self._void(entry, "cancelled by the shopper", alert=False)
            return await self._void(entry, "payment outcome was unknown at the pillar")
        if payment.status is PaymentStatus.voided:
            return await self._journal.advance(order_id, OrderState.voided, payment_request=None, next_attempt_at=None)
        return await self._journal.advance(order_id, OrderState.failed, failure_reason=payment.decline_code or "declined",
                                           payment_request=None, next_attempt_at=None)

    async def step(self, order_id: str) -> JournalEntry:
        entry = self._journal.get(order_id)
        if entry.state in (OrderState.created, OrderState.awaiting_payment):
            entry = await self._journal.advance(order_id, OrderState.failed, failure_reason="abandoned")
        elif entry.state is OrderState.authorising:
            entry = await self.settle_payment(order_id)
        elif entry.state in (OrderState.paid, OrderState.submitting):
            entry = await self.submit(order_id)
        self._on_change(entry)
        return entry

    # --- the drain loop -----------------------------------------------------------------------

    def due(self, now: datetime | None = None) -> list[JournalEntry]:
        now = now or datetime.now(timezone.utc)
        clock = asyncio.get_running_loop().time()
        return [e for e in self._journal.unfinished()
                if e.order_id not in self._held and e.order_id not in self._busy
                and self._cooling.get(e.order_id, 0.0) <= clock
                and (e.next_attempt_at is None or e.next_attempt_at <= now or e.order_id in self._forced)]

    async def _guarded_step(self, order_id: str) -> None:
        async with self._semaphore:
            self._forced.discard(order_id)  # forced once: a failure now waits its backoff again
            try:
                if order_id not in self._held:  # the shopper may have come back to it meanwhile
                    await self.step(order_id)
                self._failures.pop(order_id, None)
                self._cooling.pop(order_id, None)
            except Exception as exc:
                # A step leaves the entry consistent, but one that keeps failing (a full disk, a
                # bug) must not spin: it waits, longer each time, before it is tried again.
                failures = self._failures[order_id] = self._failures.get(order_id, 0) + 1
                delay = backoff_s(failures, base=self._base_delay_s, cap=self._max_delay_s, rng=self._rng)
                self._cooling[order_id] = asyncio.get_running_loop().time() + max(delay, FAILED_STEP_MIN_WAIT_S)
                if isinstance(exc, ApiError):
                    log.warning("outbox step for %s: %s", order_id, exc)
                else:
                    log.exception("outbox step for %s failed", order_id)
            finally:
                self._busy.discard(order_id)
                self.kick()

    async def drain_once(self) -> int:
        """Start a step for every due entry, wait for them; returns how many were stepped."""
        entries = self.due()
        for entry in entries:
            self._busy.add(entry.order_id)
        await asyncio.gather(*(self._guarded_step(e.order_id) for e in entries))
        return len(entries)

    async def drain_until_settled(self, timeout_s: float = 60.0) -> None:
        """Recovery and tests: keep draining until nothing unfinished is left (or time runs out)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._journal.unfinished() and loop.time() < deadline:
            if not await self.drain_once():
                await asyncio.sleep(0.05)

    def _start_due(self) -> None:
        """Start a background step for every due entry (tasks kept until done)."""
        for entry in self.due():
            self._busy.add(entry.order_id)
            task = asyncio.ensure_future(self._guarded_step(entry.order_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def run(self, idle_s: float = 1.0) -> None:
        """Forever: step what is due, then sleep until kicked or the next retry is due."""
        while True:
            self._start_due()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle_s)
            except asyncio.TimeoutError:
                pass
