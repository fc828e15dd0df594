"""Property-based fuzzing of CentralApi's handling of the central API's answers (hypothesis, issue 10).

Whatever comes back — wrong types, missing fields, invalid JSON, the wrong content type, a body
that says gzip and is not, a huge body, an answer dripped a byte at a time — every public method
either returns exactly what its contract model makes of the body, or raises an `ApiError` subclass;
never another exception, never a hang.

- Answers through httpx.MockTransport: a differential oracle. For a 2xx answer the method must return
  `TypeAdapter(answer type).validate_python(json.loads(body))` when that succeeds and raise
  ApiResponseError when it does not; a non-2xx answer is an ApiStatusError of the right class and
  status. Every method that parses an answer is driven, with representative arguments.
- A real loopback server (asyncio streams) for what a mock cannot do: an answer dripped slower than the
  whole-answer deadline but faster than httpx's per-read timeout, so only `answer_timeout` can end it;
  and raw, mutated HTTP/1.1 answers (bad status lines, lying Content-Length, broken chunking).

FUZZ_API_EXAMPLES inputs per property (default 250; about 20 s for the file on 2 cores). The long
run is `bench/fuzz.py --target api` (README "Fuzzing").
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from kiosk.api import (
    MAX_ANSWER_BYTES,
    ApiConflict,
    ApiError,
    ApiNotFound,
    ApiResponseError,
    ApiStatusError,
    ApiTimeoutError,
    ApiUnauthorized,
    BundleFetch,
    CentralApi,
    _parse_retry_after,
)
from kiosk.contract import (
    CartLink,
    CartLinkRequest,
    CatalogPage,
    Category,
    ErrorResponse,
    FleetReport,
    FleetReportReceipt,
    Fulfilment,
    Health,
    ItemIn,
    Order,
    OrderLineIn,
    OrderRequest,
    Payment,
    PaymentRequest,
    PickList,
    PickOrder,
    Promotion,
    Quote,
    QuoteRequest,
    Reservation,
    ReservationRequest,
    SealedCardData,
    CardSummary,
    SharedCart,
    StaffMember,
    StockAdjustment,
    StockAdjustmentRequest,
    StockAnswer,
    Store,
)
from kiosk.contract.fleet import KioskHealth
from kiosk.fleet.bundle import MAX_BUNDLE_BYTES
from support.fuzz import places as places_in

EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "250"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
BASE = "http://central.test"
# Small, so "larger than the cap" is cheap to generate; test_the_real_cap_holds uses the real one.
CAP = 4096

# --- what each method is asked, and a valid answer to start mutating from ------------------------

T = "2025-05-13T09:30:00Z"
SHOP, SKU = "utrecht-centrum", "P000001-01"
CARD = {"scheme": "Mastercard", "masked_pan": "541333******0010", "expiry_month": "2028-12"}
PAYMENT = {"payment_id": "pay-1", "order_id": "ord-1", "status": "approved", "amount_cents": 2495,
           "currency": "EUR", "auth_code": "A1B2C3", "card_summary": CARD, "created_at": T}
RESERVATION = {"reservation_id": "res-1", "status": "held", "expires_at": T, "fulfilment_type": "pickup",
               "store_id": SHOP}
ORDER = {"order_id": "ord-1", "order_number": "K-2025-000001", "status": "placed", "kiosk_id": "utr-01",
         "store_id": SHOP, "lines": [{"sku": SKU, "name": "Fietsbel", "quantity": 1, "unit_price_cents": 2495,
                                      "line_total_cents": 2495}],
         "total_cents": 2495, "payment_id": "pay-1", "fulfilment_type": "take_now", "created_at": T,
         "ready_on": "2025-05-14", "tracking_url": f"{BASE}/track/ord-1"}
ADJUSTMENT = {"adjustment_id": "adj-1", "sku": SKU, "store_id": SHOP, "kind": "received", "quantity": 6,
              "delta": 6, "on_hand": 9, "available": 8, "staff_id": "sanne", "made_at": T, "recorded_at": T,
              "note": "levering"}
PICK_ORDER = {"order_id": "ord-1", "reference": "AB12-CD34", "order_number": "K-2025-000001", "placed_at": T,
              "ready_on": "2025-05-14", "status": "to_pick", "customer_name": "S. de V.",
              "lines": [{"sku": SKU, "name": "Fietsbel", "variant": "zwart", "quantity": 2, "location": "Gang 4"}]}
PRODUCT = {"id": "P000001", "name": "Fietsbel", "description": "Luid", "brand": "ANWB", "category_id": "fiets",
           "images": ["/images/P000001/1.jpg"],
           "variants": [{"sku": SKU, "ean": "8712345678906", "size": None, "colour": "zwart", "price_cents": 2495}]}

SEEDS: dict[str, Any] = {
    "health": {"status": "ok", "time": T, "api_version": "v1"},
    "catalog_page": {"items": [PRODUCT], "next_cursor": "c-2", "has_more": True, "removed": ["P000009"],
                     "remaining": 12},
    "categories": [{"id": "fiets", "name": "Fiets", "name_en": "Bike", "parent_id": None}],
    "promotions": [{"id": "promo-1", "title": "Zomer", "subtitle": "Alles voor de fiets", "product_id": "P000001",
                    "image_url": "/images/promo-1.jpg", "valid_until": T}],
    "stores": [{"id": SHOP, "name": "ANWB Utrecht", "city": "Utrecht", "address": "Oudegracht 1",
                "latitude": 52.09, "longitude": 5.12,
                "opening_hours": [{"weekday": 0, "opens": "09:00", "closes": "18:00"}]}],
    "stock": {"as_of": T, "levels": [{"sku": SKU, "store_id": SHOP, "quantity": 3, "location": "Gang 4"}]},
    "quote": {"as_of": T, "lines": [{"sku": SKU, "name": "Fietsbel", "quantity": 1, "unit_price_cents": 2495,
                                     "line_total_cents": 2495}],
              "subtotal_cents": 2495, "options": [{"type": "take_now", "store_id": SHOP, "cost_cents": 0,
                                                   "total_cents": 2495, "ready_on": "2025-05-13", "in_stock": True}],
              "shortages": [{"sku": SKU, "store_id": "amersfoort-centrum", "wanted": 2, "available": 1}]},
    "reserve": RESERVATION,
    "release_reservation": {**RESERVATION, "status": "released"},
    "authorise_payment": PAYMENT,
    "payment_status": PAYMENT,
    "void_payment": {**PAYMENT, "status": "voided"},
    "place_order": ORDER,
    "get_order": ORDER,
    "create_cart_link": {"token": "tok-abc", "url": f"{BASE}/cart/tok-abc", "expires_at": T},
    "shared_cart": {"store_id": SHOP, "store_name": "ANWB Utrecht", "subtotal_cents": 2495, "as_of": T,
                    "expires_at": T, "unavailable_skus": ["P000002-01"],
                    "lines": [{"sku": SKU, "product_id": "P000001", "name": "Fietsbel", "variant": "zwart",
                               "quantity": 1, "unit_price_cents": 2495, "line_total_cents": 2495}]},
    "staff_members": [{"staff_id": "sanne", "name": "Sanne de Vries", "role": "staff", "badge_uids": ["04A1B2C3"]}],
    "adjust_stock": ADJUSTMENT,
    "stock_adjustment": ADJUSTMENT,
    "pick_list": {"store_id": SHOP, "generated_at": T, "orders": [PICK_ORDER],
                  "counts": {"to_pick": 1, "picked": 0, "handed_over_today": 0}},
    "mark_picked": {**PICK_ORDER, "status": "picked", "picked_by": "sanne", "picked_at": T},
    "mark_handed_over": {**PICK_ORDER, "status": "handed_over", "handed_over_by": "sanne", "handed_over_at": T},
    "fleet_report": {"received_at": T},
}

_SEALED = SealedCardData(key_id="k1", epk="ZXBr", nonce="bm9uY2U", ciphertext="Y2lwaGVy")
_FULFIL = Fulfilment(type="take_now", store_id=SHOP)
_LINES = [ItemIn(sku=SKU, quantity=1)]
CALLS: dict[str, tuple[Any, Any]] = {
    # name: (how to call it on an api, the contract type its answer must have)
    "health": (lambda api: api.health(), Health),
    "catalog_page": (lambda api: api.catalog_page("c-1"), CatalogPage),
    "categories": (lambda api: api.categories(), list[Category]),
    "promotions": (lambda api: api.promotions(), list[Promotion]),
    "stores": (lambda api: api.stores(), list[Store]),
    "stock": (lambda api: api.stock([SKU], [SHOP]), StockAnswer),
    "quote": (lambda api: api.quote(QuoteRequest(store_id=SHOP, lines=_LINES)), Quote),
    "reserve": (lambda api: api.reserve(ReservationRequest(reservation_id="res-1", store_id=SHOP, lines=_LINES,
                                                           fulfilment=_FULFIL)), Reservation),
    "release_reservation": (lambda api: api.release_reservation("res-1"), Reservation),
    "authorise_payment": (lambda api: api.authorise_payment(PaymentRequest(
        payment_id="pay-1", order_id="ord-1", amount_cents=2495, card=_SEALED,
        card_summary=CardSummary(**CARD))), Payment),
    "payment_status": (lambda api: api.payment_status("pay-1"), Payment),
    "void_payment": (lambda api: api.void_payment("pay-1"), Payment),
    "place_order": (lambda api: api.place_order(OrderRequest(
        order_id="ord-1", kiosk_id="utr-01", store_id=SHOP, total_cents=2495, payment_id="pay-1",
        lines=[OrderLineIn(sku=SKU, quantity=1, unit_price_cents=2495)], fulfilment=_FULFIL)), Order),
    "get_order": (lambda api: api.get_order("ord-1"), Order),
    "create_cart_link": (lambda api: api.create_cart_link(CartLinkRequest(store_id=SHOP, lines=_LINES)), CartLink),
    "shared_cart": (lambda api: api.shared_cart("tok-abc"), SharedCart),
    "staff_members": (lambda api: api.staff_members(), list[StaffMember]),
    "adjust_stock": (lambda api: api.adjust_stock(StockAdjustmentRequest(
        adjustment_id="adj-1", sku=SKU, kind="received", quantity=6, made_at=datetime(2025, 5, 13, tzinfo=UTC)),
        "sanne"), StockAdjustment),
    "stock_adjustment": (lambda api: api.stock_adjustment("adj-1", "sanne"), StockAdjustment),
    "pick_list": (lambda api: api.pick_list("sanne"), PickList),
    "mark_picked": (lambda api: api.mark_picked("ord-1", "sanne"), PickOrder),
    "mark_handed_over": (lambda api: api.mark_handed_over("ord-1", "sanne"), PickOrder),
    "fleet_report": (lambda api: api.fleet_report(FleetReport(
        kiosk_id="utr-01", store_id=SHOP, app_version="0.9.0", reported_at=datetime(2025, 5, 13, tzinfo=UTC),
        health=KioskHealth(app_up=True, central_api_ok=True), journal_depth=0, pending_adjustments=0)),
        FleetReportReceipt),
}
# Methods that hand the body back unparsed (the catalog sync and the picture cache parse it themselves).
RAW_CALLS: dict[str, Any] = {
    "catalog_page_raw": lambda api: api.catalog_page_raw("c-1"),
    "categories_raw": lambda api: api.categories_raw(),
    "fetch_bytes": lambda api: api.fetch_bytes("/images/P000001/1.jpg"),
    "fleet_bundle": lambda api: api.fleet_bundle("/fleet/fleet.json", '"etag-1"'),
}
ALL_METHODS = sorted(CALLS) + sorted(RAW_CALLS)


def test_every_public_method_that_reads_an_answer_is_fuzzed():
    """A method added to CentralApi without a line here would escape the fuzzing: fail instead."""
    public = {name for name in vars(CentralApi) if not name.startswith("_")}
    not_reading = {"aclose", "absolute_url"}
    assert public - not_reading == set(ALL_METHODS)
    for name, seed in SEEDS.items():  # and every seed is a valid answer, or the mutations prove little
        TypeAdapter(CALLS[name][1]).validate_python(seed)


# --- answers ------------------------------------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
                | st.floats() | st.text(max_size=20)
                | st.sampled_from(["", T, "2025-13-45T99:99:99", "approved", "held", "EUR", "USD", "ok", SKU,
                                   "take_now", "to_pick", "zwart", "A" * 70, "09:00", "9:00", "-1", "1e3"]))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(sorted({k for s in SEEDS.values() if isinstance(s, dict) for k in s}))
                      | st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@st.composite
def mutated(draw, seed):
    """The seed with 1 to 3 changes: a field dropped, replaced (often by a wrong type), added, or a
    list emptied or repeated. Most changes leave the rest valid, so each one is tested on its own."""
    document = json.loads(json.dumps(seed))
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        places = [p for p, _ in places_in(document) if p]
        if not places:
            return draw(json_values)
        path = draw(st.sampled_from(places))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["drop", "scalar", "value", "add", "stringify", "repeat"]))
        if action == "drop":
            del parent[last]
        elif action == "scalar":
            parent[last] = draw(json_scalars)
        elif action == "value":
            parent[last] = draw(json_values)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        elif action == "repeat" and isinstance(parent[last], list):
            parent[last] = parent[last] * draw(st.integers(0, 3))
        else:
            value = parent[last]
            parent[last] = str(value) if not isinstance(value, str) else draw(st.sampled_from([0, [], {}, None, True]))
    return document


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@st.composite
def bodies(draw, seed) -> bytes:
    """Answer bodies, from the valid seed to garbage."""
    kind = draw(st.sampled_from(["seed", "mutated", "mutated", "mutated", "json", "bytes", "cut", "flipped",
                                 "special", "huge"]))
    raw = json.dumps(seed).encode()
    if kind == "seed":
        return raw
    if kind == "mutated":
        return json.dumps(draw(mutated(seed))).encode()
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "cut":
        return raw[: draw(st.integers(0, len(raw)))]
    if kind == "flipped":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "special":
        return draw(st.sampled_from([
            b"", b"null", b"NaN", b"Infinity", b"-Infinity", b"[]", b"{}", b'""', b"1" * 5000, b"1e999999",
            b"\xef\xbb\xbf" + raw,  # a UTF-8 byte order mark
            json.dumps(seed).encode("utf-16"), json.dumps(seed).encode("utf-32"),
            b"<html><body>502 Bad Gateway</body></html>", _nested(100_000), b'{"a":' * 50_000,
            b'{"items": ' + _nested(900) + b"}", raw + b"garbage", raw + raw, b"\x00" * 64,
            json.dumps(seed, ensure_ascii=False).encode("latin-1", "replace"),
        ]))
    # huge: past the cap, with a valid start
    return raw + b" " * (CAP + 1 - len(raw) + draw(st.integers(0, 100)))


CONTENT_TYPES = st.sampled_from([
    "application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
    "text/html; charset=utf-8", "text/plain", "application/problem+json", "application/octet-stream",
    "", "json", None,
])
STATUSES = st.sampled_from([200, 200, 200, 200, 201, 202, 203, 204, 206, 299, 301, 302, 304, 400, 401, 403, 404,
                            405, 409, 410, 413, 418, 422, 429, 500, 502, 503, 504, 599])


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str | None
    encoding: str = "identity"  # "gzip": compressed for real; "fake-gzip": says gzip, is not
    extra_headers: dict[str, str] = field(default_factory=dict)

    def decoded(self) -> bytes | None:
        """The body as the client sees it after Content-Encoding; None when it does not decode."""
        if self.encoding != "fake-gzip":
            return self.body
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)  # what httpx's GZipDecoder does
        try:
            return decompressor.decompress(self.body) + decompressor.flush()
        except zlib.error:
            return None

    def response(self) -> httpx.Response:
        # Header values as a server's bytes: latin-1, so "²" arrives as the byte B2 (obs-text in RFC 9110)
        headers: dict[str, str | bytes] = {k: v.encode("latin-1") for k, v in self.extra_headers.items()}
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        content = self.body
        if self.encoding == "gzip":
            content, headers["Content-Encoding"] = gzip.compress(self.body), "gzip"
        elif self.encoding == "fake-gzip":
            headers["Content-Encoding"] = "gzip"
        # As a stream, like a network answer: `content=` would be decoded by the mock itself, here.
        return httpx.Response(self.status, headers=headers, stream=httpx.ByteStream(content))


def error_bodies(status: int):
    return st.one_of(
        st.builds(lambda code, msg: json.dumps({"error": {"code": code, "message": msg}}).encode(),
                  st.sampled_from(["price_changed", "stock_unavailable", "unauthorized", "not_found", ""]),
                  st.text(max_size=30)),
        st.just(json.dumps({"error": {"code": "stock_unavailable", "message": "gone", "shortages": [
            {"sku": SKU, "store_id": SHOP, "wanted": 2, "available": 0}]}}).encode()),
        st.builds(lambda v: json.dumps({"error": v}).encode(), json_values),
        st.binary(max_size=100),
    )


@st.composite
def answers(draw, name: str) -> Answer:
    seed = SEEDS.get(name, {"bundle": {}, "key_id": "k", "signature": "s"})
    status = draw(STATUSES)
    body = draw(bodies(seed) if 200 <= status < 300 or draw(st.booleans()) else error_bodies(status))
    encoding = draw(st.sampled_from(["identity", "identity", "identity", "gzip", "fake-gzip"]))
    extra = draw(st.dictionaries(st.sampled_from(["Retry-After", "ETag", "X-Whatever"]),
                                 st.sampled_from(["0", "1", "²", "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 "
                                                  "23:59:59 -2359", "soon", "", "\"etag-2\"", "99999999999999999999"]),
                                 max_size=2))
    return Answer(status, body, draw(CONTENT_TYPES), encoding, extra)


# --- the oracle ---------------------------------------------------------------------------------


def new_api(transport: httpx.AsyncBaseTransport, **kwargs) -> CentralApi:
    api = CentralApi(BASE, "demo-kiosk-token", transport=transport,
                     **({"retries": 0, "max_answer_bytes": CAP} | kwargs))

    async def no_wait(delay: float) -> None:  # retries of transient answers: no real waiting in a test
        assert 0 <= delay <= 10

    api._sleep = no_wait
    return api


async def call(name: str, api: CentralApi) -> Any:
    return await (CALLS[name][0](api) if name in CALLS else RAW_CALLS[name](api))


def run(name: str, answer: Answer, **kwargs) -> tuple[str, Any]:
    """Serve `answer` to method `name`: ("ok", result) or ("error", the ApiError). Anything else fails."""

    async def go():
        async with new_api(httpx.MockTransport(lambda request: answer.response()), **kwargs) as api:
            try:
                return "ok", await call(name, api)
            except ApiError as exc:
                assert str(exc), "an ApiError must say what went wrong"
                return "error", exc

    return asyncio.run(go())


def expected_json(name: str, body: bytes) -> tuple[str, Any]:
    """What the contract makes of a 2xx body, independently of the client: ("ok", model) or ("error", None)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return "error", None
    try:
        return "ok", TypeAdapter(CALLS[name][1]).validate_python(data)
    except ValidationError:
        return "error", None


def check(name: str, answer: Answer, outcome: tuple[str, Any]) -> str:
    """Asserts the outcome is the right one for `answer`; returns a short label of it (for the bench)."""
    kind, value = outcome
    if kind == "error":
        assert isinstance(value, ApiError)
    body = answer.decoded()
    if body is None and not (name == "fleet_bundle" and answer.status in (304, 404)):  # these are not read
        assert kind == "error" and type(value) is ApiResponseError, outcome
        return "ApiResponseError: content-encoding"
    if name == "fleet_bundle":
        if answer.status == 304:
            assert value == BundleFetch("unchanged", None, answer.extra_headers.get("ETag") or '"etag-1"'), outcome
            return "unchanged"
        if answer.status == 404:
            assert value == BundleFetch("absent"), outcome
            return "absent"
    if not 200 <= answer.status < 300:
        assert kind == "error" and isinstance(value, ApiStatusError) and value.status == answer.status, outcome
        wanted = {401: ApiUnauthorized, 404: ApiNotFound, 409: ApiConflict}.get(answer.status, ApiStatusError)
        assert type(value) is wanted, outcome
        try:
            error = ErrorResponse.model_validate_json(body[:CAP])
            assert (value.code, value.message) == (error.error.code, error.error.message)
            assert value.shortages == tuple(error.error.shortages)
        except ValidationError:
            assert value.code == f"http_{answer.status}"
        return f"{type(value).__name__}: {answer.status}"
    if len(body) > CAP and name != "fleet_bundle":
        assert kind == "error" and type(value) is ApiResponseError and "larger than" in str(value), outcome
        return "ApiResponseError: too large"
    if name == "fleet_bundle":
        assert value == BundleFetch("changed", body[:MAX_BUNDLE_BYTES + 1], answer.extra_headers.get("ETag")), outcome
        return "changed"
    if name in RAW_CALLS:
        assert kind == "ok" and value == body, outcome
        return "raw bytes"
    want_kind, want = expected_json(name, body)
    if want_kind == "ok":
        assert kind == "ok" and value == want, (outcome, want)
        return "valid"
    assert kind == "error" and type(value) is ApiResponseError, outcome
    return "ApiResponseError: " + ("not JSON" if "not JSON" in str(value) else "contract")


def api_input(name: str, answer: Answer) -> str:
    """The input as a crash report shows it (the bench prints it)."""
    return f"{name} <- HTTP {answer.status} {answer.content_type!r} {answer.encoding} {answer.extra_headers} " \
           f"{answer.body[:200]!r}{'...' if len(answer.body) > 200 else ''} ({len(answer.body)} bytes)"


answer_cases = st.sampled_from(ALL_METHODS).flatmap(lambda name: st.tuples(st.just(name), answers(name)))


@FUZZ
@given(answer_cases)
def test_any_answer_gives_the_contract_model_or_a_typed_error(case):
    name, answer = case
    check(name, answer, run(name, answer))


@pytest.mark.parametrize("name", ALL_METHODS)
def test_the_valid_answer_round_trips(name):
    """The baseline: the unmutated seed comes back as exactly its model (or its bytes)."""
    answer = Answer(200, json.dumps(SEEDS.get(name, {"bundle": 1})).encode(), "application/json")
    assert check(name, answer, run(name, answer)) in ("valid", "raw bytes", "changed")
    gzipped = Answer(200, answer.body, "application/json", "gzip")
    assert check(name, gzipped, run(name, gzipped)) in ("valid", "raw bytes", "changed")


# --- regressions found by this fuzzing ----------------------------------------------------------


@pytest.mark.parametrize("name", ["health", "stock", "fleet_bundle", "fetch_bytes"])
def test_a_body_that_says_gzip_and_is_not_is_a_response_error(name):
    """Was httpx.DecodingError, which is no ApiError, out of every method."""
    outcome = run(name, Answer(200, b"{not gzip at all", "application/json", "fake-gzip"))
    assert outcome[0] == "error" and type(outcome[1]) is ApiResponseError


def test_json_nested_past_the_stack_is_a_response_error():
    """Was RecursionError out of `_parse` (json.loads of '[[[[...' a hundred thousand deep)."""
    outcome = run("categories", Answer(200, _nested(100_000), "application/json"), max_answer_bytes=MAX_ANSWER_BYTES)
    assert outcome[0] == "error" and "not JSON" in str(outcome[1])


@pytest.mark.parametrize("value", ["²", "³", "¹"])
def test_a_retry_after_of_unicode_digits_is_ignored(value):
    """Was ValueError out of every call answered 503 with such a header (str.isdigit() says yes to '²')."""
    assert _parse_retry_after(value) is None
    outcome = run("health", Answer(503, b"", "text/plain", extra_headers={"Retry-After": value}), retries=1)
    assert outcome[0] == "error" and type(outcome[1]) is ApiStatusError and outcome[1].status == 503


@FUZZ
@given(st.text(max_size=40) | st.sampled_from(["Fri, 31 Dec 9999 23:59:59 -2359", "Mon, 01 Jan 0001 00:00:00 +2359",
                                               "Sun, 31 Dec 9999 23:59:60 -0000", "0" * 5000]))
def test_retry_after_parsing_is_total(value):
    delay = _parse_retry_after(value)
    assert delay is None or delay >= 0


@pytest.mark.parametrize("url", ["http://[::1", "http://[zz]/x.jpg", "ftp://cdn.test/x.jpg", "http://:99999/x",
                                 "//[/x", "http://127.0.0.1:1\x00/x.jpg"])
def test_a_picture_url_httpx_cannot_fetch_is_a_response_error(url):
    """Was ValueError, httpx.InvalidURL (no ApiError) or a misleading ApiTimeoutError for a malformed
    picture URL in a catalog answer. The real transport: a mock would serve any scheme."""

    async def go():
        async with CentralApi("http://127.0.0.1:1", "t", retries=0) as api:
            with pytest.raises(ApiResponseError):
                await api.fetch_bytes(url)
            with pytest.raises(ApiResponseError):
                await api.fleet_bundle(url)

    asyncio.run(go())


def test_stock_in_chunks_with_naive_and_aware_as_of():
    """Was TypeError (naive and aware datetimes compared) when a chunked stock query's answers mixed them."""
    answers = iter([{"as_of": "2025-05-13T09:30:00", "levels": []}, {"as_of": "2025-05-13T09:00:00+00:00", "levels": []}])

    async def go():
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json=next(answers)))
        async with new_api(transport) as api:
            return await api.stock([f"P{i:06d}-01" for i in range(600)], [SHOP])

    assert asyncio.run(go()).as_of == datetime(2025, 5, 13, 9, 0, tzinfo=UTC)


def test_the_real_cap_holds_and_the_body_is_not_read_past_it():
    """A 33 MB answer, streamed: refused at MAX_ANSWER_BYTES, and the stream is not read to its end."""
    chunk = b" " * 65536
    sent = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b'{"status": "ok", "time": "2025-05-13T09:30:00Z"'
            while True:  # never ends: only the cap can stop the reading
                sent.append(len(chunk))
                yield chunk

    async def go():
        transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=Endless()))
        async with new_api(transport, max_answer_bytes=MAX_ANSWER_BYTES) as api:
            with pytest.raises(ApiResponseError, match="larger than"):
                await api.health()

    asyncio.run(go())
    assert MAX_ANSWER_BYTES <= sum(sent) <= MAX_ANSWER_BYTES + 2 * len(chunk)


# --- a real loopback server: slow drip and raw HTTP answers ------------------------------------


class Loopback:
    """An asyncio server on 127.0.0.1 that answers every connection with `serve(reader, writer)`."""

    def __init__(self, serve):
        self._serve = serve
        self.server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> str:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.readuntil(b"\r\n\r\n")  # the request's head; bodies are small and ignored
                await self._serve(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                pass  # the client gave up: exactly what a drip is for
            finally:
                writer.close()

        self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc_info) -> None:
        assert self.server is not None
        self.server.close()
        # Python 3.11's wait_closed() waits for nothing; 3.12's waits for handlers: never for long.
        await asyncio.wait_for(self.server.wait_closed(), 2)


# The client's timeouts in these tests: httpx times out a read after READ s; the drip is faster
# than that, so only the whole-answer deadline (connect + read) can end it.
CONNECT, READ = 0.1, 0.2
DEADLINE = CONNECT + READ
HANG = 10.0  # far beyond any configured timeout: reaching it means the call hung


def drip_response(name: str, where: str, body: bytes) -> bytes:
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + (b"Transfer-Encoding: chunked\r\n" if where == "chunks" else b"Content-Length: %d\r\n" % len(body))
            + b"\r\n")
    if where == "chunks":
        body = b"".join(b"%x\r\n%s\r\n" % (1, body[i:i + 1]) for i in range(len(body))) + b"0\r\n\r\n"
    return head + body


async def drip_call(name: str, where: str, interval: float, retries: int) -> tuple[ApiError | None, float]:
    """Method `name` against a server that drips its (valid) answer a byte every `interval` s, starting
    at the status line ("head"), after the head ("body"), or chunk by chunk ("chunks")."""
    body = json.dumps(SEEDS.get(name, {"bundle": {}})).encode() + b" " * 4000  # longer than any deadline
    raw = drip_response(name, where, body)
    start = 0 if where == "head" else raw.index(b"\r\n\r\n") + 4

    async def serve(reader, writer):
        writer.write(raw[:start])
        for i in range(start, len(raw)):
            writer.write(raw[i:i + 1])
            await writer.drain()
            await asyncio.sleep(interval)

    async with Loopback(serve) as url:
        api = CentralApi(url, "demo-kiosk-token", connect_timeout=CONNECT, read_timeout=READ, retries=retries,
                         backoff_base=0.01, backoff_max=0.02)
        async with api:
            started = time.monotonic()
            try:
                await asyncio.wait_for(call(name, api), HANG)
            except ApiError as exc:
                return exc, time.monotonic() - started
            except TimeoutError:
                raise AssertionError(f"{name}: still waiting after {HANG} s: the drip hangs the call") from None
            return None, time.monotonic() - started


@settings(FUZZ, max_examples=max(10, EXAMPLES // 12))
@given(st.sampled_from(ALL_METHODS), st.sampled_from(["head", "body", "chunks"]),
       st.floats(min_value=0.005, max_value=READ * 0.5), st.integers(0, 1))
def test_a_slow_drip_ends_in_a_timeout_error_within_the_deadline(name, where, interval, retries):
    error, elapsed = asyncio.run(drip_call(name, where, interval, retries))
    assert isinstance(error, ApiTimeoutError), (name, error)
    # Each attempt ends at its deadline; retries add a backoff of at most 0.02 s. Generous slack: 2 cores.
    assert elapsed < (retries + 1) * (DEADLINE + 0.02) + 1.5, elapsed


def test_a_drip_is_not_ended_by_the_read_timeout_alone():
    """Why the deadline is needed: with it set far away, the same drip outlives several read timeouts
    (before the fix this was every call: nothing ended a drip at all)."""

    async def go():
        async def serve(reader, writer):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(READ / 4)

        async with Loopback(serve) as url:
            async with CentralApi(url, "t", connect_timeout=CONNECT, read_timeout=READ, retries=0,
                                  answer_timeout=60) as api:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(api.health(), 4 * READ)

    asyncio.run(go())


VALID_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


@st.composite
def raw_answers(draw, name: str) -> bytes:
    """Whole HTTP/1.1 answers as bytes, mostly near a valid one."""
    body = draw(bodies(SEEDS.get(name, {"bundle": {}})))
    kind = draw(st.sampled_from(["valid", "length", "chunked", "head", "flip", "cut", "bytes", "status"]))
    if kind == "valid":
        return VALID_HEAD % len(body) + body
    if kind == "length":  # Content-Length that lies either way, or is not a number
        value = draw(st.sampled_from([b"%d" % (len(body) + draw(st.integers(-5, 5))), b"-1", b"abc", b"1e3",
                                      b"99999999999999999999", b"%d, %d" % (len(body), len(body) + 1)]))
        return b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\n" + body
    if kind == "chunked":  # chunk sizes right, wrong, or garbage
        size = draw(st.sampled_from([b"%x" % len(body), b"%x" % (len(body) + 3), b"zz", b"-1", b"f" * 20]))
        end = draw(st.sampled_from([b"\r\n0\r\n\r\n", b"\r\n", b""]))
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + body + end
    if kind == "status":
        line = draw(st.sampled_from([b"HTTP/1.1 999 Odd", b"HTTP/1.1 20 OK", b"HTTP/1.1 abc", b"HTTP/2 200 OK",
                                     b"HTTP/1.0 200", b"ICY 200 OK", b"HTTP/1.1 100 Continue", b"", b"HTTP/1.1 200 \xff"]))
        return line + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    whole = bytearray(VALID_HEAD % len(body) + body)
    if kind == "head":  # a header line broken or odd
        header = draw(st.sampled_from([b"X: \x00\r\n", b"no colon\r\n", b" folded\r\n", b"X" * 70000 + b": 1\r\n",
                                       b"Content-Encoding: br\r\n", b"Content-Encoding: gzip, gzip\r\n"]))
        at = whole.index(b"\r\n") + 2
        whole[at:at] = header
    elif kind == "flip" and whole:
        for _ in range(draw(st.integers(1, 4))):
            whole[draw(st.integers(0, len(whole) - 1))] = draw(st.integers(0, 255))
    elif kind == "cut":
        del whole[draw(st.integers(0, len(whole))):]
    else:
        return draw(st.binary(max_size=200))
    return bytes(whole)


async def raw_call(name: str, raw: bytes) -> tuple[str, Any]:
    async def serve(reader, writer):
        writer.write(raw)
        await writer.drain()

    async with Loopback(serve) as url:
        api = CentralApi(url, "demo-kiosk-token", connect_timeout=CONNECT, read_timeout=READ, retries=0,
                         max_answer_bytes=CAP)
        async with api:
            try:
                return "ok", await asyncio.wait_for(call(name, api), HANG)
            except ApiError as exc:
                return "error", exc
            except TimeoutError:
                raise AssertionError(f"{name}: hung on a raw answer") from None


raw_cases = st.sampled_from(ALL_METHODS).flatmap(lambda name: st.tuples(st.just(name), raw_answers(name)))


@settings(FUZZ, max_examples=max(20, EXAMPLES // 3))
@given(raw_cases)
def test_raw_http_answers_over_a_real_socket(case):
    name, raw = case
    kind, value = asyncio.run(raw_call(name, raw))
    assert kind == "ok" or isinstance(value, ApiError)
    if kind == "ok" and name in CALLS:  # whatever got through is a valid contract model
        TypeAdapter(CALLS[name][1]).validate_python(value)
