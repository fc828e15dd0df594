"""The payment state machine: from "waiting for a card" to approved, declined, failed or cancelled.

One `PaymentService.pay()` call is one attempt: read the card in a worker thread (pyscard blocks),
then ask the central API to authorise with a fresh payment id as idempotency key. A lost answer is
never retried blind and never shown as an error: the kiosk asks for the payment's status and goes on
from there (DESIGN.md, "Paying without losing or doubling anything").

Every state change is reported through `on_change`, which the pay screen turns into text. This
module knows no Kivy.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
                 on_change: Callable[[PaymentProgress], None] | None = None) -> None:
        self._api = api
        self._terminal = terminal
        self._card_timeout_s = card_timeout_s
        self._no_cvm_limit_cents = no_cvm_limit_cents
        self._on_change = on_change or (lambda progress: None)
        self._cancel = threading.Event()
        self._choice: asyncio.Future | None = None
        self._busy = False
        self.progress = PaymentProgress(PaymentState.idle)

    @property
    def busy(self) -> bool:
        return self._busy

    def cancel(self) -> bool:
        """Ask the running attempt to stop; only possible while no card has been read."""
        if self.progress.state in (PaymentState.waiting_for_card, PaymentState.choosing_application):
            self._cancel.set()
            self._resolve_choice(None)
            return True
        return False

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
            asked = asyncio.run_coroutine_threadsafe(self._ask_choice(choices), loop)
            try:
                return asked.result(timeout=self._card_timeout_s)
            except TimeoutError:
                asked.cancel()
                return None

        request = CardRequest(amount_cents=amount_cents, card_timeout_s=self._card_timeout_s,
                              no_cvm_limit_cents=self._no_cvm_limit_cents, on_card_present=card_present)
        try:
            card: CardReadResult = await asyncio.to_thread(self._terminal.read_card, request, self._cancel,
                                                           choose_application=choose_application)
        except CardError as exc:
            state = PaymentState.cancelled if exc.reason == "cancelled" else PaymentState.failed
            log.info("card read ended: %s", exc.reason)
            return self._report(PaymentProgress(state, reason=exc.reason))

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
        try:
            payment = await self._authorise(payment_request)
        except PaymentOutcomeUnknown:
            # Not "nothing was charged": we do not know. The order journal settles it later.
            log.error("outcome of payment %s unknown", payment_request.payment_id)
            return self._report(PaymentProgress(PaymentState.failed, reason="payment_unknown", card=card.summary))
        except ApiError as exc:
            log.warning("authorisation for %s failed: %s", order_id, type(exc).__name__)
            return self._report(PaymentProgress(PaymentState.failed, reason="api_unavailable", card=card.summary))

        if payment.status is PaymentStatus.approved:
            return self._report(PaymentProgress(PaymentState.approved, card=card.summary, payment=payment))
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
