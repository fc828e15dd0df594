"""Which settings a running pillar takes at once, and which only at its next start.

Most services are built from the settings once (the payment service's limits, the API client's
timeouts, the window's size, the staff list, the outbox's concurrency), so a change of those keys
needs a restart of the app. The keys below are read where they are used (`services.settings`, the
app's `settings` property that the .kv files bind to) or copied by `KioskApp.apply_settings`, so
they change between two shopper sessions without one. A key not listed is taken to need a restart:
when in doubt, restart, rather than run half on the old value.
"""

from __future__ import annotations

from kiosk.config import Settings

LIVE_KEYS = frozenset({
    "kiosk.store_name",          # the attract screen and the top bar bind to app.settings
    "kiosk.language",            # the language each new session starts in (read at start-over)
    "kiosk.receipt_text",        # the receipt binds to app.settings
    "session.idle_s",            # copied into the shopper session by apply_settings
    "session.countdown_s",
    "session.receipt_s",         # read when a receipt is shown
    "display.promotion_s",       # read for each promotion
    "display.theme",             # the defaults of a new session (read at start-over)
    "display.large_text",
    "display.low_reach",
    "stock.nearby_shops",        # read for each article page
    "stock.few_left_max",
    "catalog.sync_interval_s",   # read before each wait of the sync loop
    "journal.retention_days",    # read at each compaction
    "fleet.poll_interval_s",     # the fleet loops read their own settings every round
    "fleet.report_interval_s",
    "fleet.health_grace_s",
    "fleet.health_interval_s",
    "fleet.health_failures",
})


def changed_keys(old: Settings, new: Settings) -> list[str]:
    """Every "section.field" whose value differs, in the config's order."""
    before, after = old.model_dump(), new.model_dump()
    return [f"{section}.{field}" for section, values in after.items() if isinstance(values, dict)
            for field, value in values.items() if before.get(section, {}).get(field) != value]


def restart_keys(old: Settings, new: Settings) -> list[str]:
    """The changed keys the running app cannot take without a restart."""
    return [key for key in changed_keys(old, new) if key not in LIVE_KEYS]
