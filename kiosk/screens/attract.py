from kiosk.screens.base import KioskScreen


class AttractScreen(KioskScreen):
    """Touch anywhere to start; says so when the central API is not reachable."""

    def on_touch_up(self, touch):
        if self.collide_point(*touch.pos) and not super().on_touch_up(touch):
            self.app.start_shopping()
        return True
