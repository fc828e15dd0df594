"""Staff on the pillar, in the real app against the real reference server (issue 8, point 1): the
hidden corner press closes the shopper's session and asks for a PIN; a wrong PIN says how many tries
are left; five lock PIN entry (a badge still works); the staff session ends on "log out" and after
idle; every step is in the audit log; the PIN never shows on screen."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

from kiosk.config import StaffSection
from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver
from kiosk.staff.pins import hash_pin
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui

SANNE_PIN, MEHMET_PIN = "1234", "4321"
SANNE_BADGE = "04A1B2C3D4E5F6"


def staff_section(**changes) -> StaffSection:
    return StaffSection.model_validate({
        "members": [
            {"id": "s-utr-1", "name": "Sanne de Vries", "role": "staff", "pin_hash": hash_pin(SANNE_PIN),
             "badge_uids": [SANNE_BADGE]},
            {"id": "s-utr-2", "name": "Mehmet Yilmaz", "role": "manager", "pin_hash": hash_pin(MEHMET_PIN)},
        ],
        "corner_hold_s": 1.5,
        **changes,
    })


@contextlib.asynccontextmanager
async def staff_kiosk(central_server, tmp_path, **staff):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    settings = settings.model_copy(update={"staff": staff_section(**staff)})
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        await driver.wait_for_screen("attract")
        yield app, driver


async def hold_corner(driver: UiDriver, seconds: float) -> None:
    # The release follows the sleep at once: frames drawn in between could stretch a short press
    # past the hold time on a busy machine.
    touch = UnitTestTouch(20, Window.height - 20)
    touch.touch_down()
    await asyncio.sleep(seconds)
    touch.touch_up()
    await driver.frames(2)


async def type_pin(driver: UiDriver, pin: str) -> None:
    login = driver.screen("staff_login")
    for digit in pin + "\n":
        await driver.tap(login.ids.keypad.keys[digit])
    await driver.wait_until(lambda: not login.checking, "the PIN to be checked")
    await driver.frames(2)


async def test_corner_press_then_pin_closes_the_shopper_session_and_logs_in(central_server, needs_display, tmp_path):
    async with staff_kiosk(central_server, tmp_path) as (app, driver):
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        app.start_shopping()
        await driver.wait_for_screen("categories")
        await hold_corner(driver, 0.2)  # a short press in the corner is nothing
        assert app.root.current == "categories"
        product = app.services.catalog.search("fiets", limit=1).items[0]
        app.open_product(product.id)
        await driver.wait_for_screen("article")
        await driver.tap(driver.screen("article").ids.add_button)
        assert app.cart_count == 1
        # On the article screen the corner holds the back button: held, it is the way in, not "back".
        await hold_corner(driver, 2.0)
        await driver.wait_for_screen("staff_login")
        assert app.services.cart.is_empty() and app.cart_count == 0, "the shopper's cart is closed first"
        login = driver.screen("staff_login")
        # Wrong PIN: told how many tries are left; the PIN itself is never on screen.
        await type_pin(driver, "9999")
        assert app.root.current == "staff_login" and login.attempts_left == 4
        assert "4" in login.ids.message.text and "9999" not in login.ids.dots.text
        for digit in SANNE_PIN[:3]:
            await driver.tap(login.ids.keypad.keys[digit])
        assert login.ids.dots.text == "●●●"
        await driver.tap(login.ids.keypad.keys[SANNE_PIN[3]])
        await driver.tap(login.ids.keypad.keys["\n"])
        await driver.wait_for_screen("staff_home")
        assert app.staff_session.staff.id == "s-utr-1"
        home = driver.screen("staff_home")
        assert "Sanne de Vries" in home.ids.page_title.text
        await driver.wait_until(lambda: home.to_pick >= 0 or home.pick_list_unreachable, "the pick list counts")
        assert not home.pick_list_unreachable and "te pakken" in home.ids.picks_line.text
        await driver.screenshot("staff-home")
        # Log out: the pillar is the shopper's again.
        await driver.tap(home.ids.staff_bar.ids.logout_button)
        await driver.wait_for_screen("attract")
        assert app.staff_session is None and app.services.staff_gate.session is None
        await driver.wait_until(lambda: any(r.event == "logout" for r in app.services.staff_store.audit()), "the audit")
        events = [r.event for r in app.services.staff_store.audit()]  # oldest first
        assert events[-3:] == ["pin_wrong", "login", "logout"]
        assert all(SANNE_PIN not in r.model_dump_json() and "9999" not in r.model_dump_json()
                   for r in app.services.staff_store.audit())


async def test_five_wrong_pins_lock_the_keypad_and_a_badge_still_works(central_server, needs_display, tmp_path):
    async with staff_kiosk(central_server, tmp_path) as (app, driver):
        await hold_corner(driver, 2.0)
        await driver.wait_for_screen("staff_login")
        login = driver.screen("staff_login")
        for attempt in range(5):
            await type_pin(driver, "000" + str(attempt))
        assert login.locked_s > 200 and login.ids.keypad.disabled
        assert "opnieuw" in login.ids.message.text
        # The right PIN is not even checked while locked.
        login.key("1")
        assert login.ids.dots.text == ""
        assert app.services.staff_gate.login_with_pin(SANNE_PIN).__class__.__name__ == "LockedOut"
        await driver.screenshot("staff-locked")
        # A badge is no guess: it logs in during the lockout.
        app.badge_presented(SANNE_BADGE)
        await driver.wait_for_screen("staff_home")
        assert app.staff_session.method == "badge"


async def test_an_unknown_badge_says_so_and_the_staff_session_ends_after_idle(central_server, needs_display, tmp_path):
    async with staff_kiosk(central_server, tmp_path, idle_s=10) as (app, driver):
        app.badge_presented("DEADBEEF")
        await driver.wait_for_screen("staff_login")
        assert driver.screen("staff_login").message_key == "staff.login.unknown_badge"
        app.badge_presented(SANNE_BADGE)
        await driver.wait_for_screen("staff_home")
        await driver.tap(driver.screen("staff_home").ids.restock_button)
        await driver.wait_for_screen("staff_restock")
        # Touches keep it going; then ten seconds of nothing end it, back to the attract screen.
        app.services.staff_gate.idle_s = 10
        await driver.wait_for_screen("attract", timeout_s=20)
        assert app.staff_session is None
        await driver.wait_until(lambda: any(r.event == "logout" for r in app.services.staff_store.audit()),
                                "the logout in the audit log")
        assert [r.detail for r in app.services.staff_store.audit() if r.event == "logout"][0] == "idle"
