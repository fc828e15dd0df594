"""The order life cycle at the pillar: cart -> journal -> payment -> order at the central API -> receipt.

Every step is written to the journal BEFORE the side effect it guards (DESIGN.md, "Paying without
losing or doubling anything"):

    created            the order exists, with its lines and total            (before the card)
    awaiting_payment   the shopper is asked for a card
    authorising        the exact payment request, with its payment id         (before it is sent)
    paid               the approval                                           (before the receipt)
    submitting         the order request, idempotency key = order id          (before it is sent)
    acknowledged       the central order number

The order id is made here, by the kiosk, before the card is touched; it is the order's idempotency
key, so a retried submission can never make a second order. The shopper gets a short reference
from it that shows on the receipt at once, also when the central API is down: the outbox
(`outbox.py`) delivers the order later. What the shopper is not waiting for any more (a lost
answer, a crash) the outbox settles too.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date

from kiosk.cart import Cart, CartLine
from kiosk.contract import CardSummary, Fulfilment, PaymentRequest
from kiosk.journal import Customer, JournalEntry, JournalLine, OrderState
from kiosk.journal.journal import Journal
from kiosk.outbox import CANCELLED_BY_SHOPPER, Outbox
from kiosk.payments import PaymentProgress, PaymentService, PaymentState

log = logging.getLogger("kiosk.checkout")

# Crockford base32 without I, L, O, U: easy to read aloud and to type, no look-alikes.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_reference() -> str:
    """Eight symbols, 40 bits: unique enough per kiosk; shown to the shopper as XXXX-XXXX."""
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def display_reference(reference: str) -> str:
    return f"{reference[:4]}-{reference[4:]}"


@dataclass(frozen=True)
class Receipt:
    order_id: str
    reference: str  # shown as XXXX-XXXX
    lines: tuple[CartLine, ...]
    total_cents: int
    card: CardSummary | None
    tracking_url: str
    order_number: str | None  # None while the central API has not confirmed the order
    fulfilment: Fulfilment | None = None  # how the shopper gets it (no address: that is not shown)
    ready_on: date | None = None  # pickup ready / delivery promised day, as quoted

    @property
    def confirmed(self) -> bool:
        return self.order_number is not None


@dataclass(frozen=True)
class CheckoutPlan:
    """How the shopper gets the cart, as quoted and reserved by the central API before paying.

    `total_cents` is the quote's total for the chosen option (lines plus its cost): the kiosk charges
    what the central API priced, never a sum of its own.
    """

    fulfilment: Fulfilment
    total_cents: int
    reservation_id: str | None = None
    customer: Customer | None = None
    ready_on: date | None = None  # as quoted, for the receipt


@dataclass(frozen=True)
class CheckoutResult:
    progress: PaymentProgress
    receipt: Receipt | None = None


class CheckoutBusy(RuntimeError):
    """This order is past the point where the shopper can pay for it again."""


class Checkout:
    def __init__(self, journal: Journal, payments: PaymentService, outbox: Outbox, *, kiosk_id: str,
                 store_id: str, tracking_base_url: str) -> None:
        self._journal = journal
        self._payments = payments
        self._outbox = outbox
        self._kiosk_id = kiosk_id
        self._store_id = store_id
        self._tracking_base_url = tracking_base_url.rstrip("/")

    def order_id_for(self, reference: str) -> str:
        return f"{self._kiosk_id}.{reference}"

    def tracking_url(self, order_id: str) -> str:
        return f"{self._tracking_base_url}/track/{order_id}"

    def receipt_for(self, entry: JournalEntry, lines: tuple[CartLine, ...], ready_on: date | None = None) -> Receipt:
        return Receipt(order_id=entry.order_id, reference=display_reference(entry.reference), lines=lines,
                       total_cents=entry.total_cents, card=entry.card_summary,
                       tracking_url=self.tracking_url(entry.order_id), order_number=entry.order_number,
                       fulfilment=entry.fulfilment, ready_on=ready_on)

    def default_plan(self, cart: Cart) -> CheckoutPlan:
        """Take it here, at the cart's prices: for callers that skip the fulfilment choice (tests, tools)."""
        return CheckoutPlan(fulfilment=Fulfilment(type="take_now", store_id=self._store_id),
                            total_cents=cart.total_cents)

    async def _open_order(self, cart: Cart, reference: str, plan: CheckoutPlan | None = None) -> JournalEntry:
        plan = plan or self.default_plan(cart)
        order_id = self.order_id_for(reference)
        entry = self._journal.get(order_id)
        if entry is None:
            entry = await self._journal.create(JournalEntry(
                order_id=order_id, reference=reference, kiosk_id=self._kiosk_id, store_id=self._store_id,
                lines=[JournalLine(sku=l.sku, name=l.name, variant_label=l.variant_label, quantity=l.quantity,
                                   unit_price_cents=l.unit_price_cents) for l in cart.lines],
                total_cents=plan.total_cents, fulfilment=plan.fulfilment, reservation_id=plan.reservation_id,
                customer=plan.customer,
            ))
        if entry.state is OrderState.created:
            entry = await self._journal.advance(order_id, OrderState.awaiting_payment)
        if entry.state is OrderState.awaiting_payment and (
                entry.fulfilment != plan.fulfilment or entry.total_cents != plan.total_cents
                or entry.reservation_id != plan.reservation_id or entry.customer != plan.customer):
            # The shopper went back and chose another way to get it: nothing was charged yet.
            entry = await self._journal.advance(order_id, OrderState.awaiting_payment, note="plan_changed",
                                                fulfilment=plan.fulfilment, total_cents=plan.total_cents,
                                                reservation_id=plan.reservation_id, customer=plan.customer)
        if entry.state is not OrderState.awaiting_payment:
            raise CheckoutBusy(f"order {order_id} is {entry.state.value}")
        return entry

    async def pay_and_order(self, cart: Cart, reference: str, plan: CheckoutPlan | None = None) -> CheckoutResult:
        """Pay for the cart, then place the order. `reference` is made once per checkout, so a
        shopper who tries a second card after a decline is still paying for the same order."""
        if cart.is_empty():
            raise ValueError("cannot check out an empty cart")
        plan = plan or self.default_plan(cart)
        lines = tuple(cart.lines)
        order_id = self.order_id_for(reference)
        # The shopper is here: the background must leave this order alone from its very first write
        # (else it could find it "created", nobody holding it, and call it abandoned).
        self._outbox.hold(order_id)
        try:
            entry = await self._open_order(cart, reference, plan)
        except BaseException:
            self._outbox.release(order_id)
            raise

        async def record_attempt(request: PaymentRequest) -> None:
            await self._journal.advance(order_id, OrderState.authorising, payment_id=request.payment_id,
                                        payment_request=request, card_summary=request.card_summary)

        try:
            progress = await self._payments.pay(order_id, entry.total_cents, before_authorise=record_attempt)
            entry = self._journal.get(order_id)
            if progress.state is PaymentState.approved and progress.cancel_requested:
                # The shopper cancelled while it was being authorised: no order, the approval is voided.
                return CheckoutResult(await self._void_cancelled(order_id, progress))
            if progress.state is PaymentState.approved:
                entry = await self._journal.advance(order_id, OrderState.paid, payment_id=progress.payment.payment_id,
                                                    card_summary=progress.card, payment_request=None)
                try:
                    entry = await self._outbox.submit(order_id)
                except Exception:
                    # Paid and journalled: the outbox delivers it; the shopper gets the receipt now.
                    log.exception("first delivery of %s failed; the outbox retries", order_id)
                    entry = self._journal.get(order_id)
                if entry.state in (OrderState.voided, OrderState.refunded):
                    return CheckoutResult(PaymentProgress(PaymentState.failed, reason="order_refused",
                                                          card=progress.card))
                return CheckoutResult(progress, self.receipt_for(entry, lines, plan.ready_on))
            if entry.state is OrderState.authorising and progress.reason != "payment_unknown":
                # Declined, refused, or surely never arrived: nothing is charged; another card may follow.
                await self._journal.advance(order_id, OrderState.awaiting_payment, payment_request=None,
                                            note=progress.reason or progress.state.value)
            return CheckoutResult(progress)
        finally:
            entry = self._journal.get(order_id)
            if entry is None or entry.state is not OrderState.awaiting_payment:
                # Paid (delivery may still be pending) or outcome unknown: the background takes over.
                self._outbox.release(order_id)
            # Still awaiting payment: the shopper may try another card; `leave` hands it over.

    def holds_money(self, reference: str) -> bool:
        """Has this order got past the card (being authorised, paid or placed)? Its stock is spoken for."""
        entry = self._journal.get(self.order_id_for(reference))
        return entry is not None and entry.state in (OrderState.authorising, OrderState.paid,
                                                     OrderState.submitting, OrderState.acknowledged)

    async def _void_cancelled(self, order_id: str, progress: PaymentProgress) -> PaymentProgress:
        """Approved, but the shopper had pressed cancel: void it and place no order.

        The decision goes to the journal first (still `authorising`, noted "cancelled_by_shopper"), so
        whatever happens next (the void call fails, the kiosk dies) the entry is one the outbox voids:
        an approval nobody waits for. The void itself is the outbox's own path (`settle_payment`).
        """
        try:
            await self._journal.advance(order_id, OrderState.authorising, note=CANCELLED_BY_SHOPPER)
            entry = await self._outbox.settle_payment(order_id)
        except Exception:
            # Not final yet: released below, the outbox finishes it (and voids the approval).
            log.exception("void of cancelled order %s not finished; the outbox goes on", order_id)
            entry = self._journal.get(order_id)
        if entry.state is OrderState.voided:
            reason = "voided"  # nothing was charged
        elif entry.state is OrderState.refunded:
            reason = "refund_pending"  # not voidable: staff refund it (alerted)
        elif entry.state is OrderState.failed:
            reason = "voided"  # declined after all: nothing was charged either, and the order is over
        else:
            reason = "void_pending"  # the outbox retries the void
        log.info("order %s cancelled by the shopper after approval: %s", order_id, reason)
        return PaymentProgress(PaymentState.cancelled, reason=reason, card=progress.card, payment=progress.payment,
                               cancel_requested=True)

    def leave(self, reference: str) -> None:
        """The shopper left the pay screen: whatever is unfinished of this order is the outbox's now
        (an order still awaiting payment ends there as failed, "abandoned")."""
        self._outbox.release(self.order_id_for(reference))
