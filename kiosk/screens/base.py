"""What every screen shares: access to the app and its services, and a refresh on entry."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

import kiosk.screens.busy  # noqa: F401  (the spinner, for the .kv files)
import kiosk.screens.widgets  # noqa: F401  (registers the theme widgets before any .kv loads)


class KioskScreen(Screen):
    @property
    def app(self):
        return App.get_running_app()

    @property
    def services(self):
        return self.app.services

    def on_pre_enter(self, *args):
        self.refresh()

    def refresh(self) -> None:
        """Re-read state from the services; screens override."""

    def release(self, services) -> None:
        """The app stops: give back whatever outlives it. Cancel this screen's Clock events (the
        Clock is global, and an event holds its callback, so a lambda on it keeps this screen and,
        through the ScreenManager, every screen alive) and leave the listener lists of `services`
        (passed in: Kivy dispatches on_stop a second time once no app is running any more).
        Called by `KioskApp.on_stop` for every screen; screens override (calling this one)."""
