"""Stock per place per variant: what is on hand, what is held for unpaid carts, what is available.

A place is a shop id, or None for the warehouse that home delivery and transfers to shops ship from
(None, not a made-up shop id, because the contract says so: `Shortage.store_id` and
`Reservation.store_id` are None for the warehouse).

    on hand   = base + sum(stock_moves.delta)
    available = on hand - held, unexpired reservations (never below 0)

The base is deterministic demo data, computed and never stored (`central.seed.stock_quantity` for a
shop; WAREHOUSE_BASE for every orderable variant in the warehouse): seeding 100k articles writes no
stock rows at all. Every change is a move: an order taking stock, staff restocking or counting
(`central.adjustments`; `set_stock` for tests and tools). A move's `at` is when it happened.

A reservation holds stock for HOLD_MINUTES while the shopper pays. It is never deleted: it ends
committed (the order wrote the moves) or released; a held one past its `expires_at` simply no longer
counts. Callers hold `Database.write_lock` for check-then-write sequences, so two kiosks never both
get the last one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from central.seed import is_available, stock_quantity
from kiosk.contract import Shortage

Place = str | None  # a shop id, or None for the warehouse
WAREHOUSE: Place = None
WAREHOUSE_BASE = 25
HOLD_MINUTES = 15


def stamp(moment: datetime) -> str:
    """UTC ISO 8601 with fixed-width microseconds, so comparing the text compares the time."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def base_quantity(sku: str, place: Place) -> int:
    if place is WAREHOUSE:
        return WAREHOUSE_BASE if is_available(sku) else 0
    return stock_quantity(sku, place)


def _marks(values: Sequence) -> str:
    return ",".join("?" * len(values))


def _moves(conn: sqlite3.Connection, skus: Sequence[str]) -> dict[tuple[str, Place], int]:
    # By sku only (a NULL place does not match `IN (...)`); the places are picked out by the caller.
    return {(r[0], r[1]): r[2] for r in conn.execute(
        f"SELECT sku, store_id, SUM(delta) FROM stock_moves WHERE sku IN ({_marks(skus)}) GROUP BY sku, store_id",
        list(skus))}


def _held(conn: sqlite3.Connection, skus: Sequence[str], now: datetime,
          excluding: str | None) -> dict[tuple[str, Place], int]:
    return {(r[0], r[1]): r[2] for r in conn.execute(
        "SELECT sku, store_id, SUM(quantity) FROM reservations"
        f" WHERE status = 'held' AND expires_at > ? AND reservation_id IS NOT ? AND sku IN ({_marks(skus)})"
        " GROUP BY sku, store_id", [stamp(now), excluding, *skus])}


def on_hand(conn: sqlite3.Connection, skus: Sequence[str], places: Sequence[Place]) -> dict[tuple[str, Place], int]:
    """Base plus moves for every sku x place (may be below 0 only if staff counted less than was sold)."""
    skus = list(dict.fromkeys(skus))
    moves = _moves(conn, skus) if skus else {}
    return {(sku, place): base_quantity(sku, place) + moves.get((sku, place), 0) for sku in skus for place in places}


def on_hand_before(conn: sqlite3.Connection, sku: str, place: Place, moment: datetime) -> int:
    """What was on hand just before `moment`: base plus the moves that happened (`at`) before it."""
    moved = conn.execute("SELECT COALESCE(SUM(delta), 0) FROM stock_moves WHERE sku = ? AND store_id IS ? AND at < ?",
                         (sku, place, stamp(moment))).fetchone()[0]
    return base_quantity(sku, place) + moved


def available(conn: sqlite3.Connection, skus: Sequence[str], places: Sequence[Place], now: datetime, *,
              excluding: str | None = None) -> dict[tuple[str, Place], int]:
    """What can be sold now per sku x place; `excluding` leaves one reservation's own hold out."""
    skus = list(dict.fromkeys(skus))
    if not skus:
        return {}
    held = _held(conn, skus, now, excluding)
    return {key: max(0, quantity - held.get(key, 0)) for key, quantity in on_hand(conn, skus, places).items()}


def wanted(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Quantities per sku: a cart may list one sku on two lines; stock is checked for the sum."""
    total: dict[str, int] = {}
    for sku, quantity in lines:
        total[sku] = total.get(sku, 0) + quantity
    return total


def shortages_in(levels: Mapping[tuple[str, Place], int], want: Mapping[str, int], place: Place) -> list[Shortage]:
    return [Shortage(sku=sku, store_id=place, wanted=quantity, available=levels[(sku, place)])
            for sku, quantity in want.items() if levels[(sku, place)] < quantity]


def shortages(conn: sqlite3.Connection, want: Mapping[str, int], place: Place, now: datetime, *,
              excluding: str | None = None) -> list[Shortage]:
    """The lines `place` cannot supply in full now; empty when it has everything."""
    return shortages_in(available(conn, list(want), [place], now, excluding=excluding), want, place)


def take(conn: sqlite3.Connection, want: Mapping[str, int], place: Place, reason: str, now: datetime) -> None:
    """Write the moves for stock leaving `place` (inside the caller's transaction; checked by the caller)."""
    conn.executemany("INSERT INTO stock_moves (sku, store_id, delta, reason, at) VALUES (?, ?, ?, ?, ?)",
                     [(sku, place, -quantity, reason, stamp(now)) for sku, quantity in want.items()])


def set_stock(conn: sqlite3.Connection, sku: str, store_id: Place, quantity: int, *, reason: str = "count",
              now: datetime | None = None) -> None:
    """Make the on-hand stock of `sku` at `store_id` (None = the warehouse) `quantity`, as a staff count
    or restock does: one move for the difference. Held reservations still count against it."""
    if quantity < 0:
        raise ValueError("stock cannot be set below 0")
    with conn:
        current = on_hand(conn, [sku], [store_id])[(sku, store_id)]
        if quantity != current:
            conn.execute("INSERT INTO stock_moves (sku, store_id, delta, reason, at) VALUES (?, ?, ?, ?, ?)",
                         (sku, store_id, quantity - current, reason, stamp(now or datetime.now(UTC))))


# --- reservations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldStock:
    """A reservation as stored: its lines and where they are held."""

    reservation_id: str
    kiosk_id: str
    place: Place
    lines: tuple[tuple[str, int], ...]  # (sku, quantity), one per sku
    status: str                         # held, committed, released
    expires_at: datetime
    fulfilment_type: str
    fulfilment_store_id: str | None
    order_id: str | None

    @property
    def want(self) -> dict[str, int]:
        return dict(self.lines)


def load(conn: sqlite3.Connection, reservation_id: str) -> HeldStock | None:
    rows = conn.execute("SELECT * FROM reservations WHERE reservation_id = ? ORDER BY position",
                        (reservation_id,)).fetchall()
    if not rows:
        return None
    first = rows[0]
    return HeldStock(
        reservation_id=reservation_id, kiosk_id=first["kiosk_id"], place=first["store_id"],
        lines=tuple((r["sku"], r["quantity"]) for r in rows), status=first["status"],
        expires_at=datetime.fromisoformat(first["expires_at"]), fulfilment_type=first["fulfilment_type"],
        fulfilment_store_id=first["fulfilment_store_id"], order_id=first["order_id"],
    )


def hold(conn: sqlite3.Connection, reservation_id: str, kiosk_id: str, want: Mapping[str, int], place: Place,
         fulfilment_type: str, fulfilment_store_id: str | None, now: datetime) -> None:
    """Hold `want` at `place` for HOLD_MINUTES (inside the caller's transaction; checked by the caller)."""
    expires_at = stamp(now + timedelta(minutes=HOLD_MINUTES))
    conn.executemany(
        "INSERT INTO reservations (reservation_id, position, kiosk_id, store_id, sku, quantity, expires_at, status,"
        " fulfilment_type, fulfilment_store_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'held', ?, ?, ?)",
        [(reservation_id, position, kiosk_id, place, sku, quantity, expires_at, fulfilment_type,
          fulfilment_store_id, stamp(now)) for position, (sku, quantity) in enumerate(want.items())],
    )


def commit(conn: sqlite3.Connection, held: HeldStock, order_id: str, reason: str, now: datetime) -> list[Shortage]:
    """Turn a reservation into stock moves for an order (inside the caller's transaction).

    The stock is checked again without the reservation's own hold: normally a formality, but a hold
    that lapsed or was released may have been sold to someone else since, and staff may have counted
    less than there was. Returns the shortages and writes nothing when it is not all there.
    """
    missing = shortages(conn, held.want, held.place, now, excluding=held.reservation_id)
    if missing:
        return missing
    take(conn, held.want, held.place, reason, now)
    conn.execute("UPDATE reservations SET status = 'committed', order_id = ? WHERE reservation_id = ?",
                 (order_id, held.reservation_id))
    return []


def release(conn: sqlite3.Connection, reservation_id: str) -> None:
    conn.execute("UPDATE reservations SET status = 'released' WHERE reservation_id = ? AND status = 'held'",
                 (reservation_id,))
