"""Staff stock adjustments in a shop: goods received, and counts of what is on the shelf.

received  `quantity` came in: it is added.
counted   the shop held `quantity` at `made_at`. The move is the difference with what was on hand just
          before that moment (only moves that happened before it), so sales after the count still
          count against it, whether they reached the server before the count did or after:
              delta   = quantity - on hand before made_at
              on hand = quantity + every move after made_at

A count is the truth at its moment, so whatever happened at or before the latest count of that sku
in that shop is already in it: an adjustment that reaches the server after a later count (a kiosk
that was offline) records delta 0 and moves nothing. In any order of arrival the latest count wins.

A move's `at` is its adjustment's `made_at`, never later than when it is recorded: a kiosk clock a
little ahead must not put the count after sales that are still to come (MAX_AHEAD is the slack
allowed; further ahead is refused).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from central import fulfilment as rules
from central import stock
from central.errors import ApiProblem
from central.stock import stamp
from kiosk.contract import StockAdjustment, StockAdjustmentRequest

MAX_AHEAD = timedelta(minutes=5)


def _covered_by_count(conn: sqlite3.Connection, sku: str, store_id: str, moment: datetime) -> bool:
    latest = conn.execute("SELECT MAX(made_at) FROM stock_adjustments WHERE kind = 'counted' AND sku = ?"
                          " AND store_id = ?", (sku, store_id)).fetchone()[0]
    return latest is not None and stamp(moment) <= latest


def record(conn: sqlite3.Connection, body: StockAdjustmentRequest, store_id: str, staff_id: str, kiosk_id: str,
           now: datetime) -> StockAdjustment:
    """Check and write the adjustment and its move (inside the caller's transaction, under the write lock)."""
    if body.made_at > now + MAX_AHEAD:
        raise ApiProblem(422, "made_at_in_future",
                         f"made_at {body.made_at.isoformat()} is ahead of the server's clock ({now.isoformat()}).")
    rules.articles(conn, [body.sku])  # 422 unknown_sku
    made_at = min(body.made_at, now)
    if _covered_by_count(conn, body.sku, store_id, made_at):
        delta = 0
    elif body.kind == "received":
        delta = body.quantity
    else:
        delta = body.quantity - stock.on_hand_before(conn, body.sku, store_id, made_at)
    if delta:
        conn.execute("INSERT INTO stock_moves (sku, store_id, delta, reason, at) VALUES (?, ?, ?, ?, ?)",
                     (body.sku, store_id, delta, f"{body.kind} {body.adjustment_id}", stamp(made_at)))
    on_hand = stock.on_hand(conn, [body.sku], [store_id])[(body.sku, store_id)]
    available = stock.available(conn, [body.sku], [store_id], now)[(body.sku, store_id)]
    conn.execute(
        "INSERT INTO stock_adjustments (adjustment_id, kiosk_id, store_id, sku, kind, quantity, delta, on_hand,"
        " available, staff_id, note, made_at, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (body.adjustment_id, kiosk_id, store_id, body.sku, body.kind, body.quantity, delta, on_hand, available,
         staff_id, body.note, stamp(made_at), stamp(now)),
    )
    adjustment = load(conn, body.adjustment_id)
    assert adjustment is not None
    return adjustment


def load(conn: sqlite3.Connection, adjustment_id: str) -> StockAdjustment | None:
    row = conn.execute("SELECT * FROM stock_adjustments WHERE adjustment_id = ?", (adjustment_id,)).fetchone()
    if row is None:
        return None
    return StockAdjustment(
        adjustment_id=row["adjustment_id"], sku=row["sku"], store_id=row["store_id"], kind=row["kind"],
        quantity=row["quantity"], delta=row["delta"], on_hand=row["on_hand"], available=row["available"],
        staff_id=row["staff_id"], made_at=datetime.fromisoformat(row["made_at"]),
        recorded_at=datetime.fromisoformat(row["recorded_at"]), note=row["note"],
    )
