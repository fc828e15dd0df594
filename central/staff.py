"""Staff of the shops: who may act at a shop's kiosks, and with which badges.

A staff call is the kiosk's own credential plus the header X-Staff-Id: the kiosk vouches that this
person badged in at it, the server checks the person works (and is active) in the kiosk's shop. So a
staff id alone opens nothing, and a kiosk cannot act for staff of another shop.
"""

from __future__ import annotations

import json
import sqlite3

from kiosk.contract import StaffMember


def _member(row: sqlite3.Row) -> StaffMember:
    return StaffMember(staff_id=row["staff_id"], name=row["name"], role=row["role"],
                       badge_uids=json.loads(row["badge_uids"]))


def active_staff(conn: sqlite3.Connection, store_id: str) -> list[StaffMember]:
    return [_member(r) for r in conn.execute(
        "SELECT * FROM staff WHERE store_id = ? AND active = 1 ORDER BY staff_id", (store_id,))]


def active_member(conn: sqlite3.Connection, store_id: str, staff_id: str) -> StaffMember | None:
    row = conn.execute("SELECT * FROM staff WHERE staff_id = ? AND store_id = ? AND active = 1",
                       (staff_id, store_id)).fetchone()
    return _member(row) if row else None
