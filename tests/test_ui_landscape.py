"""Landscape (issue 7, item 6: "portrait 1080x1920 first; landscape 1920x1080 works too"): the same
walk over every screen as the accessibility test, in a 1920x1080 window: every control at least 2 cm,
no text cut off, every contrast pair listed, every button's icon in place, and the walk reaches the
receipt. (The window is resized in place: Kivy has one window per process.)"""

from __future__ import annotations

import pytest
from kivy.core.window import Window

from kiosk.accessibility import AccessibilityModes
from test_ui_accessibility import Audit, simulated_kiosk, walk_every_screen

pytestmark = pytest.mark.ui

LANDSCAPE = (1920, 1080)


async def test_every_screen_in_landscape(central_server, needs_display, tmp_path):
    portrait = tuple(Window.size)
    Window.size = LANDSCAPE
    try:
        async with simulated_kiosk(central_server, tmp_path) as (app, driver):
            await driver.frames(3)
            assert tuple(Window.size) == LANDSCAPE and app.root.width > app.root.height
            driver.screenshot_dir = tmp_path / "shots"
            audit = Audit(app, driver, AccessibilityModes(), tmp_path / "shots")
            await walk_every_screen(audit)
            assert "receipt" in audit.stops
            assert audit.targets > 100
            assert not audit.problems, "\n".join(audit.problems)
    finally:
        Window.size = portrait
