"""The diagnostics screen's actions: sync the catalog now, send unsent orders now, restart the app.
(The test read of a card is in `reader.py`.)"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from kiosk.catalog.sync import SyncProgress
from kiosk.diagnostics import limits
from kiosk.diagnostics.base import FAILED, OK, WARNING, DiagnosticsBase, Outcome
from kiosk.diagnostics.models import Check, ParamValue
from kiosk.journal import OrderState

log = logging.getLogger("kiosk.diagnostics")

# The app exits with this code when staff ask for a restart (EX_TEMPFAIL in sysexits.h: "temporary
# failure, try again"). deploy/kiosk.service restarts the unit on it (RestartForceExitStatus=) and
# does not count it as a failure (SuccessExitStatus=). Any other code keeps its usual meaning.
RESTART_EXIT_CODE = 75


class Actions(DiagnosticsBase):
    async def sync_catalog_now(self, progress_callback: Callable[[SyncProgress], None] | None = None, *,
                               timeout_s: float | None = None) -> Check:
        """Bring the catalog up to date now (the app's own sync: full the first time, else a delta).
        `progress_callback(SyncProgress)` is called on the loop after every page (kind, articles done,
        total when known, pages). A background sync already under way is followed, not fought.
        Past `timeout_s` the sync goes on in the background and the check says so."""
        services, sync = self.services, self.services.catalog_sync
        last: list[SyncProgress] = []

        def listener(progress: SyncProgress) -> None:
            last[:] = [progress]
            if progress_callback is not None:
                progress_callback(progress)

        async def follow_running() -> bool:
            while services.status.syncing:
                await asyncio.sleep(0.1)
            return services.status.last_error is None

        async def body() -> Outcome:
            started = time.perf_counter()
            sync.progress_listeners.append(listener)
            try:
                followed = services.status.syncing
                task = asyncio.ensure_future(follow_running() if followed else services.sync_once())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                done, _ = await asyncio.wait({task}, timeout=timeout_s)
            finally:
                if task.done():
                    sync.progress_listeners.remove(listener)
                else:  # keep reporting until it ends
                    task.add_done_callback(lambda _: sync.progress_listeners.remove(listener))
            progress = last[0] if last else None
            params: dict[str, ParamValue] = {
                "kind": progress.kind if progress else None, "received": progress.done if progress else 0,
                "pages": progress.pages if progress else 0, "duration_s": round(time.perf_counter() - started, 1)}
            if not done:
                return WARNING, "diag.catalog_sync.still_running", params, \
                    f"the sync is still running after {timeout_s:g} s; it goes on in the background"
            params["products"] = await self._blocking.run("catalog_count", self.timeouts["catalog"],
                                                          lambda: services.catalog.product_count)
            if not task.result():
                return FAILED, "diag.catalog_sync.failed", params, f"sync failed: {services.status.last_error}"
            return OK, "diag.catalog_sync.done", params, \
                ("followed the background sync; " if followed else "") + f"catalog now {params['products']} products"

        return await self._measure("catalog_sync", None, body)

    # --- the outbox ---------------------------------------------------------------------------

    async def _send_adjustments_now(self) -> tuple[int, int, int]:
        """Staff stock adjustments waiting in the journal, each sent once now (tried, acknowledged,
        still pending). (0, 0, 0) when this kiosk has no adjustment outbox (looked up by name)."""
        outbox = getattr(getattr(self.services, "restock", None), "outbox", None)
        pending = getattr(self.services.journal, "pending_adjustments", None)
        if outbox is None or not callable(getattr(outbox, "deliver", None)) or not callable(pending):
            return 0, 0, 0
        ids = [e.adjustment_id for e in pending()]
        acknowledged = 0
        for adjustment_id in ids:
            entry = await outbox.deliver(adjustment_id)
            acknowledged += getattr(entry.state, "value", entry.state) == "acknowledged"
        return len(ids), acknowledged, len(pending())

    async def send_now(self, timeout_s: float = limits.SEND_NOW_TIMEOUT_S) -> Check:
        """Every unsent order (not at the pay screen) and every pending stock adjustment is tried at
        once, whatever its backoff says; waits up to `timeout_s` for each to be tried once, then
        reports how far they got."""
        journal, outbox = self.services.journal, self.services.outbox

        async def body() -> Outcome:
            before = {e.order_id: len(e.history) for e in journal.unfinished()}
            ids = outbox.retry_now()  # the order steps run in the background meanwhile
            adjustments = await self._send_adjustments_now()

            def tried(order_id: str) -> bool:
                entry = journal.get(order_id)
                return entry is None or entry.is_final or len(entry.history) > before.get(order_id, 0)

            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            while not all(tried(i) for i in ids) and loop.time() < deadline:
                await asyncio.sleep(0.05)
            entries = [e for e in (journal.get(i) for i in ids) if e is not None]
            acknowledged = sum(1 for e in entries if e.state is OrderState.acknowledged)
            settled = sum(1 for e in entries if e.is_final)
            remaining = [e for e in entries if not e.is_final]
            last_error = next((h.note for e in remaining for h in reversed(e.history) if h.note), None)
            params: dict[str, ParamValue] = {
                "tried": len(ids), "acknowledged": acknowledged, "settled": settled, "remaining": len(remaining),
                "last_error": last_error, "adjustments_tried": adjustments[0],
                "adjustments_acknowledged": adjustments[1], "adjustments_remaining": adjustments[2]}
            if not ids and not adjustments[0]:
                return OK, "diag.send_now.nothing", params, "nothing unsent (besides any order at the pay screen)"
            detail = (f"orders: {len(ids)} tried, {acknowledged} acknowledged, {settled} settled, "
                      f"{len(remaining)} still unsent"
                      + (f" ({', '.join(f'{e.order_id} {e.state.value}' for e in remaining)}; last: {last_error})"
                         if remaining else "")
                      + "; stock adjustments: {} tried, {} acknowledged, {} still pending".format(*adjustments))
            left, done = len(remaining) + adjustments[2], settled + adjustments[1]
            if not left:
                return OK, "diag.send_now.done", params, detail
            if done:
                return WARNING, "diag.send_now.partly", params, detail
            return FAILED, "diag.send_now.failed", params, detail

        return await self._measure("send_now", timeout_s, body)

    # --- restart ------------------------------------------------------------------------------

    def request_restart(self, reason: str = "staff") -> None:
        """Ask the app to restart: it stops (between shopper sessions: only staff get here) and the
        process exits with `RESTART_EXIT_CODE`; systemd starts it again. Orders are safe either way
        (the journal has every step before its side effect; the outbox goes on after the start)."""
        if self._restart_reason is None:
            self._restart_reason = reason
        log.warning("restart requested (%s): the app exits with code %d", reason, RESTART_EXIT_CODE)
        self._restart.set()
        for listener in list(self._restart_listeners):
            try:
                listener(reason)
            except Exception:
                log.exception("restart listener failed")

    def on_restart_requested(self, listener: Callable[[str], None]) -> None:
        """`listener(reason)` is called (on the caller's thread) when a restart is requested."""
        self._restart_listeners.append(listener)

    def off_restart_requested(self, listener: Callable[[str], None]) -> None:
        """No longer call `listener` (the app that registered it stops)."""
        if listener in self._restart_listeners:
            self._restart_listeners.remove(listener)

    @property
    def restart_requested(self) -> bool:
        return self._restart.is_set()

    @property
    def restart_reason(self) -> str | None:
        return self._restart_reason

    async def wait_for_restart(self) -> str:
        await self._restart.wait()
        return self._restart_reason or ""

    @property
    def exit_code(self) -> int | None:
        """What the process should exit with once the app has stopped (None: its usual code)."""
        return RESTART_EXIT_CODE if self.restart_requested else None
