from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, StringProperty

from kiosk import variants
from kiosk.api import ApiError
from kiosk.cart import CartLine
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import KToggle, Thumb
from kiosk.views import product_images, variant_label


class ArticleScreen(KioskScreen):
    """One article: picture gallery, size and colour picker, price, stock in this shop, add to cart."""

    product_id = StringProperty("")
    sku = StringProperty("")
    title = StringProperty("")
    brand = StringProperty("")
    description = StringProperty("")
    images = ListProperty([])
    image_index = NumericProperty(0)
    price_cents = NumericProperty(-1)  # -1 while no variant is chosen: never show a price we were not sent
    stock = DictProperty({})  # sku -> quantity; empty while unknown
    stock_state = StringProperty("loading")  # loading | known | unknown
    just_added = BooleanProperty(False)
    missing = BooleanProperty(False)

    def show(self, product_id: str, sku: str | None = None) -> None:
        self.product_id = product_id
        product = self.services.catalog.product(product_id)
        self.missing = product is None
        if product is None:
            self.title, self.images, self.sku = "", [], ""
            return
        self.title, self.brand, self.description = product.name, product.brand or "", product.description
        self.images = product_images(product, self.app.resolve_url)
        self._show_thumbs()
        self.just_added = False
        self.stock, self.stock_state = {}, "loading"
        self.select(variants.find(product, sku or "") or product.variants[0])
        self.app.spawn(self._load_stock([v.sku for v in product.variants]))

    def product(self):
        return self.services.catalog.product(self.product_id)

    def select(self, variant) -> None:
        self.sku = variant.sku
        self.price_cents = variant.price_cents
        self.just_added = False
        self._show_options()

    def choose(self, size: str | None = None, colour: str | None = None) -> None:
        product = self.product()
        if product is not None:
            self.select(variants.choose(product, self.sku, size=size, colour=colour))

    def _show_options(self) -> None:
        product = self.product()
        sizes, colours = variants.options(product, self.sku)
        for box, options, attribute in ((self.ids.sizes, sizes, "size"), (self.ids.colours, colours, "colour")):
            box.clear_widgets()
            if len(options) < 2:
                continue  # nothing to choose
            for option in options:
                chip = KToggle(text=option.value, value=option.value, state="down" if option.selected else "normal")
                chip.opacity = 1 if option.enabled else 0.5  # possible, but moves the other choice
                chip.bind(on_release=lambda c, a=attribute: self.choose(**{a: c.value}))
                box.add_widget(chip)

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
        product = self.product()
        variant = variants.find(product, self.sku) if product else None
        if variant is None:
            return
        self.services.cart.add(CartLine(
            sku=variant.sku, product_id=product.id, name=product.name,
            variant_label=variant_label(variant.size, variant.colour), unit_price_cents=variant.price_cents,
            quantity=1, image_url=product.images[0] if product.images else None,
        ))
        self.app.refresh_cart()
        self.just_added = True

    def _show_thumbs(self) -> None:
        strip = self.ids.thumbs
        strip.clear_widgets()
        if len(self.images) > 1:
            for index, url in enumerate(self.images):
                thumb = Thumb(url=url, index=index)
                thumb.bind(on_release=lambda t: self.show_image(t.index))
                strip.add_widget(thumb)
        self.show_image(0)

    def show_image(self, index: int) -> None:
        if 0 <= index < len(self.images) or index == 0:
            self.image_index = index
            for thumb in self.ids.thumbs.children:
                thumb.selected = thumb.index == index
