"""The order life cycle at the pillar: cart -> payment -> order at the central API -> receipt.

The order id is made here, by the kiosk, before the card is touched; it is the idempotency key of
the order, so a retried submission can never make a second order. The shopper gets a short
reference from it that shows on the receipt at once, also when the central API is down.

This first version keeps the order in memory; the crash-safe journal (write each state before the
side effect it guards, replay at start-up) takes over the bookkeeping without changing this API.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Protocol

from kiosk.api import ApiError, ApiStatusError
from kiosk.cart import Cart, CartLine
from kiosk.contract import CardSummary, Fulfilment, Order, OrderLineIn, OrderRequest, Payment
from kiosk.payments import PaymentProgress, PaymentService, PaymentState

log = logging.getLogger("kiosk.checkout")

# Crockford base32 without I, L, O, U: easy to read aloud and to type, no look-alikes.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_reference() -> str:
    """Eight symbols, 40 bits: unique enough per kiosk; shown to the shopper as XXXX-XXXX."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def display_reference(reference: str) -> str:
    return f"{reference[:4]}-{reference[4:]}"


class OrderApi(Protocol):
    async def place_order(self, request: OrderRequest) -> Order: ...

    async def void_payment(self, payment_id: str) -> Payment: ...


@dataclass(frozen=True)
class Receipt:
    order_id: str
    reference: str  # shown as XXXX-XXXX
    lines: tuple[CartLine, ...]
    total_cents: int
    card: CardSummary | None
    tracking_url: str
    order_number: str | None  # None while the central API has not confirmed the order

    @property
    def confirmed(self) -> bool:
        return self.order_number is not None


@dataclass(frozen=True)
class CheckoutResult:
    progress: PaymentProgress
    receipt: Receipt | None = None


class Checkout:
    def __init__(self, api: OrderApi, payments: PaymentService, *, kiosk_id: str, store_id: str,
                 tracking_base_url: str) -> None:
        self._api = api
        self._payments = payments
        self._kiosk_id = kiosk_id
        self._store_id = store_id
        self._tracking_base_url = tracking_base_url.rstrip("/")

    def order_id_for(self, reference: str) -> str:
        return f"{self._kiosk_id}.{reference}"

    async def pay_and_order(self, cart: Cart, reference: str) -> CheckoutResult:
        """Pay for the cart, then place the order with the same order id on every attempt.

        `reference` is made once per checkout (see `new_order_reference`), so a shopper who tries a
        second card after a decline is still paying for the same order.
        """
        if cart.is_empty():
            raise ValueError("cannot check out an empty cart")
        lines = tuple(cart.lines)
        total = cart.total_cents
        order_id = self.order_id_for(reference)
        progress = await self._payments.pay(order_id, total)
        if progress.state is not PaymentState.approved or progress.payment is None:
            return CheckoutResult(progress)

        request = OrderRequest(
            order_id=order_id, kiosk_id=self._kiosk_id, store_id=self._store_id,
            lines=[OrderLineIn(sku=l.sku, quantity=l.quantity, unit_price_cents=l.unit_price_cents) for l in lines],
            total_cents=total, payment_id=progress.payment.payment_id,
            fulfilment=Fulfilment(type="pickup", store_id=self._store_id),
        )
        receipt = Receipt(
            order_id=order_id, reference=display_reference(reference), lines=lines, total_cents=total,
            card=progress.card, tracking_url=f"{self._tracking_base_url}/track/{order_id}", order_number=None,
        )
        try:
            order = await self._api.place_order(request)
        except ApiStatusError as exc:
            if exc.status >= 500:
                log.warning("order %s not confirmed yet (%s)", order_id, exc.status)
                return CheckoutResult(progress, receipt)
            # Refused for good (e.g. a price changed): the shopper must not pay for nothing.
            log.error("order %s refused: %s; voiding payment", order_id, exc)
            await self._void(progress.payment.payment_id)
            return CheckoutResult(PaymentProgress(PaymentState.failed, reason="order_refused", card=progress.card))
        except ApiError as exc:
            # Paid, but the central API did not answer: the receipt says confirmation follows.
            log.warning("order %s not confirmed yet: %s", order_id, type(exc).__name__)
            return CheckoutResult(progress, receipt)
        confirmed = Receipt(
            order_id=order_id, reference=receipt.reference, lines=lines, total_cents=order.total_cents,
            card=progress.card, tracking_url=order.tracking_url, order_number=order.order_number,
        )
        return CheckoutResult(progress, confirmed)

    async def _void(self, payment_id: str) -> None:
        try:
            await self._api.void_payment(payment_id)
        except ApiError:
            log.error("void of %s failed; staff must refund by hand", payment_id)
