"""The pillar's fleet configuration at work: fetch, verify, wait for an idle moment, apply, watch the
health, roll back, report (docs/fleet.md, "What a pillar does"). Plain Python, no Kivy.

    fleet = FleetService(config_settings, store=..., trusted=..., api=..., fetcher=..., health=...)
    settings, locked = fleet.boot()      # at start, before anything is built from the settings
    await fleet.run(busy=app_busy, on_change=use_settings, on_restart=restart_app)

- `boot()` re-verifies the bundles kept in `fleet.json` (a key removed since is a rejection now), rolls
  back at once when the app kept failing to come up after an apply, and returns the fleet layer of the
  settings: config < fleet < shop < kiosk, and the keys they lock against staff overrides.
- `poll()` asks for the three files (If-None-Match), verifies what changed, and keeps a good bundle
  as pending; a refused one is kept as `rejected` with its reason, the running settings untouched.
- `apply_pending(busy)` applies the pending bundles when `busy()` says the pillar is idle (no shopper,
  no staff member, no payment), and starts a health trial. `on_change(settings, locked)` puts them to
  work at once, or, when a key that needs a restart changed, `on_restart(reason)` restarts the app at
  the next idle moment.
- The health trial: every `fleet.health_interval_s` for `fleet.health_grace_s`, the app must be up,
  the central API reachable and the reader present, each only if it was so before the apply. After
  `fleet.health_failures` failed checks in a row the pillar rolls back to the bundles before, reports
  `health_check_failed` and never takes that bundle again (its version stays the floor).
- `report()` posts the state to `POST /v1/fleet/report`: at start, after every change, and at least
  every `fleet.report_interval_s`.

One asyncio loop owns the service (the app's); state changes are written to `fleet.json` before they
take effect, so a crash at any point leaves either the old or the new state, never half of one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata

from kiosk.api import ApiError, CentralApi
from kiosk.config import FleetSection, Settings
from kiosk.contract.fleet import (AppliedBundle, FleetLevel, FleetReport, KioskHealth, PendingBundle,
                                  PendingReason, RejectedBundle)
from kiosk.diagnostics.models import ConfigOrigin
from kiosk.fleet.bundle import LEVELS
from kiosk.fleet.errors import BundleRejected
from kiosk.fleet.fetch import FleetFetcher
from kiosk.fleet.keys import TrustedKeys
from kiosk.fleet.live import restart_keys
from kiosk.fleet.merge import effective_settings
from kiosk.fleet.rollout import in_rollout
from kiosk.fleet.state import FleetState, FleetStateStore, Rejection, StoredBundle, Trial, utc_now
from kiosk.fleet.verify import VerifiedBundle, check_scope, check_version, parse_and_verify, verify_signed

log = logging.getLogger("kiosk.fleet")

# Starts of the app during one health trial that never reached a verdict: a bundle after which the
# pillar keeps crashing (or is restarted by a watchdog) is rolled back by the next start.
MAX_TRIAL_BOOTS = 3
APPLY_CHECK_S = 1.0          # how often waiting bundles ask whether the pillar is idle yet
REPORT_RETRY_S = 30.0        # a report that could not be delivered is tried again after this
MESSAGE_MAX = 500            # the contract's limit on a rejection message

Busy = Callable[[], PendingReason | None]            # None: idle now
HealthProbe = Callable[[bool], Awaitable[KioskHealth]]  # (with the reader?) -> health now
Figures = Callable[[], Awaitable[dict[str, int | None]]]  # journal_depth, pending_adjustments, catalog_age_s


def app_version() -> str:
    try:
        return metadata.version("kiosk")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@dataclass(frozen=True)
class Change:
    """New fleet-layer settings for the app to use."""

    settings: Settings
    locked: frozenset[str]
    restart: list[str]              # keys that need a restart ([]: all take effect at once)
    rolled_back: bool = False


class FleetService:
    def __init__(self, config: Settings, *, store: FleetStateStore, trusted: TrustedKeys, api: CentralApi,
                 fetcher: FleetFetcher | None, health: HealthProbe, figures: Figures | None = None,
                 clock: Callable[[], datetime] = utc_now, version: str | None = None) -> None:
        self.config = config                      # the config file's settings: the layer beneath the fleet
        self.store = store
        self.trusted = trusted
        self.api = api
        self.fetcher = fetcher
        self._health = health
        self._figures = figures
        self.clock = clock
        self.app_version = version or app_version()
        self.kiosk_id, self.store_id = config.kiosk.id, config.kiosk.store_id
        self.running: Settings = config           # the fleet layer the app runs now
        self.pending_reason: PendingReason = "waiting_for_idle"
        self.last_health: KioskHealth | None = None
        self.restart_due: list[str] = []          # keys waiting for a restart at the next idle moment
        self._report_due = asyncio.Event()
        self._applying = False
        self._health_failures = 0

    @property
    def state(self) -> FleetState:
        return self.store.state

    @property
    def _fleet(self) -> FleetSection:
        """The fleet section in force (the loops read it every round, so a bundle may change it)."""
        return self.running.fleet

    # --- start ------------------------------------------------------------------------------

    def boot(self) -> tuple[Settings, frozenset[str]]:
        """The fleet layer to start with (and remember a start during a health trial)."""
        state = self.state
        if state.trial is not None:
            if state.trial.boots + 1 >= MAX_TRIAL_BOOTS:
                state = self._rolled_back(state, f"the app started {state.trial.boots + 1} times after the apply "
                                                 "without passing its health check")
            else:
                # The grace period counts from this start: the app needs time to come up.
                state = state.model_copy(update={"trial": state.trial.model_copy(
                    update={"boots": state.trial.boots + 1, "started_at": self.clock()})})
        applied, rejected = self._reverified(state.applied)
        pending, rejected_pending = self._reverified(state.pending)
        state = state.model_copy(update={"applied": applied, "pending": pending,
                                         "rejected": {**state.rejected, **rejected_pending, **rejected}})
        settings, locked, state = self._merge_or_drop(state)
        self._save(state)
        self.running = settings
        self._report_due.set()
        versions = "/".join(str(applied[level].version) if level in applied else "-" for level in LEVELS)
        log.info("fleet configuration at start: versions %s (fleet/shop/kiosk), %d locked keys", versions, len(locked))
        return settings, locked

    def _reverified(self, bundles: dict[FleetLevel, StoredBundle]) -> tuple[dict, dict]:
        """Keep only what still verifies: the trusted keys may have changed with a new release."""
        kept, rejected = {}, {}
        for level, stored in bundles.items():
            try:
                parse_and_verify(stored.raw.encode("utf-8"), self.trusted, kiosk_id=self.kiosk_id,
                                 store_id=self.store_id, applied_version=None, level=level)
            except BundleRejected as exc:
                log.error("fleet %s bundle version %d kept from before no longer verifies: %s",
                          level, stored.version, exc)
                rejected[level] = self._rejection(exc, stored.version, stored.digest)
            else:
                kept[level] = stored
        return kept, rejected

    def _merge_or_drop(self, state: FleetState) -> tuple[Settings, frozenset[str], FleetState]:
        """The applied bundles on the config; a level that no longer fits (a newer app tightened a
        limit, a config file changed beneath it) is dropped and rejected, the others still apply."""
        applied = dict(state.applied)
        rejected = dict(state.rejected)
        while True:
            try:
                settings, locked = effective_settings(self.config, self._verified(applied))
                return settings, locked, state.model_copy(update={"applied": applied, "rejected": rejected})
            except BundleRejected as exc:
                level = self._culprit(applied)
                stored = applied.pop(level)
                log.error("fleet %s bundle version %d dropped: %s", level, stored.version, exc)
                rejected[level] = self._rejection(exc, stored.version, stored.digest)

    def _culprit(self, bundles: dict[FleetLevel, StoredBundle]) -> FleetLevel:
        """The first level at which merging fails."""
        for count in range(1, len(LEVELS) + 1):
            levels = [level for level in LEVELS if level in bundles][:count]
            try:
                effective_settings(self.config, self._verified({level: bundles[level] for level in levels}))
            except BundleRejected:
                return levels[-1]
        raise AssertionError("no level fails to merge")  # pragma: no cover - only called after a failure

    def _verified(self, bundles: dict[FleetLevel, StoredBundle]) -> list[VerifiedBundle]:
        return [verify_signed(stored.raw.encode("utf-8"), self.trusted) for stored in bundles.values()]

    # --- fetching ---------------------------------------------------------------------------

    async def poll(self) -> bool:
        """Fetch and judge the three levels; False when the bundle host could not be asked."""
        if self.fetcher is None:
            return False
        try:
            results = await self.fetcher.poll()
        except ApiError as exc:
            log.warning("fleet bundles not fetched: %s", exc)
            return False
        state, changed = self.state, False
        now = self.clock()
        for level, result in results.items():
            if result.status != "changed" or result.body is None:
                continue  # 304: as before; 404: no file at this level (never undoes an applied bundle)
            state, judged = self._judge(state, level, result.body, now)
            changed |= judged
        etags = self.fetcher.etags
        if etags != state.etags:
            state = state.model_copy(update={"etags": etags})
        await self._persist(state)
        if changed:
            self._report_due.set()
        return True

    def _judge(self, state: FleetState, level: FleetLevel, raw: bytes, now: datetime) -> tuple[FleetState, bool]:
        """One file received at `level`: pending, not in rollout, the same again, or rejected."""
        version: int | None = None
        digest: str | None = None
        try:
            verified = verify_signed(raw, self.trusted)
            version, digest = verified.version, verified.digest
            if state.known_digest(level, digest):
                return state, False  # the same bundle again: nothing new, and not a replay to report
            check_scope(verified.bundle, kiosk_id=self.kiosk_id, store_id=self.store_id, level=level)
            check_version(verified.bundle, state.replay_floor(level))
        except BundleRejected as exc:
            log.error("fleet %s bundle refused (%s): %s", level, exc.reason, exc.message)
            rejection = self._rejection(exc, version, digest)
            return state.model_copy(update={"rejected": {**state.rejected, level: rejection}}), True
        not_in_rollout = {k: v for k, v in state.not_in_rollout.items() if k != level}
        if not in_rollout(self.kiosk_id, verified.bundle.rollout):
            log.info("fleet %s bundle version %d: this pillar is not in its rollout (yet)", level, verified.version)
            return state.model_copy(update={"not_in_rollout": {**not_in_rollout, level: verified.version}}), True
        log.info("fleet %s bundle version %d verified (key %s): waiting for an idle moment",
                 level, verified.version, verified.key_id)
        rejected = {k: v for k, v in state.rejected.items() if k != level}  # a good one supersedes a refusal
        return state.model_copy(update={"pending": {**state.pending, level: StoredBundle.of(verified, now)},
                                        "rejected": rejected, "not_in_rollout": not_in_rollout}), True

    def _rejection(self, exc: BundleRejected, version: int | None, digest: str | None) -> Rejection:
        return Rejection(version=version, reason=exc.reason, message=exc.message[:MESSAGE_MAX], digest=digest,
                         at=self.clock())

    # --- applying ---------------------------------------------------------------------------

    @property
    def has_pending(self) -> bool:
        return bool(self.state.pending)

    async def apply_pending(self, busy: Busy) -> Change | None:
        """Apply the pending bundles if the pillar is idle now; the change for the app, or None."""
        state = self.state
        if not state.pending or state.trial is not None or self._applying:
            if state.pending and state.trial is not None:
                self.pending_reason = "waiting_for_idle"  # one change at a time: after the trial
            return None
        reason = busy()
        if reason is not None:
            if reason != self.pending_reason:
                self.pending_reason = reason
                self._report_due.set()
            return None
        self._applying = True
        try:
            baseline = await self._measure_health()
            if busy() is not None:  # someone came while the health was measured: next idle moment
                return None
            return await self._apply(self.state, baseline)
        finally:
            self._applying = False

    async def _apply(self, state: FleetState, baseline: KioskHealth) -> Change | None:
        candidate = {**state.applied, **state.pending}
        try:
            settings, locked = effective_settings(self.config, self._verified(candidate))
        except BundleRejected as exc:
            # Each pending bundle verified alone, but together with the config they do not fit: refuse
            # what is pending, keep running what is applied.
            rejected = {level: self._rejection(exc, stored.version, stored.digest)
                        for level, stored in state.pending.items()}
            log.error("fleet bundles %s refused: %s", sorted(rejected), exc)
            await self._persist(state.model_copy(update={"pending": {}, "rejected": {**state.rejected, **rejected}}))
            self._report_due.set()
            return None
        restart = restart_keys(self.running, settings)
        high_water = {**state.high_water, **{level: b.version for level, b in state.pending.items()}}
        trial = Trial(applied=dict(state.pending), previous=dict(state.applied), baseline=baseline,
                      started_at=self.clock(), restart=bool(restart))
        await self._persist(state.model_copy(update={"applied": candidate, "pending": {}, "high_water": high_water,
                                            "trial": trial}))
        self._health_failures = 0
        for level, stored in trial.applied.items():
            log.warning("fleet %s bundle version %d applied%s", level, stored.version,
                        f"; restart for {', '.join(restart)}" if restart else "")
        return self._take(settings, locked, restart)

    def _take(self, settings: Settings, locked: frozenset[str], restart: list[str], rolled_back: bool = False) -> Change:
        self.restart_due = restart
        if not restart:
            self.running = settings
        self._report_due.set()
        return Change(settings, locked, restart, rolled_back)

    # --- health -----------------------------------------------------------------------------

    async def _measure_health(self, *, reader: bool = True) -> KioskHealth:
        """The health now. Without `reader`, the reader's presence is the last one measured: a report
        need not ask pcscd every few minutes, an apply and its trial do."""
        try:
            health = await self._health(reader)
        except Exception:  # a probe must never take the service down; not knowing is not healthy
            log.exception("fleet health probe failed")
            health = KioskHealth(app_up=False, central_api_ok=False, reader_present=None)
        if not reader:
            known = self.last_health.reader_present if self.last_health is not None else None
            health = health.model_copy(update={"reader_present": known})
        self.last_health = health
        return health

    @staticmethod
    def worse(baseline: KioskHealth, now: KioskHealth) -> list[str]:
        """What failed that held before the apply (only those count against the bundle)."""
        problems = []
        if baseline.app_up and not now.app_up:
            problems.append("the app is not up")
        if baseline.central_api_ok and not now.central_api_ok:
            problems.append("the central API is not reachable (it was before)")
        if baseline.reader_present and now.reader_present is False:
            problems.append("the card reader is gone (it was there before)")
        return problems

    async def check_trial(self) -> Change | None:
        """One health check of the running trial; a roll-back (the change for the app), or None."""
        trial = self.state.trial
        if trial is None or trial.restart and self.restart_due:
            return None  # nothing under trial, or its restart has not happened yet
        health = await self._measure_health()
        trial = self.state.trial
        if trial is None:
            return None
        problems = self.worse(trial.baseline, health)
        if problems:
            self._health_failures += 1
            log.warning("fleet health check %d/%d after applying %s failed: %s", self._health_failures,
                        self._fleet.health_failures, self._describe(trial.applied), "; ".join(problems))
            if self._health_failures >= self._fleet.health_failures:
                return await self.roll_back("; ".join(problems))
            return None
        self._health_failures = 0
        if (self.clock() - trial.started_at).total_seconds() >= self._fleet.health_grace_s:
            log.info("fleet %s healthy through the grace period: now the last good configuration",
                     self._describe(trial.applied))
            await self._persist(self.state.model_copy(update={"trial": None}))
            self._report_due.set()
        return None

    async def roll_back(self, why: str) -> Change:
        """Back to the bundles before the trial; the bundles tried are refused for good."""
        state = self._rolled_back(self.state, why)
        settings, locked, state = self._merge_or_drop(state)
        await self._persist(state)
        self._health_failures = 0
        return self._take(settings, locked, restart_keys(self.running, settings), rolled_back=True)

    def _rolled_back(self, state: FleetState, why: str) -> FleetState:
        trial = state.trial
        assert trial is not None
        log.error("fleet: rolling back %s: %s", self._describe(trial.applied), why)
        applied = {level: b for level, b in state.applied.items() if level not in trial.applied}
        applied.update(trial.previous)
        now = self.clock()
        rejected = {level: Rejection(version=b.version, reason="health_check_failed", message=why[:MESSAGE_MAX],
                                     digest=b.digest, at=now) for level, b in trial.applied.items()}
        # The contract names one bundle: the most specific one tried (the last to apply).
        last = [trial.applied[level] for level in LEVELS if level in trial.applied][-1]
        return state.model_copy(update={
            "applied": applied, "trial": None, "rejected": {**state.rejected, **rejected},
            "rolled_back_from": last.ref,
            "rolled_back_digests": {**state.rolled_back_digests, **{lv: b.digest for lv, b in trial.applied.items()}},
        })

    @staticmethod
    def _describe(bundles: dict[FleetLevel, StoredBundle]) -> str:
        return ", ".join(f"{level} v{b.version}" for level, b in bundles.items()) or "nothing"

    # --- reporting --------------------------------------------------------------------------

    def build_report(self, figures: dict[str, int | None] | None = None) -> FleetReport:
        state, figures = self.state, figures or {}
        applied = [AppliedBundle(level=level, version=state.applied[level].version, key_id=state.applied[level].key_id)
                   for level in LEVELS if level in state.applied]
        pending: dict[FleetLevel, PendingBundle] = {}
        for level, version in state.not_in_rollout.items():
            pending[level] = PendingBundle(level=level, version=version, reason="not_in_rollout")
        for level, stored in state.pending.items():
            pending[level] = PendingBundle(level=level, version=stored.version, reason=self.pending_reason)
        if self.restart_due and state.trial is not None:
            for level, stored in state.trial.applied.items():
                pending.setdefault(level, PendingBundle(level=level, version=stored.version, reason="restart_pending"))
        rejected = [RejectedBundle(level=level, version=r.version, reason=r.reason, message=r.message)
                    for level, r in sorted(state.rejected.items(), key=lambda item: LEVELS.index(item[0]))]
        health = self.last_health or KioskHealth(app_up=True, central_api_ok=False, reader_present=None)
        return FleetReport(
            kiosk_id=self.kiosk_id, store_id=self.store_id, app_version=self.app_version, reported_at=self.clock(),
            applied=applied, pending=[pending[level] for level in LEVELS if level in pending], rejected=rejected,
            health=health, journal_depth=figures.get("journal_depth") or 0,
            pending_adjustments=figures.get("pending_adjustments") or 0, catalog_age_s=figures.get("catalog_age_s"),
            rolled_back_from=state.rolled_back_from)

    async def report(self) -> bool:
        """Send the report now; False when the central API did not take it (tried again later)."""
        await self._measure_health(reader=False)
        figures = await self._figures() if self._figures is not None else None
        try:
            await self.api.fleet_report(self.build_report(figures))
        except ApiError as exc:
            log.warning("fleet report not delivered: %s", exc)
            return False
        return True

    def config_origin(self) -> ConfigOrigin:
        """For the diagnostics screen: which configuration runs, and where it came from."""
        applied = self.state.applied
        source = None if self.config.source is None else str(self.config.source)
        if not applied:
            return ConfigOrigin.local(self.config.source)
        versions = "/".join(str(applied[level].version) if level in applied else "-" for level in LEVELS)
        last = [applied[level] for level in LEVELS if level in applied][-1]
        url = self.fetcher.base_url if self.fetcher is not None else None
        return ConfigOrigin(version=versions, source=source, fleet_version=last.version, fleet_source=url)

    # --- running ----------------------------------------------------------------------------

    async def run(self, *, busy: Busy, on_change: Callable[[Change], None],
                  on_restart: Callable[[str], None]) -> None:
        """The fleet's loops, until cancelled: poll, apply when idle, watch a trial, report."""
        await asyncio.gather(self._poll_loop(), self._apply_loop(busy, on_change, on_restart),
                             self._report_loop())

    # Each loop survives a failed round (a disk that refuses the state file, a bug in a callback): it
    # is logged, the state on disk is still the last one written, and the next round tries again.

    async def _poll_loop(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:
                log.exception("fleet poll failed")
            await asyncio.sleep(self._fleet.poll_interval_s)

    async def _apply_loop(self, busy: Busy, on_change: Callable[[Change], None],
                          on_restart: Callable[[str], None]) -> None:
        next_check = time.monotonic()
        while True:
            try:
                change = await self.apply_pending(busy)
                if change is None and self.state.trial is not None and time.monotonic() >= next_check:
                    next_check = time.monotonic() + self._fleet.health_interval_s
                    change = await self.check_trial()
                if change is not None:
                    on_change(change)
                if self.restart_due and busy() is None:
                    on_restart(f"fleet configuration changed {', '.join(self.restart_due)}")
                    return  # the app is going down; the next start boots the new configuration
            except Exception:
                log.exception("fleet apply or health check failed")
            await asyncio.sleep(APPLY_CHECK_S)

    async def _report_loop(self) -> None:
        while True:
            self._report_due.clear()  # before: a change made while this report is on its way asks for another
            try:
                delivered = await self.report()
            except Exception:
                log.exception("fleet report failed")
                delivered = False
            wait = self._fleet.report_interval_s if delivered else min(
                REPORT_RETRY_S, self._fleet.report_interval_s)
            try:
                await asyncio.wait_for(self._report_due.wait(), wait)
            except TimeoutError:
                pass

    def _save(self, state: FleetState) -> None:
        if state != self.store.state:
            self.store.save(state)

    async def _persist(self, state: FleetState) -> None:
        """`_save` off the UI thread (the file is fsynced, folder and all)."""
        if state != self.store.state:
            await asyncio.to_thread(self.store.save, state)
