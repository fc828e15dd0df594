"""Staff: settings (being built)."""

from __future__ import annotations

from kiosk.screens.base import KioskScreen


class StaffSettingsScreen(KioskScreen):
    pass
