"""Reusable touch widgets of the kiosk theme (their look is in theme.kv)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kivy.app import App
from kivy.event import EventDispatcher
from kivy.core.text import Label as CoreLabel
from kivy.core.text import LabelBase
from kivy.properties import (BooleanProperty, ColorProperty, NumericProperty, ObjectProperty,
                             StringProperty)
from kivy.uix.behaviors import ButtonBehavior, ToggleButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from kiosk import theme
from kiosk.accessibility import AccessibilityModes
from kiosk.qr import QrBitmap
from kiosk.icons import ICON_FONT_FILE, ICON_FONT_NAME, glyph
from kiosk.screens.cached_image import CachedImage
from kiosk.views import RowPages
from kivy.graphics.texture import Texture
from kivy.uix.label import Label
from kivy.uix.recycleview import RecycleView
from kivy.uix.recycleview.views import RecycleDataViewBehavior


# The active palette as Kivy properties, one per colour role of theme.Palette: kv binds to each
# (`look.palette.TEXT`), and switching the palette sets them all, so every screen repaints at once.
LivePalette = type("LivePalette", (EventDispatcher,), {
    "__doc__": "The colours of the active theme.Palette, as properties the .kv rules bind to.",
    "name": StringProperty(theme.STANDARD.name),
    **{role: ColorProperty(getattr(theme.STANDARD, role)) for role in theme.COLOUR_NAMES},
})


# A text colour of the standard palette -> its role (the first of these with that colour).
_TEXT_ROLES = ("TEXT", "TEXT_MUTED", "HEADER_TEXT", "SUCCESS", "DANGER", "WARNING", "ACCENT",
               "PRIMARY_TEXT", "SECONDARY_TEXT", "DANGER_TEXT", "SELECTED_TEXT")
_STANDARD_ROLES = {tuple(round(c, 3) for c in getattr(theme.STANDARD, role)): role for role in reversed(_TEXT_ROLES)}


class Look(EventDispatcher):
    """The accessibility modes as the .kv files bind to them: `look.palette.TEXT` for every colour,
    `sp(theme.FONT_BODY * look.text_scale)` for every font size, `look.low_reach` for the layouts,
    `look.large_text` etc. for the panel's switches. (Kivy binds only along properties of event
    dispatchers, hence properties here rather than the plain `AccessibilityModes` in `modes`.)
    One per process (`look` below, imported in the .kv files), set by the app from its
    `AccessibilityModes` (kiosk/accessibility.py); any widget can bind to it, with or without the
    kiosk app running."""

    modes = ObjectProperty(AccessibilityModes())
    palette = ObjectProperty(None)  # a LivePalette; the same object always, its colours change
    text_scale = NumericProperty(1.0)
    large_text = BooleanProperty(False)
    high_contrast = BooleanProperty(False)
    low_reach = BooleanProperty(False)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.palette = LivePalette()

    # A label made in Python with its own colour or size (Label(color=theme.TEXT_MUTED,
    # font_size=sp(72))) keeps it: the base <Label> rule asks these two instead of overwriting it
    # (a bound kv rule would). A standard-palette colour it asked for follows the palette by its
    # role, and its size scales with large text, like everything written in kv.

    def colour_for(self, widget, default):
        if "color" not in getattr(widget, "_kwargs_applied_init", ()):
            return default
        asked = widget.__dict__.setdefault("_look_colour", tuple(widget.color))
        role = _STANDARD_ROLES.get(tuple(round(c, 3) for c in asked))
        return getattr(self.palette, role) if role else asked

    def font_for(self, widget, default):
        if "font_size" not in getattr(widget, "_kwargs_applied_init", ()):
            return default
        return widget.__dict__.setdefault("_look_font_size", widget.font_size) * self.text_scale

    def apply(self, modes: AccessibilityModes) -> None:
        palette = modes.palette
        # TEXT last: colour_for, bound to TEXT, reads other roles, which must be switched by then.
        for role in sorted(theme.COLOUR_NAMES, key=lambda role: role == "TEXT"):
            setattr(self.palette, role, getattr(palette, role))
        self.palette.name = palette.name
        self.text_scale = modes.text_scale
        self.large_text, self.high_contrast, self.low_reach = modes.large_text, modes.high_contrast, modes.low_reach
        self.modes = modes


look = Look()

# The icon font, by name, for KButton.icon (and any label that wants a glyph of kiosk/icons.py).
LabelBase.register(ICON_FONT_NAME, fn_regular=str(ICON_FONT_FILE))


class KButton(ButtonBehavior, Label):
    """A big rounded button; `kind` picks the colours: primary, secondary, quiet, danger.

    `icon` names a glyph of kiosk/icons.py, drawn left of the text in the text colour (theme.kv);
    icon and text are centred as one. The icon's room is the label's left padding, so the text
    itself, and its `texture_size`, make way for it in every layout (fixed width, or as wide as
    the text)."""

    kind = StringProperty("primary")
    bg_color = ColorProperty((1, 0.82, 0, 1))
    radius = NumericProperty(18)
    shown = BooleanProperty(True)  # a hidden button keeps its place in the layout but takes no touch
    icon = StringProperty("")
    icon_texture = ObjectProperty(None, allownone=True)  # the glyph in white; theme.kv tints it
    icon_offset = NumericProperty(0)  # the icon's x from the left of the label's texture
    icon_shown = BooleanProperty(True)  # False where icon and text do not fit on one line

    ICON_SCALE = 1.25  # the glyph's size to the text's: Material Icons sit small in their em box
    ICON_GAP = 0.4     # space between icon and text, in the text's font size

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fbind("icon", self._render_icon)
        self.fbind("font_size", self._render_icon)
        for name in ("text", "text_size", "bold"):
            self.fbind(name, self._make_room)
        self.fbind("texture_size", self._place_icon)
        self._render_icon()

    def texture_update(self, *args) -> None:
        # After every render: a new text of the same size gives no texture_size event.
        super().texture_update(*args)
        self._place_icon()

    def _render_icon(self, *_args) -> None:
        if not self.icon:
            if self.icon_texture is not None:
                self.icon_texture = None
                self.padding = [0, self.padding[1], 0, self.padding[3]]
            return
        label = CoreLabel(text=glyph(self.icon), font_name=ICON_FONT_NAME,
                          font_size=self.font_size * self.ICON_SCALE, color=(1, 1, 1, 1))
        label.refresh()
        self.icon_texture = label.texture
        self._make_room()

    def _make_room(self, *_args) -> None:
        if self.icon_texture is None:
            return
        room = self.icon_texture.width + (self.font_size * self.ICON_GAP if self.text else 0)
        # The words matter more than the picture: where icon and text do not fit on one line (a
        # narrow key, large text), the icon steps aside rather than wrap the text.
        wrap_at = self.text_size[0]
        if self.text and wrap_at:
            words = CoreLabel(text=self.text, font_size=self.font_size, bold=self.bold, font_name=self.font_name)
            self.icon_shown = room + words.get_extents(self.text)[0] <= wrap_at
        else:
            self.icon_shown = True
        room = room if self.icon_shown else 0
        if self.padding[0] != room:
            self.padding = [room, self.padding[1], 0, self.padding[3]]
        self._place_icon()

    def _place_icon(self, *_args) -> None:
        if self.icon_texture is None:
            return
        # Where the text starts within the label's texture (by halign, after the left padding that
        # is the icon's room); the icon goes just before it. theme.kv adds the texture's place on the
        # screen through live bindings, so the icon moves with the button whatever moves it.
        lines = getattr(self._label, "_cached_lines", None) or []
        text_width = max((line.w for line in lines), default=0) if self.text else 0
        room, right = self.padding[0], self.padding[2]
        inner = self.texture_size[0] - room - right
        self.icon_offset = {"left": 0, "right": inner - text_width}.get(self.halign, (inner - text_width) / 2)

    def on_touch_down(self, touch):
        if not self.shown:
            return False
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):
        # A press of this button ends in the grab dispatch (its release); in the ordinary dispatch
        # before it, say "handled", so that what lies under the button (the attract screen's "touch
        # anywhere to start") does not act on the same touch.
        if touch.grab_current is None and self in touch.ud:
            return True
        return super().on_touch_up(touch)


class TechnicalLine(Label):
    """Technical detail for support (a diagnostic's raw finding, an alert's log text): English on
    purpose, like the logs it matches, so it is not translated (the language walk skips it). The
    words a shopper or staff member reads next to it are translated."""


class KToggle(ToggleButtonBehavior, Label):
    """A variant chip: one of a group is selected."""

    value = StringProperty("")


class AccessButton(KButton):
    """Opens the accessibility panel (large text, high contrast, low reach). It shows the
    international accessibility symbol, drawn in the text colour (theme.kv); with `labelled` the
    word "Accessibility" too."""

    labelled = BooleanProperty(False)


class BottomSheet(ModalView):
    """An overlay docked along the bottom of the screen, full width, on the palette's background with
    a strong top edge (theme.kv): within reach in every mode, unlike a centred ModalView. Give it
    `size_hint_y: None` and a height (e.g. its content's minimum height)."""

    @property
    def is_open(self) -> bool:
        return bool(self._is_open)

    def _align_center(self, *args) -> None:  # ModalView keeps re-centring itself: dock instead
        if self._is_open:
            self.pos = (0, 0)

    def open(self, *args, **kwargs):
        super().open(*args, **kwargs)
        self.pos = (0, 0)


class ReachGap(BoxLayout):
    """The top part of a screen in low-reach mode: no controls, only what is to be read or looked at
    (the page title, a picture). Empty and 0 high otherwise. Its height comes from
    kiosk.accessibility.LOW_REACH_TOP (theme.kv)."""

    title = StringProperty("")
    subtitle = StringProperty("")
    image = StringProperty("")        # a picture's URL
    texture = ObjectProperty(None, allownone=True)  # or a picture made here (a QR)


class LowBarSlot(BoxLayout):
    """Where a screen's top bar goes in low-reach mode, on screens that are mostly to be read (pay,
    receipt): the bar leaves the top of the screen and sits here, within reach; it goes back when the
    mode ends. `bar` is the screen's TopBar."""

    bar = ObjectProperty(None, allownone=True)
    _home = None  # (parent, index) of the bar at the top

    def on_kv_post(self, base_widget):
        look.bind(low_reach=self._place)
        self.bind(bar=self._place)
        self._place()

    def _place(self, *args) -> None:
        bar, low = self.bar, look.low_reach
        if bar is None:
            return
        if low and bar.parent is not self:
            parent = bar.parent
            self._home = (parent, parent.children.index(bar))
            parent.remove_widget(bar)
            self.add_widget(bar)
        elif not low and bar.parent is self and self._home is not None:
            parent, index = self._home
            self.remove_widget(bar)
            parent.add_widget(bar, index=index)


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
    at once and the next is appended when the shopper scrolls near the end. Rows can also be built
    only then (`set_rows` with `more`): a worker thread reads and builds the next page, so a list of
    a whole category costs a page of objects, not ten thousand.
    """

    page_size = NumericProperty(240)
    total = NumericProperty(0)  # rows the list can show, all pages (what its count line says)

    def __init__(self, **kwargs):
        self._all: list[dict] = []  # every row, when they were given at once
        self._more: RowPages | None = None  # builds the next rows, when they come a page at a time
        self._next = 0  # where the next page starts
        self._busy = False  # a page is on its way or being laid out
        self._keep_place: Callable | None = None
        self._generation = 0  # a page fetched for an earlier list is dropped
        super().__init__(**kwargs)

    def set_rows(self, rows: list[dict], total: int | None = None, more: RowPages | None = None) -> None:
        """Show `rows` from the top. Without `more`, they are all the rows. With it, they are the first
        page of `total`, and `more(offset, count)` builds the next ones in a worker thread (it may
        return fewer: an article that left the catalog meanwhile)."""
        pending = self._keep_place
        if pending is not None and self.layout_manager is not None:
            self.layout_manager.unbind(height=pending)
        self._generation += 1
        self._keep_place, self._busy, self._more = None, False, more
        if more is None:
            self._all, self.total, first = rows, len(rows), rows[: self.page_size]
        else:
            self._all, self.total, first = [], max(len(rows), total or 0), rows
        self._next = len(first)
        self.scroll_y = 1
        self.data = first

    def on_scroll_y(self, instance, value) -> None:
        if value >= 0.15 or self._busy or self._next >= self.total or self.layout_manager is None:
            return
        self._busy = True
        offset, count = self._next, self.page_size
        if self._more is None:
            self._next += count
            self._append(self._all[offset: offset + count])
        else:
            App.get_running_app().spawn(self._fetch(self._generation, self._more, offset, count))

    async def _fetch(self, generation: int, more: RowPages, offset: int, count: int) -> None:
        rows: list[dict] = []
        try:
            rows = await asyncio.to_thread(more, offset, count)
        except Exception:  # logged by spawn; the list stays as it is and asks again on the next scroll
            if generation == self._generation:
                self._busy = False
            raise
        if generation == self._generation:
            self._next = offset + count
            self._append(rows)

    def _append(self, rows: list[dict]) -> None:
        layout = self.layout_manager
        shown = len(self.data)
        cols = getattr(layout, "cols", None) or 1
        if -(-(shown + len(rows)) // cols) == -(-shown // cols):  # no new line of tiles: nothing moves
            self.data.extend(rows)
            self._busy = False
            return
        # scroll_y is relative to the content height, which is about to grow: remember the
        # distance from the top and restore it once the longer list is laid out.
        from_top = (1 - self.scroll_y) * max(layout.height - self.height, 0)

        def keep_place(_layout, height) -> None:
            layout.unbind(height=keep_place)
            scrollable = max(height - self.height, 1)
            self.scroll_y = max(0.0, 1 - from_top / scrollable)
            self._busy, self._keep_place = False, None

        self._keep_place = keep_place
        layout.bind(height=keep_place)
        self.data.extend(rows)


class ChipPool:
    """KToggle chips at the end of a strip (a BoxLayout), kept and reused: `show` gives the first chips
    new values, makes chips only when there are more values than ever before, and takes surplus
    ones out of the strip but keeps them for later. Making a chip applies its kv rule (canvas and
    all, about 1 ms each); giving one a new text is a fraction of that. The search's facet rows and
    the subcategory chips of the article list (search.py, products.py) use it."""

    def __init__(self, strip, on_chip: Callable[[str], None]) -> None:
        self.strip = strip.__self__  # the widget itself: a chip's parent is never the kv ids' weak proxy
        self.on_chip = on_chip  # called with the value of a tapped chip
        self.chips: list[KToggle] = []  # those in the strip are the first ones, in this order

    def show(self, chips: list[tuple[str, str]], chosen: str) -> bool:
        """chips: (value, label); the one whose value is `chosen` is shown selected. False when the
        strip shows exactly these already (nothing done)."""
        wanted = [(value, label, "down" if value == chosen else "normal") for value, label in chips]
        strip = self.strip
        if [(chip.value, chip.text, chip.state) for chip in self.chips if chip.parent is strip] == wanted:
            return False
        for index, (value, label, state) in enumerate(wanted):
            if index == len(self.chips):
                chip = KToggle()
                chip.bind(on_release=lambda chip: self.on_chip(chip.value))
                self.chips.append(chip)
            chip = self.chips[index]
            chip.text, chip.value, chip.state = label, value, state
            if chip.parent is None:
                strip.add_widget(chip)  # at the end, after the chips before it
        for chip in self.chips[len(wanted):]:
            if chip.parent is strip:
                strip.remove_widget(chip)
        return True


def qr_texture(bitmap: QrBitmap) -> Texture:
    """A QR made off the UI thread (kiosk.qr) as a texture: one texel per module, a copy of bytes.
    The receipt's tracking QR and the cart's hand-off QR."""
    texture = Texture.create(size=(bitmap.size, bitmap.size), colorfmt="luminance", bufferfmt="ubyte")
    texture.blit_buffer(bitmap.pixels, colorfmt="luminance", bufferfmt="ubyte")
    texture.mag_filter = "nearest"  # crisp modules when enlarged, so phones scan it from a distance
    texture.min_filter = "nearest"
    return texture
