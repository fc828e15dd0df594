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
