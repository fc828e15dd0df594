import asyncio

from kivy.clock import Clock
from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk import theme
from kiosk.catalog.models import SearchResult
from kiosk.finder import Finder, facet_value
from kiosk.screens.base import KioskScreen
from kiosk.screens.keyboard import OnScreenKeyboard
from kiosk.screens.widgets import KToggle
from kiosk.views import facet_chips, product_rows

FACET_ROWS = ("category", "price", "brand", "colour", "size")
FACET_ROWS_WHILE_TYPING = 2  # the keyboard takes the room of the others


class SearchScreen(KioskScreen):
    """Search as you type on the on-screen keyboard, narrow with facets, sort, open an article."""

    query = StringProperty("")
    total = NumericProperty(0)
    corrected = StringProperty("")
    sort = StringProperty("relevance")
    typing = BooleanProperty(True)
    searching = BooleanProperty(False)
    finder: Finder | None = None
    _result: SearchResult | None = None

    def on_kv_post(self, base_widget):
        self.keyboard = OnScreenKeyboard()
        self.keyboard.bind(on_key=lambda _, value: self.key(value))
        self.ids.keyboard_slot.add_widget(self.keyboard)
        self.app.bind(lang=lambda *_: self.search_now())
        self._trigger = Clock.create_trigger(lambda dt: self._search(), 0)

    def start(self) -> None:
        """A fresh search with the keyboard up."""
        self.finder = Finder(self.services.catalog)
        self.query, self.typing = "", True
        self.search_now()

    def refresh(self) -> None:
        if self.finder is None:
            self.start()

    # --- intents --------------------------------------------------------------------------

    def key(self, value: str) -> None:
        finder = self.finder
        if value == "\n":
            self.typing = False
            return
        if value == "\b":
            finder.backspace()
        else:
            finder.type(value)
        self.query = finder.query
        hit = finder.barcode_hit()
        if hit is not None:  # a complete EAN of an article: straight to it, that variant chosen
            self.app.open_product(*hit)
            return
        self.search_now()

    def clear(self) -> None:
        self.finder.clear_query()
        self.query, self.typing = "", True
        self.search_now()

    def toggle_facet(self, facet: str, value: str) -> None:
        self.finder.toggle_facet(facet, value)
        self.search_now()

    def set_sort(self, sort: str) -> None:
        self.finder.sort = self.sort = sort
        self.search_now()

    def show_keyboard(self) -> None:
        self.typing = True

    # --- searching ------------------------------------------------------------------------

    def search_now(self) -> None:
        self._trigger()  # several keys within one frame make one search

    def _search(self) -> None:
        if self.finder is None:
            return  # no search started yet (e.g. the language switched on another screen)
        self.searching = True
        self.app.spawn(self._run())

    async def _run(self) -> None:
        finder, lang, resolve = self.finder, self.app.lang, self.app.resolve_url
        result = await finder.run()
        if result is None:  # a newer search is on its way
            return
        # Up to 10,000 rows: build them off the UI thread too.
        rows = await asyncio.to_thread(product_rows, result.items, lang, resolve)
        if finder is self.finder and result is finder.latest:
            self.searching = False
            self._result = result
            self.total = result.total
            self.corrected = result.corrected or ""
            self.ids.results.set_rows(rows)
            self._show_facets(result)

    def on_typing(self, *args) -> None:
        self._show_facets(self._result)

    def _show_facets(self, result: SearchResult | None) -> None:
        if result is None or self.finder is None:
            return
        rows = FACET_ROWS[:FACET_ROWS_WHILE_TYPING] if self.typing else FACET_ROWS
        box = self.ids.facets
        box.clear_widgets()
        for facet in rows:
            chips = facet_chips(result.facets, facet)
            if chips:
                box.add_widget(self._facet_row(facet, chips))

    def _facet_row(self, facet: str, chips: list[tuple[str, str]]):
        from kivy.uix.boxlayout import BoxLayout
        from kivy.uix.label import Label
        from kivy.uix.scrollview import ScrollView

        chosen = facet_value(self.finder.filters, facet)
        strip = BoxLayout(size_hint_x=None, spacing=dp(12), padding=(dp(16), 0))
        strip.bind(minimum_width=strip.setter("width"))
        name = Label(text=self.app.t(f"facet.{facet}", self.app.lang), bold=True, color=theme.TEXT_MUTED,
                     font_size=sp(theme.FONT_SMALL), size_hint_x=None)
        name.bind(texture_size=lambda label, size: setattr(label, "width", size[0] + dp(8)))
        strip.add_widget(name)
        for value, label in chips:
            chip = KToggle(text=label, value=value, state="down" if value == chosen else "normal")
            chip.bind(on_release=lambda c, f=facet: self.toggle_facet(f, c.value))
            strip.add_widget(chip)
        row = ScrollView(do_scroll_y=False, size_hint_y=None, height=dp(104), bar_width=0)
        row.facet = facet
        row.add_widget(strip)
        return row
