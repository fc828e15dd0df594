"""The payment state machine: real EMV flow on the simulated terminal; the API is scripted here
only for the failures the real server cannot produce on demand (a lost answer)."""

import asyncio
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from kiosk.api import ApiConnectionError, ApiNotFound, ApiTimeoutError
from kiosk.contract import Payment, PaymentRequest, PaymentStatus
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.hardware.terminal import ReadCancelled
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


# --- cancel once the card is read -------------------------------------------------------------------


class HeldApi(ScriptedApi):
    """The authorisation answer waits for `answer` (the bank is slow); meanwhile the shopper acts."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.answer = asyncio.Event()
        self.sent = asyncio.Event()

    async def authorise_payment(self, request):
        self.authorise_calls.append(request)
        self.last_request = request
        self.sent.set()
        await self.answer.wait()
        return self._next(self.authorise_script, request)


async def cancel_while_authorising(api, profile="visa"):
    svc, states = service(api, profile=profile)
    progress = []
    svc._on_change = lambda p: (states.append(p.state), progress.append(p))
    task = asyncio.create_task(svc.pay("kiosk.ORDERC", 1000))
    await asyncio.wait_for(api.sent.wait(), 5)
    assert svc.progress.state is PaymentState.authorising
    assert svc.cancel()
    assert svc.cancel(), "a second press changes nothing"
    assert svc.progress.cancel_requested and svc.progress.state is PaymentState.authorising
    api.answer.set()
    return await asyncio.wait_for(task, 5), progress


async def test_cancel_while_authorising_waits_for_the_approval_and_flags_it():
    api = HeldApi(authorise=[PaymentStatus.approved])
    result, progress = await cancel_while_authorising(api)
    assert (result.state, result.cancel_requested) == (PaymentState.approved, True)
    assert result.payment.payment_id == api.authorise_calls[0].payment_id, "the caller voids exactly this one"
    assert [p.cancel_requested for p in progress if p.state is PaymentState.authorising] == [False, True]
    assert len(api.authorise_calls) == 1


async def test_cancel_while_authorising_a_decline_is_cancelled():
    api = HeldApi(authorise=[PaymentStatus.declined])
    result, _ = await cancel_while_authorising(api)
    assert (result.state, result.reason) == (PaymentState.cancelled, "cancelled")


async def test_cancel_while_authorising_a_refused_request_is_cancelled():
    api = HeldApi(authorise=[ApiConnectionError("connection refused")])
    result, _ = await cancel_while_authorising(api)
    assert (result.state, result.reason) == (PaymentState.cancelled, "cancelled")


async def test_cancel_while_authorising_an_unknown_outcome_stays_unknown():
    """Never "nothing was charged" when we do not know: the journal settles (and voids) it later."""
    api = HeldApi(authorise=[ApiTimeoutError("read timeout")], status=[ApiConnectionError("down")] * 3)
    svc, _ = service(api)
    svc.STATUS_FIRST_DELAY_S, svc.STATUS_ATTEMPTS = 0.01, 3
    task = asyncio.create_task(svc.pay("kiosk.ORDERU", 1000))
    await asyncio.wait_for(api.sent.wait(), 5)
    assert svc.cancel()
    api.answer.set()
    result = await asyncio.wait_for(task, 5)
    assert (result.state, result.reason) == (PaymentState.failed, "payment_unknown")


class SlowReader(SimulatedTerminal):
    """A card that takes its time: on the reader, it answers only between checks of `cancel`, as the
    PC/SC terminal checks between two commands. `ignore_cancel`: the read had just finished."""

    def __init__(self, *args, ignore_cancel=False, present_first=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.ignore_cancel = ignore_cancel
        self.present_first = present_first
        self.reading = threading.Event()

    def read_card(self, request, cancel, *, choose_application=None):
        if self.present_first:
            request.on_card_present()
        self.reading.set()
        cancel.wait(5)
        if self.ignore_cancel:
            return super().read_card(request, threading.Event(), choose_application=choose_application)
        raise ReadCancelled("card read cancelled")


@pytest.mark.parametrize("ignore_cancel", [False, True])
async def test_cancel_while_reading_sends_nothing(ignore_cancel):
    api = ScriptedApi(authorise=[PaymentStatus.approved])
    terminal = SlowReader(KEY, delay_s=0, ignore_cancel=ignore_cancel)
    svc = PaymentService(api, terminal, card_timeout_s=5)
    task = asyncio.create_task(svc.pay("kiosk.ORDERR", 1000))
    await asyncio.to_thread(terminal.reading.wait, 5)
    while svc.progress.state is not PaymentState.reading:
        await asyncio.sleep(0.01)
    assert svc.cancel()
    result = await asyncio.wait_for(task, 5)
    assert (result.state, result.reason) == (PaymentState.cancelled, "cancelled")
    assert api.authorise_calls == [], "a cancelled read never reaches the bank"


async def test_cancel_while_waiting_as_the_card_is_read_sends_nothing():
    """Cancel pressed on "hold your card" in the very moment a card was read: nothing is sent."""
    api = ScriptedApi(authorise=[PaymentStatus.approved])
    terminal = SlowReader(KEY, delay_s=0, ignore_cancel=True, present_first=False)
    svc = PaymentService(api, terminal, card_timeout_s=5)
    task = asyncio.create_task(svc.pay("kiosk.ORDERW", 1000))
    await asyncio.to_thread(terminal.reading.wait, 5)
    assert svc.progress.state is PaymentState.waiting_for_card
    assert svc.cancel()
    result = await asyncio.wait_for(task, 5)
    assert (result.state, result.reason) == (PaymentState.cancelled, "cancelled")
    assert api.authorise_calls == []


async def test_cancel_is_refused_once_approved_and_reset_for_the_next_attempt():
    api = ScriptedApi(authorise=[PaymentStatus.approved, PaymentStatus.approved])
    svc, _ = service(api)
    first = await svc.pay("kiosk.ORDERA", 1000)
    assert first.state is PaymentState.approved and not first.cancel_requested
    assert not svc.cancel(), "too late: the order is being placed"
    second = await svc.pay("kiosk.ORDERB", 1000)
    assert not second.cancel_requested
