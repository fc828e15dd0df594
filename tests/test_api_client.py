"""The kiosk's real CentralApi against the real reference server on loopback."""

from __future__ import annotations

import io
import socket
import time

import pytest
from PIL import Image

from central.seed import DEMO_STORE_ID
from kiosk.api import ApiConflict, ApiConnectionError, ApiNotFound, ApiUnauthorized, CentralApi
from kiosk.contract import PaymentStatus
from support.central_server import INSUFFICIENT_FUNDS_PAN, new_id, order_request, payment_request


async def test_the_whole_happy_path(api: CentralApi, central_server):
    health = await api.health()
    assert health.status == "ok"

    page = await api.catalog_page(limit=20)
    assert len(page.items) == 20 and page.has_more and page.next_cursor
    following = await api.catalog_page(page.next_cursor, limit=20)
    assert not {p.id for p in page.items} & {p.id for p in following.items}

    categories = await api.categories()
    assert {p.category_id for p in page.items} <= {c.id for c in categories}
    stores = await api.stores()
    assert DEMO_STORE_ID in {s.id for s in stores}

    product = page.items[0]
    variant = product.variants[0]
    stock = await api.stock([v.sku for v in product.variants], [s.id for s in stores])
    assert len(stock.levels) == len(product.variants) * len(stores)

    picture_url = api.absolute_url(product.images[0])
    assert picture_url == f"{central_server.base_url}/{product.images[0]}"
    picture = Image.open(io.BytesIO(await api.fetch_bytes(product.images[0])))
    assert picture.format == "PNG"

    order_id = new_id("order")
    payment = await api.authorise_payment(payment_request(order_id, 2 * variant.price_cents))
    assert payment.status is PaymentStatus.approved
    assert (await api.payment_status(payment.payment_id)) == payment

    order = await api.place_order(order_request(order_id, payment.payment_id, [(variant.sku, 2, variant.price_cents)]))
    assert order.order_id == order_id and order.total_cents == 2 * variant.price_cents
    assert order.lines[0].name.startswith(product.name)
    assert (await api.get_order(order_id)) == order
    # Placing it again (a retry after a lost answer) gives the same order, not a second one.
    assert (await api.place_order(order_request(order_id, payment.payment_id,
                                                [(variant.sku, 2, variant.price_cents)]))) == order


async def test_a_decline_is_a_payment_not_an_error(api: CentralApi):
    payment = await api.authorise_payment(payment_request(new_id("order"), 1000, INSUFFICIENT_FUNDS_PAN))
    assert payment.status is PaymentStatus.declined and payment.decline_code == "insufficient_funds"


async def test_void_through_the_client(api: CentralApi):
    payment = await api.authorise_payment(payment_request(new_id("order"), 1000))
    assert (await api.void_payment(payment.payment_id)).status is PaymentStatus.voided
    assert (await api.void_payment(payment.payment_id)).status is PaymentStatus.voided


async def test_a_bad_token_is_unauthorized(central_server):
    async with CentralApi(central_server.base_url, "stolen-or-mistyped") as api:
        assert (await api.health()).status == "ok", "health needs no token: tells 'down' from 'bad token'"
        with pytest.raises(ApiUnauthorized) as caught:
            await api.catalog_page()
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")


async def test_unknown_order_and_payment_are_not_found(api: CentralApi):
    with pytest.raises(ApiNotFound) as caught:
        await api.get_order("never-placed")
    assert caught.value.code == "not_found" and "GET /v1/orders/never-placed" in str(caught.value)
    with pytest.raises(ApiNotFound):
        await api.payment_status("never-made")


async def test_a_stale_price_is_a_conflict_with_its_code(api: CentralApi):
    variant = (await api.catalog_page(limit=1)).items[0].variants[0]
    order_id = new_id("order")
    stale = variant.price_cents - 100
    payment = await api.authorise_payment(payment_request(order_id, stale))
    with pytest.raises(ApiConflict) as caught:
        await api.place_order(order_request(order_id, payment.payment_id, [(variant.sku, 1, stale)]))
    assert caught.value.code == "price_changed" and variant.sku in caught.value.message


async def test_more_skus_than_one_query_takes_are_asked_in_chunks(api: CentralApi):
    skus: list[str] = []
    page = await api.catalog_page(limit=500)
    while True:
        skus += [v.sku for p in page.items for v in p.variants]
        if not page.has_more:
            break
        page = await api.catalog_page(page.next_cursor, limit=500)
    assert len(skus) > 500, "the test catalog must have more variants than one stock query takes"
    answer = await api.stock(skus, [DEMO_STORE_ID])
    assert [lv.sku for lv in answer.levels] == skus


@pytest.mark.timeout(10)
async def test_a_server_that_is_down_is_a_connection_error_quickly():
    # A bound socket that never listens: connections are refused, and nobody else can take the port.
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
        async with CentralApi(f"http://127.0.0.1:{port}", "demo-kiosk-token", retries=2,
                              backoff_base=0.01) as api:
            started = time.monotonic()
            with pytest.raises(ApiConnectionError):
                await api.catalog_page()
            with pytest.raises(ApiConnectionError):
                await api.authorise_payment(payment_request("order-x", 100))
            elapsed = time.monotonic() - started
    assert elapsed < 5, "refused connections fail fast, they do not wait for the connect timeout"


async def test_idle_connections_expire_before_the_server_closes_them():
    # A request on a connection the server is just closing fails as "outcome unknown" and is retried
    # (kiosk/api.py KEEPALIVE_EXPIRY_S): the pool must drop idle connections before the server does.
    import uvicorn

    from kiosk.api import KEEPALIVE_EXPIRY_S

    assert KEEPALIVE_EXPIRY_S < uvicorn.Config(app=None).timeout_keep_alive  # the reference server
    async with CentralApi("http://127.0.0.1:9", "token") as api:
        assert api._client._transport._pool._keepalive_expiry == KEEPALIVE_EXPIRY_S
