"""CentralApi against answers the real server cannot give: garbage, flaky 5xx, lost answers.

httpx.MockTransport stands in for the network only here; everything else is tested for real in
test_api_client.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from kiosk.api import (
    ApiConflict,
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
    CentralApi,
)
from kiosk.contract import CardSummary, Order, Payment, PaymentStatus
from support.central_server import new_id, order_request, payment_request

BASE = "http://central.test"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A scripted server: answers from a list, one per request, and keeps every request."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def make_api(recorder: Recorder, **kwargs) -> CentralApi:
    api = CentralApi(BASE, "demo-kiosk-token", transport=httpx.MockTransport(recorder),
                     **({"retries": 2, "backoff_base": 0.001} | kwargs))
    api.delays = []  # type: ignore[attr-defined]

    async def no_wait(delay: float) -> None:
        api.delays.append(delay)  # type: ignore[attr-defined]

    api._sleep = no_wait
    return api


def payment_json(request) -> dict:
    return Payment(payment_id=request.payment_id, order_id=request.order_id, status=PaymentStatus.approved,
                   amount_cents=request.amount_cents, auth_code="A1B2C3",
                   card_summary=CardSummary(scheme="Visa", masked_pan="411111******1111"),
                   created_at=datetime.now(UTC)).model_dump(mode="json")


def order_json(request) -> dict:
    return Order(order_id=request.order_id, order_number="K-2026-000001", status="placed",
                 kiosk_id=request.kiosk_id, store_id=request.store_id, lines=[], total_cents=request.total_cents,
                 payment_id=request.payment_id, fulfilment_type=request.fulfilment.type,
                 created_at=datetime.now(UTC), tracking_url=f"{BASE}/track/{request.order_id}",
                 ).model_dump(mode="json")


def error_json(code: str, message: str = "something") -> dict:
    return {"error": {"code": code, "message": message}}


async def test_an_answer_that_is_not_json_is_a_response_error():
    recorder = Recorder(httpx.Response(200, text="<html>Gateway login</html>", headers={"content-type": "text/html"}))
    async with make_api(recorder) as api:
        with pytest.raises(ApiResponseError) as caught:
            await api.catalog_page()
    message = str(caught.value)
    assert "GET /v1/catalog" in message and "not JSON" in message and "text/html" in message
    assert "Traceback" not in message


async def test_json_that_breaks_the_contract_is_a_response_error_naming_the_field():
    broken = {"items": [{"id": "P1", "name": "x", "category_id": "c", "variants": [{"sku": "P1-01"}]}]}
    async with make_api(Recorder(httpx.Response(200, json=broken))) as api:
        with pytest.raises(ApiResponseError) as caught:
            await api.catalog_page()
    message = str(caught.value)
    assert "CatalogPage" in message and "items.0.variants.0.price_cents" in message


async def test_a_list_answer_that_is_not_a_list_is_a_response_error():
    async with make_api(Recorder(httpx.Response(200, json={"id": "x"}))) as api:
        with pytest.raises(ApiResponseError, match="GET /v1/stores"):
            await api.stores()


async def test_503_then_success_retries_with_the_same_idempotency_key():
    request = order_request(new_id("order"), new_id("pay"), [("P000001-01", 1, 995)])
    recorder = Recorder(httpx.Response(503, json=error_json("unavailable")),
                        lambda r: httpx.Response(201, json=order_json(request)))
    async with make_api(recorder) as api:
        order = await api.place_order(request)
    assert order.order_id == request.order_id
    assert len(recorder.requests) == 2
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == [request.order_id] * 2
    assert recorder.requests[0].content == recorder.requests[1].content
    assert len(api.delays) == 1 and api.delays[0] > 0


async def test_retry_after_is_honoured_and_capped():
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "2"}, json=error_json("slow_down")),
                        httpx.Response(503, headers={"Retry-After": "3600"}, json=error_json("unavailable")),
                        httpx.Response(200, json=[]))
    async with make_api(recorder, retry_after_cap=30.0) as api:
        assert await api.categories() == []
    assert api.delays == [2.0, 30.0]


async def test_retries_give_up_with_the_last_error():
    recorder = Recorder(httpx.Response(500, json=error_json("internal_error", "boom")))
    async with make_api(recorder, retries=2) as api:
        with pytest.raises(ApiStatusError) as caught:
            await api.categories()
    assert (caught.value.status, caught.value.code, caught.value.message) == (500, "internal_error", "boom")
    assert len(recorder.requests) == 3


async def test_backoff_grows_exponentially_with_jitter():
    recorder = Recorder(httpx.Response(502, text="bad gateway"))
    async with make_api(recorder, retries=3, backoff_base=0.1, backoff_max=10) as api:
        with pytest.raises(ApiStatusError) as caught:
            await api.categories()
    assert caught.value.code == "http_502", "a non-ErrorResponse body still gives a typed error"
    assert [0.05 <= api.delays[0] <= 0.1, 0.1 <= api.delays[1] <= 0.2, 0.2 <= api.delays[2] <= 0.4] == [True] * 3


async def test_a_read_timeout_on_authorise_is_raised_at_once_without_retry():
    request = payment_request(new_id("order"), 1000)
    recorder = Recorder(httpx.ReadTimeout("no answer"), lambda r: httpx.Response(201, json=payment_json(request)))
    async with make_api(recorder) as api:
        with pytest.raises(ApiTimeoutError):
            await api.authorise_payment(request)
    assert len(recorder.requests) == 1, "a lost payment answer is never retried blind"


async def test_a_dropped_connection_on_authorise_is_outcome_unknown_too():
    request = payment_request(new_id("order"), 1000)
    recorder = Recorder(httpx.RemoteProtocolError("peer closed connection"))
    async with make_api(recorder) as api:
        with pytest.raises(ApiTimeoutError):
            await api.authorise_payment(request)
    assert len(recorder.requests) == 1


async def test_a_5xx_on_authorise_is_not_retried():
    request = payment_request(new_id("order"), 1000)
    recorder = Recorder(httpx.Response(503, json=error_json("unavailable")),
                        lambda r: httpx.Response(201, json=payment_json(request)))
    async with make_api(recorder) as api:
        with pytest.raises(ApiStatusError) as caught:
            await api.authorise_payment(request)
    assert caught.value.status == 503 and len(recorder.requests) == 1


async def test_authorise_retries_when_the_request_surely_did_not_arrive():
    request = payment_request(new_id("order"), 1000)
    recorder = Recorder(httpx.ConnectError("refused"), lambda r: httpx.Response(201, json=payment_json(request)))
    async with make_api(recorder) as api:
        payment = await api.authorise_payment(request)
    assert payment.payment_id == request.payment_id
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == [request.payment_id] * 2


async def test_a_read_timeout_on_an_order_is_retried_with_the_same_key():
    request = order_request(new_id("order"), new_id("pay"), [("P000001-01", 1, 995)])
    recorder = Recorder(httpx.ReadTimeout("no answer"), lambda r: httpx.Response(201, json=order_json(request)))
    async with make_api(recorder) as api:
        assert (await api.place_order(request)).order_id == request.order_id
    assert [r.headers["Idempotency-Key"] for r in recorder.requests] == [request.order_id] * 2


async def test_connect_errors_exhaust_into_a_connection_error():
    recorder = Recorder(httpx.ConnectError("refused"))
    async with make_api(recorder, retries=1) as api:
        with pytest.raises(ApiConnectionError) as caught:
            await api.health()
    assert isinstance(caught.value, ApiError) and len(recorder.requests) == 2


async def test_conflict_codes_come_through():
    recorder = Recorder(httpx.Response(409, json=error_json("idempotency_conflict", "used before")))
    async with make_api(recorder) as api:
        with pytest.raises(ApiConflict) as caught:
            await api.place_order(order_request(new_id("order"), new_id("pay"), [("P000001-01", 1, 995)]))
    assert caught.value.code == "idempotency_conflict" and len(recorder.requests) == 1, "a 409 is not retried"


async def test_the_token_goes_only_to_the_api_host():
    recorder = Recorder(lambda r: httpx.Response(200, content=b"\x89PNG..."))
    async with make_api(recorder) as api:
        await api.fetch_bytes("v1/images/P000001/1.png")
        await api.fetch_bytes("https://cdn.example.net/p/1.png")
    own, cdn = recorder.requests
    assert str(own.url) == f"{BASE}/v1/images/P000001/1.png" and own.headers["Authorization"].startswith("Bearer ")
    assert "Authorization" not in cdn.headers


async def test_payment_bodies_are_never_logged(caplog):
    caplog.set_level(logging.DEBUG)
    request = payment_request(new_id("order"), 1000)
    recorder = Recorder(httpx.ReadTimeout("no answer"))
    async with make_api(recorder) as api:
        with pytest.raises(ApiTimeoutError):
            await api.authorise_payment(request)
    sent = json.loads(recorder.requests[0].content)
    assert sent["card"]["ciphertext"] == request.card.ciphertext
    assert "POST /v1/payments" in caplog.text
    assert request.card.ciphertext not in caplog.text and request.card_summary.masked_pan not in caplog.text
