"""Reusable touch widgets of the kiosk theme (their look is in theme.kv)."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior, ToggleButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.cached_image import CachedImage
from kivy.uix.label import Label
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataViewBehavior


class KButton(ButtonBehavior, Label):
    """A big rounded button; `kind` picks the colours: primary, secondary, quiet, danger."""

    kind = StringProperty("primary")
    bg_color = ColorProperty((1, 0.82, 0, 1))
    radius = NumericProperty(18)
    shown = BooleanProperty(True)  # a hidden button keeps its place in the layout but takes no touch

    def on_touch_down(self, touch):
        if not self.shown:
            return False
        return super().on_touch_down(touch)


class KToggle(ToggleButtonBehavior, Label):
    """A variant chip: one of a group is selected."""

    value = StringProperty("")


class IndexedView(RecycleDataViewBehavior):
    """A RecycleView row that remembers which data row it shows, so taps and tests can find it."""

    index = NumericProperty(-1)

    def refresh_view_attrs(self, rv, index, data):
        self.index = index
        return super().refresh_view_attrs(rv, index, data)


class RecycleTile(IndexedView, ButtonBehavior, BoxLayout):
    key = StringProperty("")


class CategoryTile(RecycleTile):
    title = StringProperty("")
    subtitle = StringProperty("")
    image = StringProperty("")


class ProductTile(RecycleTile):
    title = StringProperty("")
    brand = StringProperty("")
    price = StringProperty("")
    image = StringProperty("")


class CartRow(IndexedView, BoxLayout):
    sku = StringProperty("")
    title = StringProperty("")
    variant = StringProperty("")
    quantity = StringProperty("")
    line_total = StringProperty("")
    image = StringProperty("")


class Thumb(ButtonBehavior, CachedImage):
    """A picture in the article gallery's strip; the selected one is framed."""

    index = NumericProperty(0)
    selected = BooleanProperty(False)


class PagedRecycleView(RecycleView):
    """A RecycleView that takes any number of rows but lays out a page at a time.

    Kivy lays out every row of `data` when it changes (about 15 ms per 1,000 grid rows on the
    pillar's CPU): 10,000 rows at once would freeze the screen for a moment. So the first page shows
    at once and the next is appended when the shopper scrolls near the end.
    """

    page_size = NumericProperty(240)
    total = NumericProperty(0)

    def set_rows(self, rows: list[dict]) -> None:
        pending = getattr(self, "_keep_place", None)
        if pending is not None and self.layout_manager is not None:
            self.layout_manager.unbind(height=pending)
        self._rows, self._growing, self._keep_place = rows, False, None
        self.total = len(rows)
        self.scroll_y = 1
        self.data = rows[: self.page_size]

    def on_scroll_y(self, instance, value) -> None:
        rows = getattr(self, "_rows", None)
        if not rows or value >= 0.15 or len(self.data) >= len(rows) or getattr(self, "_growing", False):
            return
        layout = self.layout_manager
        # scroll_y is relative to the content height, which is about to grow: remember the
        # distance from the top and restore it once the longer list is laid out.
        from_top = (1 - value) * max(layout.height - self.height, 0)
        self._growing = True

        def keep_place(_layout, height) -> None:
            layout.unbind(height=keep_place)
            scrollable = max(height - self.height, 1)
            self.scroll_y = max(0.0, 1 - from_top / scrollable)
            self._growing, self._keep_place = False, None

        self._keep_place = keep_place
        layout.bind(height=keep_place)
        shown = len(self.data)
        self.data.extend(rows[shown: shown + self.page_size])
