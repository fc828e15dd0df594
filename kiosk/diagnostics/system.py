"""Diagnostics of everything but the card reader: central API, journal, catalog, configuration, disk."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from datetime import datetime
from pathlib import Path

from kiosk.api import ApiConnectionError, ApiError, ApiResponseError, ApiStatusError, ApiTimeoutError
from kiosk.diagnostics import limits
from kiosk.diagnostics.base import FAILED, OK, WARNING, DiagnosticsBase, Outcome
from kiosk.diagnostics.models import Check, ParamValue


class SystemChecks(DiagnosticsBase):

    async def check_central_api(self) -> Check:
        timeout_s = self.timeouts["central_api"]
        api = self.services.api

        async def body() -> Outcome:
            url = api.base_url
            started = time.perf_counter()
            try:
                health = await asyncio.wait_for(api.health(), timeout_s)
            except TimeoutError:
                return FAILED, "diag.central_api.timeout", {"url": url, "timeout_s": timeout_s}, \
                    f"GET /v1/health: no answer within {timeout_s:g} s"
            except ApiConnectionError as exc:
                return FAILED, "diag.central_api.unreachable", {"url": url}, f"cannot connect: {exc}"
            except ApiTimeoutError as exc:
                return FAILED, "diag.central_api.timeout", {"url": url, "timeout_s": timeout_s}, str(exc)
            except ApiStatusError as exc:
                return FAILED, "diag.central_api.http_error", {"url": url, "status": exc.status,
                                                              "code": getattr(exc, "code", "")}, str(exc)
            except ApiResponseError as exc:
                return FAILED, "diag.central_api.bad_answer", {"url": url}, str(exc)
            except ApiError as exc:
                return FAILED, "diag.central_api.error", {"url": url}, f"{type(exc).__name__}: {exc}"
            latency_ms = round((time.perf_counter() - started) * 1000, 1)
            skew_s = round((health.time - self._now()).total_seconds(), 1)
            params = {"url": url, "latency_ms": latency_ms, "api_version": health.api_version, "clock_skew_s": skew_s}
            detail = f"health ok in {latency_ms} ms; server clock {skew_s:+} s from ours"
            if latency_ms > limits.CENTRAL_API_SLOW_MS:
                return WARNING, "diag.central_api.slow", params, detail
            if abs(skew_s) > limits.CLOCK_SKEW_WARNING_S:
                return WARNING, "diag.central_api.clock_skew", params, detail
            return OK, "diag.central_api.ok", params, detail

        return await self._measure("central_api", timeout_s, body)

    # --- journal ------------------------------------------------------------------------------

    async def _pending_adjustments(self) -> tuple[int | None, datetime | None]:
        """Staff stock adjustments waiting in the journal (count, oldest made at), when this journal
        keeps them (None, None: it does not). Looked up by name: the journal gained them in parallel."""
        journal = self.services.journal
        pending = getattr(journal, "pending_adjustments", None)
        if not callable(pending):
            return None, None
        result = pending()
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, int):
            count, oldest = result, None
        else:
            items = list(result)
            count = len(items)
            oldest = min((getattr(e, "created_at", None) for e in items if getattr(e, "created_at", None)),
                         default=None)
        oldest_at = getattr(journal, "oldest_pending_adjustment_at", None)
        if callable(oldest_at):
            oldest = oldest_at()
        return count, oldest

    async def check_journal(self) -> Check:
        async def body() -> Outcome:
            # In memory, on the loop (the journal is only changed on the loop: no thread may read it).
            unfinished = self.services.journal.unfinished()  # oldest first
            adjustments, oldest_adjustment = await self._pending_adjustments()
            adjustment_age_s = self._age_s(oldest_adjustment)
            params: dict[str, ParamValue] = {"depth": len(unfinished), "oldest_unsent_age_s": None,
                                             "oldest_unsent_reference": None, "oldest_unsent_state": None,
                                             "pending_adjustments": adjustments,
                                             "oldest_adjustment_age_s": adjustment_age_s}
            detail = f"pending stock adjustments: {adjustments} (oldest {adjustment_age_s} s)"
            age_s = None
            if unfinished:
                oldest = unfinished[0]
                age_s = self._age_s(oldest.created_at)
                params.update(oldest_unsent_age_s=age_s, oldest_unsent_reference=oldest.reference,
                              oldest_unsent_state=oldest.state.value)
                last_note = next((h.note for h in reversed(oldest.history) if h.note), None)
                detail = (f"{len(unfinished)} unsent orders; oldest {oldest.order_id} ({oldest.state.value}, "
                          f"{age_s:g} s, {oldest.attempts} attempts, last note {last_note!r}); " + detail)
            else:
                detail = "no unsent orders; " + detail
            if age_s is not None and age_s > limits.JOURNAL_UNSENT_FAILED_S:
                return FAILED, "diag.journal.stuck", params, detail
            if age_s is not None and age_s > limits.JOURNAL_UNSENT_WARNING_S:
                return WARNING, "diag.journal.backlog", params, detail
            # An undelivered stock figure costs no shopper money: never worse than a warning.
            if adjustment_age_s is not None and adjustment_age_s > limits.JOURNAL_UNSENT_WARNING_S:
                return WARNING, "diag.journal.adjustments_backlog", params, detail
            return OK, "diag.journal.ok", params, detail

        return await self._measure("journal", self.timeouts["journal"], body)

    # --- catalog ------------------------------------------------------------------------------

    def _catalog_figures(self) -> tuple[bool, int, datetime | None, int, bool]:
        """(loaded, products, synced_at, file size, interrupted full sync waiting) on a worker thread."""
        store = self.services.catalog
        loaded, count, synced_at = store.is_loaded, store.product_count, store.synced_at
        try:
            size = os.stat(store.path).st_size
        except FileNotFoundError:
            size = 0
        return loaded, count, synced_at, size, self.services.catalog_sync.staging_path.exists()

    async def check_catalog(self) -> Check:
        timeout_s = self.timeouts["catalog"]

        async def body() -> Outcome:
            loaded, count, synced_at, size, staging = await self._blocking.run("catalog", timeout_s,
                                                                               self._catalog_figures)
            interval_s = self.services.settings.catalog.sync_interval_s
            status = self.services.status
            age_s = None if synced_at is None else round(max(0.0, (self._now() - synced_at).total_seconds()), 1)
            params: dict[str, ParamValue] = {
                "products": count, "age_s": age_s, "size_bytes": size,
                "synced_at": None if synced_at is None else synced_at.isoformat(), "sync_interval_s": interval_s,
                "syncing": status.syncing, "interrupted_full_sync": staging}
            detail = (f"{count} products, {size} bytes, synced {synced_at} ({age_s} s ago), interval {interval_s:g} s"
                      + (f"; last sync error: {status.last_error}" if status.last_error else ""))
            if not loaded:
                return FAILED, "diag.catalog.missing", {**params, "directory": str(self.services.catalog.directory)}, \
                    "no catalog copy yet: " + detail
            outdated_s = max(limits.CATALOG_OUTDATED_S, limits.CATALOG_OUTDATED_INTERVALS * interval_s)
            if age_s is None or age_s > outdated_s:
                return FAILED, "diag.catalog.outdated", params, detail
            if age_s > limits.CATALOG_STALE_INTERVALS * interval_s:
                return WARNING, "diag.catalog.stale", params, detail
            return OK, "diag.catalog.ok", params, detail

        return await self._measure("catalog", timeout_s, body)

    # --- configuration and disk ---------------------------------------------------------------

    async def check_config(self) -> Check:
        async def body() -> Outcome:
            origin = self._config_origin()
            settings = self.services.settings
            params: dict[str, ParamValue] = {**origin.model_dump(), "kiosk_id": settings.kiosk.id,
                                             "store_id": settings.kiosk.store_id}
            if origin.fleet_version is not None:
                return OK, "diag.config.fleet", params, f"fleet bundle {origin.fleet_version} from {origin.fleet_source}" \
                    f" over {origin.source}"
            if origin.source is None:
                return WARNING, "diag.config.defaults", params, "no configuration file: built-in defaults"
            exists = await self._blocking.run("config", self.timeouts["config"], os.path.isfile, origin.source)
            if not exists:
                return WARNING, "diag.config.source_missing", params, \
                    f"{origin.source} was read at start-up but is no longer there: a restart would fail"
            return OK, "diag.config.local", params, f"local configuration {origin.source}"

        return await self._measure("config", self.timeouts["config"], body)

    def _data_paths(self) -> list[Path]:
        settings = self.services.settings
        return [settings.journal_path.parent, settings.catalog_dir, settings.image_cache_dir]

    def _disk_figures(self) -> list[tuple[str, int, int]]:
        """(path, free, total) per filesystem holding the kiosk's data (a path not made yet: its parent's)."""
        seen: dict[int | str, tuple[str, int, int]] = {}
        for path in self._data_paths():
            existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
            try:
                device: int | str = os.stat(existing).st_dev
            except OSError:
                device = str(existing)
            if device in seen:
                continue
            usage = self._disk_usage(str(existing))
            seen[device] = (str(path), int(usage.free), int(usage.total))
        return list(seen.values())

    async def check_disk(self) -> Check:
        timeout_s = self.timeouts["disk"]

        async def body() -> Outcome:
            figures = await self._blocking.run("disk", timeout_s, self._disk_figures)
            path, free, total = min(figures, key=lambda f: f[1])
            params: dict[str, ParamValue] = {"path": path, "free_bytes": free, "total_bytes": total,
                                             "free_mb": free // limits.MB}
            detail = "; ".join(f"{p}: {f // limits.MB} MB free of {t // limits.MB} MB" for p, f, t in figures)
            if free < limits.DISK_FAILED_FREE_BYTES:
                return FAILED, "diag.disk.critical", params, detail
            if free < limits.DISK_WARNING_FREE_BYTES:
                return WARNING, "diag.disk.low", params, detail
            return OK, "diag.disk.ok", params, detail

        return await self._measure("disk", timeout_s, body)
