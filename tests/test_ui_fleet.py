"""Fleet bundles in the running app and window: a bundle arriving during a payment waits for it (and
for the shopper) and is applied on the attract screen once nobody is there, shown at once; a bundle
that needs a restart restarts the app at that idle moment. The reference server serves the bundle
files and takes the reports; the app's own loops poll, apply and report."""

from __future__ import annotations

import httpx
import pytest

from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN
from kiosk.contract import FleetOverview
from kiosk.diagnostics.actions import RESTART_EXIT_CODE
from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver
from kiosk.screens.fleet_mode import QUIET_S
from support.fleet import Site, signed
from support.ui import running_app
from test_pay_ui_cancel import open_pay_screen, settings_for

pytestmark = pytest.mark.ui

FLEET_NAME = "ANWB Utrecht Centrum · Fleet"


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path / "central", seed_articles=300)
    yield site
    site.server.stop()


def kiosk_report(site: Site):
    answer = httpx.get(site.server.base_url + "/v1/fleet/kiosks", headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"})
    return next(k for k in FleetOverview.model_validate(answer.json()).kiosks if k.kiosk_id == DEMO_KIOSK_ID)


def fleet_settings(site: Site, tmp_path):
    # No card ever taps (delay None): the payment waits for one until the shopper cancels.
    settings = settings_for(site.server.base_url, tmp_path)
    fleet = settings.fleet.model_copy(update={"url": site.fleet_url, "poll_interval_s": 3600})
    return settings.model_copy(update={"fleet": fleet})


async def test_a_bundle_waits_for_the_payment_and_the_shopper_then_applies_on_the_idle_attract_screen(
        site, needs_display, tmp_path):
    settings = fleet_settings(site, tmp_path)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=None)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        fleet = app.services.fleet
        pay = await open_pay_screen(app, driver)
        await driver.wait_until(lambda: pay.state == "waiting_for_card", "the card prompt")

        site.put("fleet.json", signed(1, settings={"kiosk": {"store_name": FLEET_NAME, "receipt_text": "Bedankt!"},
                                                  "session": {"idle_s": 100}}))
        assert await fleet.poll()
        assert fleet.has_pending
        await driver.wait_until(lambda: fleet.pending_reason == "payment_in_progress", "the bundle to wait", 10)
        await driver.wait_until(lambda: any(p.reason == "payment_in_progress" for p in kiosk_report(site).pending),
                                "the report of the waiting bundle", 15)
        assert app.settings.kiosk.store_name != FLEET_NAME and app.session.idle_s == 90

        await driver.tap(pay.ids.cancel_button)  # the shopper gives up ...
        await driver.wait_until(lambda: not app._paying(), "the payment to end", 30)
        await driver.wait_until(lambda: fleet.pending_reason == "waiting_for_idle", "the shopper's turn", 5)
        assert fleet.has_pending  # ... but is still there

        app.start_over()  # ... and walks away: back on the attract screen, nobody touching it
        await driver.wait_until(lambda: not fleet.has_pending, "the apply", QUIET_S + 10)
        await driver.frames(3)
        assert app.settings.kiosk.store_name == FLEET_NAME and app.session.idle_s == 100
        assert any(getattr(w, "text", None) == FLEET_NAME for w in app.screen("attract").walk()), \
            "the attract screen shows the new name at once"
        assert app.screen("receipt").ids.receipt_text.text == "Bedankt!"
        await driver.wait_until(lambda: kiosk_report(site).versions.fleet == 1, "the report of the apply", 15)
        await driver.screenshot("fleet-applied")


async def test_a_bundle_needing_a_restart_restarts_the_app_when_idle(site, needs_display, tmp_path):
    settings = fleet_settings(site, tmp_path)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=None)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        site.put("fleet.json", signed(1, settings={"payment": {"card_timeout_s": 45}}))
        assert await app.services.fleet.poll()
        await driver.wait_until(lambda: app.services.diagnostics.restart_requested, "the restart", QUIET_S + 10)
        assert "payment.card_timeout_s" in app.services.diagnostics.restart_reason
        assert app.services.diagnostics.exit_code == RESTART_EXIT_CODE  # kiosk.launch.run re-executes on it
        assert app.services.settings.payment.card_timeout_s == 60  # the new value is for the new process
