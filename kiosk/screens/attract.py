from kivy.clock import Clock
from kivy.properties import NumericProperty, ObjectProperty

from kiosk.screens.base import KioskScreen


class AttractScreen(KioskScreen):
    """Rotating promotions from the central API; touch anywhere to start (a promotion opens its
    article). Says so when the central API is not reachable."""

    promotion = ObjectProperty(None, allownone=True)  # the contract's Promotion on show
    index = NumericProperty(0)
    _rotation = None

    def on_kv_post(self, base_widget):
        self.services.promotion_listeners.append(self._promotions_changed)

    def _promotions_changed(self, _promotions) -> None:
        self._show(self.index)

    def on_enter(self, *args):
        self._show(0)
        self._stop_rotation()
        # A bound method, not a lambda: Kivy's Clock keeps a bound method weakly, so even an event
        # left scheduled cannot keep this screen (and the whole app) alive.
        self._rotation = Clock.schedule_interval(self.next_promotion, self.services.settings.display.promotion_s)

    def on_leave(self, *args):
        self._stop_rotation()

    def release(self, services) -> None:
        # The app stops on this screen (it usually does: no on_leave then), the rotation goes with it.
        super().release(services)
        self._stop_rotation()
        listeners = services.promotion_listeners
        if self._promotions_changed in listeners:
            listeners.remove(self._promotions_changed)

    def _stop_rotation(self) -> None:
        if self._rotation is not None:
            self._rotation.cancel()
            self._rotation = None

    def next_promotion(self, *_dt) -> None:
        self._show(self.index + 1)

    def _show(self, index: int) -> None:
        promotions = self.services.promotions
        self.index = index % len(promotions) if promotions else 0
        self.promotion = promotions[self.index] if promotions else None

    def promotion_text(self, lang: str, promotion, field: str) -> str:
        if promotion is None:
            return ""
        english = getattr(promotion, f"{field}_en")
        return english if lang == "en" and english else getattr(promotion, field)

    def on_touch_up(self, touch):
        if self.collide_point(*touch.pos) and not super().on_touch_up(touch):
            promo_card = self.ids.get("promotion_card")
            if (self.promotion is not None and self.promotion.product_id and promo_card is not None
                    and promo_card.collide_point(*promo_card.to_widget(*touch.pos))):
                self.app.start_shopping()
                self.app.open_product(self.promotion.product_id)
            else:
                self.app.start_shopping()
        return True
