"""The attract screen: promotions from the central API rotate; tapping one opens its article."""

import pytest

from kiosk.hardware import open_terminal
from kiosk.screens.autopilot import UiDriver
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui


async def test_promotions_rotate_follow_the_language_and_open_their_article(central_server, needs_display,
                                                                            tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    settings.display.promotion_s = 60  # the test turns the carousel itself
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        attract = app.root.get_screen("attract")
        await driver.wait_until(lambda: attract.promotion is not None, "the promotions")
        promotions = app.services.promotions
        assert len(promotions) >= 2 and all(p.product_id for p in promotions)
        first = attract.ids.promotion_title.text
        assert first == promotions[0].title
        await driver.screenshot("01-attract-promotion")
        attract.next_promotion()
        await driver.frames(2)
        assert attract.ids.promotion_title.text == promotions[1].title != first
        app.toggle_language()
        await driver.frames(2)
        assert attract.ids.promotion_title.text == promotions[1].title_en
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        await driver.tap(attract.ids.promotion_card)
        await driver.wait_for_screen("article")
        assert app.root.get_screen("article").product_id == promotions[1].product_id
