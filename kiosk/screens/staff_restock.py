"""Staff: restock (being built)."""

from __future__ import annotations

from kiosk.screens.base import KioskScreen


class StaffRestockScreen(KioskScreen):
    pass
