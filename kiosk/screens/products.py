import asyncio

from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import ChipPool
from kiosk.views import category_name, category_pages, subcategory_chips


class ProductsScreen(KioskScreen):
    """The articles of a category, narrowed to a subcategory with a chip; smooth with 10,000 rows (read a
    page at a time as the shopper scrolls)."""

    category_id = StringProperty("")  # the category chosen on the categories screen
    subcategory_id = StringProperty("")  # "" = all of category_id
    title = StringProperty("")
    loading = BooleanProperty(False)
    _chips: ChipPool | None = None  # the subcategory chips

    def show(self, category_id: str) -> None:
        self.category_id, self.subcategory_id = category_id, ""
        self.ids.grid.set_rows([])  # inside the touch: the last category's rows go

    def choose_subcategory(self, subcategory_id: str) -> None:
        self.subcategory_id = "" if subcategory_id == self.subcategory_id else subcategory_id
        self.refresh()

    def refresh(self) -> None:
        catalog = self.services.catalog
        category = catalog.category(self.category_id)
        if category is None:
            self.title = ""
            self.ids.grid.set_rows([])
            if self._chips is not None:
                self._chips.show([], "")
            return
        lang = self.app.lang
        self.title = category_name(category, lang)
        self._show_chips(lang)
        self.app.spawn(self._load(self.subcategory_id or self.category_id, lang))

    async def _load(self, category_id: str, lang: str) -> None:
        # A big category has 10,000+ articles: the first page is read and built off the UI thread,
        # the list reads the next ones as the shopper scrolls.
        catalog, resolve, page = self.services.catalog, self.app.resolve_url, self.ids.grid.page_size
        self.loading = True
        more = category_pages(catalog, category_id, lang, resolve)
        rows, total = await asyncio.to_thread(lambda: (more(0, page), catalog.count_in(category_id)))
        if category_id == (self.subcategory_id or self.category_id) and lang == self.app.lang:
            self.ids.grid.set_rows(rows, total, more)
            self.loading = False

    def _show_chips(self, lang: str) -> None:
        # Inside the touch that opens the category: the chips are kept and reused (a new KToggle per
        # subcategory on every visit was most of that touch's time).
        if self._chips is None:
            self._chips = ChipPool(self.ids.subcategories, self.choose_subcategory)
        chips = subcategory_chips(self.services.catalog, self.category_id, lang)
        if chips:
            chips = [("", self.app.t("products.all", lang)), *chips]
        self._chips.show(chips, self.subcategory_id)

    def on_language(self, *args) -> None:
        if self.manager and self.manager.current == self.name:
            self.refresh()
