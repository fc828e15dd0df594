"""Cancelling once the card is read, against the real reference server: an authorisation in flight
is never aborted blind; its real outcome is awaited, an approval is voided (through the outbox's own
void path, journal first), no order is placed, and a failed void or a crash still ends voided."""

import asyncio
import sqlite3

import pytest

from kiosk.checkout import new_order_reference
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.journal import OrderState
from kiosk.outbox import CANCELLED_BY_SHOPPER
from kiosk.payments import PaymentState
from support.checkout import KEY, cart_of, server, states  # noqa: F401 (server: fixture)
from support.checkout import Kiosk as CheckoutKiosk
from support.orders import audit
from support.pay_gate import PaymentGate


class Kiosk(CheckoutKiosk):
    """The checkout wired as KioskServices wires it, talking to the server through a `PaymentGate`."""

    def __init__(self, base_url, journal_path, gate: PaymentGate, *, profile="visa"):
        super().__init__(base_url, journal_path, transport=gate, profile=profile, read_timeout=5.0)
        self.gate = gate

    async def pay_and_cancel_while_authorising(self, cart, reference):
        """Start paying; when the authorisation has been decided at the server but its answer is
        still on its way, the shopper presses cancel; then the answer arrives."""
        task = asyncio.create_task(self.checkout.pay_and_order(cart, reference))
        await asyncio.wait_for(self.gate.held.wait(), 10)
        assert self.payments.progress.state is PaymentState.authorising
        assert self.payments.cancel(), "cancel must be accepted while authorising"
        assert self.payments.progress.cancel_requested and self.seen[-1].cancel_requested
        self.gate.release()
        return await asyncio.wait_for(task, 20)


def server_payments(db_path, order_id):
    with sqlite3.connect(db_path) as db:
        return [row[0] for row in db.execute("SELECT status FROM payments WHERE order_id = ?", (order_id,))]


def server_orders(db_path, order_id):
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT COUNT(*) FROM orders WHERE order_id = ?", (order_id,)).fetchone()[0]


async def test_cancel_while_authorising_voids_the_approval_and_places_no_order(server, tmp_path):
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", PaymentGate()).open()
    reference = new_order_reference()
    order_id = kiosk.checkout.order_id_for(reference)
    result = await kiosk.pay_and_cancel_while_authorising(await cart_of(kiosk.api), reference)

    assert (result.progress.state, result.progress.reason) == (PaymentState.cancelled, "voided")
    assert result.receipt is None
    assert server_payments(server.db_path, order_id) == ["voided"]
    assert server_orders(server.db_path, order_id) == 0
    entry = kiosk.journal.get(order_id)
    assert entry.state is OrderState.voided and entry.payment_request is None
    assert states(entry) == ["created", "awaiting_payment", "authorising", "authorising", "voided"]
    assert entry.history[-2].note == CANCELLED_BY_SHOPPER, "the decision is written before the void"
    assert kiosk.journal.alerts == [], "a cancel the shopper asked for is nothing for staff"
    # The screen was told "approved" only with the cancel flag: it never showed "placing the order".
    assert all(p.cancel_requested for p in kiosk.seen if p.state is PaymentState.approved)
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.payments_voided, a.lost) == (0, 0, 1, 0)


async def test_cancel_while_authorising_a_declined_card_is_simply_cancelled(server, tmp_path):
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", PaymentGate(), profile="declined").open()
    reference = new_order_reference()
    order_id = kiosk.checkout.order_id_for(reference)
    result = await kiosk.pay_and_cancel_while_authorising(await cart_of(kiosk.api), reference)

    assert (result.progress.state, result.progress.reason) == (PaymentState.cancelled, "cancelled")
    assert server_payments(server.db_path, order_id) == ["declined"]
    assert kiosk.gate.voids_sent == 0, "nothing to void"
    assert kiosk.journal.get(order_id).state is OrderState.awaiting_payment  # another card may follow
    kiosk.checkout.leave(reference)  # ... but the shopper leaves
    await kiosk.outbox.drain_until_settled(timeout_s=10)
    entry = kiosk.journal.get(order_id)
    assert (entry.state, entry.failure_reason) == (OrderState.failed, "abandoned")
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.payments_declined, a.lost) == (0, 0, 1, 0)


async def test_after_a_plain_cancel_the_shopper_may_still_pay_the_same_order(server, tmp_path):
    """Declined-and-cancelled leaves the order open: "try again" with a good card pays it once."""
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", PaymentGate(), profile="declined").open()
    reference = new_order_reference()
    cart = await cart_of(kiosk.api)
    await kiosk.pay_and_cancel_while_authorising(cart, reference)
    kiosk.payments._terminal = SimulatedTerminal(KEY, profile="visa", delay_s=0)
    second = await kiosk.checkout.pay_and_order(cart, reference)
    assert second.receipt is not None and second.receipt.confirmed
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.payments_declined, a.lost, a.doubled) == (1, 1, 1, 0, 0)


async def test_a_void_that_fails_is_finished_by_the_outbox(server, tmp_path):
    # Three dropped requests: the client's first try and its two retries, i.e. one failed void call.
    gate = PaymentGate(fail_voids=3)
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", gate).open()
    reference = new_order_reference()
    order_id = kiosk.checkout.order_id_for(reference)
    result = await kiosk.pay_and_cancel_while_authorising(await cart_of(kiosk.api), reference)

    assert (result.progress.state, result.progress.reason) == (PaymentState.cancelled, "void_pending")
    assert gate.voids_failed == 3 and gate.voids_sent == 0
    assert server_payments(server.db_path, order_id) == ["approved"], "not voided yet"
    entry = kiosk.journal.get(order_id)
    assert entry.state is OrderState.authorising and entry.next_attempt_at is not None
    assert order_id in [e.order_id for e in kiosk.journal.unfinished()], "handed to the outbox"

    await kiosk.outbox.drain_until_settled(timeout_s=10)
    entry = kiosk.journal.get(order_id)
    assert entry.state is OrderState.voided
    assert server_payments(server.db_path, order_id) == ["voided"]
    assert server_orders(server.db_path, order_id) == 0
    assert kiosk.journal.alerts == []
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.payments_voided, a.lost) == (0, 0, 1, 0)


class Crash(BaseException):
    """The kiosk process dies here (nothing after it runs, no `except Exception` catches it)."""


async def test_a_kiosk_that_dies_before_the_void_voids_it_after_the_restart(server, tmp_path):
    journal_path = tmp_path / "journal.json"
    kiosk = await Kiosk(server.base_url, journal_path, PaymentGate()).open()
    reference = new_order_reference()
    order_id = kiosk.checkout.order_id_for(reference)

    async def die(order_id):
        raise Crash()

    kiosk.outbox.settle_payment = die  # the void is never sent: power cut right after the journal write
    with pytest.raises(Crash):
        await kiosk.pay_and_cancel_while_authorising(await cart_of(kiosk.api), reference)
    await kiosk.close()
    assert server_payments(server.db_path, order_id) == ["approved"]

    kiosk = await Kiosk(server.base_url, journal_path, PaymentGate(hold=False)).open()  # the restart
    entry = kiosk.journal.get(order_id)
    assert entry.state is OrderState.authorising and entry.history[-1].note == CANCELLED_BY_SHOPPER
    await kiosk.outbox.drain_until_settled(timeout_s=10)
    assert kiosk.journal.get(order_id).state is OrderState.voided
    assert server_payments(server.db_path, order_id) == ["voided"]
    assert kiosk.journal.alerts == []
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.payments_voided, a.lost) == (0, 0, 1, 0)


async def test_an_approval_without_a_cancel_is_still_ordered(server, tmp_path):
    """The gate itself changes nothing: held and released without a cancel, the order is placed."""
    gate = PaymentGate()
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", gate).open()
    task = asyncio.create_task(kiosk.checkout.pay_and_order(await cart_of(kiosk.api), new_order_reference()))
    await asyncio.wait_for(gate.held.wait(), 10)
    gate.release()
    result = await asyncio.wait_for(task, 20)
    assert result.receipt is not None and result.receipt.confirmed
    assert not kiosk.payments.cancel(), "too late once approved"
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.lost) == (1, 1, 0)
