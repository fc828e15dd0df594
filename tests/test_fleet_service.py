"""A pillar's fleet configuration at work (kiosk/fleet/service.py), end to end without a window: the
reference server on loopback serves the bundle files and takes the reports, the pillar's services are
the real ones (simulated card terminal), its state file is on disk and survives a "restart" (a new
KioskServices on the same folder).

Every rejection reason, a replay, the wait for an idle moment, keys that need a restart, the health
check with its roll-back, a start after which the app never came up, staged rollout over 50 pillars.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN, DEMO_STORE_ID
from kiosk.api import CentralApi
from kiosk.config import parse_settings
from kiosk.contract import FleetOverview, KioskHealth
from kiosk.fleet.bundle import MAX_BUNDLE_BYTES
from kiosk.fleet.fetch import FleetFetcher
from kiosk.fleet.rollout import bucket
from kiosk.fleet.service import MAX_TRIAL_BOOTS, FleetService
from kiosk.fleet.state import FleetStateStore
from kiosk.hardware import open_terminal
from kiosk.services import KioskServices
from support.fleet import TRUSTED, Site, signed
from support.orders import MovableClock
from support.ui import kiosk_settings

OTHER_SHOP = "amersfoort-centrum"


def idle():
    return None


class Pillar:
    """One pillar's services on a data folder; `restart()` builds them again on the same folder."""

    def __init__(self, site: Site, data_dir, **fleet: object) -> None:
        self.site, self.data_dir = site, data_dir
        base = kiosk_settings(site.server.base_url, data_dir)
        data = base.model_dump(mode="json", exclude={"source"})
        data["api"]["token"] = DEMO_KIOSK_TOKEN
        data["fleet"] = {"url": site.fleet_url, "health_grace_s": 60, "health_failures": 2, **fleet}
        self.settings = parse_settings(data)
        self.clock = MovableClock(datetime(2025, 5, 13, 9, 0, tzinfo=UTC))
        self.services: KioskServices | None = None
        self.terminal = None
        self.start()

    def start(self) -> None:
        api = CentralApi(self.settings.api.base_url, DEMO_KIOSK_TOKEN, retries=0, read_timeout=3.0)
        self.terminal = open_terminal("simulated", reader=None, public_key_path=self.settings.payment_public_key_path)
        self.services = KioskServices(self.settings, api, self.terminal)
        self.fleet.clock = self.clock

    async def restart(self) -> None:
        await self.services.aclose()
        self.start()

    @property
    def fleet(self) -> FleetService:
        return self.services.fleet

    async def poll_and_apply(self, busy=idle):
        assert await self.fleet.poll()
        return await self.fleet.apply_pending(busy)

    def take(self, change) -> None:
        """What the app does with a change that needs no restart."""
        assert change is not None and not change.restart
        self.services.use_fleet_settings(change.settings, change.locked)


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path / "central")
    yield site
    site.server.stop()


@pytest.fixture
async def pillar(site, tmp_path):
    pillar = Pillar(site, tmp_path / "pillar")
    yield pillar
    await pillar.services.aclose()


def overview(site: Site) -> FleetOverview:
    answer = httpx.get(site.server.base_url + "/v1/fleet/kiosks", headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"})
    answer.raise_for_status()
    return FleetOverview.model_validate(answer.json())


def reported(site: Site, kiosk_id: str = DEMO_KIOSK_ID):
    return next(k for k in overview(site).kiosks if k.kiosk_id == kiosk_id)


async def pass_trial(pillar: Pillar) -> None:
    """Healthy through the grace period: the trial ends."""
    pillar.clock.advance(seconds=pillar.fleet.running.fleet.health_grace_s + 1)
    assert await pillar.fleet.check_trial() is None
    assert pillar.fleet.state.trial is None


# --- the happy path ---------------------------------------------------------------------------------

async def test_fleet_and_shop_bundles_applied_when_idle_locked_keys_and_reported(site, pillar):
    site.put("fleet.json", signed(1, settings={"session": {"idle_s": 120}, "display": {"theme": "high_contrast"}},
                                  locked=["display.theme"]))
    site.put(f"shops/{DEMO_STORE_ID}.json", signed(4, "shop", (DEMO_STORE_ID,),
                                                   settings={"kiosk": {"receipt_text": "Tot ziens in Utrecht!"}}))
    assert pillar.services.settings.session.idle_s == 90

    change = await pillar.poll_and_apply()
    pillar.take(change)
    settings = pillar.services.settings
    assert (settings.session.idle_s, settings.display.theme, settings.kiosk.receipt_text) == (
        120, "high_contrast", "Tot ziens in Utrecht!")
    assert pillar.services.settings_editor.locked == {"display.theme"}
    assert pillar.services.base_settings.display.theme == "high_contrast"
    assert pillar.fleet.state.trial is not None  # under watch until the grace period has passed
    config = await pillar.services.diagnostics.check_config()  # what staff read on the diagnostics screen
    assert (config.summary_key, config.params["version"], config.params["fleet_source"]) == (
        "diag.config.fleet", "1/4/-", site.fleet_url)

    assert await pillar.fleet.report()
    seen = reported(site)
    assert (seen.versions.fleet, seen.versions.shop, seen.versions.kiosk) == (1, 4, None)
    assert {a.key_id for a in seen.applied} == set(TRUSTED.ids)
    assert seen.health.central_api_ok and seen.rejected == [] and seen.pending == []

    # The health check passes through the grace period: the trial ends, this is the last good configuration.
    assert await pillar.fleet.check_trial() is None
    pillar.clock.advance(seconds=61)
    assert await pillar.fleet.check_trial() is None
    assert pillar.fleet.state.trial is None

    # A new start runs the same settings straight from the state file, before any poll.
    await pillar.restart()
    assert pillar.services.settings.session.idle_s == 120
    assert pillar.services.settings.kiosk.receipt_text == "Tot ziens in Utrecht!"
    assert pillar.services.settings_editor.locked == {"display.theme"}


async def test_a_staff_override_stays_on_top_unless_the_fleet_locks_the_key(site, pillar):
    from kiosk.staff.auth import StaffSession
    from kiosk.staff.directory import StaffMember

    staff = StaffSession(StaffMember(id="s-1", name="Sanne", role="manager"), "pin", idle_s=120)
    editor = pillar.services.settings_editor
    editor.change(pillar.services.base_settings, "session.idle_s", "45", staff)
    editor.change(pillar.services.base_settings, "display.promotion_s", "9", staff)

    site.put("fleet.json", signed(1, settings={"session": {"idle_s": 120}, "display": {"promotion_s": 12}},
                                  locked=["display.promotion_s"]))
    pillar.take(await pillar.poll_and_apply())
    assert pillar.services.settings.session.idle_s == 45        # staff's value still wins here
    assert pillar.services.settings.display.promotion_s == 12   # locked: the fleet's value, override skipped


async def test_a_bundle_waits_while_the_pillar_is_busy_and_the_report_says_why(site, pillar):
    site.put("fleet.json", signed(1))
    assert await pillar.poll_and_apply(busy=lambda: "payment_in_progress") is None
    assert pillar.services.settings.session.idle_s == 90
    await pillar.fleet.report()
    seen = reported(site)
    assert [(p.level, p.version, p.reason) for p in seen.pending] == [("fleet", 1, "payment_in_progress")]
    assert seen.versions.fleet is None

    assert await pillar.fleet.apply_pending(lambda: "waiting_for_idle") is None
    assert pillar.fleet.build_report().pending[0].reason == "waiting_for_idle"

    # Kept through a restart, though the server now answers 304 for it.
    await pillar.restart()
    assert pillar.fleet.has_pending
    pillar.take(await pillar.poll_and_apply())
    assert pillar.services.settings.session.idle_s == 120


async def test_keys_that_need_a_restart_take_effect_at_the_next_start(site, pillar):
    site.put("fleet.json", signed(1, settings={"payment": {"card_timeout_s": 45}, "session": {"idle_s": 100}}))
    change = await pillar.poll_and_apply()
    assert change.restart == ["payment.card_timeout_s"]
    assert pillar.services.settings.payment.card_timeout_s == 60  # the running app keeps its settings ...
    assert [(p.level, p.reason) for p in pillar.fleet.build_report().pending] == [("fleet", "restart_pending")]

    await pillar.restart()                                         # ... until the restart
    assert pillar.services.settings.payment.card_timeout_s == 45
    assert pillar.services.payments._card_timeout_s == 45  # built from the new settings
    trial = pillar.fleet.state.trial
    assert trial is not None and trial.boots == 1                  # and the health trial starts now
    assert pillar.fleet.build_report().pending == []


# --- rejections ----------------------------------------------------------------------------------------

def tampered(raw: bytes) -> bytes:
    document = json.loads(raw)
    document["bundle"]["settings"]["session"]["idle_s"] = 3600
    return json.dumps(document).encode()


REJECTIONS = {
    "bad_signature": lambda: tampered(signed(1)),
    "unknown_key": lambda: signed(1, key=Ed25519PrivateKey.generate()),
    "wrong_scope": lambda: signed(1, "shop", (OTHER_SHOP,)),
    "not_json": lambda: b'{"bundle": ',
    "oversized": lambda: b" " * (MAX_BUNDLE_BYTES + 1) + signed(1),
}


@pytest.mark.parametrize("reason", [*REJECTIONS, "schema", "fleet_at_shop_path"])
async def test_every_refused_bundle_keeps_the_last_good_settings_and_is_reported(site, pillar, reason):
    site.put("fleet.json", signed(1, settings={"session": {"idle_s": 100}}))
    pillar.take(await pillar.poll_and_apply())

    if reason == "schema":
        # JSON, but not a bundle: the message names the fields.
        site.put(f"shops/{DEMO_STORE_ID}.json", b'{"bundle": {"schema_version": 1}, "key_id": "x", "signature": "y"}')
        expected, level = "schema", "shop"
    elif reason == "fleet_at_shop_path":
        site.put(f"shops/{DEMO_STORE_ID}.json", signed(2))  # a fleet bundle where the shop's file belongs
        expected, level = "wrong_scope", "shop"
    elif reason == "wrong_scope":
        site.put(f"shops/{DEMO_STORE_ID}.json", REJECTIONS[reason]())
        expected, level = reason, "shop"
    else:
        site.put("fleet.json", REJECTIONS[reason]())
        expected, level = reason, "fleet"

    assert await pillar.poll_and_apply() is None
    assert pillar.services.settings.session.idle_s == 100  # the last good settings
    await pillar.fleet.report()
    seen = reported(site)
    refused = {r.level: r for r in seen.rejected}
    assert refused[level].reason == expected, refused
    assert refused[level].message
    assert seen.versions.fleet == 1


async def test_a_replayed_old_bundle_is_refused_and_the_same_one_again_is_not_news(site, pillar):
    first, second = signed(1, settings={"session": {"idle_s": 100}}), signed(2, settings={"session": {"idle_s": 110}})
    site.put("fleet.json", first)
    pillar.take(await pillar.poll_and_apply())
    site.put("fleet.json", second)
    assert await pillar.poll_and_apply() is None  # one change at a time: version 1 is still on trial
    await pass_trial(pillar)
    pillar.take(await pillar.fleet.apply_pending(idle))
    assert pillar.services.settings.session.idle_s == 110

    # The same file again without an ETag match (a host that lost it): nothing to report.
    pillar.fleet.fetcher.forget()
    assert await pillar.poll_and_apply() is None
    assert pillar.fleet.build_report().rejected == []

    # The older, validly signed bundle served again: a replay, refused, reported.
    site.put("fleet.json", first)
    assert await pillar.poll_and_apply() is None
    assert pillar.services.settings.session.idle_s == 110
    rejected = pillar.fleet.build_report().rejected
    assert [(r.level, r.version, r.reason) for r in rejected] == [("fleet", 1, "replay")]

    # A newer good bundle clears the refusal.
    site.put("fleet.json", signed(3, settings={"session": {"idle_s": 130}}))
    await pass_trial(pillar)
    pillar.take(await pillar.poll_and_apply())
    assert pillar.fleet.build_report().rejected == []


async def test_a_key_no_longer_trusted_drops_its_bundle_at_the_next_start(site, pillar, tmp_path):
    site.put("fleet.json", signed(1, settings={"session": {"idle_s": 100}}))
    pillar.take(await pillar.poll_and_apply())
    keys = tmp_path / "new-keys"
    keys.mkdir()
    pillar.settings = pillar.settings.model_copy(update={"fleet": pillar.settings.fleet.model_copy(update={"keys": keys})})
    await pillar.restart()
    assert pillar.services.settings.session.idle_s == 90
    assert [(r.reason, r.version) for r in pillar.fleet.build_report().rejected] == [("unknown_key", 1)]


# --- health and roll-back --------------------------------------------------------------------------

async def test_a_reader_gone_after_an_apply_rolls_back_and_the_bundle_never_comes_back(site, pillar):
    site.put("fleet.json", signed(1, settings={"session": {"idle_s": 100}}))
    pillar.take(await pillar.poll_and_apply())
    await pass_trial(pillar)  # version 1 is the last good one

    site.put("fleet.json", signed(2, settings={"session": {"idle_s": 300}, "stock": {"nearby_shops": 5}}))
    pillar.take(await pillar.poll_and_apply())
    assert pillar.services.settings.session.idle_s == 300
    pillar.terminal.plugged_in = False  # the reader was there before the apply, and is gone after it

    assert await pillar.fleet.check_trial() is None    # one failed check is not yet a verdict
    change = await pillar.fleet.check_trial()           # health_failures = 2
    assert change is not None and change.rolled_back
    pillar.take(change)
    assert (pillar.services.settings.session.idle_s, pillar.services.settings.stock.nearby_shops) == (100, 3)

    pillar.terminal.plugged_in = True
    await pillar.fleet.report()
    seen = reported(site)
    assert seen.versions.fleet == 1
    assert (seen.rolled_back_from.level, seen.rolled_back_from.version) == ("fleet", 2)
    assert [(r.version, r.reason) for r in seen.rejected] == [(2, "health_check_failed")]
    assert "card reader" in seen.rejected[0].message

    # Served on and on, the bundle that failed is never taken again, not even after a restart.
    pillar.fleet.fetcher.forget()
    assert await pillar.poll_and_apply() is None
    await pillar.restart()
    assert pillar.services.settings.session.idle_s == 100
    assert await pillar.poll_and_apply() is None


async def test_the_central_api_going_away_after_an_apply_rolls_back(site, pillar):
    site.put("fleet.json", signed(1, settings={"session": {"idle_s": 100}}))
    pillar.take(await pillar.poll_and_apply())
    site.server.stop()  # reachable before the apply, not after: the bundle is blamed
    await pillar.fleet.check_trial()
    change = await pillar.fleet.check_trial()
    assert change is not None and change.rolled_back and change.restart == []
    pillar.take(change)
    assert pillar.services.settings.session.idle_s == 90
    report = pillar.fleet.build_report()
    assert report.applied == [] and report.rolled_back_from.version == 1
    assert "central API" in report.rejected[0].message


async def test_an_app_that_keeps_failing_to_start_after_an_apply_is_rolled_back_at_start(site, pillar):
    site.put("fleet.json", signed(1, settings={"payment": {"card_timeout_s": 45}}))
    change = await pillar.poll_and_apply()
    assert change.restart == ["payment.card_timeout_s"]
    for boot in range(1, MAX_TRIAL_BOOTS):
        await pillar.restart()  # it starts, and dies before its health check (never called here)
        assert pillar.services.settings.payment.card_timeout_s == 45, boot
    await pillar.restart()
    assert pillar.services.settings.payment.card_timeout_s == 60
    report = pillar.fleet.build_report()
    assert report.rolled_back_from.version == 1
    assert report.rejected[0].reason == "health_check_failed" and "started" in report.rejected[0].message


# --- staged rollout --------------------------------------------------------------------------------

async def test_a_rollout_at_10_percent_then_100_over_50_pillars(site, tmp_path):
    ids = [f"kiosk-{n:02d}" for n in range(50)]
    salt = "2025-05-idle"
    site.put("fleet.json", signed(1, settings={"session": {"idle_s": 100}}, rollout={"percent": 10, "salt": salt}))
    clock = MovableClock(datetime(2025, 5, 13, 9, 0, tzinfo=UTC))

    async def healthy(_with_reader: bool) -> KioskHealth:
        return KioskHealth(app_up=True, central_api_ok=True, reader_present=True)

    async with CentralApi(site.server.base_url, DEMO_KIOSK_TOKEN, retries=0) as api:
        def fleet_service(kiosk_id: str) -> FleetService:
            config = parse_settings({"kiosk": {"id": kiosk_id, "store_id": DEMO_STORE_ID}})
            service = FleetService(config, store=FleetStateStore(tmp_path / kiosk_id / "fleet.json"),
                                   trusted=TRUSTED, api=api, fetcher=FleetFetcher(api, site.fleet_url, kiosk_id,
                                                                                  DEMO_STORE_ID),
                                   health=healthy, clock=clock)
            service.boot()
            return service

        pillars = {kiosk_id: fleet_service(kiosk_id) for kiosk_id in ids}

        async def applied_versions() -> dict[str, int | None]:
            for service in pillars.values():
                await service.poll()
                if await service.apply_pending(idle) is not None:
                    clock.advance(seconds=service.running.fleet.health_grace_s)
                    await service.check_trial()  # healthy through its grace period
                    assert service.state.trial is None
            return {k: (s.state.applied["fleet"].version if "fleet" in s.state.applied else None)
                    for k, s in pillars.items()}

        first = await applied_versions()
        expected_in = {k for k in ids if bucket(k, salt) < 1000}
        assert {k for k, v in first.items() if v == 1} == expected_in
        assert 1 <= len(expected_in) <= 12  # about 5 of 50; the exact set is the hash's
        assert set(first.values()) == {1, None}
        left_out = next(s for k, s in pillars.items() if k not in expected_in)
        assert [(p.version, p.reason) for p in left_out.build_report().pending] == [(1, "not_in_rollout")]

        site.put("fleet.json", signed(2, settings={"session": {"idle_s": 100}}, rollout={"percent": 100, "salt": salt}))
        second = await applied_versions()
        assert set(second.values()) == {2}
        assert left_out.build_report().pending == []
