from kivy.properties import StringProperty

from kiosk.screens.base import KioskScreen
from kiosk.views import product_rows


class ProductsScreen(KioskScreen):
    category_id = StringProperty("")
    title = StringProperty("")

    def show(self, category_id: str) -> None:
        self.category_id = category_id
        self.ids.grid.scroll_y = 1

    def refresh(self) -> None:
        catalog = self.services.catalog
        category = catalog.category(self.category_id)
        if category is None:
            self.title, self.ids.grid.data = "", []
            return
        lang = self.app.lang
        self.title = category.name_en if lang == "en" and category.name_en else category.name
        self.ids.grid.data = product_rows(catalog.products_in(category.id), lang, self.app.resolve_url)

    def on_language(self, *args) -> None:
        if self.manager and self.manager.current == self.name:
            self.refresh()
