"""A shopper who walks away, in the real app against the real reference server: "Still there?" with a
countdown, then a full reset (asserted on state); a touch carries on; never during a payment, nor
while the receipt QR is shown for its set time; on the attract screen nothing but the language.

The idle times here are a second or two. While a test builds up a shopper's state through the UI it
holds the session itself (the same mechanism the payment uses), so a slow machine cannot reset the
app halfway through the set-up; the idle clock starts when the test lets go.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from kivy.core.window import Window
from kivy.tests.common import UnitTestTouch

from kiosk.accessibility import LOW_REACH_TOP
from kiosk.config import ConfigError, SessionSection, parse_settings
from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver, shop_until_checkout, shop_until_pay, type_address, type_text
from kiosk.session import Phase
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui

SETUP = "test-setup"


@contextlib.asynccontextmanager
async def idle_kiosk(central_server, tmp_path, *, idle_s=1.0, countdown_s=2.0, receipt_s=60.0, delay_s=0.2):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated", simulated_delay_s=delay_s)
    settings = settings.model_copy(update={"session": SessionSection(idle_s=idle_s, countdown_s=countdown_s,
                                                                     receipt_s=receipt_s)})
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=delay_s)
    async with running_app(settings, terminal) as app:
        app.session.hold(SETUP)
        yield app, UiDriver(app)  # no screenshots: they wait for pictures, and these tests keep time


def overlay_open(app) -> bool:
    return app._still_there is not None and app._still_there.is_open


async def never_asked_for(driver, app, seconds: float, what: str) -> None:
    """For `seconds`: no "Still there?" and no reset (checked every frame)."""
    start_screen = app.root.current
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert not overlay_open(app), f"'Still there?' during {what}"
        assert app.root.current == start_screen, f"left {start_screen} during {what}"
        await asyncio.sleep(1 / 30)


async def tap_at(driver, x: float, y: float) -> None:
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    await driver.frames(2)
    touch.touch_up()
    await driver.frames(2)


async def build_a_shopper(app, driver) -> dict:
    """An article in the cart, home delivery chosen with part of an address typed, a search with a facet,
    English: everything a shopper can leave behind. Returns what was entered."""
    await shop_until_checkout(driver)
    fulfil = driver.screen("fulfil")
    await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
    if not fulfil.prices_accepted:
        await driver.tap(fulfil.ids.accept_prices_button)
    delivery = fulfil.offer.delivery
    await driver.tap(fulfil.row_for(delivery.key))
    await driver.wait_until(lambda: fulfil.selected == delivery.key, "delivery chosen")
    await driver.tap(fulfil.ids.continue_button)
    await driver.wait_for_screen("address")
    address = driver.screen("address")
    await type_address(driver, address, "postcode", "3511")
    await type_address(driver, address, "email", "jan@ex")
    assert address.values["postcode"] == "3511" and address.values["email"] == "jan@ex"

    await driver.tap(address.ids.top_bar.ids.language_button)
    await driver.wait_until(lambda: app.lang == "en", "English")

    app.open_search()
    await driver.wait_for_screen("search")
    search = driver.screen("search")
    await type_text(driver, search.keyboard, "fiets")
    await driver.wait_until(lambda: not search.searching and search.finder.query == "fiets", "results")
    await driver.tap(search.keyboard.done)
    await driver.wait_until(lambda: any(row.facet == "brand" for row in search.ids.facets.children), "brand facets")
    brand_row = next(row for row in search.ids.facets.children if row.facet == "brand")
    chip = [c for c in reversed(brand_row.children[0].children) if hasattr(c, "value")][0]
    await driver.tap(chip)
    await driver.wait_until(lambda: search.finder.filters.brand == chip.value and not search.searching, "the facet")

    assert app.services.cart.item_count == 1 and app.cart_count == 1
    assert search.query == "fiets" and search.ids.results.data
    return {"delivery": delivery.key, "brand": chip.value}


def assert_nothing_left(app) -> None:
    """Everything one shopper entered is gone, and the app is where the next one starts."""
    assert app.root.current == "attract"
    assert app.services.cart.is_empty() and app.cart_count == 0
    search = app.root.get_screen("search")
    assert search.finder is None and search.query == "" and search.sort == "relevance"
    assert search.ids.results.data == [] and not search.ids.facets.children
    address = app.root.get_screen("address")
    assert all(value == "" for value in address.values.values()) and not address.errors
    assert address.active == "postcode"
    fulfil = app.root.get_screen("fulfil")
    assert fulfil.offer is None and fulfil.selected == "" and not fulfil.ids.choices.children
    assert app.lang == "nl"
    assert not app.access.any_on  # large text, high contrast, low reach: that shopper's choice
    assert app._history == []
    assert not overlay_open(app)
    assert app.session.state().phase is Phase.active and not app.session.held


async def test_walking_away_asks_then_clears_everything(central_server, needs_display, tmp_path):
    async with idle_kiosk(central_server, tmp_path, idle_s=1.0, countdown_s=3.0) as (app, driver):
        await build_a_shopper(app, driver)
        app.toggle_access("low_reach")  # a shopper in a wheelchair: the question must be within reach too
        app.session.release(SETUP)  # the shopper walks away now

        await driver.wait_until(lambda: overlay_open(app), "'Still there?'", timeout_s=5)
        view = app._still_there
        await driver.frames(3)
        button = view.ids.continue_button
        assert button.to_window(button.x, button.top)[1] <= Window.height * LOW_REACH_TOP
        seen = [view.seconds_left]
        view.bind(seconds_left=lambda _, seconds: seen.append(seconds))
        assert app.root.current == "search"  # asked over the screen the shopper left
        assert view.ids.title.text == "Are you still there?"  # in the shopper's language
        assert view.ids.continue_button.text == "Yes, I'm still here"
        assert 1 <= view.seconds_left <= 3
        assert view.ids.countdown.text == view.countdown_text(app, "en", view.seconds_left)
        assert app.services.cart.item_count == 1  # nothing is cleared while asking

        await driver.wait_for_screen("attract", timeout_s=8)
        assert seen == sorted(seen, reverse=True)  # counting down (a slow machine may skip a second)
        assert_nothing_left(app)
        # A new shopper's search starts empty, no facet of the last one applied.
        app.open_search()
        search = app.root.get_screen("search")
        assert search.finder.query == "" and search.finder.filters.brand is None


async def test_a_touch_while_asked_carries_on_and_presses_nothing_underneath(central_server, needs_display,
                                                                             tmp_path):
    async with idle_kiosk(central_server, tmp_path, idle_s=1.0, countdown_s=6.0) as (app, driver):
        await shop_until_checkout(driver)
        app.toggle_language()
        fulfil = driver.screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
        app.session.release(SETUP)

        await driver.wait_until(lambda: overlay_open(app), "'Still there?'", timeout_s=5)
        # A touch anywhere, here right on the top bar's "back" button under the question: the question
        # goes, the shopper stays where they were, and "back" was not pressed.
        back = fulfil.ids.top_bar.ids.back_button
        await tap_at(driver, *back.to_window(*back.center))
        assert not overlay_open(app)
        assert app.root.current == "fulfil" and app.services.cart.item_count == 1 and app.lang == "en"
        assert app.session.state().phase is Phase.active

        # Asked again after another idle period; this time the big button answers.
        await driver.wait_until(lambda: overlay_open(app), "'Still there?' again", timeout_s=5)
        await driver.tap(app._still_there.ids.continue_button)
        assert not overlay_open(app)
        assert app.root.current == "fulfil" and app.services.cart.item_count == 1 and app.lang == "en"
        assert fulfil.offer is not None

        # A key (or a scan) counts as much as a touch.
        await driver.wait_until(lambda: overlay_open(app), "'Still there?' a third time", timeout_s=5)
        Window.dispatch("on_key_down", 97, 4, "a", [])
        await driver.wait_until(lambda: not overlay_open(app), "the question to go", timeout_s=2)
        assert app.root.current == "fulfil" and app.services.cart.item_count == 1


async def test_never_during_a_payment_nor_while_the_receipt_is_shown(central_server, needs_display, tmp_path):
    # The simulated card comes 10 s after the prompt: far beyond idle + countdown (2 s).
    async with idle_kiosk(central_server, tmp_path, idle_s=1.0, countdown_s=1.0, receipt_s=5.0,
                          delay_s=10.0) as (app, driver):
        app.toggle_language()
        await shop_until_pay(driver)
        pay = driver.screen("pay")
        assert pay.running
        app.session.release(SETUP)

        await never_asked_for(driver, app, 3.5, "the card prompt")
        assert pay.running and app.session.held and app.services.cart.item_count == 1

        await driver.wait_for_screen("receipt", timeout_s=30)
        receipt = driver.screen("receipt").receipt
        assert receipt is not None and app.lang == "en"
        # The QR stays its set time (5 s), far past idle + countdown, without a question ...
        await never_asked_for(driver, app, 3.0, "the receipt")
        # ... and then the pillar starts over by itself.
        await driver.wait_for_screen("attract", timeout_s=8)
        assert_nothing_left(app)


async def test_the_receipt_done_button_starts_over_at_once_and_cancels_the_timer(central_server, needs_display,
                                                                               tmp_path):
    async with idle_kiosk(central_server, tmp_path, idle_s=1.0, countdown_s=1.0, receipt_s=60.0) as (app, driver):
        await shop_until_pay(driver)
        app.session.release(SETUP)
        await driver.wait_for_screen("receipt", timeout_s=30)
        assert app._receipt_event is not None
        await driver.tap(driver.screen("receipt").ids.done_button)
        await driver.wait_for_screen("attract")
        assert app._receipt_event is None
        assert_nothing_left(app)


async def test_the_attract_screen_asks_nothing_and_only_puts_the_language_back(central_server, needs_display,
                                                                             tmp_path):
    async with idle_kiosk(central_server, tmp_path, idle_s=1.0, countdown_s=1.0) as (app, driver):
        app.toggle_language()  # (a tap on the attract screen's language button also starts shopping)
        assert app.lang == "en" and app.root.current == "attract"
        app.session.release(SETUP)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and app.lang != "nl":
            assert not overlay_open(app) and app.root.current == "attract"
            await asyncio.sleep(1 / 30)
        assert app.lang == "nl" and app.root.current == "attract" and not overlay_open(app)


def test_the_countdown_reads_well_in_both_languages():
    from kiosk.i18n import translate
    from kiosk.screens.still_there import StillThereView

    class App:
        t = staticmethod(lambda key, lang, **values: translate(lang, key, **values))

    text = StillThereView.countdown_text
    assert [text(None, App, "en", n) for n in (10, 2, 1)] == ["10 seconds left", "2 seconds left", "1 second left"]
    assert [text(None, App, "nl", n) for n in (10, 2, 1)] == ["nog 10 seconden", "nog 2 seconden", "nog 1 seconde"]


def test_session_settings_have_their_defaults_and_are_checked():
    session = parse_settings({}).session
    assert (session.idle_s, session.countdown_s, session.receipt_s) == (90, 10, 60)
    with pytest.raises(ConfigError, match="session.idle_s"):
        parse_settings({"session": {"idle_s": 0}})

