"""Fixtures: the reference central server on a loopback port, and a client on it.

- `central_server` (session): `central.embedded.RunningServer` with a small catalog (300 articles).
  Shared by every test of the session, so tests must not change its catalog; a test that needs to
  change prices starts its own server with `start_server`.
- `api` (function): a `kiosk.api.CentralApi` on it with the demo kiosk's token.

Helpers for building payments the way the kiosk's card module does: `sealed_card(...)`,
`payment_request(...)`, `order_request(...)`, and test PANs per acquirer rule.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import httpx

import pytest

from central.embedded import RunningServer, start_server
from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN, DEMO_STORE_ID
from kiosk.api import CentralApi
from kiosk.contract import CardSummary, Fulfilment, OrderLineIn, OrderRequest, PaymentRequest, SealedCardData
from kiosk.contract.sealing import CardDataPayload, load_public_key, seal
from kiosk.hardware.emv import terminal_values
from kiosk.hardware.terminal import CardRequest
from kiosk.hardware.tlv import fill_dol, parse_dol
from kiosk.hardware.virtual_card import CDOL1, application_cryptogram

TEST_CATALOG_ARTICLES = 300
REPO = Path(__file__).resolve().parents[2]
PAYMENT_SERVICE_PUBLIC_KEY = REPO / "config" / "payment_service_public.pem"


def luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to a card number without one."""
    total = 0
    for i, digit in enumerate(reversed(partial)):
        d = int(digit)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return partial + str((10 - total % 10) % 10)


def luhn_valid_ending(prefix: str, ending: str) -> str:
    # Vary one middle digit until the number with a fixed ending passes Luhn.
    for d in range(10):
        pan = f"{prefix}{d}{ending}"
        if luhn_complete(pan[:-1]) == pan:
            return pan
    raise AssertionError("unreachable: one of ten digits always fits")


APPROVED_PAN = luhn_complete("541333000000001")          # Mastercard-like, approved
INSUFFICIENT_FUNDS_PAN = luhn_valid_ending("67034400000", "0002")
BAD_LUHN_PAN = APPROVED_PAN[:-1] + str((int(APPROVED_PAN[-1]) + 1) % 10)


def future_expiry() -> str:
    return f"{(date.today().year + 3) % 100:02d}1231"


def sealed_card(pan: str = APPROVED_PAN, *, expiry: str | None = None, amount_cents: int = 0) -> SealedCardData:
    """A payload with a real ARQC, computed as the emulated test cards do (the acquirer verifies it)."""
    today, un, aip, atc = date.today(), bytes.fromhex("12345678"), bytes.fromhex("1980"), bytes.fromhex("0001")
    cdol1_data = fill_dol(parse_dol(CDOL1), terminal_values(CardRequest(amount_cents=amount_cents), today, un))
    payload = CardDataPayload(
        pan=pan, expiry=expiry or future_expiry(), pan_sequence="01", aid="A0000000041010",
        arqc=application_cryptogram(pan, 1, cdol1_data, aip, atc).hex().upper(), cid="80", atc=atc.hex().upper(),
        unpredictable_number=un.hex().upper(), amount_cents=amount_cents, currency_code="0978",
        transaction_date=today.strftime("%y%m%d"), aip=aip.hex().upper(),
    )
    return seal(payload.model_dump_json().encode(), load_public_key(PAYMENT_SERVICE_PUBLIC_KEY))


def card_summary(pan: str = APPROVED_PAN) -> CardSummary:
    return CardSummary(scheme="Mastercard", masked_pan=f"{pan[:6]}{'*' * (len(pan) - 10)}{pan[-4:]}")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def payment_request(order_id: str, amount_cents: int, pan: str = APPROVED_PAN, *, expiry: str | None = None,
                    payment_id: str | None = None) -> PaymentRequest:
    return PaymentRequest(
        payment_id=payment_id or new_id("pay"), order_id=order_id, amount_cents=amount_cents,
        card=sealed_card(pan, expiry=expiry, amount_cents=amount_cents), card_summary=card_summary(pan),
    )


def order_request(order_id: str, payment_id: str, lines: list[tuple[str, int, int]], *,
                  total_cents: int | None = None, fulfilment: str = "take_now") -> OrderRequest:
    """lines: (sku, quantity, unit_price_cents)."""
    total = sum(q * p for _, q, p in lines) if total_cents is None else total_cents
    return OrderRequest(
        order_id=order_id, kiosk_id=DEMO_KIOSK_ID, store_id=DEMO_STORE_ID,
        lines=[OrderLineIn(sku=s, quantity=q, unit_price_cents=p) for s, q, p in lines],
        total_cents=total, payment_id=payment_id,
        fulfilment=Fulfilment(type=fulfilment, store_id=None if fulfilment == "delivery" else DEMO_STORE_ID),
    )


@pytest.fixture(scope="session")
def central_server(tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    server = start_server(tmp_path_factory.mktemp("central") / "central.sqlite", seed_articles=TEST_CATALOG_ARTICLES)
    yield server
    server.stop()


@pytest.fixture
async def api(central_server: RunningServer) -> CentralApi:
    async with CentralApi(central_server.base_url, DEMO_KIOSK_TOKEN) as client:
        yield client


@pytest.fixture
def central_http(central_server: RunningServer):
    """A plain synchronous httpx client on the shared server, with the demo token: for raw HTTP tests."""
    with httpx.Client(base_url=central_server.base_url,
                      headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"}, timeout=10) as client:
        yield client
