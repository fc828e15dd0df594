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
        self.services.promotion_listeners.append(lambda _: self._show(self.index))

    def on_enter(self, *args):
        self._show(0)
        self._rotation = Clock.schedule_interval(lambda _: self.next_promotion(),
                                                 self.services.settings.display.promotion_s)

    def on_leave(self, *args):
        if self._rotation is not None:
            self._rotation.cancel()
            self._rotation = None

    def next_promotion(self) -> None:
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
