"""Orders on the reference server: accepted only when paid, priced and totalled right; idempotent."""

from __future__ import annotations

import re

import httpx
import pytest

from central.db import Database, set_price
from central.embedded import start_server
from central.seed import DEMO_KIOSK_TOKEN
from kiosk.contract import CatalogPage, Order, OrderRequest
from support.central_server import INSUFFICIENT_FUNDS_PAN, new_id, order_request, payment_request
from support.orders import catalog_variants, in_stock_variants
from test_central_http import assert_error


def some_variants(http: httpx.Client, count: int = 2) -> list[tuple[str, str, int]]:
    """(sku, product name, price) of variants the demo shop has in stock: the orders here are take_now,
    and the central API takes their stock (the most available first, so the tests spread it)."""
    return in_stock_variants(http, count)


def pay(http: httpx.Client, order_id: str, amount: int, pan: str | None = None) -> str:
    request = payment_request(order_id, amount, **({"pan": pan} if pan else {}))
    response = http.post("/v1/payments", content=request.model_dump_json(),
                         headers={"Idempotency-Key": request.payment_id, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    return request.payment_id


def post_order(http: httpx.Client, request: OrderRequest, key: str | None = None) -> httpx.Response:
    return http.post("/v1/orders", content=request.model_dump_json(),
                     headers={"Idempotency-Key": key or request.order_id, "Content-Type": "application/json"})


def paid_order(http: httpx.Client, quantities=(1, 2)) -> OrderRequest:
    variants = some_variants(http, len(quantities))
    lines = [(sku, qty, price) for (sku, _, price), qty in zip(variants, quantities)]
    order_id = new_id("order")
    payment_id = pay(http, order_id, sum(q * p for _, q, p in lines))
    return order_request(order_id, payment_id, lines)


def test_a_paid_order_is_placed_with_a_number_names_and_tracking_url(central_server, central_http):
    request = paid_order(central_http)
    response = post_order(central_http, request)
    assert response.status_code == 201, response.text
    order = Order.model_validate_json(response.content)
    assert re.fullmatch(r"K-\d{4}-\d{6}", order.order_number)
    assert order.status == "placed" and order.total_cents == request.total_cents
    assert order.tracking_url == f"{central_server.base_url}/track/{request.order_id}"
    names = {sku: name for sku, name, _ in catalog_variants(central_http)}
    for line, sent in zip(order.lines, request.lines):
        assert line.sku == sent.sku and line.quantity == sent.quantity
        assert line.name.startswith(names[line.sku])
        assert line.line_total_cents == sent.quantity * sent.unit_price_cents
    fetched = central_http.get(f"/v1/orders/{request.order_id}")
    assert fetched.status_code == 200 and fetched.json() == response.json()


def test_order_numbers_are_sequential(central_http):
    first = Order.model_validate_json(post_order(central_http, paid_order(central_http)).content)
    second = Order.model_validate_json(post_order(central_http, paid_order(central_http)).content)
    assert int(second.order_number[-6:]) == int(first.order_number[-6:]) + 1


def test_replay_and_conflict(central_http):
    request = paid_order(central_http)
    first = post_order(central_http, request)
    again = post_order(central_http, request)
    assert (again.status_code, again.json()) == (201, first.json())
    changed = request.model_copy(update={"fulfilment": request.fulfilment.model_copy(update={"type": "pickup"})})
    assert_error(post_order(central_http, changed), 409, "idempotency_conflict")


def test_key_must_equal_order_id(central_http):
    request = paid_order(central_http)
    assert_error(post_order(central_http, request, key="another"), 422, "idempotency_key_mismatch")


def test_wrong_total_is_refused(central_http):
    request = paid_order(central_http)
    wrong = request.model_copy(update={"total_cents": request.total_cents + 1})
    assert_error(post_order(central_http, wrong), 422, "total_mismatch")
    # Nothing was recorded: the corrected request with the same key goes through.
    assert post_order(central_http, request).status_code == 201


def test_a_price_the_central_api_does_not_charge_is_refused(central_http):
    (sku, _, price), = some_variants(central_http, 1)
    order_id = new_id("order")
    request = order_request(order_id, pay(central_http, order_id, price - 100), [(sku, 1, price - 100)])
    body = assert_error(post_order(central_http, request), 409, "price_changed")
    assert sku in body.error.message


@pytest.mark.parametrize("problem, status, code", [
    ("declined", 409, "payment_not_approved"),
    ("voided", 409, "payment_not_approved"),
    ("unknown", 422, "payment_not_found"),
    ("other_order", 422, "payment_mismatch"),
    ("other_amount", 422, "payment_amount_mismatch"),
])
def test_an_order_needs_its_own_approved_payment_for_its_total(central_http, problem, status, code):
    (sku, _, price), = some_variants(central_http, 1)
    order_id = new_id("order")
    if problem == "declined":
        payment_id = pay(central_http, order_id, price, INSUFFICIENT_FUNDS_PAN)
    elif problem == "voided":
        payment_id = pay(central_http, order_id, price)
        assert central_http.post(f"/v1/payments/{payment_id}/void").status_code == 200
    elif problem == "unknown":
        payment_id = "pay-never-made"
    elif problem == "other_order":
        payment_id = pay(central_http, new_id("order"), price)
    else:
        payment_id = pay(central_http, order_id, price + 1)
    assert_error(post_order(central_http, order_request(order_id, payment_id, [(sku, 1, price)])), status, code)


def test_unknown_sku_store_and_kiosk_are_refused(central_http):
    request = paid_order(central_http, quantities=(1,))
    unknown_sku = request.model_copy(update={"lines": [request.lines[0].model_copy(update={"sku": "NOPE-01"})]})
    assert_error(post_order(central_http, unknown_sku), 422, "unknown_sku")
    assert_error(post_order(central_http, request.model_copy(update={"store_id": "atlantis"})), 422, "unknown_store")
    assert_error(post_order(central_http, request.model_copy(update={"kiosk_id": "someone-else"})), 403,
                 "kiosk_mismatch")


def test_a_placed_orders_payment_cannot_be_voided(central_http):
    request = paid_order(central_http)
    assert post_order(central_http, request).status_code == 201
    assert_error(central_http.post(f"/v1/payments/{request.payment_id}/void"), 409, "payment_in_use")


def test_unknown_order_is_not_found(central_http):
    assert_error(central_http.get("/v1/orders/never-placed"), 404, "not_found")


def test_tracking_page_shows_number_status_and_lines_only(central_server, central_http):
    request = paid_order(central_http)
    order = Order.model_validate_json(post_order(central_http, request).content)
    page = httpx.get(order.tracking_url)  # no token: it is behind the receipt's QR code
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert order.order_number in page.text and "Geplaatst" in page.text
    assert all(line.name.split(" — ")[0] in page.text for line in order.lines)
    assert request.payment_id not in page.text and "****" not in page.text
    assert httpx.get(f"{central_server.base_url}/track/never-placed").status_code == 404


def test_a_central_price_change_refuses_the_old_price_and_shows_in_the_delta(tmp_path):
    # Its own server: the shared one's catalog must not change under other tests.
    server = start_server(tmp_path / "prices.sqlite", seed_articles=20)
    try:
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"}) as http:
            full = CatalogPage.model_validate_json(http.get("/v1/catalog", params={"limit": 500}).content)
            assert not full.has_more
            product = full.items[3]
            sku, old_price = product.variants[0].sku, product.variants[0].price_cents
            order_id = new_id("order")
            payment_id = pay(http, order_id, old_price)

            db = Database(server.db_path)
            with db.session() as conn:
                set_price(conn, sku, old_price + 500)

            body = assert_error(post_order(http, order_request(order_id, payment_id, [(sku, 1, old_price)])),
                                409, "price_changed")
            assert sku in body.error.message and str(old_price + 500) in body.error.message
            delta = CatalogPage.model_validate_json(
                http.get("/v1/catalog", params={"cursor": full.next_cursor}).content)
            assert [p.id for p in delta.items] == [product.id]
            assert delta.items[0].variants[0].price_cents == old_price + 500
    finally:
        server.stop()
