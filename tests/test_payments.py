"""The payment state machine: real EMV flow on the simulated terminal; the API is scripted here
only for the failures the real server cannot produce on demand (a lost answer)."""

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kiosk.api import ApiConnectionError, ApiNotFound, ApiTimeoutError
from kiosk.contract import Payment, PaymentRequest, PaymentStatus
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.payments import PaymentInProgress, PaymentService, PaymentState

KEY = Path(__file__).resolve().parent.parent / "config" / "payment_service_public.pem"


def payment_for(request: PaymentRequest, status=PaymentStatus.approved) -> Payment:
    return Payment(payment_id=request.payment_id, order_id=request.order_id, status=status,
                   amount_cents=request.amount_cents, auth_code="A1B2C3", card_summary=request.card_summary,
                   created_at=datetime.now(timezone.utc))


class ScriptedApi:
    """authorise_payment / payment_status answer from scripts of results or exceptions."""

    def __init__(self, authorise=(), status=()):
        self.authorise_script = list(authorise)
        self.status_script = list(status)
        self.authorise_calls: list[PaymentRequest] = []
        self.status_calls: list[str] = []
        self.last_request: PaymentRequest | None = None

    async def authorise_payment(self, request):
        self.authorise_calls.append(request)
        self.last_request = request
        return self._next(self.authorise_script, request)

    async def payment_status(self, payment_id):
        self.status_calls.append(payment_id)
        return self._next(self.status_script, self.last_request)

    @staticmethod
    def _next(script, request):
        step = script.pop(0)
        if isinstance(step, Exception):
            raise step
        return payment_for(request, step)


def service(api, delay_s=0.0, **kwargs):
    states = []
    terminal = SimulatedTerminal(KEY, delay_s=delay_s, **kwargs)
    svc = PaymentService(api, terminal, card_timeout_s=5, on_change=lambda p: states.append(p.state))
    return svc, states


async def test_approved_payment_goes_through_every_state():
    api = ScriptedApi(authorise=[PaymentStatus.approved])
    svc, states = service(api)
    result = await svc.pay("kiosk.ORDER1", 2495)
    assert result.state is PaymentState.approved
    assert states == [PaymentState.waiting_for_card, PaymentState.reading, PaymentState.authorising,
                      PaymentState.approved]
    assert result.card.masked_pan.endswith("0010") and "*" in result.card.masked_pan
    request = api.authorise_calls[0]
    assert request.amount_cents == 2495 and request.order_id == "kiosk.ORDER1"


async def test_lost_answer_is_asked_for_not_resent():
    api = ScriptedApi(authorise=[ApiTimeoutError("read timeout")], status=[PaymentStatus.approved])
    svc, _ = service(api)
    svc.STATUS_FIRST_DELAY_S = 0.01
    result = await svc.pay("kiosk.ORDER2", 1000)
    assert result.state is PaymentState.approved
    assert len(api.authorise_calls) == 1, "a lost answer must never be retried blind"
    assert api.status_calls == [api.authorise_calls[0].payment_id]


async def test_lost_request_that_never_arrived_is_sent_again_with_the_same_key():
    api = ScriptedApi(authorise=[ApiTimeoutError("read timeout"), PaymentStatus.approved], status=[ApiNotFound(404, "not_found", "no such payment")])
    svc, _ = service(api)
    svc.STATUS_FIRST_DELAY_S = 0.01
    result = await svc.pay("kiosk.ORDER3", 1000)
    assert result.state is PaymentState.approved
    assert len({r.payment_id for r in api.authorise_calls}) == 1


async def test_unknown_outcome_is_not_reported_as_nothing_charged():
    api = ScriptedApi(authorise=[ApiTimeoutError("read timeout")], status=[ApiConnectionError("down")] * 10)
    svc, _ = service(api)
    svc.STATUS_FIRST_DELAY_S = 0.01
    svc.STATUS_ATTEMPTS = 3
    result = await svc.pay("kiosk.ORDER4", 1000)
    assert result.state is PaymentState.failed
    assert result.reason == "payment_unknown"


async def test_api_down_before_sending_fails_cleanly():
    api = ScriptedApi(authorise=[ApiConnectionError("connection refused")])
    svc, _ = service(api)
    result = await svc.pay("kiosk.ORDER5", 1000)
    assert (result.state, result.reason) == (PaymentState.failed, "api_unavailable")


async def test_declined_carries_the_decline_code():
    api = ScriptedApi(authorise=[PaymentStatus.declined])
    svc, _ = service(api)
    result = await svc.pay("kiosk.ORDER6", 1000)
    assert result.state is PaymentState.declined


async def test_cancel_while_waiting_for_the_card():
    api = ScriptedApi()
    svc, states = service(api, delay_s=30)
    task = asyncio.create_task(svc.pay("kiosk.ORDER7", 1000))
    while svc.progress.state is not PaymentState.waiting_for_card:
        await asyncio.sleep(0.01)
    assert svc.cancel()
    result = await asyncio.wait_for(task, 2)
    assert result.state is PaymentState.cancelled
    assert api.authorise_calls == []


async def test_pressing_pay_twice_does_not_start_a_second_payment():
    api = ScriptedApi(authorise=[PaymentStatus.approved])
    svc, _ = service(api, delay_s=0.2)
    first = asyncio.create_task(svc.pay("kiosk.ORDER8", 1000))
    await asyncio.sleep(0.05)
    with pytest.raises(PaymentInProgress):
        await svc.pay("kiosk.ORDER8", 1000)
    assert (await first).state is PaymentState.approved
    assert len(api.authorise_calls) == 1
