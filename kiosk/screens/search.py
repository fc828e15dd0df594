import asyncio

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.scrollview import ScrollView

from kiosk.catalog.models import SearchResult
from kiosk.finder import Finder, facet_value
from kiosk.screens.base import KioskScreen
from kiosk.screens.keyboard import OnScreenKeyboard
from kiosk.screens.widgets import ChipPool, KToggle
from kiosk.views import facet_chips, product_rows, search_pages

FACET_ROWS = ("category", "price", "brand", "colour", "size")
FACET_ROWS_WHILE_TYPING = 2  # the keyboard takes the room of the others
PAGE = 240  # articles built per search (the results list's page); the rest as the shopper scrolls


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

    def __init__(self, **kwargs):
        self._facet_rows: dict[str, FacetRow] = {}  # made once per facet, kept (see _show_facets)
        super().__init__(**kwargs)

    def on_kv_post(self, base_widget):
        self.keyboard = OnScreenKeyboard()
        self.keyboard.bind(on_key=lambda _, value: self.key(value))
        self.ids.keyboard_slot.add_widget(self.keyboard)
        self.app.bind(lang=lambda *_: self.search_now())
        self._trigger = Clock.create_trigger(lambda dt: self._search(), 0)

    def start(self) -> None:
        """A fresh search with the keyboard up."""
        self.finder = Finder(self.services.catalog, page=PAGE)
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
        # The first page's rows are built off the UI thread too; the list builds the rest as it scrolls.
        rows = await asyncio.to_thread(product_rows, result.items, lang, resolve)
        if finder is self.finder and result is finder.latest:
            self.searching = False
            self._result = result
            self.total = result.total
            self.corrected = result.corrected or ""
            self.ids.results.set_rows(rows, len(result.items) + len(result.more_ids),
                                      search_pages(self.services.catalog, result, lang, resolve))
            self._show_facets(result)

    def on_typing(self, *args) -> None:
        self._show_facets(self._result)

    def _show_facets(self, result: SearchResult | None) -> None:
        if result is None or self.finder is None:
            return
        # After every key: the rows and their chips are kept and updated, never built anew (a new
        # chip per facet value, up to 60 widgets, on every keystroke was most of this step's time).
        names = FACET_ROWS[:FACET_ROWS_WHILE_TYPING] if self.typing else FACET_ROWS
        rows = []
        for facet in names:
            chips = facet_chips(result.facets, facet)
            if chips:
                row = self._facet_row(facet)
                row.show(chips, facet_value(self.finder.filters, facet))
                rows.append(row)
        box = self.ids.facets
        if box.children[::-1] != rows:  # other facets than last time (or the box was emptied)
            box.clear_widgets()
            for row in rows:
                box.add_widget(row)

    def _facet_row(self, facet: str) -> "FacetRow":
        row = self._facet_rows.get(facet)
        if row is None:
            row = self._facet_rows[facet] = FacetRow(facet=facet)
            row.bind(on_chip=lambda row, value: self.toggle_facet(row.facet, value))
        return row


class FacetRow(ScrollView):
    """One facet: its name and a chip per value (a ChipPool), in a strip that scrolls sideways (search.kv)."""

    __events__ = ("on_chip",)
    facet = StringProperty("")
    _pool: ChipPool | None = None

    def show(self, chips: list[tuple[str, str]], chosen: str) -> None:
        """chips: (value, label) as kiosk.views.facet_chips gives them; `chosen` is shown selected."""
        if self._pool is None:
            self._pool = ChipPool(self.ids.strip, lambda value: self.dispatch("on_chip", value))
        if self._pool.show(chips, chosen):
            self.scroll_x = 0  # back to the start, as a newly built row would be

    @property
    def chips(self) -> list[KToggle]:
        return self._pool.chips if self._pool else []

    def on_chip(self, value: str) -> None:
        """A chip was tapped: its facet value (the screen toggles that filter)."""
