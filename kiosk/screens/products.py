import asyncio

from kivy.properties import BooleanProperty, StringProperty

from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import ChipPool, free_off_thread
from kiosk.views import category_name, product_rows, subcategory_chips


class ProductsScreen(KioskScreen):
    """The articles of a category, narrowed to a subcategory with a chip; smooth with 10,000 rows."""

    category_id = StringProperty("")  # the category chosen on the categories screen
    subcategory_id = StringProperty("")  # "" = all of category_id
    title = StringProperty("")
    loading = BooleanProperty(False)
    _chips: ChipPool | None = None  # the subcategory chips

    def __init__(self, **kwargs):
        self._rows: list[dict] = []  # the rows given to the grid (to free them off this thread later)
        super().__init__(**kwargs)

    def show(self, category_id: str) -> None:
        self.category_id, self.subcategory_id = category_id, ""
        self._set_rows([])  # inside the touch: the last category's rows go, freed by a worker thread

    def _set_rows(self, rows: list[dict]) -> None:
        shown, self._rows = self._rows, rows
        self.ids.grid.set_rows(rows)
        free_off_thread(self.app, shown)

    def choose_subcategory(self, subcategory_id: str) -> None:
        self.subcategory_id = "" if subcategory_id == self.subcategory_id else subcategory_id
        self.refresh()

    def refresh(self) -> None:
        catalog = self.services.catalog
        category = catalog.category(self.category_id)
        if category is None:
            self.title = ""
            self._set_rows([])
            if self._chips is not None:
                self._chips.show([], "")
            return
        lang = self.app.lang
        self.title = category_name(category, lang)
        self._show_chips(lang)
        self.app.spawn(self._load(self.subcategory_id or self.category_id, lang))

    async def _load(self, category_id: str, lang: str) -> None:
        # A big category has 10,000+ articles: read and build the rows off the UI thread.
        catalog, resolve = self.services.catalog, self.app.resolve_url
        self.loading = True
        rows = await asyncio.to_thread(lambda: product_rows(catalog.products_in(category_id), lang, resolve))
        if category_id == (self.subcategory_id or self.category_id) and lang == self.app.lang:
            self._set_rows(rows)
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
