"""The order journal: every order's state on disk, written before the side effect it guards.

One writer: an `asyncio.Lock` serialises every write, and the file work (serialise, fsync, rename)
runs in `asyncio.to_thread`, so the UI loop never waits on the disk. Reads (`get`, `unfinished`,
`depth`) come from memory, which only ever holds what is already safely on disk.

Staff stock adjustments live in the same file, in a second table (`adjustments`, models in
`adjustments.py`). Decision: one journal rather than a second file, because what makes the order
journal trustworthy is exactly what an adjustment needs (one writer, write-temp-fsync-rename, the
`.prev` fallback, the lock against a second process, validation on read) and a second file would
need all of it again, plus a second lock and a second recovery alert path. The cost is small: an
adjustment write re-serialises only what changed (incremental storage), and a journal without
adjustments has no `adjustments` table, so its file is what it always was. `depth()` still counts
orders only (the fleet report's "journal depth"); `pending_adjustments()` counts the rest.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document, Table

from kiosk.journal.adjustments import ADJUSTMENT_TRANSITIONS, AdjustmentEntry, AdjustmentState
from kiosk.journal.models import TRANSITIONS, HistoryItem, JournalEntry, OrderState, StaffAlert
from kiosk.journal.storage import Data, SafeJSONStorage

log = logging.getLogger("kiosk.journal")

TABLE = "orders"
ADJUSTMENTS = "adjustments"
MAX_LOST_ORDER_ALERTS = 20


class JournalError(Exception):
    pass


class IllegalTransition(JournalError):
    """A state change the life cycle does not allow: a bug in the caller, never a runtime condition."""

    def __init__(self, order_id: str, old: OrderState, new: OrderState) -> None:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[old])) or "nothing (final state)"
        super().__init__(f"order {order_id}: {old.value} -> {new.value} is not allowed (allowed: {allowed})")
        self.order_id, self.old, self.new = order_id, old, new


class UnknownOrder(JournalError, KeyError):
    pass


class DuplicateOrder(JournalError):
    pass


class UnknownAdjustment(JournalError, KeyError):
    pass


class DuplicateAdjustment(JournalError):
    pass


class IllegalAdjustmentTransition(JournalError):
    """A stock adjustment state change its life cycle does not allow: a bug in the caller."""

    def __init__(self, adjustment_id: str, old: AdjustmentState, new: AdjustmentState) -> None:
        allowed = ", ".join(sorted(s.value for s in ADJUSTMENT_TRANSITIONS[old])) or "nothing (final state)"
        super().__init__(f"adjustment {adjustment_id}: {old.value} -> {new.value} is not allowed "
                         f"(allowed: {allowed})")
        self.adjustment_id, self.old, self.new = adjustment_id, old, new


class JournalWriteError(JournalError):
    """The state could not be made durable: the guarded side effect must NOT be performed."""


class JournalLocked(JournalError):
    """Another process has this journal open: two writers would lose each other's orders."""


class _OrderTable(Table):
    # Documents are keyed by order id, so the file reads naturally when staff recover it by hand.
    document_id_class = str


class _JournalDB(TinyDB):
    table_class = _OrderTable


# Fields `advance(**changes)` may not touch: identity, and what the journal itself keeps.
_PROTECTED = frozenset({"order_id", "state", "history", "created_at", "updated_at"})
# ... and `advance_adjustment(**changes)`: the request is the idempotency key's body, never changed.
_ADJUSTMENT_PROTECTED = frozenset({"adjustment_id", "request", "staff_id", "state", "created_at", "updated_at"})
_ORDER_ID_IN_RAW = re.compile(rb'"order_id":"([A-Za-z0-9._:-]{1,64})"')
_ADJUSTMENT_ID_IN_RAW = re.compile(rb'"adjustment_id":"([A-Za-z0-9._:-]{1,64})"')


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Journal:
    def __init__(self, path: Path, *, on_alert: Callable[[StaffAlert], None] | None = None,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.path = Path(path)
        self._on_alert = on_alert
        self._clock = clock
        self._lock = asyncio.Lock()
        self._entries: dict[str, JournalEntry] = {}
        self._adjustments: dict[str, AdjustmentEntry] = {}
        self._db: _JournalDB | None = None
        self._storage: SafeJSONStorage | None = None
        self._lock_fd: int | None = None
        self._stale = False
        self._pending: list[StaffAlert] = []  # raised in the worker thread, reported on the loop
        self.alerts: list[StaffAlert] = []

    # --- opening ------------------------------------------------------------------------------

    async def open(self) -> list[StaffAlert]:
        """Read the journal (recovering a damaged file); returns the staff alerts this raised."""
        async with self._lock:
            before = len(self.alerts)
            try:
                await asyncio.to_thread(self._open_sync)
            finally:
                self._report_pending()
            return self.alerts[before:]

    def _open_sync(self) -> None:
        if self._db is not None:
            raise JournalError("journal already open")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise JournalLocked(f"{self.path} is open in another process") from None
        self._lock_fd = lock_fd
        try:
            self._db = _JournalDB(storage=SafeJSONStorage, path=self.path, validate=_validate, clock=self._clock,
                                  incremental=True)
            self._storage = self._db.storage  # type: ignore[assignment]
            report = self._storage.load()
            self._reload_from_storage()
        except BaseException:
            self.close()
            raise
        for damaged in report.set_aside:
            self._name_orders_only_in(damaged)

    def _reload_from_storage(self) -> None:
        assert self._storage is not None
        data = self._storage.read() or {}
        self._entries = {oid: JournalEntry.model_validate(doc) for oid, doc in data.get(TABLE, {}).items()}
        self._adjustments = {aid: AdjustmentEntry.model_validate(doc)
                             for aid, doc in data.get(ADJUSTMENTS, {}).items()}
        self._stale = False
        self._pending.extend(self._storage.alerts)
        self._storage.alerts.clear()

    def _name_orders_only_in(self, damaged: Path) -> None:
        """A damaged file may hold orders the good copy lacks: name each one for staff."""
        try:
            raw = damaged.read_bytes()
        except OSError:
            return
        missing = sorted({m.decode() for m in _ORDER_ID_IN_RAW.findall(raw)} - self._entries.keys())
        for order_id in missing[:MAX_LOST_ORDER_ALERTS]:
            self._pending.append(StaffAlert(kind="order_possibly_lost", at=self._clock(), order_id=order_id, message=(
                f"Order {order_id} is in the damaged journal file {damaged} but not in the restored "
                f"journal: check whether it was paid and placed.")))
        if len(missing) > MAX_LOST_ORDER_ALERTS:
            self._pending.append(StaffAlert(kind="order_possibly_lost", at=self._clock(), message=(
                f"{len(missing) - MAX_LOST_ORDER_ALERTS} more orders are only in {damaged}: check them all.")))
        # Stock adjustments too, as one alert: a lost count is worth a recount, not a page of alerts.
        lost = sorted({m.decode() for m in _ADJUSTMENT_ID_IN_RAW.findall(raw)} - self._adjustments.keys())
        if lost:
            shown = ", ".join(lost[:MAX_LOST_ORDER_ALERTS]) + (" ..." if len(lost) > MAX_LOST_ORDER_ALERTS else "")
            self._pending.append(StaffAlert(kind="adjustment_possibly_lost", at=self._clock(), message=(
                f"{len(lost)} stock adjustment(s) are in the damaged journal file {damaged} but not in the "
                f"restored journal ({shown}): check whether the stock was updated, else enter them again.")))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = self._storage = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    # --- alerts -------------------------------------------------------------------------------

    def add_alert(self, kind: str, message: str, order_id: str | None = None) -> StaffAlert:
        alert = StaffAlert(kind=kind, message=message, at=self._clock(), order_id=order_id)
        self._raise(alert)
        return alert

    def _report_pending(self) -> None:
        pending, self._pending = self._pending, []
        for alert in pending:
            self._raise(alert)

    def _raise(self, alert: StaffAlert) -> None:
        self.alerts.append(alert)
        if self._on_alert is not None:
            try:
                self._on_alert(alert)
            except Exception:  # a broken alert display must not stop the journal
                log.exception("on_alert failed for %s", alert.kind)

    # --- reading (from memory: only what is on disk) ------------------------------------------

    def get(self, order_id: str) -> JournalEntry | None:
        return self._entries.get(order_id)

    def entries(self) -> list[JournalEntry]:
        return sorted(self._entries.values(), key=lambda e: e.created_at)

    def unfinished(self) -> list[JournalEntry]:
        """Entries not yet in a final state, oldest first: what recovery and the outbox drive on."""
        return [e for e in self.entries() if not e.is_final]

    def depth(self) -> int:
        """Unfinished orders (stock adjustments not included: see `pending_adjustments`)."""
        return sum(1 for e in self._entries.values() if not e.is_final)

    def get_adjustment(self, adjustment_id: str) -> AdjustmentEntry | None:
        return self._adjustments.get(adjustment_id)

    def adjustments(self) -> list[AdjustmentEntry]:
        return sorted(self._adjustments.values(), key=lambda e: e.created_at)

    def pending_adjustments(self) -> list[AdjustmentEntry]:
        """Stock adjustments the central API has not acknowledged yet (pending or sent), oldest first:
        what the adjustment outbox delivers, and what diagnostics count (`len(...)`)."""
        return [e for e in self.adjustments() if not e.is_final]

    def oldest_pending_adjustment_at(self) -> datetime | None:
        """When the oldest unacknowledged adjustment was made: how long the pillar has been unable to
        deliver. None when nothing waits."""
        return min((e.created_at for e in self._adjustments.values() if not e.is_final), default=None)

    # --- writing ------------------------------------------------------------------------------

    async def create(self, entry: JournalEntry, *, note: str | None = None) -> JournalEntry:
        """Journal a new order (state `created`); its order_id must be new."""
        if entry.state is not OrderState.created:
            raise JournalError(f"a new entry starts as created, not {entry.state.value}")
        async with self._lock:
            await self._ready()
            if entry.order_id in self._entries:
                raise DuplicateOrder(f"order {entry.order_id} is already in the journal")
            now = self._clock()
            data = entry.model_dump()
            data.update(created_at=now, updated_at=now, history=[HistoryItem(state=entry.state, at=now, note=note)])
            new = JournalEntry.model_validate(data)
            await self._write(self._insert_sync, new)
            self._entries[new.order_id] = new
            return new

    async def advance(self, order_id: str, new_state: OrderState, /, *, note: str | None = None,
                      **changes: Any) -> JournalEntry:
        """Move an order to `new_state` (checked against TRANSITIONS), with field changes, durably.

        Leaving `authorising` drops the sealed payment request; reaching `acknowledged` drops the
        customer's personal data (in the same write, and from the previous generation `.prev` too).
        `attempts` counts retries in one state: +1 on a self-transition, 0 on a change of state,
        unless given in `changes`.
        """
        new_state = OrderState(new_state)
        bad = _PROTECTED & changes.keys()
        if bad:
            raise JournalError(f"advance() cannot change {', '.join(sorted(bad))}")
        async with self._lock:
            await self._ready()
            old = self._entries.get(order_id)
            if old is None:
                raise UnknownOrder(order_id)
            if new_state not in TRANSITIONS[old.state]:
                raise IllegalTransition(order_id, old.state, new_state)
            now = self._clock()
            data = old.model_dump()
            data["attempts"] = old.attempts + 1 if new_state is old.state else 0
            if new_state is not OrderState.authorising:
                data["payment_request"] = None  # the payment is settled: no sealed card data kept
            if new_state is OrderState.acknowledged:
                data["customer"] = None
            data.update(changes)  # (the model refuses a payment_request or customer given against that)
            data.update(state=new_state, updated_at=now,
                        history=[*old.history, HistoryItem(state=new_state, at=now, note=note)])
            new = JournalEntry.model_validate(data)
            # Personal or sealed card data just dropped: leave it in no older generation either.
            purge = (old.customer is not None and new.customer is None) or (
                old.payment_request is not None and new.payment_request is None)
            await self._write(self._replace_sync, new, purge)
            self._entries[order_id] = new
            return new

    async def scrub_pii(self, order_id: str) -> JournalEntry:
        """Remove the customer's personal data and any sealed card data from an entry, durably."""
        async with self._lock:
            await self._ready()
            old = self._entries.get(order_id)
            if old is None:
                raise UnknownOrder(order_id)
            if old.customer is None and old.payment_request is None:
                return old
            now = self._clock()
            new = old.model_copy(update={
                "customer": None, "payment_request": None, "updated_at": now,
                "history": [*old.history, HistoryItem(state=old.state, at=now, note="personal data removed")],
            })
            new = JournalEntry.model_validate(new.model_dump())
            await self._write(self._replace_sync, new, True)
            self._entries[order_id] = new
            return new

    async def compact(self, retention: timedelta, now: datetime | None = None) -> int:
        """Drop final entries (orders and stock adjustments) last changed more than `retention` ago;
        unfinished ones stay forever. Returns how many were dropped."""
        async with self._lock:
            await self._ready()
            cutoff = (now or self._clock()) - retention
            old = [e.order_id for e in self._entries.values() if e.is_final and e.updated_at < cutoff]
            done = [e.adjustment_id for e in self._adjustments.values() if e.is_final and e.updated_at < cutoff]
            if old:
                await self._write(self._remove_sync, old)
                for order_id in old:
                    del self._entries[order_id]
            if done:
                await self._write(self._remove_sync, done, ADJUSTMENTS)
                for adjustment_id in done:
                    del self._adjustments[adjustment_id]
            return len(old) + len(done)

    # --- stock adjustments --------------------------------------------------------------------

    async def add_adjustment(self, entry: AdjustmentEntry) -> AdjustmentEntry:
        """Journal a new stock adjustment (state `pending`) before anything is sent."""
        if entry.state is not AdjustmentState.pending:
            raise JournalError(f"a new adjustment starts as pending, not {entry.state.value}")
        async with self._lock:
            await self._ready()
            if entry.adjustment_id in self._adjustments:
                raise DuplicateAdjustment(f"adjustment {entry.adjustment_id} is already in the journal")
            now = self._clock()
            new = AdjustmentEntry.model_validate({**entry.model_dump(), "created_at": now, "updated_at": now})
            await self._write(self._insert_sync, new, ADJUSTMENTS)
            self._adjustments[new.adjustment_id] = new
            return new

    async def advance_adjustment(self, adjustment_id: str, new_state: AdjustmentState, /,
                                 **changes: Any) -> AdjustmentEntry:
        """Move an adjustment to `new_state` (checked against ADJUSTMENT_TRANSITIONS) with field
        changes (`attempts`, `last_error`, `result`, `next_attempt_at`), durably."""
        new_state = AdjustmentState(new_state)
        bad = _ADJUSTMENT_PROTECTED & changes.keys()
        if bad:
            raise JournalError(f"advance_adjustment() cannot change {', '.join(sorted(bad))}")
        async with self._lock:
            await self._ready()
            old = self._adjustments.get(adjustment_id)
            if old is None:
                raise UnknownAdjustment(adjustment_id)
            if new_state not in ADJUSTMENT_TRANSITIONS[old.state]:
                raise IllegalAdjustmentTransition(adjustment_id, old.state, new_state)
            new = AdjustmentEntry.model_validate(
                {**old.model_dump(), **changes, "state": new_state, "updated_at": self._clock()})
            await self._write(self._replace_sync, new, False, ADJUSTMENTS)
            self._adjustments[adjustment_id] = new
            return new

    # --- the one writer -----------------------------------------------------------------------

    async def _ready(self) -> None:
        if self._db is None:
            raise JournalError("journal is not open")
        if self._stale:  # the last write failed: the disk may hold it or not; believe the disk
            try:
                await asyncio.to_thread(self._resync_sync)
            except OSError as exc:
                raise JournalWriteError(f"journal {self.path} cannot be read back: {exc}") from exc
            finally:
                self._report_pending()

    def _resync_sync(self) -> None:
        assert self._storage is not None
        self._storage.close()  # drop its copy: the next read comes from disk
        self._reload_from_storage()

    async def _write(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            await asyncio.to_thread(fn, *args)
        except OSError as exc:
            self._stale = True
            self.add_alert("journal_write_failed", (
                f"The order journal {self.path} could not be written ({exc}). Payments must stop until "
                f"this is fixed (disk full or failing?)."))
            raise JournalWriteError(f"journal write failed: {exc}") from exc
        except BaseException:
            self._stale = True
            raise

    def _table(self, name: str = TABLE) -> Table:
        assert self._db is not None
        return self._db.table(name)

    def _mark(self, *doc_ids: str, table: str = TABLE) -> None:
        assert self._storage is not None
        self._storage.mark_changed(table, *doc_ids)

    @staticmethod
    def _doc_id(entry: JournalEntry | AdjustmentEntry) -> str:
        return entry.order_id if isinstance(entry, JournalEntry) else entry.adjustment_id

    def _insert_sync(self, entry: JournalEntry | AdjustmentEntry, table: str = TABLE) -> None:
        doc_id = self._doc_id(entry)
        self._mark(doc_id, table=table)
        self._table(table).insert(Document(entry.model_dump(mode="json"), doc_id=doc_id))  # type: ignore[arg-type]

    def _replace_sync(self, entry: JournalEntry | AdjustmentEntry, purge_previous: bool, table: str = TABLE) -> None:
        doc = entry.model_dump(mode="json")
        doc_id = self._doc_id(entry)

        def replace(stored: dict[str, Any]) -> None:
            stored.clear()
            stored.update(doc)

        self._mark(doc_id, table=table)
        updated = self._table(table).update(replace, doc_ids=[doc_id])  # type: ignore[list-item]
        if not updated:
            raise JournalError(f"{table} entry {doc_id} missing from the journal file")
        if purge_previous:
            self._purge_previous()

    def _remove_sync(self, doc_ids: list[str], table: str = TABLE) -> None:
        self._mark(*doc_ids, table=table)
        self._table(table).remove(doc_ids=doc_ids)  # type: ignore[arg-type]
        self._purge_previous()

    def _purge_previous(self) -> None:
        # The write itself is committed by now: a failure here must not make it look failed. The
        # next write replaces .prev anyway.
        assert self._storage is not None
        try:
            self._storage.purge_previous()
        except OSError as exc:
            log.warning("could not refresh %s: %s", self._storage.prev_path.name, exc)


def _validate(data: Data) -> None:
    """Every entry must be a valid JournalEntry filed under its own order id, and every stock
    adjustment a valid AdjustmentEntry filed under its own adjustment id."""
    for order_id, doc in data.get(TABLE, {}).items():
        entry = JournalEntry.model_validate(doc)
        if entry.order_id != order_id:
            raise ValueError(f"entry filed under {order_id!r} is order {entry.order_id!r}")
    for adjustment_id, doc in data.get(ADJUSTMENTS, {}).items():
        adjustment = AdjustmentEntry.model_validate(doc)
        if adjustment.adjustment_id != adjustment_id:
            raise ValueError(f"adjustment filed under {adjustment_id!r} is {adjustment.adjustment_id!r}")
