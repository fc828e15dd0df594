"""Everything the screens use, wired together from the settings. Plain Python: no Kivy.

The app owns one `KioskServices`; screens read state from it and forward the shopper's intents to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kiosk.api import ApiError, CentralApi
from kiosk.cart import Cart
from kiosk.catalog.store import CatalogStore
from kiosk.catalog.sync import CatalogSync, SyncError
from kiosk.checkout import Checkout
from kiosk.config import Settings
from kiosk.contract import Promotion
from kiosk.hardware.badge_watch import BadgeWatcher
from kiosk.hardware.terminal import PaymentTerminal
from kiosk.images import ImageCache
from kiosk.journal import JournalEntry, StaffAlert
from kiosk.journal.journal import Journal
from kiosk.outbox import Outbox
from kiosk.payments import PaymentProgress, PaymentService
from kiosk.pick_list import PickListService
from kiosk.restock import RestockService
from kiosk.fulfilment import FulfilmentService
from kiosk.handoff import HandoffService
from kiosk.stock import StockService
from kiosk.stores import StoreDirectory
from kiosk.contract import KioskHealth
from kiosk.diagnostics import CheckStatus, Diagnostics
from kiosk.fleet.fetch import FleetFetcher
from kiosk.fleet.keys import KeyFileError, TrustedKeys
from kiosk.fleet.service import FleetService
from kiosk.fleet.state import FleetStateStore
from kiosk.staff.auth import StaffGate
from kiosk.staff.directory import StaffDirectory
from kiosk.staff.overrides import SettingsEditor
from kiosk.staff.store import StaffStore

log = logging.getLogger("kiosk.services")


@dataclass
class ConnectionStatus:
    online: bool = False
    catalog_loaded: bool = False
    catalog_count: int = 0
    catalog_synced_at: datetime | None = None
    syncing: bool = False
    last_error: str | None = None
    listeners: list[Callable[["ConnectionStatus"], None]] = field(default_factory=list, repr=False)

    def update(self, **changes: object) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        for listener in list(self.listeners):
            listener(self)


class KioskServices:
    def __init__(self, settings: Settings, api: CentralApi, terminal: PaymentTerminal) -> None:
        # The layers first: the config file, the fleet's bundles kept from the last run (re-verified),
        # then staff overrides (staff.json next to the journal), and only then every other service,
        # built from the result. `base_settings` is what config and fleet say, beneath staff.
        settings.journal_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_settings = settings
        self.api = api
        self.terminal = terminal
        self.ui_alive: Callable[[], bool] = lambda: True  # the app replaces it: "the UI loop is turning"
        self.fleet = self._fleet_service(settings)
        fleet_settings, locked = self.fleet.boot() if self.fleet is not None else (settings, frozenset[str]())
        self.base_settings = fleet_settings
        self.staff_store = StaffStore.for_settings(settings)
        self.settings_editor = SettingsEditor(self.staff_store, locked=locked)
        report = self.settings_editor.effective_report(fleet_settings)
        for skipped in report.skipped:
            log.warning("staff override %s no longer applies: %s", skipped.key, skipped.reason)
        settings = self.settings = report.settings
        self.staff_directory = StaffDirectory.from_config(settings.staff)
        self.staff_gate = StaffGate.from_settings(settings, self.staff_directory, self.staff_store)
        self.catalog = CatalogStore(settings.catalog_dir)
        self.catalog_sync = CatalogSync(api, settings.catalog_dir)
        self.images = ImageCache(settings.image_cache_dir, max_bytes=settings.catalog.image_cache_mb * 1024 * 1024,
                                 fetch=lambda url: api.fetch_bytes(api.absolute_url(url)))
        self.cart = Cart()
        self.stores = StoreDirectory(api, settings.kiosk.store_id)
        self.stock = StockService(api, ttl_s=settings.stock.ttl_s)
        self.fulfilment = FulfilmentService(api, self.stores)
        self.handoff = HandoffService(api, settings.kiosk.store_id)  # the cart screen's QR to the phone
        self.status = ConnectionStatus()
        self._catalog_changed()
        self._payment_listeners: list[Callable[[PaymentProgress], None]] = []
        self.order_listeners: list[Callable[[JournalEntry], None]] = []
        self.alerts: list[StaffAlert] = []
        self.promotions: list[Promotion] = []
        self.promotion_listeners: list[Callable[[list[Promotion]], None]] = []
        # Staff badges are watched for whenever no payment owns the reader (the app logs them in).
        self.badge_watcher = BadgeWatcher(terminal, on_badge=self._badge_tapped)
        self.badge_listeners: list[Callable[[str], None]] = []
        self.payments = PaymentService(api, terminal, card_timeout_s=settings.payment.card_timeout_s,
                                       no_cvm_limit_cents=settings.payment.no_cvm_limit_cents,
                                       on_change=self._payment_changed, reader_guard=self.badge_watcher.paused)
        self.journal = Journal(settings.journal_path, on_alert=self._alert)
        self.outbox = Outbox(api, self.journal, kiosk_id=settings.kiosk.id,
                             concurrency=settings.journal.outbox_concurrency, on_change=self._order_changed)
        self.checkout = Checkout(self.journal, self.payments, self.outbox, kiosk_id=settings.kiosk.id,
                                 store_id=settings.kiosk.store_id, tracking_base_url=settings.api.base_url)
        # Staff: restock and count (journalled like orders, delivered by `run_outbox`), pick lists.
        self.restock = RestockService(api, self.journal, settings.kiosk.store_id)
        self.pick_list = PickListService(api)
        self.diagnostics = Diagnostics(
            self, config_origin=self.fleet.config_origin if self.fleet is not None else None)

    # --- fleet configuration (kiosk/fleet/service.py) ----------------------------------------

    def _fleet_service(self, settings: Settings) -> FleetService | None:
        if not settings.fleet.enabled:
            return None
        store = FleetStateStore.for_settings(settings)
        try:
            trusted = TrustedKeys.load(settings.fleet_keys_dir)
        except KeyFileError as exc:
            if settings.fleet_keys_dir.exists():
                raise  # a key file that is not a key: better no start than a key silently ignored
            # No folder at all: every bundle is refused as `unknown_key`, and the report says so.
            log.error("fleet: %s; no bundle can be trusted", exc)
            trusted = TrustedKeys({})
        fetcher = FleetFetcher(self.api, settings.fleet_url, settings.kiosk.id, settings.kiosk.store_id,
                               etags=store.state.etags)
        return FleetService(settings, store=store, trusted=trusted, api=self.api, fetcher=fetcher,
                            health=self._fleet_health, figures=self._fleet_figures)

    async def _fleet_health(self, with_reader: bool) -> KioskHealth:
        """For the fleet's health check: the diagnostics' own checks, each bounded in time."""
        checks = [self.diagnostics.check_central_api()] + ([self.diagnostics.check_reader()] if with_reader else [])
        api, *reader = await asyncio.gather(*checks)
        return KioskHealth(app_up=self.ui_alive(), central_api_ok=api.status is not CheckStatus.failed,
                           reader_present=reader[0].status is not CheckStatus.failed if reader else None)

    async def _fleet_figures(self) -> dict[str, int | None]:
        synced_at = self.catalog.synced_at
        age = None if synced_at is None else max(0, int((datetime.now(UTC) - synced_at).total_seconds()))
        return {"journal_depth": self.journal.depth(), "pending_adjustments": len(self.journal.pending_adjustments()),
                "catalog_age_s": age}

    def use_fleet_settings(self, fleet_settings: Settings, locked: frozenset[str]) -> Settings:
        """New fleet-layer settings (an apply or a roll-back that needs no restart): staff overrides go
        on top again, a key the fleet locks now loses its override. Returns the effective settings."""
        self.base_settings = fleet_settings
        self.settings_editor.set_locked(locked)
        self.settings = self.settings_editor.effective(fleet_settings)
        return self.settings

    def on_payment_change(self, listener: Callable[[PaymentProgress], None]) -> None:
        self._payment_listeners.append(listener)

    def off_payment_change(self, listener: Callable[[PaymentProgress], None]) -> None:
        """Stop telling `listener` (a screen of an app that stops: the list must not keep it)."""
        if listener in self._payment_listeners:
            self._payment_listeners.remove(listener)

    def _payment_changed(self, progress: PaymentProgress) -> None:
        if progress.reason == "reader_unavailable":
            # The shopper is told to ask for help; staff must learn it without being asked.
            self.journal.add_alert("reader_unavailable", "the card reader is not usable (unplugged, or pcscd down)")
        for listener in list(self._payment_listeners):
            listener(progress)

    def _badge_tapped(self, badge_id: str) -> None:
        for listener in list(self.badge_listeners):
            listener(badge_id)

    def _order_changed(self, entry: JournalEntry) -> None:
        for listener in list(self.order_listeners):
            listener(entry)

    def _alert(self, alert: StaffAlert) -> None:
        # Staff screens show these; until then they are logged loudly.
        log.error("STAFF ALERT %s: %s", alert.kind, alert.message)
        self.alerts.append(alert)

    COMPACT_EVERY_S = 3600.0

    async def open_journal(self) -> None:
        """Open (and if need be repair) the journal, and drop finished orders past retention.
        What was unfinished at the last stop or crash is driven on by the outbox."""
        self.settings.journal_path.parent.mkdir(parents=True, exist_ok=True)
        await self.journal.open()
        await self.compact_journal()
        log.info("journal open: %d unfinished orders", self.journal.depth())

    async def compact_journal(self) -> int:
        return await self.journal.compact(timedelta(days=self.settings.journal.retention_days))

    async def run_outbox(self) -> None:
        """Deliver and settle orders, and deliver staff stock adjustments, forever; compact the
        journal now and then (a pillar runs for weeks, and a small journal keeps every write fast)."""

        async def compact_now_and_then() -> None:
            while True:
                await asyncio.sleep(self.COMPACT_EVERY_S)
                await self.compact_journal()

        await asyncio.gather(self.outbox.run(), self.restock.outbox.run(), compact_now_and_then())

    def _catalog_changed(self, **changes: object) -> None:
        self.status.update(catalog_loaded=self.catalog.is_loaded, catalog_count=self.catalog.product_count,
                           catalog_synced_at=self.catalog.synced_at, **changes)

    async def sync_once(self) -> bool:
        """Check the central API and bring the local catalog up to date (full the first time, then
        deltas). False when the API is unreachable: the kiosk goes on with the copy it has."""
        try:
            await self.api.health()
            self.status.update(online=True, syncing=True, last_error=None)
            await self.stores.load()  # keeps the last good list when this fails
            await self._load_promotions()
            await self._load_staff()
            report = await self.catalog_sync.sync()
            self.catalog.reopen()
            log.info("catalog %s sync: %d written, %d removed, %d skipped", report.kind, report.written,
                     report.removed, len(report.skipped))
            self._catalog_changed(syncing=False)
            return True
        except (ApiError, SyncError) as exc:
            log.warning("central API not usable: %s", exc)
            self._catalog_changed(online=False, syncing=False, last_error=str(exc))
            return False

    async def _load_promotions(self) -> None:
        """The attract screen's promotions; the last good list stays when the API cannot be asked."""
        try:
            promotions = await self.api.promotions()
        except ApiError as exc:
            log.warning("promotions not refreshed: %s", exc)
            return
        now = datetime.now(UTC)
        self.promotions = [p for p in promotions if p.valid_until is None or p.valid_until > now]
        for listener in list(self.promotion_listeners):
            listener(self.promotions)

    async def _load_staff(self) -> None:
        """This shop's staff from the central API, merged with the config's members (badges revoked
        centrally stop working here); the last good list stays when the API cannot be asked."""
        try:
            central = await self.api.staff_members()
        except ApiError as exc:
            log.warning("staff list not refreshed: %s", exc)
            return
        self.staff_directory = self.staff_directory.with_central(central)
        self.staff_gate.directory = self.staff_directory
        if hasattr(self.terminal, "badge_matcher"):  # badges known only centrally are badges too
            self.terminal.badge_matcher = self.staff_directory.badge_matcher(self.settings.staff)
        for problem in self.staff_directory.rejected:
            log.warning("central staff entry not used: %s", problem)

    async def keep_in_sync(self, *, min_retry_s: float = 2.0, max_retry_s: float = 30.0) -> None:
        """Sync at start, then every `catalog.sync_interval_s`; retry sooner (backing off) when down."""
        retry = min_retry_s
        while True:
            if await self.sync_once():
                retry = min_retry_s
                await asyncio.sleep(self.settings.catalog.sync_interval_s)
            else:
                await asyncio.sleep(retry)
                retry = min(retry * 2, max_retry_s)

    def reset_session(self) -> None:
        """A new shopper starts with nothing of the previous one."""
        self.cart.clear()
        self.handoff.forget()

    async def aclose(self) -> None:
        await self.badge_watcher.stop()
        await self.images.aclose()
        self.journal.close()
        self.staff_store.close()
        if self.fleet is not None:
            self.fleet.store.close()
        self.catalog.close()
        await self.api.aclose()
