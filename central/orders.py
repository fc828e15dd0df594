"""Orders: what the central API checks before it accepts one, the stock it takes, and how it is stored.

An order takes its stock in the same transaction as it is written: from its reservation (committed,
after a re-check), or, without one, from the place its fulfilment says (checked and taken at once).
So an order is never accepted for stock that is not there, and stock never leaves without an order.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime

from fastapi import Request

from central import fulfilment as rules
from central import stock
from central.errors import ApiProblem
from central.payments import load_payment
from central.stock import WAREHOUSE
from kiosk.contract import Order, OrderLine, OrderRequest, OrderStatus, PaymentStatus


@dataclass(frozen=True)
class CheckedOrder:
    names: dict[str, str]        # line name per sku (product name, size, colour)
    cost_cents: int              # delivery cost as quoted now
    shops: dict[str, rules.Shop]


def check_order(conn: sqlite3.Connection, kiosk_id: str, body: OrderRequest) -> CheckedOrder:
    """Refuse an order the central API cannot accept (all but stock, which `take_stock` checks)."""
    if body.kiosk_id != kiosk_id:
        raise ApiProblem(403, "kiosk_mismatch", f"kiosk_id {body.kiosk_id!r} is not the authenticated kiosk.")
    shops = rules.require_shops(conn, body.store_id, body.fulfilment.store_id)
    rules.check_fulfilment(body.fulfilment, body.store_id, shops, needs_address=True)

    found = rules.articles(conn, [line.sku for line in body.lines])
    for line in body.lines:
        current = found[line.sku].price_cents
        if line.unit_price_cents != current:
            raise ApiProblem(409, "price_changed",
                             f"The price of sku {line.sku} is now {current} cents, not {line.unit_price_cents}.")
    lines_total = sum(line.quantity * line.unit_price_cents for line in body.lines)
    cost = rules.check_cost(body.fulfilment, lines_total)
    if body.total_cents != lines_total + cost:
        raise ApiProblem(422, "total_mismatch",
                         f"total_cents is {body.total_cents} but the lines add up to {lines_total}"
                         f" and {body.fulfilment.type} costs {cost}.")

    payment = load_payment(conn, body.payment_id)
    if payment is None:
        raise ApiProblem(422, "payment_not_found", f"No payment {body.payment_id!r}.")
    if payment.order_id != body.order_id:
        raise ApiProblem(422, "payment_mismatch", f"Payment {body.payment_id!r} belongs to another order.")
    if payment.status is not PaymentStatus.approved:
        raise ApiProblem(409, "payment_not_approved", f"Payment {body.payment_id!r} is {payment.status.value}.")
    if payment.amount_cents != body.total_cents:
        raise ApiProblem(422, "payment_amount_mismatch",
                         f"Payment {body.payment_id!r} is for {payment.amount_cents} cents, "
                         f"the order totals {body.total_cents}.")
    return CheckedOrder({sku: a.name for sku, a in found.items()}, cost, shops)


def _mismatch(reservation_id: str, why: str) -> ApiProblem:
    return ApiProblem(422, "reservation_mismatch", f"Reservation {reservation_id!r} {why}.")


def take_stock(conn: sqlite3.Connection, kiosk_id: str, body: OrderRequest, now: datetime) -> rules.Source:
    """Take the order's stock (inside the caller's transaction); 409 stock_unavailable when it is not there."""
    want = stock.wanted((line.sku, line.quantity) for line in body.lines)
    fulfilment = body.fulfilment
    reason = f"order {body.order_id}"
    if body.reservation_id is None:  # reserve and commit at once
        source = rules.find_source(conn, want, fulfilment.type, fulfilment.store_id, now)
        if not isinstance(source, rules.Source):
            raise rules.stock_unavailable(source)
        stock.take(conn, want, source.place, reason, now)
        return source

    held = stock.load(conn, body.reservation_id)
    if held is None or held.kiosk_id != kiosk_id:
        raise _mismatch(body.reservation_id, "is not known")
    if held.status == "committed":
        raise _mismatch(body.reservation_id, "was already used by another order")
    if held.want != want:
        raise _mismatch(body.reservation_id, "holds other lines than the order")
    if (held.fulfilment_type, held.fulfilment_store_id) != (fulfilment.type, fulfilment.store_id):
        raise _mismatch(body.reservation_id, f"is for {held.fulfilment_type} {held.fulfilment_store_id or ''}".rstrip())
    # Held, lapsed or released alike: committed when the stock is (still) there at the held place.
    if missing := stock.commit(conn, held, body.order_id, reason, now):
        raise rules.stock_unavailable(missing)
    return rules.Source(held.place, in_stock=held.place is not WAREHOUSE)


def insert_order(conn: sqlite3.Connection, body: OrderRequest, checked: CheckedOrder, ready_on: date | None,
                 now: datetime) -> None:
    number = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM orders").fetchone()[0]
    address = body.fulfilment.delivery
    conn.execute(
        "INSERT INTO orders (number, order_id, order_number, status, kiosk_id, store_id, total_cents, currency,"
        " payment_id, fulfilment_type, fulfilment_store_id, created_at, delivery_cost_cents, ready_on,"
        " reservation_id, delivery_postcode, delivery_house_number, delivery_house_number_addition,"
        " delivery_email) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (number, body.order_id, f"K-{now.year}-{number:06d}", OrderStatus.placed.value, body.kiosk_id,
         body.store_id, body.total_cents, body.currency, body.payment_id, body.fulfilment.type,
         body.fulfilment.store_id, now.isoformat(), checked.cost_cents, ready_on.isoformat() if ready_on else None,
         body.reservation_id, address.postcode if address else None, address.house_number if address else None,
         address.house_number_addition if address else None, address.email if address else None),
    )
    conn.executemany(
        "INSERT INTO order_lines (order_id, position, sku, name, quantity, unit_price_cents,"
        " line_total_cents) VALUES (?,?,?,?,?,?,?)",
        [(body.order_id, pos, line.sku, checked.names[line.sku], line.quantity, line.unit_price_cents,
          line.quantity * line.unit_price_cents) for pos, line in enumerate(body.lines)],
    )


# The kiosk's order ids are "<kiosk id>.<reference>": eight symbols of Crockford base32 (no I, L, O, U),
# which the receipt shows as XXXX-XXXX (kiosk.checkout.new_order_reference).
_RECEIPT_REFERENCE = re.compile(r"\.([0-9A-HJKMNP-TV-Z]{8})$")


def short_reference(order_id: str, order_number: str) -> str:
    """The reference the shopper's receipt shows, so staff find the order they are shown; the central
    order number for an order id of another form."""
    match = _RECEIPT_REFERENCE.search(order_id)
    return f"{match[1][:4]}-{match[1][4:]}" if match else order_number


def tracking_url(request: Request, order_id: str) -> str:
    # The server's own base URL as the kiosk reached it, so the QR works wherever the kiosk does.
    return f"{str(request.base_url).rstrip('/')}/track/{order_id}"


def load_order(conn: sqlite3.Connection, order_id: str, tracking_url: str) -> Order | None:
    """The order as the contract shows it: never the delivery address."""
    row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        return None
    lines = [
        OrderLine(sku=r["sku"], name=r["name"], quantity=r["quantity"], unit_price_cents=r["unit_price_cents"],
                  line_total_cents=r["line_total_cents"])
        for r in conn.execute("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", (order_id,))
    ]
    return Order(
        order_id=row["order_id"], order_number=row["order_number"], status=OrderStatus(row["status"]),
        kiosk_id=row["kiosk_id"], store_id=row["store_id"], lines=lines, total_cents=row["total_cents"],
        currency=row["currency"], payment_id=row["payment_id"], fulfilment_type=row["fulfilment_type"],
        fulfilment_store_id=row["fulfilment_store_id"], delivery_cost_cents=row["delivery_cost_cents"],
        ready_on=date.fromisoformat(row["ready_on"]) if row["ready_on"] else None,
        created_at=datetime.fromisoformat(row["created_at"]), tracking_url=tracking_url,
    )
