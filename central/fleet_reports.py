"""Fleet reports on the reference server: the latest report per kiosk, and the operator's overview.

A report is a snapshot of the pillar (applied, pending and rejected bundles, health, backlog), so the
last one received wins: one row per kiosk, replaced by every report. `last_seen` is the server's
clock when it arrived, so a pillar with a wrong clock still shows when it was last heard from.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from kiosk.contract import FleetKiosk, FleetOverview, FleetReport, FleetVersions


def store_report(conn: sqlite3.Connection, report: FleetReport, received_at: datetime) -> None:
    conn.execute(
        "INSERT INTO fleet_reports (kiosk_id, store_id, app_version, reported_at, received_at, report_json)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (kiosk_id) DO UPDATE SET store_id = excluded.store_id, app_version = excluded.app_version,"
        " reported_at = excluded.reported_at, received_at = excluded.received_at,"
        " report_json = excluded.report_json",
        (report.kiosk_id, report.store_id, report.app_version, report.reported_at.isoformat(),
         received_at.isoformat(), report.model_dump_json()),
    )


def _kiosk(kiosk_id: str, store_id: str, report_json: str | None, received_at: str | None) -> FleetKiosk:
    if report_json is None:
        return FleetKiosk(kiosk_id=kiosk_id, store_id=store_id)
    report = FleetReport.model_validate_json(report_json)
    applied = {bundle.level: bundle.version for bundle in report.applied}
    return FleetKiosk(
        kiosk_id=kiosk_id, store_id=store_id,
        reported_store_id=report.store_id if report.store_id != store_id else None,
        app_version=report.app_version, versions=FleetVersions(**applied),
        applied=[a.model_dump() for a in report.applied],
        pending=[p.model_dump() for p in report.pending], rejected=[r.model_dump() for r in report.rejected],
        rolled_back_from=report.rolled_back_from.model_dump() if report.rolled_back_from else None,
        health=report.health.model_dump(), journal_depth=report.journal_depth,
        pending_adjustments=report.pending_adjustments, catalog_age_s=report.catalog_age_s,
        reported_at=report.reported_at, last_seen=datetime.fromisoformat(received_at),
    )


def overview(conn: sqlite3.Connection, now: datetime) -> FleetOverview:
    """Every kiosk the server knows (never reported ones too: they are the ones to look at), by shop and id."""
    rows = conn.execute(
        "SELECT k.kiosk_id, k.store_id, r.report_json, r.received_at FROM kiosks k"
        " LEFT JOIN fleet_reports r ON r.kiosk_id = k.kiosk_id ORDER BY k.store_id, k.kiosk_id"
    ).fetchall()
    return FleetOverview(as_of=now, kiosks=[_kiosk(*row) for row in rows])
