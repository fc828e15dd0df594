"""The spinner shows only for waits over 200 ms, and disappears when the wait ends."""

import asyncio

import pytest

pytestmark = pytest.mark.ui


async def test_spinner_only_after_200_ms(needs_display):
    from kivy.clock import Clock

    from kiosk.screens.busy import BusyIndicator

    async def tick(seconds: float) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < end:
            Clock.tick()
            await asyncio.sleep(0.01)

    spinner = BusyIndicator()
    Clock.tick()  # the clock's "now" is its last tick: make it current before timing anything
    spinner.active = True
    await tick(0.1)
    assert not spinner.visible  # a quick answer never flashes a spinner
    spinner.active = False
    await tick(0.25)
    assert not spinner.visible
    spinner.active = True
    await tick(0.3)
    assert spinner.visible
    angle = spinner.angle
    await tick(0.1)
    assert spinner.angle != angle  # it turns: the screen is alive
    spinner.active = False
    assert not spinner.visible
