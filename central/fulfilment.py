"""How a cart reaches the shopper, and what it costs: the rules shared by quotes, reservations and orders.

- take_now: from the kiosk's own shop, only when it has every line now; free; today.
- pickup at any shop: from that shop's own stock when it has every line now (ready today or on its
  next opening day), else sent from the warehouse (see `central.dates`); free.
- delivery: from the warehouse; DELIVERY_COST_CENTS, free from FREE_DELIVERY_FROM_CENTS of lines.

One source per cart: a cart is never split over places, so the shopper gets one date.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from central import dates, stock
from central.errors import ApiProblem
from central.stock import WAREHOUSE, Place
from kiosk.contract import Fulfilment, OpeningHours, Shortage

DELIVERY_COST_CENTS = 495
FREE_DELIVERY_FROM_CENTS = 2500
MAX_CENTS = 100_000_000  # the contract's upper bound of an amount


def cost_of(fulfilment_type: str, subtotal_cents: int) -> int:
    if fulfilment_type == "delivery":
        return 0 if subtotal_cents >= FREE_DELIVERY_FROM_CENTS else DELIVERY_COST_CENTS
    return 0


# --- shops --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shop:
    id: str
    name: str
    hours: tuple[OpeningHours, ...]


def shops(conn: sqlite3.Connection) -> list[Shop]:
    """Every shop, in the order of `/v1/stores`."""
    return [Shop(r["id"], r["name"], tuple(OpeningHours(**h) for h in json.loads(r["opening_hours"])))
            for r in conn.execute("SELECT id, name, opening_hours FROM stores ORDER BY position")]


def shop(conn: sqlite3.Connection, store_id: str) -> Shop | None:
    return next((s for s in shops(conn) if s.id == store_id), None)


def require_shops(conn: sqlite3.Connection, *store_ids: str | None) -> dict[str, Shop]:
    known = {s.id: s for s in shops(conn)}
    if unknown := sorted({i for i in store_ids if i is not None} - set(known)):
        raise ApiProblem(422, "unknown_store", f"Unknown store {', '.join(unknown)}.")
    return known


# --- lines at today's prices --------------------------------------------------------------------


@dataclass(frozen=True)
class Article:
    sku: str
    name: str  # as order lines name it: product name, then size and colour
    price_cents: int


def variant_label(name: str, size: str | None, colour: str | None) -> str:
    details = ", ".join(d for d in (size, colour) if d)
    return f"{name} — {details}" if details else name


def articles(conn: sqlite3.Connection, skus: Sequence[str]) -> dict[str, Article]:
    """Today's name and price per sku; 422 unknown_sku when one is not in the catalog."""
    skus = list(dict.fromkeys(skus))
    rows = {r["sku"]: Article(r["sku"], variant_label(r["name"], r["size"], r["colour"]), r["price_cents"])
            for r in conn.execute(
                "SELECT v.sku, v.size, v.colour, v.price_cents, p.name FROM variants v"
                f" JOIN products p ON p.row_id = v.product_row WHERE v.sku IN ({','.join('?' * len(skus))})", skus)}
    if unknown := [sku for sku in skus if sku not in rows]:
        raise ApiProblem(422, "unknown_sku", f"Unknown sku {', '.join(unknown)}.")
    return rows


def check_amount(cents: int, what: str) -> None:
    # 99 of 100 lines of dear articles add up beyond what the contract's amounts can carry.
    if cents > MAX_CENTS:
        raise ApiProblem(422, "amount_too_large", f"{what} would be {cents} cents, more than {MAX_CENTS}.")


# --- where the stock comes from -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    place: Place     # where the stock is taken or held: a shop, or WAREHOUSE
    in_stock: bool   # False: pickup by transfer from the warehouse


def source_for(levels: Mapping[tuple[str, Place], int], want: Mapping[str, int], fulfilment_type: str,
               store_id: str | None) -> Source | list[Shortage]:
    """Where the cart comes from for this fulfilment, or the shortages (where it was looked for)."""
    if fulfilment_type == "delivery":
        missing = stock.shortages_in(levels, want, WAREHOUSE)
        return missing or Source(WAREHOUSE, in_stock=False)
    at_shop = stock.shortages_in(levels, want, store_id)
    if not at_shop:
        return Source(store_id, in_stock=True)
    if fulfilment_type == "take_now":
        return at_shop
    at_warehouse = stock.shortages_in(levels, want, WAREHOUSE)
    if at_warehouse:
        # Both lists: what the shop lacks, and why it cannot be sent there either.
        return at_shop + at_warehouse
    return Source(WAREHOUSE, in_stock=False)


def find_source(conn: sqlite3.Connection, want: Mapping[str, int], fulfilment_type: str, store_id: str | None,
                now: datetime, *, excluding: str | None = None) -> Source | list[Shortage]:
    places = [WAREHOUSE] if fulfilment_type == "delivery" else [store_id, WAREHOUSE]
    levels = stock.available(conn, list(want), places, now, excluding=excluding)
    return source_for(levels, want, fulfilment_type, store_id)


def ready_on(fulfilment_type: str, hours: Sequence[OpeningHours], in_stock: bool, now: datetime) -> date | None:
    """The promised day; None when a shop never opens (then it cannot be a pickup point)."""
    if fulfilment_type == "take_now":
        return dates.local_today(now)
    if fulfilment_type == "delivery":
        return dates.delivery_promised_on(now)
    return dates.pickup_ready_on(hours, now) if in_stock else dates.transfer_ready_on(hours, now)


# --- checking a chosen fulfilment ---------------------------------------------------------------


def check_fulfilment(fulfilment: Fulfilment, kiosk_store_id: str, known: Mapping[str, Shop], *,
                     needs_address: bool) -> None:
    """The shape of a chosen fulfilment (422 invalid_fulfilment). Stores must already be known."""
    kind = fulfilment.type
    if kind in ("take_now", "pickup"):
        if not fulfilment.store_id:
            raise ApiProblem(422, "invalid_fulfilment", f"Fulfilment {kind!r} needs a store_id.")
        if fulfilment.delivery is not None:
            raise ApiProblem(422, "invalid_fulfilment", f"Fulfilment {kind!r} takes no delivery address.")
        if kind == "take_now" and fulfilment.store_id != kiosk_store_id:
            raise ApiProblem(422, "invalid_fulfilment", "take_now is only possible in the kiosk's own shop.")
        if not known[fulfilment.store_id].hours:
            raise ApiProblem(422, "invalid_fulfilment", f"Shop {fulfilment.store_id} has no opening hours.")
    else:
        if fulfilment.store_id is not None:
            raise ApiProblem(422, "invalid_fulfilment", "Home delivery takes no store_id.")
        if needs_address and fulfilment.delivery is None:
            raise ApiProblem(422, "invalid_fulfilment", "Home delivery needs the delivery address.")


def check_cost(fulfilment: Fulfilment, subtotal_cents: int) -> int:
    """The cost a quote gives now; 409 delivery_cost_changed when the shopper saw another one."""
    cost = cost_of(fulfilment.type, subtotal_cents)
    if fulfilment.cost_cents != cost:
        raise ApiProblem(409, "delivery_cost_changed",
                         f"The cost of {fulfilment.type} for this cart is {cost} cents, not {fulfilment.cost_cents}.")
    return cost


def stock_unavailable(missing: Sequence[Shortage]) -> ApiProblem:
    where = sorted({s.store_id or "the warehouse" for s in missing})
    return ApiProblem(409, "stock_unavailable",
                      f"Not enough stock of {', '.join(dict.fromkeys(s.sku for s in missing))} "
                      f"at {', '.join(where)}.", shortages=missing)
