"""The shopper session's idle clock: ask "Still there?", then expire; never during a held moment."""

import pytest

from kiosk.session import Phase, ShopperSession


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_idle_then_asking_with_a_countdown_then_expired():
    clock = Clock()
    session = ShopperSession(idle_s=90, countdown_s=10, clock=clock)
    clock.now += 89.9
    assert session.state().phase is Phase.active
    clock.now += 0.1
    state = session.state()
    assert state.phase is Phase.asking and state.seconds_left == 10
    clock.now += 9.5
    assert session.state().seconds_left == 1
    clock.now += 0.5
    assert session.state().phase is Phase.expired


def test_a_touch_while_asking_carries_on():
    clock = Clock()
    session = ShopperSession(idle_s=90, countdown_s=10, clock=clock)
    clock.now += 95
    assert session.state().phase is Phase.asking
    session.touch()
    assert session.state().phase is Phase.active
    clock.now += 89
    assert session.state().phase is Phase.active


def test_never_expires_while_held_and_idles_afresh_after_the_last_release():
    clock = Clock()
    session = ShopperSession(idle_s=90, countdown_s=10, clock=clock)
    session.hold("payment")
    session.hold("receipt")
    clock.now += 10_000
    assert session.state().phase is Phase.active
    session.release("payment")
    clock.now += 10_000
    assert session.state().phase is Phase.active  # the receipt still holds it
    session.release("receipt")
    clock.now += 89
    assert session.state().phase is Phase.active
    clock.now += 11
    assert session.state().phase is Phase.expired
    session.release("never-held")  # harmless


def test_restart_forgets_the_last_shoppers_holds():
    clock = Clock()
    session = ShopperSession(idle_s=90, countdown_s=10, clock=clock)
    session.hold("payment")
    session.restart()
    assert not session.held
    clock.now += 100
    assert session.state().phase is Phase.expired


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        ShopperSession(idle_s=0)
