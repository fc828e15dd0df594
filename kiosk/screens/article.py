from kivy.properties import BooleanProperty, DictProperty, ListProperty, StringProperty

from kiosk.api import ApiError
from kiosk.cart import CartLine
from kiosk.catalog import variant_label
from kiosk.money import format_eur
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import KToggle
from kiosk.views import variant_choices


class ArticleScreen(KioskScreen):
    """One article: pictures, variant picker, price, stock in this shop, add to cart."""

    product_id = StringProperty("")
    sku = StringProperty("")
    title = StringProperty("")
    brand = StringProperty("")
    description = StringProperty("")
    image = StringProperty("")
    stock = DictProperty({})  # sku -> quantity; empty while unknown
    stock_state = StringProperty("loading")  # loading | known | unknown
    images = ListProperty([])
    just_added = BooleanProperty(False)

    def show(self, product_id: str) -> None:
        self.product_id = product_id
        product = self.services.catalog.product(product_id)
        if product is None:
            return
        self.title, self.brand, self.description = product.name, product.brand or "", product.description
        self.images = [self.app.resolve_url(url) for url in product.images]
        self.image = self.images[0] if self.images else ""
        self.just_added = False
        self.stock, self.stock_state = {}, "loading"
        self._build_chips(product)
        self.select(product.variants[0].sku)
        self.app.spawn(self._load_stock([v.sku for v in product.variants]))

    def _build_chips(self, product) -> None:
        box = self.ids.variants
        box.clear_widgets()
        if len(product.variants) < 2:
            return  # nothing to choose
        for sku, label in variant_choices(product):
            chip = KToggle(text=label, value=sku, group=f"variant-{product.id}")
            chip.bind(on_release=lambda chip: self.select(chip.value))
            box.add_widget(chip)

    def select(self, sku: str) -> None:
        self.sku = sku
        for chip in self.ids.variants.children:
            chip.state = "down" if chip.value == sku else "normal"
        self.just_added = False

    def variant(self):
        product = self.services.catalog.product(self.product_id)
        return next((v for v in product.variants if v.sku == self.sku), None) if product else None

    def price_text(self, lang: str, sku: str) -> str:
        variant = self.variant()
        return format_eur(variant.price_cents, lang) if variant else ""

    def stock_text(self, lang: str, state: str, stock: dict, sku: str) -> str:
        if state == "loading":
            return self.app.t("article.stock.loading", lang)
        if state == "unknown" or sku not in stock:
            return self.app.t("article.stock.unknown", lang)
        count = stock[sku]
        return self.app.t("article.stock.here", lang, count=count) if count > 0 else self.app.t("article.stock.none", lang)

    async def _load_stock(self, skus: list[str]) -> None:
        product_id = self.product_id
        try:
            figures = await self.services.stock.here(skus)
        except ApiError:
            if product_id == self.product_id:
                self.stock_state = "unknown"
            return
        if product_id == self.product_id:  # the shopper may have moved on meanwhile
            self.stock, self.stock_state = figures, "known"

    def add_to_cart(self) -> None:
        product = self.services.catalog.product(self.product_id)
        variant = self.variant()
        if product is None or variant is None:
            return
        self.services.cart.add(CartLine(
            sku=variant.sku, product_id=product.id, name=product.name,
            variant_label=variant_label(variant.size, variant.colour), unit_price_cents=variant.price_cents,
            quantity=1, image_url=product.images[0] if product.images else None,
        ))
        self.app.refresh_cart()
        self.just_added = True

    def show_image(self, index: int) -> None:
        if 0 <= index < len(self.images):
            self.image = self.images[index]
