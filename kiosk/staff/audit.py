"""The audit log: the one record of what staff did on this pillar (issue 8).

Every staff login and logout, every wrong PIN and lockout, every unknown badge, and every setting
changed or reset: who, what, old and new value, when (UTC). It lives in the staff store, so it
survives restarts; it only grows (the oldest records go beyond the store's cap, 10,000 by default).

Never in it: a PIN (not even a wrong one), a full badge id (only its first characters, as the
reader's own log shows them).

    audit = AuditLog(store)
    audit.record("logout", staff=member, detail="idle")
    audit.records(limit=50)               # newest first
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import JsonValue

from kiosk.staff.records import AuditEvent, AuditRecord, utc_now
from kiosk.staff.store import StaffStore

if TYPE_CHECKING:
    from kiosk.staff.directory import StaffMember


def masked_badge(badge_id: str) -> str:
    """The first four hex digits of a badge id, as kiosk.hardware.badges logs it."""
    return f"{badge_id[:4]}…"


class AuditLog:
    def __init__(self, store: StaffStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self._clock = clock

    def make(self, event: AuditEvent, *, staff: StaffMember | None = None, key: str | None = None,
             old: JsonValue = None, new: JsonValue = None, detail: str | None = None) -> AuditRecord:
        """A record stamped now, to write together with the change it describes (`store.commit`)."""
        return AuditRecord(at=self._clock(), event=event, staff_id=staff.id if staff else None,
                           staff_name=staff.name if staff else None, key=key, old=old, new=new, detail=detail)

    def record(self, event: AuditEvent, **fields) -> AuditRecord:
        """Make and write one record on its own."""
        record = self.make(event, **fields)
        self.store.commit(audit=[record])
        return record

    def records(self, *, limit: int | None = None, staff_id: str | None = None,
                event: AuditEvent | None = None) -> list[AuditRecord]:
        """Kept records, newest first, optionally of one staff member or one kind of event."""
        found = [r for r in reversed(self.store.audit())
                 if (staff_id is None or r.staff_id == staff_id) and (event is None or r.event == event)]
        return found if limit is None else found[:limit]
