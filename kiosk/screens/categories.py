from kiosk.screens.base import KioskScreen
from kiosk.views import category_rows


class CategoriesScreen(KioskScreen):
    def refresh(self) -> None:
        self.ids.grid.data = category_rows(self.services.catalog, self.app.lang, self.app.resolve_url)

    def on_language(self, *args) -> None:
        if self.manager and self.manager.current == self.name:
            self.refresh()
