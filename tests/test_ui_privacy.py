"""Nothing of a shopper or a PIN stays on the pillar (issue 10, point 4), in the real app and window:
a shopper pays with a card and has the order delivered (typed address and email), a staff member
types a wrong PIN and then the right one; every logger writes at DEBUG into a file. Once the order is
acknowledged, every file the pillar wrote (log, journal and its previous generation, staff and fleet
stores, catalog copy, pictures) is searched for the card number, both PINs, the email and the address.
The central server's database, which must hold the address to deliver, is searched as well: the
scanner's own proof that it finds them where they are."""

from __future__ import annotations

import logging

import pytest

from kiosk.config import StaffMemberConfig, StaffSection
from kiosk.hardware import open_terminal
from kiosk.leaks import scan
from kiosk.screens.autopilot import UiDriver, play_journey
from kiosk.staff.pins import hash_pin
from support.logs import debug_log  # noqa: F401 (fixture)
from support.soak import SHOPPER_DATA, TEST_PANS
from support.ui import kiosk_settings, running_app
from test_ui_staff import type_pin

pytestmark = pytest.mark.ui

PIN, WRONG_PIN = "918273", "827364"  # distinctive: a common "1234" would be found in any catalog
PINS = {"pin": [PIN, WRONG_PIN]}


async def test_no_card_number_pin_or_personal_data_in_any_file_the_pillar_wrote(central_server, needs_display,
                                                                                tmp_path, debug_log):  # noqa: F811
    data_dir = tmp_path / "pillar"
    settings = kiosk_settings(central_server.base_url, data_dir, terminal="simulated", simulated_delay_s=0.2)
    settings = settings.model_copy(update={"staff": StaffSection(members=[
        StaffMemberConfig(id="s-utr-1", name="Sanne de Vries", pin_hash=hash_pin(PIN))])})
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=0.2)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        receipt = await play_journey(driver, way="delivery")
        await driver.wait_until(lambda: app.services.journal.get(receipt.order_id).order_number is not None,
                                "the order to be acknowledged", 60)
        app.start_over()
        app.open_staff_login()
        await driver.wait_for_screen("staff_login")
        await type_pin(driver, WRONG_PIN)
        await type_pin(driver, PIN)
        await driver.wait_for_screen("staff_home")
        app.staff_logout()
        await driver.wait_for_screen("attract")
    for handler in logging.getLogger().handlers:
        handler.flush()

    assert debug_log.stat().st_size > 10_000, "the run logged at DEBUG"
    assert (data_dir / "journal" / "journal.json").is_file() and (data_dir / "journal" / "staff.json").is_file()
    leaks = scan([data_dir, debug_log], pans=TEST_PANS, secrets={**SHOPPER_DATA, **PINS})
    assert [str(leak) for leak in leaks] == []
    # The scanner finds them where they must be: the order to deliver, at the central server.
    central = scan([central_server.db_path.parent], secrets={"email": SHOPPER_DATA["email"]})
    assert {leak.kind for leak in central} == {"email"}
