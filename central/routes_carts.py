"""Cart hand-off: the kiosk makes a short-lived link to its cart, the shopper opens it on a phone.

  POST /v1/carts           CartLinkRequest -> CartLink (201), kiosk bearer token
  GET  /v1/carts/{token}   SharedCart (JSON), no credential: for tests and the web shop
  GET  /cart/{token}       the same cart as a Dutch HTML page for a phone, no credential

See `central.carts` for the rules (token, lifetime, today's prices, no personal data).
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse

from central import carts
from central.dates import ZONE
from central.deps import Kiosk, Parts
from central.errors import ApiProblem, error_responses
from central.seed import DEMO_STORE_ID
from kiosk.contract import CartLink, CartLinkRequest, SharedCart

router = APIRouter()

_EXAMPLE_SKU = "P000001-01"  # as in central.examples: article 1 exists in every seeded catalog
CART_EXAMPLES = {
    "one_article": {"summary": "one article", "value": {
        "store_id": DEMO_STORE_ID, "lines": [{"sku": _EXAMPLE_SKU, "quantity": 1}]}},
    "two_lines": {"summary": "two variants of one article", "value": {
        "store_id": DEMO_STORE_ID, "lines": [{"sku": _EXAMPLE_SKU, "quantity": 2}, {"sku": "P000001-02", "quantity": 1}]}},
}

_RULES = f"""
Checks the cart as a quote does (422 `unknown_store`, `unknown_sku`, `amount_too_large`) and stores
its skus and quantities under a new token: {carts.TOKEN_BYTES * 8} random bits, URL-safe, stored only
hashed. The link lives {carts.TTL_MINUTES} minutes (`expires_at`); after that `/cart/{{token}}` and
`/v1/carts/{{token}}` answer 410 (`cart_expired`), and an unknown token 404. `url` is this server's
public page of the cart, built from the base URL the kiosk reached it on (as an order's tracking URL).
The page shows today's names and prices when it is opened; no personal data is kept or shown.
"""

_HTML_ERRORS = {
    404: {"description": "No such cart (an HTML page)", "content": {"text/html": {"schema": {"type": "string"}}}},
    410: {"description": "The link has expired (an HTML page)", "content": {"text/html": {"schema": {"type": "string"}}}},
}

# The token is in the address: keep the page out of caches, search engines and Referer headers.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


def cart_url(request: Request, token: str) -> str:
    # The server's own base URL as the kiosk reached it (like `central.orders.tracking_url`), so the
    # QR works wherever the kiosk does.
    return f"{str(request.base_url).rstrip('/')}{carts.cart_path(token)}"


@router.post("/v1/carts", response_model=CartLink, status_code=201, tags=["carts"],
             responses=error_responses(401, 422),
             summary=f"Make a link ({carts.TTL_MINUTES} minutes) that opens this cart on the shopper's phone",
             description=_RULES)
def create_cart_link(request: Request, parts: Parts, kiosk: Kiosk,
                     body: Annotated[CartLinkRequest, Body(openapi_examples=CART_EXAMPLES)]) -> CartLink:
    with parts.db.write_lock, parts.db.session() as conn:
        token, expires_at = carts.create(conn, body, kiosk.kiosk_id, parts.clock())
    return CartLink(token=token, url=cart_url(request, token), expires_at=expires_at)


def _found(parts, token: str) -> carts.Found:
    with parts.db.session() as conn:
        return carts.load(conn, token, parts.clock())


@router.get("/v1/carts/{token}", response_model=SharedCart, tags=["carts"], responses=error_responses(404, 410, 422),
            summary="A handed-off cart at today's prices (no credential: the token is the key)")
def shared_cart(parts: Parts, token: str) -> SharedCart:
    found = _found(parts, token)
    if found.state == "expired":
        raise ApiProblem(410, "cart_expired", "This cart link has expired; make a new one at the kiosk.")
    if found.cart is None:
        raise ApiProblem(404, "not_found", "No such cart.")
    return found.cart


# --- the page on the phone -------------------------------------------------------------------------


def _money(cents: int) -> str:
    return f"€ {cents // 100},{cents % 100:02d}"


def _clock(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%H:%M")


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40em;margin:0 auto;padding:1em;color:#1b1b1b;"
    "background:#f3f2ee;line-height:1.4}"
    "h1{font-size:1.5em;margin:.5em 0}"
    "ul{list-style:none;padding:0;margin:0}"
    "li{background:#fff;border-radius:12px;padding:.75em 1em;margin:.5em 0;display:flex;gap:1em;"
    "justify-content:space-between}"
    ".muted{color:#555;font-size:.9em}"
    ".amount{text-align:right;white-space:nowrap}"
    ".total{display:flex;justify-content:space-between;font-size:1.25em;font-weight:bold;margin:1em 0}"
    "#continue{background:#fff;border-left:6px solid #ffcc00;border-radius:12px;padding:.5em 1em}"
)


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    page = ("<!doctype html><html lang=nl><meta charset=utf-8>"
            "<meta name=viewport content='width=device-width, initial-scale=1'>"
            f"<meta name=robots content=noindex><title>{html.escape(title)}</title><style>{_STYLE}</style>"
            f"<body>{body}</body></html>")
    return HTMLResponse(page, status_code=status_code, headers=_PRIVATE)


def _cart_page(cart: SharedCart) -> str:
    shop = html.escape(cart.store_name)
    items = "".join(
        f"<li class=line data-sku='{html.escape(line.sku)}'><div><strong>{html.escape(line.name)}</strong>"
        + (f"<br><span class=variant>{html.escape(line.variant)}</span>" if line.variant else "")
        + f"<br><span class=muted>Artikelnummer {html.escape(line.sku)}</span></div>"
        f"<div class=amount><span class=quantity>{line.quantity}</span> × {_money(line.unit_price_cents)}"
        f"<br><strong class=line-total>{_money(line.line_total_cents)}</strong></div></li>"
        for line in cart.lines
    )
    gone = ""
    if cart.unavailable_skus:
        gone = ("<p class=muted id=unavailable>Niet meer leverbaar: "
                + ", ".join(html.escape(sku) for sku in cart.unavailable_skus) + "</p>")
    return (
        "<h1>Uw winkelwagen</h1>"
        f"<p class=muted>Gemaakt aan de zuil in {shop}. Prijzen van vandaag, {_clock(cart.as_of)} uur.</p>"
        f"<ul>{items}</ul>{gone}"
        f"<div class=total><span>Totaal</span><span id=total>{_money(cart.subtotal_cents)}</span></div>"
        "<section id=continue><h2>Verder met deze winkelwagen</h2>"
        f"<p>Afrekenen kan aan een bestelzuil of aan de kassa in {shop}: laat deze pagina zien of noem de "
        "artikelnummers. Thuis bestellen kan in onze webwinkel met dezelfde artikelnummers.</p>"
        f"<p class=muted>Deze link werkt tot {_clock(cart.expires_at)} uur. Er staan geen persoonlijke "
        "gegevens op deze pagina.</p></section>"
    )


@router.get("/cart/{token}", response_class=HTMLResponse, tags=["carts"], responses=_HTML_ERRORS,
            summary="The handed-off cart as a page for the shopper's phone (the cart screen's QR). No credential")
def cart_page(parts: Parts, token: str) -> HTMLResponse:
    found = _found(parts, token)
    if found.state == "expired":
        return _page("Link verlopen", (
            "<h1>Deze link is verlopen</h1>"
            f"<p>Een link naar een winkelwagen werkt {carts.TTL_MINUTES} minuten. Open uw winkelwagen aan de "
            "zuil opnieuw en scan de nieuwe code.</p>"), 410)
    if found.cart is None:
        return _page("Winkelwagen niet gevonden", (
            "<h1>Winkelwagen niet gevonden</h1>"
            "<p>Deze link kennen we niet. Scan de code op de zuil nog eens, of vraag een medewerker.</p>"), 404)
    return _page("Uw winkelwagen", _cart_page(found.cart))
