"""Cart hand-off on the reference server (`POST /v1/carts`, `GET /v1/carts/{token}`, `GET /cart/{token}`),
and the kiosk's `HandoffService` on it: an unguessable short-lived token per cart, the same lines and
today's prices in JSON and on the phone page, 410 once expired, 404 for a token nobody made."""

from __future__ import annotations

import asyncio
import html
import re
import sqlite3
from datetime import timedelta

import httpx
import pytest

from central import carts
from central.db import Database, set_price, withdraw_product
from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN, DEMO_STORE_ID
from kiosk.api import ApiConnectionError, CentralApi
from kiosk.cart import Cart, CartLine
from kiosk.contract import CartLink, CartLinkRequest, ItemIn, SharedCart
from kiosk.handoff import HandoffService
from support.orders import stock_server
from test_central_http import assert_error

TENT_2P, TENT_3P, PILLOW_WHITE, GUIDE = "P000002-01", "P000002-02", "P000007-02", "P000001-01"


@pytest.fixture
def shop(tmp_path):
    with stock_server(tmp_path / "central.sqlite") as server:
        yield server


def make_link(shop, *lines: tuple[str, int], store_id: str = DEMO_STORE_ID) -> CartLink:
    response = shop.post("/v1/carts", CartLinkRequest(store_id=store_id,
                                                      lines=[ItemIn(sku=s, quantity=q) for s, q in lines]))
    assert response.status_code == 201, response.text
    return CartLink.model_validate_json(response.content)


def public() -> httpx.Client:
    """The phone: no credential at all."""
    return httpx.Client(timeout=10)


def shared(shop, token: str) -> SharedCart:
    with public() as phone:
        response = phone.get(f"{shop.server.base_url}/v1/carts/{token}")
    assert response.status_code == 200, response.text
    return SharedCart.model_validate_json(response.content)


def euros(cents: int) -> str:
    return f"€ {cents // 100},{cents % 100:02d}"


LINE = re.compile(r"<li class=line data-sku='(?P<sku>[^']+)'>(?P<body>.*?)</li>", re.S)


def page_lines(page: str) -> list[dict]:
    """The lines of the phone page as a shopper reads them."""
    found = []
    for match in LINE.finditer(page):
        body = match["body"]
        variant = re.search(r"<span class=variant>(.*?)</span>", body)
        found.append({
            "sku": html.unescape(match["sku"]),
            "name": html.unescape(re.search(r"<strong>(.*?)</strong>", body)[1]),
            "variant": html.unescape(variant[1]) if variant else "",
            "quantity": int(re.search(r"<span class=quantity>(\d+)</span>", body)[1]),
            "unit": re.search(r"</span> × (€ [\d,]+)<br>", body)[1],
            "total": re.search(r"<strong class=line-total>(€ [\d,]+)</strong>", body)[1],
        })
    return found


def catalog_row(shop, sku: str) -> sqlite3.Row:
    with sqlite3.connect(shop.server.db_path) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT v.sku, v.size, v.colour, v.price_cents, p.id, p.name FROM variants v"
                          " JOIN products p ON p.row_id = v.product_row WHERE v.sku = ?", (sku,)).fetchone()


# --- making a link ------------------------------------------------------------------------------


def test_a_link_has_an_unguessable_short_lived_token_and_the_servers_own_url(shop):
    link = make_link(shop, (TENT_2P, 1), (GUIDE, 2))
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", link.token), "192 random bits, URL-safe"
    assert carts.TOKEN_BYTES * 8 >= 128
    assert link.url == f"{shop.server.base_url}/cart/{link.token}"
    assert link.expires_at == shop.clock() + timedelta(minutes=carts.TTL_MINUTES)
    again = make_link(shop, (TENT_2P, 1), (GUIDE, 2))
    assert again.token != link.token, "every link is a new token"
    # Only the token's hash is stored: a copy of the database opens no cart.
    with sqlite3.connect(shop.server.db_path) as db:
        rows = db.execute("SELECT * FROM carts").fetchall()
    assert len(rows) == 2
    assert not any(link.token in str(value) for row in rows for value in row)
    assert rows[0][1] == DEMO_KIOSK_ID


def test_making_a_link_needs_the_kiosk_token_but_reading_it_does_not(shop):
    body = {"store_id": DEMO_STORE_ID, "lines": [{"sku": GUIDE, "quantity": 1}]}
    with public() as phone:
        assert_error(phone.post(f"{shop.server.base_url}/v1/carts", json=body), 401, "unauthorized")
        assert_error(phone.post(f"{shop.server.base_url}/v1/carts", json=body,
                                headers={"Authorization": "Bearer not-a-kiosk"}), 401, "unauthorized")
    link = make_link(shop, (GUIDE, 1))
    with public() as phone:
        assert phone.get(link.url).status_code == 200
        assert phone.get(f"{shop.server.base_url}/v1/carts/{link.token}").status_code == 200


@pytest.mark.parametrize("body, status, code", [
    ({"store_id": DEMO_STORE_ID, "lines": [{"sku": "P999999-01", "quantity": 1}]}, 422, "unknown_sku"),
    ({"store_id": "nowhere", "lines": [{"sku": GUIDE, "quantity": 1}]}, 422, "unknown_store"),
    ({"store_id": DEMO_STORE_ID, "lines": [{"sku": GUIDE, "quantity": 0}]}, 422, "validation_error"),
    ({"store_id": DEMO_STORE_ID, "lines": [{"sku": GUIDE, "quantity": 100}]}, 422, "validation_error"),
    ({"store_id": DEMO_STORE_ID, "lines": []}, 422, "validation_error"),
    ({"store_id": DEMO_STORE_ID, "lines": [{"sku": GUIDE, "quantity": 1}], "email": "a@b.nl"}, 422,
     "validation_error"),
])
def test_lines_are_checked_as_a_quote_checks_them(shop, body, status, code):
    assert_error(shop.http.post("/v1/carts", json=body), status, code)
    with sqlite3.connect(shop.server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM carts").fetchone()[0] == 0


# --- the same cart in JSON and on the phone page ------------------------------------------------


def test_json_and_page_show_the_same_lines_names_variants_and_prices(shop):
    link = make_link(shop, (TENT_3P, 1), (PILLOW_WHITE, 2), (GUIDE, 3))
    cart = shared(shop, link.token)
    assert [(line.sku, line.quantity) for line in cart.lines] == [(TENT_3P, 1), (PILLOW_WHITE, 2), (GUIDE, 3)]
    for line in cart.lines:
        row = catalog_row(shop, line.sku)
        assert (line.product_id, line.name, line.unit_price_cents) == (row["id"], row["name"], row["price_cents"])
        assert line.variant == " · ".join(v for v in (row["size"], row["colour"]) if v)  # as the kiosk shows it
        assert line.line_total_cents == line.quantity * line.unit_price_cents
    assert cart.lines[0].variant == "3-persoons · groen" and cart.lines[1].variant == "wit"
    assert cart.subtotal_cents == sum(line.line_total_cents for line in cart.lines)
    assert cart.store_id == DEMO_STORE_ID and cart.store_name and cart.expires_at == link.expires_at

    with public() as phone:
        response = phone.get(link.url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store" and response.headers["referrer-policy"] == "no-referrer"
    page = response.text
    assert "<html lang=nl>" in page and "name=viewport" in page  # Dutch, and sized for a phone
    assert page_lines(page) == [
        {"sku": line.sku, "name": line.name, "variant": line.variant, "quantity": line.quantity,
         "unit": euros(line.unit_price_cents), "total": euros(line.line_total_cents)} for line in cart.lines]
    assert f"<span id=total>{euros(cart.subtotal_cents)}</span>" in page
    assert "id=continue" in page and html.escape(cart.store_name) in page  # where to go on with it
    assert DEMO_KIOSK_ID not in page and DEMO_KIOSK_TOKEN not in page


def test_the_cart_shows_todays_prices_and_leaves_out_what_was_withdrawn(shop):
    link = make_link(shop, (TENT_2P, 1), (GUIDE, 2))
    before = shared(shop, link.token).lines[1].unit_price_cents
    db = Database(shop.server.db_path)
    with db.session() as conn:
        set_price(conn, GUIDE, before + 250)
        withdraw_product(conn, "P000002")
    cart = shared(shop, link.token)
    assert [(line.sku, line.unit_price_cents) for line in cart.lines] == [(GUIDE, before + 250)]
    assert cart.unavailable_skus == [TENT_2P] and cart.subtotal_cents == 2 * (before + 250)
    with public() as phone:
        page = phone.get(link.url).text
    assert [line["total"] for line in page_lines(page)] == [euros(2 * (before + 250))]
    assert "Niet meer leverbaar" in page and TENT_2P in page


# --- expiry and unknown tokens ------------------------------------------------------------------


def test_an_expired_link_is_gone_410_and_an_unknown_one_404(shop):
    link = make_link(shop, (GUIDE, 1))
    shop.clock.advance(minutes=carts.TTL_MINUTES, seconds=-1)
    assert shared(shop, link.token).lines[0].sku == GUIDE
    shop.clock.advance(seconds=1)
    base = shop.server.base_url
    with public() as phone:
        assert_error(phone.get(f"{base}/v1/carts/{link.token}"), 410, "cart_expired")
        gone = phone.get(link.url)
        assert gone.status_code == 410 and gone.headers["content-type"].startswith("text/html")
        assert "verlopen" in gone.text and GUIDE not in gone.text
        for token in ("x" * 32, link.token[:-1], "%2e%2e"):
            assert_error(phone.get(f"{base}/v1/carts/{token}"), 404, "not_found")
            unknown = phone.get(f"{base}/cart/{token}")
            assert unknown.status_code == 404 and "niet gevonden" in unknown.text


def test_long_expired_carts_are_purged_when_links_are_made(shop):
    old = make_link(shop, (GUIDE, 1))
    shop.clock.advance(days=carts.KEEP_EXPIRED_DAYS, minutes=carts.TTL_MINUTES + 1)
    make_link(shop, (GUIDE, 2))
    with sqlite3.connect(shop.server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM carts").fetchone()[0] == 1
    with public() as phone:
        assert phone.get(old.url).status_code == 404


# --- the kiosk's HandoffService ------------------------------------------------------------------


def kiosk_cart(*lines: tuple[str, int]) -> Cart:
    cart = Cart()
    for sku, quantity in lines:
        cart.add(CartLine(sku=sku, product_id=sku.split("-")[0], name=sku, variant_label="", unit_price_cents=100,
                          quantity=quantity))
    return cart


async def test_the_kiosk_keeps_a_link_for_the_same_cart_and_asks_anew_when_it_changes(shop):
    async with CentralApi(shop.server.base_url, DEMO_KIOSK_TOKEN) as api:
        handoff = HandoffService(api, DEMO_STORE_ID, clock=shop.clock)
        cart = kiosk_cart((TENT_2P, 1))
        first = await handoff.link(cart)
        assert await handoff.link(cart) == first and handoff.cached(cart) == first and handoff.requests == 1
        cart.set_quantity(TENT_2P, 2)
        second = await handoff.link(cart)
        assert second != first and handoff.requests == 2
        assert [(l.sku, l.quantity) for l in (await api.shared_cart(second.rsplit("/", 1)[1])).lines] == [(TENT_2P, 2)]
        cart.set_quantity(TENT_2P, 1)
        assert await handoff.link(cart) == first and handoff.requests == 2, "the earlier content's link is fresh"
        # Near its expiry a link is made anew, so a shopper never scans one that dies on the way.
        shop.clock.advance(minutes=carts.TTL_MINUTES - 4)
        assert handoff.cached(cart) is None
        third = await handoff.link(cart)
        assert third not in (first, second) and handoff.requests == 3
        with pytest.raises(ValueError):
            await handoff.link(Cart())
        handoff.forget()
        assert handoff.cached(cart) is None


async def test_callers_at_once_share_one_request(shop):
    async with CentralApi(shop.server.base_url, DEMO_KIOSK_TOKEN) as api:
        handoff = HandoffService(api, DEMO_STORE_ID, clock=shop.clock)
        cart = kiosk_cart((GUIDE, 1), (PILLOW_WHITE, 1))
        urls = await asyncio.gather(*(handoff.link(cart) for _ in range(5)))
        assert len(set(urls)) == 1 and handoff.requests == 1


async def test_no_central_api_is_an_api_error_and_nothing_is_kept(unused_tcp_port):
    async with CentralApi(f"http://127.0.0.1:{unused_tcp_port}", DEMO_KIOSK_TOKEN, retries=0) as api:
        handoff = HandoffService(api, DEMO_STORE_ID)
        cart = kiosk_cart((GUIDE, 1))
        with pytest.raises(ApiConnectionError):
            await handoff.link(cart)
        assert handoff.cached(cart) is None
