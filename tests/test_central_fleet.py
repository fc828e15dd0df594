"""Fleet configuration on the reference server: signed bundles served as static files (ETag,
If-None-Match, 404 per missing level, no way out of the folder), the pillars' reports (the latest per
kiosk), the operator's overview, and `kiosk fleet status` printing it from a live server.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import sqlite3
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from central.db import token_hash
from central.embedded import start_server
from central.fleet_bundles import bundle_path
from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN, DEMO_STORE_ID
from kiosk.contract import (
    AppliedBundle,
    BundleRef,
    FleetOverview,
    FleetReport,
    FleetReportReceipt,
    KioskHealth,
    PendingBundle,
    RejectedBundle,
)
from kiosk.fleet.status_cli import add_status_command, cmd_status
from support.fleet import publish
from support.orders import TUESDAY_MORNING, MovableClock
from test_central_http import assert_error

AWAY = "amersfoort-centrum"
AWAY_KIOSK = "kiosk-amf"
AWAY_TOKEN = "amersfoort-kiosk-token"
SECRET = b'{"secret": "never served"}'


class Fleet:
    def __init__(self, server, folder, clock, http):
        self.server, self.folder, self.clock, self.http = server, folder, clock, http

    def put(self, relative: str, content: bytes) -> None:
        publish(self.folder, relative, content)

    def get(self, path: str, **headers: str) -> httpx.Response:
        # No credential: bundles are public, signed files.
        return httpx.get(self.server.base_url + path, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def raw_get(self, raw_path: str) -> tuple[int, bytes]:
        """A request line sent exactly as written: no client normalising `..` or decoding %2F first."""
        parts = urlsplit(self.server.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            connection.putrequest("GET", raw_path, skip_accept_encoding=True)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def report(self, report: FleetReport, token: str = DEMO_KIOSK_TOKEN) -> httpx.Response:
        return self.http.post("/v1/fleet/report", content=report.model_dump_json(),
                              headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})

    def overview(self) -> FleetOverview:
        response = self.http.get("/v1/fleet/kiosks")
        assert response.status_code == 200, response.text
        return FleetOverview.model_validate_json(response.content)


@pytest.fixture
def fleet(tmp_path):
    clock = MovableClock(TUESDAY_MORNING)
    folder = tmp_path / "fleet"
    server = start_server(tmp_path / "central.sqlite", seed_articles=5, clock=clock, fleet_dir=folder)
    with sqlite3.connect(server.db_path) as db:  # a kiosk in another shop
        db.execute("INSERT INTO kiosks (token_sha256, kiosk_id, store_id) VALUES (?, ?, ?)",
                   (token_hash(AWAY_TOKEN), AWAY_KIOSK, AWAY))
    try:
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"},
                          timeout=10) as http:
            yield Fleet(server, folder, clock, http)
    finally:
        server.stop()


def signed(version: int, scope: str = "fleet") -> bytes:
    # Opaque bytes to the server: it neither parses nor verifies them (the kiosk does).
    return (f'{{"version": {version}, "scope": "{scope}", "settings": {{"kiosk": {{"receipt_text": "v{version}"}}}},'
            f' "signature": "ed25519:abc{version}"}}\n').encode()


def strong_etag(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()}"'


# --- bundles as static files -----------------------------------------------------------------------


def test_a_bundle_is_served_as_it_is_with_a_strong_etag_and_revalidated_with_304(fleet):
    content = signed(7)
    fleet.put("fleet.json", content)
    first = fleet.get("/fleet/fleet.json")
    assert first.status_code == 200, first.text
    assert first.content == content, "byte for byte"
    assert first.headers["ETag"] == strong_etag(content)
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.headers["Content-Type"] == "application/json"
    etag = first.headers["ETag"]
    for if_none_match in (etag, f"W/{etag}", f'"something-else", {etag}', "*"):
        again = fleet.get("/fleet/fleet.json", If_None_Match=if_none_match)
        assert again.status_code == 304, (if_none_match, again.text)
        assert again.content == b""
        assert (again.headers["ETag"], again.headers["Cache-Control"]) == (etag, "no-cache")
    other = fleet.get("/fleet/fleet.json", If_None_Match='"an-older-bundle"')
    assert (other.status_code, other.content) == (200, content)


def test_a_changed_file_gets_a_new_etag_and_is_served_again(fleet):
    fleet.put(f"shops/{DEMO_STORE_ID}.json", signed(3, "shop"))
    old = fleet.get(f"/fleet/shops/{DEMO_STORE_ID}.json").headers["ETag"]
    fleet.put(f"shops/{DEMO_STORE_ID}.json", signed(4, "shop"))  # while the server runs
    changed = fleet.get(f"/fleet/shops/{DEMO_STORE_ID}.json", If_None_Match=old)
    assert changed.status_code == 200, changed.text
    assert changed.content == signed(4, "shop")
    assert changed.headers["ETag"] == strong_etag(signed(4, "shop")) != old
    assert fleet.get(f"/fleet/shops/{DEMO_STORE_ID}.json", If_None_Match=changed.headers["ETag"]).status_code == 304
    fleet.put(f"kiosks/{DEMO_KIOSK_ID}.json", signed(1, "kiosk"))
    kiosk = fleet.get(f"/fleet/kiosks/{DEMO_KIOSK_ID}.json")
    assert (kiosk.status_code, kiosk.content) == (200, signed(1, "kiosk"))


def test_a_level_without_a_bundle_is_a_404(fleet):
    assert not fleet.folder.exists()
    for path in ("/fleet/fleet.json", f"/fleet/shops/{DEMO_STORE_ID}.json", f"/fleet/kiosks/{DEMO_KIOSK_ID}.json"):
        assert_error(fleet.get(path), 404, "not_found")
    fleet.put(f"shops/{AWAY}.json", signed(1, "shop"))
    fleet.put("fleet.json", signed(2))
    assert fleet.get("/fleet/fleet.json").status_code == 200
    assert fleet.get(f"/fleet/shops/{AWAY}.json").status_code == 200
    assert_error(fleet.get(f"/fleet/shops/{DEMO_STORE_ID}.json"), 404, "not_found")
    assert_error(fleet.get(f"/fleet/kiosks/{DEMO_KIOSK_ID}.json", If_None_Match="*"), 404, "not_found")
    (fleet.folder / "kiosks" / f"{DEMO_KIOSK_ID}.json").mkdir(parents=True)  # not a file: no bundle
    assert_error(fleet.get(f"/fleet/kiosks/{DEMO_KIOSK_ID}.json"), 404, "not_found")
    (fleet.folder / "fleet.json").unlink()
    assert_error(fleet.get("/fleet/fleet.json"), 404, "not_found")


@pytest.mark.parametrize("raw_path", [
    "/fleet/shops/../secret.json",
    "/fleet/shops/../../secret.json",
    "/fleet/shops/..%2Fsecret.json",
    "/fleet/shops/..%2f..%2fsecret.json",
    "/fleet/kiosks/%2e%2e%2f%2e%2e%2fsecret.json",
    "/fleet/shops/%2e%2e.json",
    "/fleet/shops/.hidden.json",
    "/fleet/kiosks/..%5csecret.json",
    "/fleet/kiosks/a%00b.json",
    "/fleet/shops/%2Ftmp%2Fsecret.json",
    "/fleet/../secret.json",
    "/fleet/secret.json",
    "/fleet/shops/..%2F..%2Fcentral.sqlite",
])
def test_names_that_would_leave_the_folder_are_refused(fleet, raw_path):
    fleet.put("fleet.json", signed(1))
    fleet.put("secret.json", SECRET)             # in the folder, but not a bundle's place
    fleet.put("shops/.hidden.json", SECRET)      # a hidden file
    (fleet.folder.parent / "secret.json").write_bytes(SECRET)  # beside the folder
    status, body = fleet.raw_get(raw_path)
    assert status in (400, 404, 422), (status, body)
    assert b"never served" not in body and b"SQLite" not in body


@pytest.mark.parametrize("ident", ["..", ".", ".hidden", "a/b", "../x", "a\\b", "", "a" * 65, "a\x00b", "é"])
def test_only_plain_ids_name_a_bundle_file(tmp_path, ident):
    with pytest.raises(ValueError):
        bundle_path(tmp_path, "shop", ident)
    assert bundle_path(tmp_path, "kiosk", "demo-kiosk-01:2.b_c") == tmp_path / "kiosks" / "demo-kiosk-01:2.b_c.json"


# --- reports ---------------------------------------------------------------------------------------


def report(kiosk_id: str = DEMO_KIOSK_ID, store_id: str = DEMO_STORE_ID, **changes) -> FleetReport:
    fields = dict(
        kiosk_id=kiosk_id, store_id=store_id, app_version="0.9.0", reported_at=TUESDAY_MORNING,
        applied=[AppliedBundle(level="fleet", version=12, key_id="fleet-2025"),
                 AppliedBundle(level="shop", version=3, key_id="fleet-2025")],
        health=KioskHealth(app_up=True, central_api_ok=True, reader_present=True),
        journal_depth=0, pending_adjustments=0, catalog_age_s=240,
    )
    return FleetReport(**(fields | changes))


def test_a_report_is_stored_and_replaced_by_the_next_one(fleet):
    answer = fleet.report(report())
    assert answer.status_code == 202, answer.text
    assert FleetReportReceipt.model_validate_json(answer.content).received_at == fleet.clock.now
    first_seen = fleet.clock.now
    mine = next(k for k in fleet.overview().kiosks if k.kiosk_id == DEMO_KIOSK_ID)
    assert (mine.versions.fleet, mine.versions.shop, mine.versions.kiosk) == (12, 3, None)
    assert (mine.app_version, mine.last_seen, mine.reported_at) == ("0.9.0", first_seen, TUESDAY_MORNING)
    assert mine.health.reader_present is True and not mine.rejected and not mine.pending

    fleet.clock.advance(minutes=5)
    later = report(app_version="0.9.1", reported_at=TUESDAY_MORNING + timedelta(minutes=5),
                   applied=[AppliedBundle(level="fleet", version=13, key_id="fleet-2026")],
                   pending=[PendingBundle(level="shop", version=4, reason="payment_in_progress")],
                   rejected=[RejectedBundle(level="kiosk", version=2, reason="bad_signature",
                                            message="the signature does not match the bundle")],
                   rolled_back_from=BundleRef(level="shop", version=3),
                   health=KioskHealth(app_up=True, central_api_ok=False, reader_present=None),
                   journal_depth=2, pending_adjustments=1, catalog_age_s=None)
    assert fleet.report(later).status_code == 202
    mine = next(k for k in fleet.overview().kiosks if k.kiosk_id == DEMO_KIOSK_ID)
    assert (mine.versions.fleet, mine.versions.shop, mine.versions.kiosk) == (13, None, None)
    assert [(a.level, a.version, a.key_id) for a in mine.applied] == [("fleet", 13, "fleet-2026")]
    assert mine.app_version == "0.9.1" and mine.last_seen == first_seen + timedelta(minutes=5)
    assert [(p.level, p.version, p.reason) for p in mine.pending] == [("shop", 4, "payment_in_progress")]
    assert [(r.level, r.version, r.reason) for r in mine.rejected] == [("kiosk", 2, "bad_signature")]
    assert (mine.rolled_back_from.level, mine.rolled_back_from.version) == ("shop", 3)
    assert (mine.health.central_api_ok, mine.health.reader_present) == (False, None)
    assert (mine.journal_depth, mine.pending_adjustments, mine.catalog_age_s) == (2, 1, None)
    with sqlite3.connect(fleet.server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM fleet_reports").fetchone()[0] == 1, "the latest only"


def test_a_report_for_another_kiosk_or_without_a_token_is_refused(fleet):
    assert_error(fleet.report(report(kiosk_id=AWAY_KIOSK, store_id=AWAY)), 403, "kiosk_mismatch")
    assert_error(fleet.report(report(), token=AWAY_TOKEN), 403, "kiosk_mismatch")
    no_token = httpx.post(f"{fleet.server.base_url}/v1/fleet/report", content=report().model_dump_json(),
                          headers={"Content-Type": "application/json"})
    assert_error(no_token, 401, "unauthorized")
    assert_error(httpx.get(f"{fleet.server.base_url}/v1/fleet/kiosks"), 401, "unauthorized")
    with sqlite3.connect(fleet.server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM fleet_reports").fetchone()[0] == 0


@pytest.mark.parametrize("change", [
    {"applied": [{"level": "fleet", "version": 1, "key_id": "k"}, {"level": "fleet", "version": 2, "key_id": "k"}]},
    {"rejected": [{"level": "kiosk", "version": 1, "reason": "it looked odd", "message": ""}]},
    {"pending": [{"level": "shop", "version": 1, "reason": "waiting_for_idle", "extra": True}]},
    {"reported_at": "2025-05-13T10:00:00"},  # no time zone
    {"journal_depth": -1},
])
def test_a_malformed_report_is_a_422(fleet, change):
    body = report().model_dump(mode="json") | change
    response = fleet.http.post("/v1/fleet/report", json=body)
    assert_error(response, 422, "validation_error")


def test_the_overview_lists_every_known_kiosk_also_those_that_never_reported(fleet):
    overview = fleet.overview()
    assert overview.as_of == fleet.clock.now
    assert [(k.kiosk_id, k.store_id, k.last_seen) for k in overview.kiosks] == [
        (AWAY_KIOSK, AWAY, None), (DEMO_KIOSK_ID, DEMO_STORE_ID, None)]
    assert overview.kiosks[0].health is None and overview.kiosks[0].versions.fleet is None
    # A pillar configured for the wrong shop still reports, and the overview says so.
    assert fleet.report(report(AWAY_KIOSK, DEMO_STORE_ID), token=AWAY_TOKEN).status_code == 202
    away = fleet.overview().kiosks[0]
    assert (away.kiosk_id, away.store_id, away.reported_store_id) == (AWAY_KIOSK, AWAY, DEMO_STORE_ID)
    assert fleet.report(report()).status_code == 202
    assert fleet.overview().kiosks[1].reported_store_id is None


# --- kiosk fleet status ----------------------------------------------------------------------------


def status(fleet, *extra: str, token: str = DEMO_KIOSK_TOKEN) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="kiosk fleet")
    add_status_command(parser.add_subparsers(dest="fleet_command", required=True))
    args = parser.parse_args(["status", "--url", fleet.server.base_url, "--token", token, *extra])
    assert args.fleet_handler is cmd_status
    out, err = io.StringIO(), io.StringIO()
    code = cmd_status(args, out, err)
    return code, out.getvalue(), err.getvalue()


def test_kiosk_fleet_status_prints_kiosks_versions_health_and_last_seen(fleet):
    assert fleet.report(report()).status_code == 202
    fleet.clock.advance(minutes=3, seconds=20)
    assert fleet.report(report(AWAY_KIOSK, AWAY, applied=[AppliedBundle(level="kiosk", version=2, key_id="k1")],
                               rejected=[RejectedBundle(level="shop", version=None, reason="not_json")],
                               health=KioskHealth(app_up=True, central_api_ok=False, reader_present=False)),
                        token=AWAY_TOKEN).status_code == 202
    fleet.clock.advance(seconds=30)
    code, out, err = status(fleet)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["KIOSK", "SHOP", "FLEET/SHOP/KIOSK", "APP", "HEALTH", "LAST", "SEEN"]
    assert lines[1].split() == [AWAY_KIOSK, AWAY, "-/-/2", "0.9.0", "api", "down,", "no", "reader", "just", "now"]
    assert lines[2].split() == [DEMO_KIOSK_ID, DEMO_STORE_ID, "12/3/-", "0.9.0", "ok", "3", "min", "ago"]
    assert f"{AWAY_KIOSK}: rejected shop: not_json" in lines
    assert "keys in use: fleet-2025 (1 kiosk), k1 (1 kiosk)" in lines
    assert lines[-1].startswith("2 kiosk(s), 2 reported; as of 2025-05-13T10:03:50+02:00")

    fleet.clock.advance(hours=5)
    code, out, _ = status(fleet, "--json")
    assert code == 0
    overview = FleetOverview.model_validate_json(out)
    assert [k.versions.fleet for k in overview.kiosks] == [None, 12]


def test_kiosk_fleet_status_says_why_when_it_cannot_list(fleet):
    code, out, err = status(fleet, token="not-a-token")
    assert (code, out) == (1, "")
    assert "answered 401 (unauthorized" in err
    fleet.server.stop()
    code, out, err = status(fleet)
    assert (code, out) == (1, "")
    assert err.startswith("kiosk fleet status: cannot reach ")
