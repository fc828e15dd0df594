"""The shared part of `Diagnostics`: services, time limits, clock, the worker for blocking calls,
and `_measure`, which turns a check's body into a `Check` that never raises."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kiosk.diagnostics import limits
from kiosk.diagnostics.blocking import BlockingRunner, StillRunning
from kiosk.diagnostics.models import Check, CheckStatus, ConfigOrigin, ParamValue, scrub

if TYPE_CHECKING:
    from kiosk.services import KioskServices

log = logging.getLogger("kiosk.diagnostics")

DEFAULT_TIMEOUTS: dict[str, float] = {
    "reader": limits.PCSC_TIMEOUT_S,
    "pcscd": limits.PCSC_TIMEOUT_S,
    "central_api": limits.CENTRAL_API_TIMEOUT_S,
    "journal": limits.JOURNAL_TIMEOUT_S,
    "catalog": limits.CATALOG_TIMEOUT_S,
    "config": limits.CONFIG_TIMEOUT_S,
    "disk": limits.DISK_TIMEOUT_S,
}
_GRACE_S = 0.5  # the outer limit over a check's inner one: the inner one answers with a precise key

OK, WARNING, FAILED = CheckStatus.ok, CheckStatus.warning, CheckStatus.failed
Outcome = tuple[CheckStatus, str, dict[str, ParamValue], str]  # status, summary_key, params, detail
DiskUsage = Callable[[str], Any]  # as shutil.disk_usage: an object with .total, .used, .free (bytes)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DiagnosticsBase:
    """What every part of `Diagnostics` shares: the services, time limits, the clock, the worker."""

    def __init__(self, services: KioskServices, *, disk_usage: DiskUsage = shutil.disk_usage,
                 timeouts: dict[str, float] | None = None, clock: Callable[[], datetime] = _utc_now,
                 config_origin: Callable[[], ConfigOrigin] | None = None) -> None:
        self.services = services
        self._disk_usage = disk_usage
        self.timeouts = {**DEFAULT_TIMEOUTS, **(timeouts or {})}
        self._now = clock
        # With fleet bundles, the fleet service says which run (KioskServices passes it); else the file.
        self._config_origin = config_origin or (lambda: ConfigOrigin.local(services.settings.source))
        self._blocking = BlockingRunner()
        self._restart = asyncio.Event()
        self._restart_reason: str | None = None
        self._restart_listeners: list[Callable[[str], None]] = []
        self._tasks: set[asyncio.Task] = set()  # syncs left running after a "sync now" timed out

    async def _measure(self, name: str, timeout_s: float | None, body: Callable[[], Awaitable[Outcome]]) -> Check:
        """`body()` within `timeout_s` (plus a little grace, so an inner limit of the same length
        answers first with its own, more precise key), as a Check; never raises."""
        started = time.perf_counter()
        try:
            status, key, params, detail = await asyncio.wait_for(
                body(), None if timeout_s is None else timeout_s + _GRACE_S)
        except TimeoutError:
            status, key, params = FAILED, "diag.timeout", {"timeout_s": timeout_s}
            detail = f"{name}: no answer within {timeout_s:g} s"
        except StillRunning as exc:
            status, key, params, detail = FAILED, "diag.hung", {}, f"{name}: {exc}"
        except Exception as exc:  # a check never raises to its caller
            log.debug("diagnostic %s raised", name, exc_info=True)
            status, key, params = FAILED, "diag.error", {"error": type(exc).__name__}
            detail = f"{name}: {type(exc).__name__}: {exc}"
        check = Check(
            name=name, status=status, summary_key=key,
            params={k: scrub(v) if isinstance(v, str) else v for k, v in params.items()},
            detail=scrub(detail), measured_at=self._now(), duration_ms=round((time.perf_counter() - started) * 1000, 1))
        log.log(logging.INFO if check.ok else logging.WARNING, "diagnostic %s: %s %s %s%s", name, check.status.value,
                check.summary_key, check.params, f" ({check.detail})" if check.detail else "")
        return check

    def _age_s(self, then: datetime | None) -> float | None:
        return None if then is None else round(max(0.0, (self._now() - then).total_seconds()), 1)
