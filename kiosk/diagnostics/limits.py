"""Thresholds and time limits of the diagnostics, with the reason for each value."""

from __future__ import annotations

MB = 1024 * 1024

# --- thresholds ---------------------------------------------------------------------------------

# The catalog is synced every `catalog.sync_interval_s`; one missed sync happens (a short outage),
# two in a row mean the sync is not working: prices and stock may drift from the central API's.
CATALOG_STALE_INTERVALS = 2.0
# A copy a day old (or four intervals, when the interval is long) is no longer "a bit behind": new
# articles are missing and withdrawn ones still shown. The order API still checks every price.
CATALOG_OUTDATED_S = 24 * 3600.0
CATALOG_OUTDATED_INTERVALS = 4.0

# Free space on the filesystems holding the journal, catalog and picture cache. A full catalog sync
# writes a whole second copy (tens of MB at 100,000 articles) before the swap, plus SQLite's temp
# space: under 500 MB the next full sync may not fit. Under 100 MB the journal (every order, written
# with a temp copy before the rename) is at risk: orders must never fail to be written.
DISK_WARNING_FREE_BYTES = 500 * MB
DISK_FAILED_FREE_BYTES = 100 * MB

# The outbox retries with backoff capped at 5 minutes: an order still unsent after 10 minutes has
# missed at least two attempts, so the central API is down or refuses it. After an hour a shopper
# waiting for a pickup or delivery is affected: staff must act (call support, check the alerts).
JOURNAL_UNSENT_WARNING_S = 10 * 60.0
JOURNAL_UNSENT_FAILED_S = 60 * 60.0

# The central API normally answers health in tens of ms; over a second the shopper notices every
# stock query and payment.
CENTRAL_API_SLOW_MS = 1000.0
# Payment and order timestamps, TLS certificates and the fleet's signed bundles all rely on the
# pillar's clock: two minutes off means NTP is not working.
CLOCK_SKEW_WARNING_S = 120.0

# --- time limits (each check's own; a check past it is `failed`, never a hang) ------------------

# pcscd is a local daemon answering in milliseconds: seconds mean it hangs.
PCSC_TIMEOUT_S = 3.0
# Connection refused is instant; a black-holed network needs the client's connect timeout (3 s) at
# most once, since a diagnostic must answer while staff wait in front of the pillar.
CENTRAL_API_TIMEOUT_S = 5.0
# Reading the journal is in memory; the catalog's few figures need one read transaction, which may
# wait for a delta sync's commit (milliseconds, seconds at worst on a slow flash card).
JOURNAL_TIMEOUT_S = 2.0
CATALOG_TIMEOUT_S = 5.0
CONFIG_TIMEOUT_S = 2.0
# statvfs is instant on local storage; a hung network mount must not hang the screen.
DISK_TIMEOUT_S = 3.0
# The test read waits for the card (the caller's timeout), then the EMV flow takes < 2 s.
CARD_READ_MARGIN_S = 10.0
CARD_READ_AMOUNT_CENTS = 100  # under any no-CVM limit: the card is read to the end, without a PIN
# "Send now": long enough for a few orders through a working API (each step: one or two calls).
SEND_NOW_TIMEOUT_S = 30.0
