"""The accessibility panel: large text, high contrast and low reach, switched on and off.

Opened by the accessibility button on every screen (the top bar's, and the attract screen's, which is
within reach of a shopper in a wheelchair). It is a sheet along the bottom of the screen in every mode,
so its switches are always within reach; a change shows at once behind it. The modes themselves are
plain data (kiosk/accessibility.py); the app applies them (`KioskApp.set_access`).
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.widgets import BottomSheet


class AccessToggle(ButtonBehavior, BoxLayout):
    """One mode: its name, what it does, and a switch that says "on" or "off" in words too."""

    mode = StringProperty("")
    title = StringProperty("")
    detail = StringProperty("")
    on = BooleanProperty(False)


class AccessPanel(BottomSheet):
    """The panel: a sheet along the bottom of the screen, within reach in every mode."""


def open_panel(app, animate: bool = True) -> AccessPanel:
    """Open the panel (one per app, made when first needed)."""
    panel = getattr(app, "_access_panel", None)
    if panel is None:
        panel = app._access_panel = AccessPanel()
    if not panel.is_open:
        panel.open(animation=animate)
    return panel


def current_panel(app) -> AccessPanel | None:
    """The panel when it is open (tests, the idle reset)."""
    panel = getattr(app, "_access_panel", None)
    return panel if panel is not None and panel.is_open else None


def close_panel(app) -> None:
    panel = current_panel(app)
    if panel is not None:
        panel.dismiss(animation=False)
