"""The staff store: `staff.json` next to the order journal, crash-safe like it (SafeJSONStorage).

One TinyDB-format file (readable with `TinyDB(path, storage=SafeJSONStorage)`) with three tables:

- `overrides`: {setting key: OverrideRecord}, the settings staff changed on this pillar;
- `audit`: {"1": AuditRecord, "2": ...}, append-only, the oldest dropped beyond `audit_cap`;
- `lockout`: {"pin": LockoutState}, so five wrong PINs stay five wrong PINs through a restart.

It is written in whole transactions (`commit`), not through TinyDB's table calls, so a setting and
its audit record (or a wrong PIN and its lockout count) reach the disk in one write or not at all.

Every write is a full rewrite with fsync (~2 MB at the audit cap); the pillar writes here only on a
staff action, a login or a wrong PIN. Thread-safe: PIN logins run in a worker thread (scrypt) while
the UI reads. Damage is handled as in the journal: the file is set aside, the newest good copy is
used, and `alerts` says so (the storage's wording speaks of the "order journal"; the path tells).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.journal.models import StaffAlert
from kiosk.journal.storage import Data, SafeJSONStorage
from kiosk.staff.records import AuditRecord, LockoutState, OverrideRecord, utc_now

if TYPE_CHECKING:
    from kiosk.config import Settings

log = logging.getLogger("kiosk.staff.store")

FILE_NAME = "staff.json"
AUDIT_CAP = 10_000
OVERRIDES, AUDIT, LOCKOUT = "overrides", "audit", "lockout"
_LOCKOUT_ID = "pin"
_MODELS = {OVERRIDES: OverrideRecord, AUDIT: AuditRecord, LOCKOUT: LockoutState}


class StaffStoreError(Exception):
    """The staff store could not be written; nothing of that change was kept."""


def store_path(settings: Settings) -> Path:
    """Where a pillar keeps its staff store: next to its order journal."""
    return settings.journal_path.parent / FILE_NAME


def _validate(data: Data) -> None:
    for table, model in _MODELS.items():
        for doc in data.get(table, {}).values():
            model.model_validate(doc)  # a ValidationError (a ValueError) marks the file as damaged
    if len(data.get(LOCKOUT, {})) > 1:
        raise ValueError("more than one lockout record")


class StaffStore:
    def __init__(self, path: Path, *, audit_cap: int = AUDIT_CAP,
                 clock: Callable[[], datetime] = utc_now) -> None:
        if audit_cap < 1:
            raise ValueError("audit_cap must be at least 1")
        self.path = Path(path)
        self.audit_cap = audit_cap
        self._lock = threading.Lock()
        self._storage = SafeJSONStorage(self.path, validate=_validate, clock=clock, incremental=True)
        self._storage.load()
        self.alerts: list[StaffAlert] = list(self._storage.alerts)
        for alert in self.alerts:
            log.error("staff store %s: %s", self.path, alert.message)

    @classmethod
    def for_settings(cls, settings: Settings, **kwargs) -> StaffStore:
        return cls(store_path(settings), **kwargs)

    def close(self) -> None:
        with self._lock:
            self._storage.close()

    # --- reading ------------------------------------------------------------------------------

    def _data(self) -> Data:
        return self._storage.read() or {}

    def overrides(self) -> dict[str, OverrideRecord]:
        with self._lock:
            docs = self._data().get(OVERRIDES, {})
            return {key: OverrideRecord.model_validate(doc) for key, doc in docs.items()}

    def lockout(self) -> LockoutState:
        with self._lock:
            doc = self._data().get(LOCKOUT, {}).get(_LOCKOUT_ID)
            return LockoutState.model_validate(doc) if doc else LockoutState()

    def audit(self) -> list[AuditRecord]:
        """Every kept audit record, oldest first."""
        with self._lock:
            docs = self._data().get(AUDIT, {})
            return [AuditRecord.model_validate(docs[i]) for i in sorted(docs, key=int)]

    # --- writing ------------------------------------------------------------------------------

    def commit(self, *, audit: Iterable[AuditRecord] = (), put: Iterable[OverrideRecord] = (),
               delete: Iterable[str] = (), lockout: LockoutState | None = None) -> None:
        """Write these changes together, in one crash-safe write."""
        audit, put, delete = list(audit), list(put), list(delete)
        with self._lock:
            data = self._data()
            changed: dict[str, list[str]] = {OVERRIDES: [], AUDIT: [], LOCKOUT: []}
            overrides = data.setdefault(OVERRIDES, {})
            for key in delete:
                overrides.pop(key, None)
            for record in put:
                overrides[record.key] = record.model_dump(mode="json")
                changed[OVERRIDES].append(record.key)
            if lockout is not None:
                data.setdefault(LOCKOUT, {})[_LOCKOUT_ID] = lockout.model_dump(mode="json")
                changed[LOCKOUT].append(_LOCKOUT_ID)
            if audit:
                self._append_audit(data.setdefault(AUDIT, {}), audit)
            for table, ids in changed.items():
                self._storage.mark_changed(table, *ids)
            try:
                self._storage.write(data)
            except OSError as exc:
                # The storage drops its in-memory copy on a failed write: the next read is the disk's.
                raise StaffStoreError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def _append_audit(self, table: dict[str, dict], records: list[AuditRecord]) -> None:
        next_id = max((int(i) for i in table), default=0) + 1
        for record in records:
            table[str(next_id)] = record.model_dump(mode="json")
            next_id += 1
        excess = len(table) - self.audit_cap
        if excess > 0:
            # Ids grow by one per record, so the smallest are the oldest.
            for doc_id in sorted(table, key=int)[:excess]:
                del table[doc_id]
