"""Pick lists: the pickup orders of a shop, as staff pick them and hand them over.

    to_pick --picked--> picked --handed_over--> handed_over

Where an order is on that path is kept apart from the order (table `pick_status`; no row is to_pick):
the order itself is written once. Its `status` follows, so `GET /v1/orders` and the tracking page
say so: picked is `ready`, handed over is `completed`.

A pick list holds every pickup order for the shop that is not handed over, and those handed over
today (Dutch local time, `central.dates`): yesterday's are done. No personal data beyond a short
name: staff need the reference the shopper shows, not an e-mail or address.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime, time

from central import dates
from central.errors import ApiProblem
from central.orders import short_reference
from central.seed import shelf_location
from central.stock import stamp
from kiosk.contract import OrderStatus, PickCounts, PickLine, PickList, PickOrder

_SELECT = (
    "SELECT o.order_id, o.order_number, o.created_at, o.ready_on, s.status, s.picked_by, s.picked_at,"
    " s.handed_over_by, s.handed_over_at FROM orders o LEFT JOIN pick_status s ON s.order_id = o.order_id"
    " WHERE o.fulfilment_type = 'pickup' AND o.fulfilment_store_id = ? AND o.status != 'cancelled'"
)


def _start_of_today(now: datetime) -> str:
    return stamp(datetime.combine(dates.local_today(now), time(0), dates.ZONE))


def _variant(size: str | None, colour: str | None) -> str:
    # As the kiosk shows a variant (kiosk.views.variant_label), like the shared cart does.
    return " · ".join(part for part in (size, colour) if part)


def _lines(conn: sqlite3.Connection, order_ids: Sequence[str], store_id: str) -> dict[str, list[PickLine]]:
    lines: dict[str, list[PickLine]] = {order_id: [] for order_id in order_ids}
    for start in range(0, len(order_ids), 500):
        chunk = order_ids[start:start + 500]
        for r in conn.execute(
            "SELECT l.order_id, l.sku, l.name AS line_name, l.quantity, p.name, v.size, v.colour FROM order_lines l"
            " LEFT JOIN variants v ON v.sku = l.sku LEFT JOIN products p ON p.row_id = v.product_row"
            f" WHERE l.order_id IN ({','.join('?' * len(chunk))}) ORDER BY l.order_id, l.position", chunk
        ):
            # A product withdrawn since keeps the name the order line was written with.
            name, variant = (r["name"], _variant(r["size"], r["colour"])) if r["name"] else (r["line_name"], "")
            lines[r["order_id"]].append(PickLine(sku=r["sku"], name=name, variant=variant, quantity=r["quantity"],
                                                 location=shelf_location(r["sku"], store_id)))
    return lines


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _orders(conn: sqlite3.Connection, store_id: str, rows: Sequence[sqlite3.Row]) -> list[PickOrder]:
    lines = _lines(conn, [r["order_id"] for r in rows], store_id)
    return [
        PickOrder(
            order_id=r["order_id"], reference=short_reference(r["order_id"], r["order_number"]),
            order_number=r["order_number"], placed_at=datetime.fromisoformat(r["created_at"]),
            ready_on=date.fromisoformat(r["ready_on"]) if r["ready_on"] else None,
            status=r["status"] or "to_pick",
            customer_name=None,  # orders carry no name today; never an e-mail or address here
            lines=lines[r["order_id"]], picked_by=r["picked_by"], picked_at=_when(r["picked_at"]),
            handed_over_by=r["handed_over_by"], handed_over_at=_when(r["handed_over_at"]),
        )
        for r in rows
    ]


def pick_list(conn: sqlite3.Connection, store_id: str, now: datetime) -> PickList:
    rows = conn.execute(
        _SELECT + " AND (s.status IS NOT 'handed_over' OR s.handed_over_at >= ?)"
        " ORDER BY o.ready_on IS NULL, o.ready_on, o.number", (store_id, _start_of_today(now))).fetchall()
    orders = _orders(conn, store_id, rows)
    counts = PickCounts(to_pick=sum(o.status == "to_pick" for o in orders),
                        picked=sum(o.status == "picked" for o in orders),
                        handed_over_today=sum(o.status == "handed_over" for o in orders))
    return PickList(store_id=store_id, generated_at=now, orders=orders, counts=counts)


def pick_order(conn: sqlite3.Connection, store_id: str, order_id: str) -> PickOrder:
    """One pickup order of this shop, whenever handed over; 404 for any other order."""
    rows = conn.execute(_SELECT + " AND o.order_id = ?", (store_id, order_id)).fetchall()
    if not rows:
        raise ApiProblem(404, "not_found", f"No pickup order {order_id!r} for shop {store_id}.")
    return _orders(conn, store_id, rows)[0]


def mark_picked(conn: sqlite3.Connection, store_id: str, order_id: str, staff_id: str, now: datetime) -> PickOrder:
    """to_pick -> picked; an order already picked (or handed over) is answered as it is."""
    if pick_order(conn, store_id, order_id).status == "to_pick":
        conn.execute("INSERT INTO pick_status (order_id, status, picked_by, picked_at) VALUES (?, 'picked', ?, ?)",
                     (order_id, staff_id, stamp(now)))
        conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", (OrderStatus.ready.value, order_id))
    return pick_order(conn, store_id, order_id)


def mark_handed_over(conn: sqlite3.Connection, store_id: str, order_id: str, staff_id: str,
                     now: datetime) -> PickOrder:
    """picked -> handed_over; already handed over is answered as it is; still to pick is a 409."""
    status = pick_order(conn, store_id, order_id).status
    if status == "to_pick":
        raise ApiProblem(409, "not_picked", f"Order {order_id!r} was not picked yet: pick it before handing it over.")
    if status == "picked":
        conn.execute("UPDATE pick_status SET status = 'handed_over', handed_over_by = ?, handed_over_at = ?"
                     " WHERE order_id = ?", (staff_id, stamp(now), order_id))
        conn.execute("UPDATE orders SET status = ? WHERE order_id = ?", (OrderStatus.completed.value, order_id))
    return pick_order(conn, store_id, order_id)
