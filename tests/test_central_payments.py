"""Payments on the reference server: the test acquirer's rules, idempotency, status, void, no PAN kept."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from central.acquirer import is_expired, luhn_valid
from kiosk.contract import Payment
from kiosk.contract.sealing import CardDataPayload, seal
from support.central_server import (
    APPROVED_PAN,
    BAD_LUHN_PAN,
    INSUFFICIENT_FUNDS_PAN,
    luhn_complete,
    luhn_valid_ending,
    new_id,
    payment_request,
)
from test_central_http import assert_error


def post_payment(http, request, *, key: str | None = "same"):
    headers = {}
    if key is not None:
        headers["Idempotency-Key"] = request.payment_id if key == "same" else key
    return http.post("/v1/payments", content=request.model_dump_json(), headers=headers | {
        "Content-Type": "application/json"})


def test_a_good_card_is_approved_with_an_auth_code(central_http):
    request = payment_request(new_id("order"), 4995)
    response = post_payment(central_http, request)
    assert response.status_code == 201, response.text
    payment = Payment.model_validate_json(response.content)
    assert payment.status == "approved" and payment.decline_code is None
    assert payment.auth_code and len(payment.auth_code) == 6
    assert payment.card_summary == request.card_summary
    assert (payment.payment_id, payment.order_id, payment.amount_cents) == (
        request.payment_id, request.order_id, 4995)


@pytest.mark.parametrize("pan, expiry, amount, code", [
    (BAD_LUHN_PAN, None, 1000, "invalid_card"),
    (APPROVED_PAN, "200131", 1000, "expired_card"),
    (INSUFFICIENT_FUNDS_PAN, None, 1000, "insufficient_funds"),
    (APPROVED_PAN, None, 500_001, "amount_limit"),
])
def test_the_acquirer_declines_by_rule(central_http, pan, expiry, amount, code):
    response = post_payment(central_http, payment_request(new_id("order"), amount, pan, expiry=expiry))
    assert response.status_code == 201, "a decline is an answer, not an error"
    payment = Payment.model_validate_json(response.content)
    assert (payment.status, payment.decline_code, payment.auth_code) == ("declined", code, None)
    assert payment.decline_message


def test_the_amount_limit_is_inclusive(central_http):
    payment = Payment.model_validate_json(post_payment(central_http, payment_request(new_id("o"), 500_000)).content)
    assert payment.status == "approved"


def test_a_seal_for_another_key_or_tampered_is_invalid_card_data(central_http):
    stranger = X25519PrivateKey.generate().public_key()
    payload = CardDataPayload(pan=APPROVED_PAN, expiry="991231", aid="A0000000041010", arqc="0123456789ABCDEF",
                              cid="80", atc="0001", unpredictable_number="01020304", amount_cents=100,
                              currency_code="0978", transaction_date="260101")
    wrong_key = payment_request(new_id("o"), 100).model_copy(
        update={"card": seal(payload.model_dump_json().encode(), stranger)})
    good = payment_request(new_id("o"), 100)
    flipped = good.card.ciphertext[:-2] + ("A" if good.card.ciphertext[-2] != "A" else "B") + good.card.ciphertext[-1]
    tampered = good.model_copy(update={"card": good.card.model_copy(update={"ciphertext": flipped})})
    for request in (wrong_key, tampered):
        payment = Payment.model_validate_json(post_payment(central_http, request).content)
        assert (payment.status, payment.decline_code) == ("declined", "invalid_card_data")


def test_the_same_key_and_body_replays_the_first_answer(central_http):
    request = payment_request(new_id("order"), 1250)
    first = post_payment(central_http, request)
    again = post_payment(central_http, request)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers.get("Idempotent-Replayed") == "true"


def test_the_same_key_with_another_body_is_a_conflict(central_http):
    request = payment_request(new_id("order"), 1250)
    assert post_payment(central_http, request).status_code == 201
    changed = request.model_copy(update={"amount_cents": 1300})
    assert_error(post_payment(central_http, changed), 409, "idempotency_conflict")
    # And the first answer still stands.
    status = Payment.model_validate_json(central_http.get(f"/v1/payments/{request.payment_id}").content)
    assert status.amount_cents == 1250


def test_the_idempotency_key_is_required_and_must_match(central_http):
    request = payment_request(new_id("order"), 100)
    assert_error(post_payment(central_http, request, key=None), 400, "idempotency_key_missing")
    assert_error(post_payment(central_http, request, key="something-else"), 422, "idempotency_key_mismatch")
    assert_error(central_http.get(f"/v1/payments/{request.payment_id}"), 404, "not_found")


def test_payment_status_answers_what_was_decided(central_http):
    request = payment_request(new_id("order"), 777, INSUFFICIENT_FUNDS_PAN)
    decided = post_payment(central_http, request).json()
    response = central_http.get(f"/v1/payments/{request.payment_id}")
    assert response.status_code == 200 and response.json() == decided
    assert_error(central_http.get("/v1/payments/never-made"), 404, "not_found")


def test_void_is_idempotent_and_only_for_approved_payments(central_http):
    approved = payment_request(new_id("order"), 2000)
    post_payment(central_http, approved)
    first = central_http.post(f"/v1/payments/{approved.payment_id}/void")
    second = central_http.post(f"/v1/payments/{approved.payment_id}/void")
    assert first.status_code == second.status_code == 200
    assert Payment.model_validate_json(first.content).status == "voided"
    assert first.json() == second.json()
    assert central_http.get(f"/v1/payments/{approved.payment_id}").json()["status"] == "voided"

    declined = payment_request(new_id("order"), 2000, INSUFFICIENT_FUNDS_PAN)
    post_payment(central_http, declined)
    assert_error(central_http.post(f"/v1/payments/{declined.payment_id}/void"), 409, "payment_not_voidable")
    assert_error(central_http.post("/v1/payments/never-made/void"), 404, "not_found")


def test_the_pan_is_never_stored_or_logged(central_server, central_http, caplog):
    caplog.set_level(logging.DEBUG)
    # Distinctive digits, so finding them in the file cannot be a coincidence.
    pans = (luhn_complete("492181735946028"), luhn_valid_ending("67034471593", "0002"))
    for pan in pans:
        assert post_payment(central_http, payment_request(new_id("order"), 999, pan)).status_code == 201
    files = [p for p in central_server.db_path.parent.iterdir() if p.name.startswith(central_server.db_path.name)]
    assert central_server.db_path in files
    for path in files:
        data = path.read_bytes()
        for pan in pans:
            assert pan.encode() not in data, f"PAN found in {path.name}"
            assert pan[:-4].encode() not in data, f"BIN and middle digits found in {path.name}"
            assert pan[:6].encode() in data, "the masked card summary (BIN + last 4) is what is kept"
    assert not any(pan in caplog.text for pan in pans)


def test_luhn_and_expiry_rules():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert luhn_valid(APPROVED_PAN) and luhn_valid(INSUFFICIENT_FUNDS_PAN) and not luhn_valid(BAD_LUHN_PAN)
    today = date(2026, 5, 14)
    assert not is_expired("260531", today), "valid through the end of its expiry month"
    assert is_expired("260430", today)
    assert not is_expired("270101", today)


def test_concurrent_retries_of_one_payment_give_one_answer(central_server):
    # A kiosk retrying while its first attempt is still in flight: one decision, replayed to all.
    request = payment_request(new_id("order"), 4321)
    headers = {"Authorization": "Bearer demo-kiosk-token", "Idempotency-Key": request.payment_id,
               "Content-Type": "application/json"}

    def attempt(_: int) -> tuple[int, dict]:
        response = httpx.post(f"{central_server.base_url}/v1/payments", content=request.model_dump_json(),
                              headers=headers)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(attempt, range(8)))
    assert {status for status, _ in answers} == {201}
    assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
