"""Carts handed off to the shopper's phone: a short-lived, unguessable token per cart.

Rules:
- The token is `secrets.token_urlsafe(TOKEN_BYTES)`: 192 random bits, 32 URL-safe characters. It is
  the only key to the cart (no credential on the phone), and it is stored only as its SHA-256.
- A link lives TTL_MINUTES (30) from when it was made: long enough to walk to the till or get home,
  short enough that a photo of someone else's screen is soon worth nothing. After that it answers
  410 (gone) until the row is purged, KEEP_EXPIRED_DAYS later; then, like any unknown token, 404.
- The cart keeps skus and quantities only: names and prices are read when it is looked at (today's
  prices). A line withdrawn from the catalog since is listed as unavailable, never guessed at.
- No personal data: the cart knows the shop and the kiosk, never the shopper.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from central import fulfilment as rules
from central.stock import stamp
from kiosk.contract import CartLinkRequest, SharedCart, SharedCartLine

TOKEN_BYTES = 24  # 192 bits; the brief asks for at least 128
TTL_MINUTES = 30
KEEP_EXPIRED_DAYS = 7


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def cart_path(token: str) -> str:
    return f"/cart/{token}"


def create(conn: sqlite3.Connection, request: CartLinkRequest, kiosk_id: str, now: datetime) -> tuple[str, datetime]:
    """Check the cart (422 unknown_store / unknown_sku / amount_too_large, as a quote does), store it
    under a new token, and purge long-expired carts. Returns (token, expires_at)."""
    rules.require_shops(conn, request.store_id)
    found = rules.articles(conn, [line.sku for line in request.lines])
    subtotal = 0
    for line in request.lines:
        amount = line.quantity * found[line.sku].price_cents
        rules.check_amount(amount, f"The line of {line.sku}")
        subtotal += amount
    rules.check_amount(subtotal, "The subtotal")
    token = new_token()
    expires_at = now + timedelta(minutes=TTL_MINUTES)
    lines = json.dumps([{"sku": line.sku, "quantity": line.quantity} for line in request.lines])
    with conn:
        conn.execute("DELETE FROM carts WHERE expires_at < ?", (stamp(now - timedelta(days=KEEP_EXPIRED_DAYS)),))
        conn.execute("INSERT INTO carts (token_sha256, kiosk_id, store_id, lines, created_at, expires_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     (token_digest(token), kiosk_id, request.store_id, lines, stamp(now), stamp(expires_at)))
    return token, expires_at


@dataclass(frozen=True)
class Found:
    """What a token leads to: the cart, or why not (`state` 'unknown' or 'expired')."""

    state: str  # 'ok', 'expired', 'unknown'
    cart: SharedCart | None = None


def _label(size: str | None, colour: str | None) -> str:
    # As the kiosk shows a variant (kiosk.views.variant_label), so phone and pillar read the same.
    return " · ".join(part for part in (size, colour) if part)


def load(conn: sqlite3.Connection, token: str, now: datetime) -> Found:
    row = conn.execute("SELECT store_id, lines, expires_at FROM carts WHERE token_sha256 = ?",
                       (token_digest(token),)).fetchone()
    if row is None:
        return Found("unknown")
    expires_at = datetime.fromisoformat(row["expires_at"])
    if now >= expires_at:
        return Found("expired")
    wanted = json.loads(row["lines"])
    skus = [line["sku"] for line in wanted]
    marks = ",".join("?" * len(skus))
    variants = {r["sku"]: r for r in conn.execute(
        "SELECT v.sku, v.size, v.colour, v.price_cents, p.id, p.name FROM variants v"
        f" JOIN products p ON p.row_id = v.product_row WHERE v.sku IN ({marks})", skus)}
    lines, unavailable = [], []
    for line in wanted:
        variant = variants.get(line["sku"])
        if variant is None:
            unavailable.append(line["sku"])
            continue
        total = line["quantity"] * variant["price_cents"]
        rules.check_amount(total, f"The line of {line['sku']}")
        lines.append(SharedCartLine(sku=line["sku"], product_id=variant["id"], name=variant["name"],
                                    variant=_label(variant["size"], variant["colour"]), quantity=line["quantity"],
                                    unit_price_cents=variant["price_cents"], line_total_cents=total))
    subtotal = sum(line.line_total_cents for line in lines)
    rules.check_amount(subtotal, "The subtotal")
    shop = rules.shop(conn, row["store_id"])
    return Found("ok", SharedCart(store_id=row["store_id"], store_name=shop.name if shop else row["store_id"],
                                  lines=lines, unavailable_skus=unavailable, subtotal_cents=subtotal,
                                  as_of=now, expires_at=expires_at))
