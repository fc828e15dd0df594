"""The payment state machine: from "waiting for a card" to approved, declined, failed or cancelled.

One `PaymentService.pay()` call is one attempt: read the card in a worker thread (pyscard blocks),
then ask the central API to authorise with a fresh payment id as idempotency key. A lost answer is
never retried blind and never shown as an error: the kiosk asks for the payment's status and goes on
from there (DESIGN.md, "Paying without losing or doubling anything").

Every state change is reported through `on_change`, which the pay screen turns into text. This
module knows no Kivy.

Cancelling: while waiting for a card or a choice of application the attempt simply stops. Once a card
is being read, `cancel()` stops the read between two commands and nothing is sent. Once the
authorisation is sent it cannot be taken back in flight: the attempt waits for the real outcome and
returns it with `cancel_requested` set, and the caller (checkout) voids an approval and places no
order. A decline, or a request that surely never arrived, ends as plain "cancelled".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from enum import Enum
from typing import Protocol

from kiosk.api import (
    ApiConnectionError,
    ApiError,
    ApiNotFound,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
)
from kiosk.contract import CardSummary, Payment, PaymentRequest, PaymentStatus
from kiosk.hardware.terminal import ApplicationChoice, CardError, CardReadResult, CardRequest, PaymentTerminal

log = logging.getLogger("kiosk.payments")


class PaymentState(str, Enum):
    idle = "idle"
    waiting_for_card = "waiting_for_card"
    choosing_application = "choosing_application"  # the card offers several: the shopper picks one
    reading = "reading"
    authorising = "authorising"
    approved = "approved"
    declined = "declined"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = {PaymentState.approved, PaymentState.declined, PaymentState.failed, PaymentState.cancelled}


@dataclass(frozen=True)
class PaymentProgress:
    state: PaymentState
    reason: str | None = None  # stable code: a CardError.reason, a decline code, "api_unavailable"
    card: CardSummary | None = None
    payment: Payment | None = None
    choices: tuple[str, ...] = ()  # application labels, while choosing_application
    # The shopper pressed cancel after the card was read: a non-final state is on its way to
    # "cancelled"; an approval carrying it must be voided by the caller, never turned into an order.
    cancel_requested: bool = False


class PaymentApi(Protocol):
    async def authorise_payment(self, request: PaymentRequest) -> Payment: ...

    async def payment_status(self, payment_id: str) -> Payment: ...


class PaymentInProgress(RuntimeError):
    """A second pay() while one runs: the shopper pressed "pay" twice."""


def _maybe_transient(exc: ApiStatusError) -> bool:
    """5xx, 408 and 429 say nothing final about the payment: ask again rather than conclude."""
    return exc.status >= 500 or exc.status in (408, 429)


class PaymentOutcomeUnknown(ApiError):
    """Authorisation was sent, no answer came, and the status could not be asked either."""


class PaymentService:
    # How often, and how patiently, to ask for the status of a payment whose answer was lost.
    STATUS_ATTEMPTS = 6
    STATUS_FIRST_DELAY_S = 0.5

    def __init__(self, api: PaymentApi, terminal: PaymentTerminal, *, card_timeout_s: float = 60.0,
                 no_cvm_limit_cents: int = 5000,
                 on_change: Callable[[PaymentProgress], None] | None = None,
                 reader_guard: Callable[[], AbstractAsyncContextManager[None]] | None = None) -> None:
        self._api = api
        self._terminal = terminal
        # While a card is read the reader is the payment's alone (the staff badge watcher pauses;
        # kiosk/hardware/badge_watch.py). Failing to get it is a CardError like any reader trouble.
        self._reader_guard = reader_guard or contextlib.nullcontext
        self._card_timeout_s = card_timeout_s
        self._no_cvm_limit_cents = no_cvm_limit_cents
        self._on_change = on_change or (lambda progress: None)
        self._cancel = threading.Event()
        self._cancel_requested = False  # cancel pressed after the card was read
        self._choice: asyncio.Future | None = None
        self._busy = False
        self.progress = PaymentProgress(PaymentState.idle)

    @property
    def busy(self) -> bool:
        return self._busy

    def cancel(self) -> bool:
        """The shopper wants to stop. Waiting for a card or a choice: the attempt ends "cancelled" at
        once. Reading: the read stops between two commands, nothing is sent. Authorising: the answer
        is awaited (it cannot be aborted in flight) and comes back with `cancel_requested`, for the
        caller to void an approval. False once approved or finished: too late to cancel here."""
        state = self.progress.state
        if state in (PaymentState.waiting_for_card, PaymentState.choosing_application):
            self._cancel.set()
            self._resolve_choice(None)
            return True
        if state in (PaymentState.reading, PaymentState.authorising):
            if not self._cancel_requested:
                self._cancel_requested = True
                self._cancel.set()  # a read still running stops before its next command
                log.info("cancel requested while %s", state.value)
                self._report(replace(self.progress, cancel_requested=True))
            return True
        return False

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested

    def choose(self, index: int) -> None:
        """The shopper picked one of `progress.choices`."""
        self._resolve_choice(index)

    def _resolve_choice(self, index: int | None) -> None:
        future = self._choice
        if future is not None and not future.done():
            future.set_result(index)

    async def _ask_choice(self, choices: list[ApplicationChoice]) -> ApplicationChoice | None:
        self._choice = asyncio.get_running_loop().create_future()
        self._report(PaymentProgress(PaymentState.choosing_application,
                                     choices=tuple(c.label or c.scheme or c.aid for c in choices)))
        try:
            index = await self._choice
        finally:
            self._choice = None
        if index is None:
            return None
        self._report(PaymentProgress(PaymentState.reading))
        return choices[index]

    def _report(self, progress: PaymentProgress) -> PaymentProgress:
        if self._cancel_requested and not progress.cancel_requested:
            progress = replace(progress, cancel_requested=True)
        self.progress = progress
        self._on_change(progress)
        return progress

    async def pay(self, order_id: str, amount_cents: int,
                  before_authorise: Callable[[PaymentRequest], Awaitable[object]] | None = None) -> PaymentProgress:
        """One attempt. `before_authorise` is awaited with the exact request before it is sent (the
        journal writes it there); if it raises, nothing is sent and the attempt fails."""
        if self._busy:
            raise PaymentInProgress(order_id)
        self._busy = True
        self._cancel.clear()
        self._cancel_requested = False
        try:
            return await self._attempt(order_id, amount_cents, before_authorise)
        finally:
            self._busy = False

    async def _attempt(self, order_id: str, amount_cents: int,
                       before_authorise: Callable[[PaymentRequest], Awaitable[object]] | None) -> PaymentProgress:
        self._report(PaymentProgress(PaymentState.waiting_for_card))
        loop = asyncio.get_running_loop()

        def card_present() -> None:  # on the reading thread: hand over to the loop
            loop.call_soon_threadsafe(self._report, PaymentProgress(PaymentState.reading))

        def choose_application(choices: list[ApplicationChoice]) -> ApplicationChoice | None:
            # On the reading thread, with the card on the reader: ask the shopper on the loop and wait.
            if self._cancel.is_set():  # cancelled while the card was being read: nothing to choose
                return None
            asked = asyncio.run_coroutine_threadsafe(self._ask_choice(choices), loop)
            try:
                return asked.result(timeout=self._card_timeout_s)
            except TimeoutError:
                asked.cancel()
                return None

        request = CardRequest(amount_cents=amount_cents, card_timeout_s=self._card_timeout_s,
                              no_cvm_limit_cents=self._no_cvm_limit_cents, on_card_present=card_present)
        try:
            async with self._reader_guard():
                card: CardReadResult = await asyncio.to_thread(self._terminal.read_card, request, self._cancel,
                                                               choose_application=choose_application)
        except CardError as exc:
            if self._cancel.is_set():  # stopped on the shopper's word, whatever the read was doing
                log.info("card read stopped by cancel (%s)", exc.reason)
                return self._report(PaymentProgress(PaymentState.cancelled, reason="cancelled"))
            state = PaymentState.cancelled if exc.reason == "cancelled" else PaymentState.failed
            log.info("card read ended: %s", exc.reason)
            return self._report(PaymentProgress(state, reason=exc.reason))

        if self._cancel.is_set():  # the read finished just as the shopper cancelled: send nothing
            return self._report(PaymentProgress(PaymentState.cancelled, reason="cancelled", card=card.summary))
        self._report(PaymentProgress(PaymentState.authorising, card=card.summary))
        payment_request = PaymentRequest(
            payment_id=f"pay-{uuid.uuid4().hex}", order_id=order_id, amount_cents=amount_cents,
            card=card.sealed, card_summary=card.summary,
        )
        if before_authorise is not None:
            try:
                await before_authorise(payment_request)
            except Exception:
                log.exception("could not record payment %s before sending it", payment_request.payment_id)
                return self._report(PaymentProgress(PaymentState.failed, reason="unknown", card=card.summary))
        if self._cancel_requested:  # recorded, not sent: nothing can be charged
            return self._report(PaymentProgress(PaymentState.cancelled, reason="cancelled", card=card.summary))
        try:
            payment = await self._authorise(payment_request)
        except PaymentOutcomeUnknown:
            # Not "nothing was charged": we do not know. The order journal settles it later (and
            # voids an approval: nobody waits for it), also when the shopper had cancelled.
            log.error("outcome of payment %s unknown", payment_request.payment_id)
            return self._report(PaymentProgress(PaymentState.failed, reason="payment_unknown", card=card.summary))
        except ApiError as exc:
            log.warning("authorisation for %s failed: %s", order_id, type(exc).__name__)
            if self._cancel_requested:  # refused or never arrived: nothing charged, as asked
                return self._report(PaymentProgress(PaymentState.cancelled, reason="cancelled", card=card.summary))
            return self._report(PaymentProgress(PaymentState.failed, reason="api_unavailable", card=card.summary))

        if payment.status is PaymentStatus.approved:
            if self._cancel_requested:
                # Approved after all: reported as such, flagged, so the caller voids it at once.
                log.info("payment %s approved after the shopper cancelled: to be voided", payment.payment_id)
            return self._report(PaymentProgress(PaymentState.approved, card=card.summary, payment=payment))
        if self._cancel_requested:  # declined: nothing charged, and the shopper wanted out anyway
            return self._report(PaymentProgress(PaymentState.cancelled, reason="cancelled", card=card.summary,
                                                payment=payment))
        return self._report(PaymentProgress(
            PaymentState.declined, reason=payment.decline_code or "unknown", card=card.summary, payment=payment))

    async def _authorise(self, request: PaymentRequest) -> Payment:
        try:
            return await self._api.authorise_payment(request)
        except ApiStatusError as exc:
            if not _maybe_transient(exc):
                raise  # refused as such: nothing was authorised
            reason = f"HTTP {exc.status}"
        except (ApiTimeoutError, ApiResponseError) as exc:
            reason = type(exc).__name__
        # The request may have reached the acquirer: ask, never resend blind.
        log.warning("no usable answer to authorisation %s (%s); asking its status", request.payment_id, reason)
        return await self._recover(request)

    async def _recover(self, request: PaymentRequest) -> Payment:
        delay = self.STATUS_FIRST_DELAY_S
        last_error: ApiError | None = None
        for _ in range(self.STATUS_ATTEMPTS):
            try:
                try:
                    return await self._api.payment_status(request.payment_id)
                except ApiNotFound:
                    # It never arrived, so sending it now cannot charge twice: same payment id, same
                    # body, and an original still on its way would only replay this answer. Whatever
                    # goes wrong with this resend, the loop asks again.
                    return await self._api.authorise_payment(request)
            except (ApiTimeoutError, ApiConnectionError, ApiResponseError) as exc:
                last_error = exc
            except ApiStatusError as exc:
                if not _maybe_transient(exc):
                    raise
                last_error = exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise PaymentOutcomeUnknown(f"status of {request.payment_id} unknown") from last_error
