"""The checkout driven through the journal, against the real reference server: every order ends
exactly once, also when answers are lost, the API is down, or an order is refused after payment."""

import asyncio
import os
import sqlite3

import pytest

from central.db import set_price
from kiosk.checkout import new_order_reference
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.journal import OrderState
from kiosk.payments import PaymentState
from support.checkout import KEY, Kiosk, cart_of, server, states  # noqa: F401 (server: fixture)
from support.faults import FaultInjectingTransport, FaultPlan
from support.orders import audit


async def test_an_order_goes_through_every_state_once(server, tmp_path):
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json").open()
    cart = await cart_of(kiosk.api)
    result = await kiosk.checkout.pay_and_order(cart, new_order_reference())
    assert result.receipt.confirmed
    entry = kiosk.journal.get(result.receipt.order_id)
    assert states(entry) == ["created", "awaiting_payment", "authorising", "paid", "submitting", "acknowledged"]
    assert entry.payment_request is None, "the sealed request leaves the journal once settled"
    assert entry.order_number == result.receipt.order_number
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.lost, a.doubled) == (1, 1, 0, 0)


async def test_receipt_at_once_when_the_api_is_down_and_the_order_follows(server, tmp_path):
    plan = FaultPlan(rate=1.0, weights={"drop": 1.0}, only_paths=("/v1/orders",))
    faults = FaultInjectingTransport(plan)
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", transport=faults).open()
    result = await kiosk.checkout.pay_and_order(await cart_of(kiosk.api), new_order_reference())
    assert result.progress.state is PaymentState.approved
    assert result.receipt is not None and not result.receipt.confirmed  # "confirmation follows"
    assert kiosk.journal.get(result.receipt.order_id).state is OrderState.submitting
    assert audit(server.db_path).orders == 0

    faults.enabled = False  # the network is back
    await kiosk.outbox.drain_until_settled(timeout_s=10)
    entry = kiosk.journal.get(result.receipt.order_id)
    assert entry.state is OrderState.acknowledged and entry.order_number
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.lost, a.doubled) == (1, 0, 0)


async def test_an_order_refused_after_payment_is_voided_with_a_staff_alert(server, tmp_path):
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json").open()
    cart = await cart_of(kiosk.api, count=1)
    conn = sqlite3.connect(server.db_path)
    conn.row_factory = sqlite3.Row
    set_price(conn, cart.lines[0].sku, cart.lines[0].unit_price_cents + 100)  # changed behind the cart's back
    conn.close()
    result = await kiosk.checkout.pay_and_order(cart, new_order_reference())
    assert (result.progress.state, result.progress.reason) == (PaymentState.failed, "order_refused")
    [entry] = kiosk.journal.entries()
    assert entry.state is OrderState.voided
    assert [a.kind for a in kiosk.journal.alerts] == ["order_voided"]
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.payments_voided, a.lost) == (0, 0, 1, 0)


async def test_a_declined_card_then_another_card_pays_the_same_order_once(server, tmp_path):
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", profile="declined").open()
    reference = new_order_reference()
    cart = await cart_of(kiosk.api)
    first = await kiosk.checkout.pay_and_order(cart, reference)
    assert first.progress.state is PaymentState.declined
    assert kiosk.journal.get(kiosk.checkout.order_id_for(reference)).state is OrderState.awaiting_payment
    kiosk.checkout._payments._terminal = SimulatedTerminal(KEY, profile="visa", delay_s=0)  # another card
    second = await kiosk.checkout.pay_and_order(cart, reference)
    assert second.receipt.confirmed
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.payments_approved, a.payments_declined, a.lost, a.doubled) == (1, 1, 1, 0, 0)


async def test_recovery_after_a_crash_drives_every_entry_to_a_final_state(server, tmp_path):
    journal_path = tmp_path / "journal.json"
    # Before the "crash": one abandoned at the card prompt, one whose payment answer was lost for
    # good, one paid but never delivered.
    lost = FaultInjectingTransport(FaultPlan(rate=1.0, weights={"lost": 1.0}, only_paths=("/v1/payments",)))
    kiosk = await Kiosk(server.base_url, journal_path, transport=lost).open()
    unknown = await kiosk.checkout.pay_and_order(await cart_of(kiosk.api, offset=0), new_order_reference())
    assert unknown.progress.reason == "payment_unknown"
    lost.plan.only_paths = ("/v1/orders",)
    undelivered = await kiosk.checkout.pay_and_order(await cart_of(kiosk.api, offset=2), new_order_reference())
    assert undelivered.receipt is not None and not undelivered.receipt.confirmed
    abandoned = new_order_reference()
    await kiosk.checkout._open_order(await cart_of(kiosk.api, offset=4), abandoned)
    await kiosk.close()  # the process dies here

    kiosk = await Kiosk(server.base_url, journal_path).open()  # restart: the network is fine again
    assert {e.state for e in kiosk.journal.unfinished()} == {OrderState.authorising, OrderState.submitting,
                                                              OrderState.awaiting_payment}
    await kiosk.outbox.drain_until_settled(timeout_s=10)
    assert kiosk.journal.unfinished() == []
    by_state = sorted(e.state.value for e in kiosk.journal.entries())
    assert by_state == ["acknowledged", "failed", "voided"]
    await kiosk.close()
    a = audit(server.db_path)
    assert (a.orders, a.lost, a.doubled) == (1, 0, 0)


async def test_a_flaky_network_never_loses_or_doubles_an_order(server, tmp_path):
    """Connections dropped, answers delayed, 500/503/429, and answers lost after the server committed."""
    plan = FaultPlan(rate=0.35, seed=int(os.environ.get("FAULT_SEED", "4")))  # FAULT_SEED=n replays a run
    faults = FaultInjectingTransport(plan)
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json", transport=faults).open()
    carts = [await cart_of(kiosk.api, count=1, offset=i % 50) for i in range(ORDERS)]
    for cart in carts:
        reference = new_order_reference()
        await kiosk.checkout.pay_and_order(cart, reference)
        kiosk.checkout.leave(reference)
    faults.plan.rate = 0.2  # still flaky while the outbox drains
    await kiosk.outbox.drain_until_settled(timeout_s=120)
    entries = kiosk.journal.entries()
    await kiosk.close()
    a = audit(server.db_path)
    print(f"\n{ORDERS} orders through a flaky network: {a}; faults: {dict(faults.counts)}")
    assert len(entries) == ORDERS and all(e.state.is_final for e in entries), "every order ended"
    acknowledged = [e for e in entries if e.state is OrderState.acknowledged]
    assert a.lost == 0 and a.doubled == 0
    assert a.orders == len(acknowledged) and len(acknowledged) > ORDERS * 0.8
    assert {f for f in faults.counts if f != "ok"} == {"drop", "delay", "500", "503", "429", "lost"}


ORDERS = 500


async def test_a_step_that_keeps_failing_waits_instead_of_spinning(server, tmp_path):
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json").open()
    reference = new_order_reference()
    await kiosk.checkout._open_order(await cart_of(kiosk.api), reference)  # created, then left
    calls = []

    async def broken_step(order_id):
        calls.append(order_id)
        raise OSError("disk full")

    kiosk.outbox.step = broken_step
    task = asyncio.create_task(kiosk.outbox.run(idle_s=0.01))
    await asyncio.sleep(0.3)
    task.cancel()
    assert 1 <= len(calls) <= 4, f"{len(calls)} attempts in 0.3 s: the outbox spins"
    await kiosk.close()


async def test_the_outbox_never_touches_an_order_being_paid_for(server, tmp_path):
    """A drain running while a shopper starts paying must not call the new order abandoned."""
    kiosk = await Kiosk(server.base_url, tmp_path / "journal.json").open()
    drain = asyncio.create_task(kiosk.outbox.run(idle_s=0.001))
    try:
        for _ in range(5):
            reference = new_order_reference()
            result = await kiosk.checkout.pay_and_order(await cart_of(kiosk.api), reference)
            assert result.receipt is not None, result.progress
            kiosk.checkout.leave(reference)
    finally:
        drain.cancel()
    assert {e.state for e in kiosk.journal.entries()} == {OrderState.acknowledged}
    await kiosk.close()
