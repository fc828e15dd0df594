from datetime import UTC, datetime

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from kiosk import variants
from kiosk.api import ApiError
from kiosk.cart import CartLine
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import KToggle, Thumb
from kiosk.stock_view import day_text, stock_block
from kiosk.stores import SHOP_ZONE
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
    stock_state = StringProperty("loading")  # loading | known | stale (last known figures) | unknown
    here_text = StringProperty("")
    here_state = StringProperty("unknown")  # an Availability value, or "unknown"
    nearby_title = StringProperty("")
    as_of_text = StringProperty("")  # "" when the figures are fresh
    delivery_text = StringProperty("")
    snapshot = None
    delivery = None
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
        self.snapshot, self.stock_state, self.delivery = None, "loading", None
        self.here_text, self.as_of_text, self.delivery_text, self.nearby_title = "", "", "", ""
        self.ids.nearby.data = []
        self.select(variants.find(product, sku or "") or product.variants[0])
        self.app.spawn(self._load_stock([v.sku for v in product.variants]))
        self.app.spawn(self._load_delivery(self.sku))

    def product(self):
        return self.services.catalog.product(self.product_id)

    def select(self, variant) -> None:
        self.sku = variant.sku
        self.price_cents = variant.price_cents
        self.just_added = False
        self._show_options()
        self._show_stock()

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

    def _show_stock(self) -> None:
        """Re-render the stock block for the chosen variant from the figures already fetched."""
        if self.snapshot is None:
            return
        settings = self.services.settings.stock
        block = stock_block(self.snapshot, self.sku, self.services.stores, nearby_count=settings.nearby_shops,
                            few_left_max=settings.few_left_max, now=datetime.now(UTC), language=self.app.lang)
        self.here_text, self.here_state, self.as_of_text = block.here, block.here_state, block.as_of
        self.nearby_title = block.nearby_title
        self.ids.nearby.data = list(block.nearby)

    def on_language(self, *args) -> None:
        self._show_stock()
        self._show_delivery()

    async def _load_stock(self, skus: list[str]) -> None:
        """ONE stock request for every variant at this shop and every other shop (their order and
        distance come from the shop list); then the block is redrawn from it per variant."""
        product_id = self.product_id
        stores = self.services.stores
        await stores.load()
        store_ids = [stores.own_store_id] + [n.id for n in stores.by_distance(include_own=False)]
        snapshot = await self.services.stock.lookup(skus, store_ids)
        if product_id != self.product_id:
            return  # the shopper moved on meanwhile
        self.snapshot = snapshot
        self.stock_state = "unknown" if not snapshot.figures else ("stale" if snapshot.stale else "known")
        self._show_stock()

    async def _load_delivery(self, sku: str) -> None:
        """The home-delivery promise, as the central API quotes it for one of this variant."""
        product_id = self.product_id
        try:
            option = await self.services.fulfilment.delivery_option(sku)
        except ApiError:
            option = None
        if product_id == self.product_id:
            self.delivery = option
            self._show_delivery()

    def _show_delivery(self) -> None:
        option, lang = self.delivery, self.app.lang
        if option is None:
            self.delivery_text = ""
            return
        cost = self.app.t("fulfil.free", lang) if option.cost_cents == 0 else self.app.money(option.cost_cents, lang)
        day = day_text(option.ready_on, datetime.now(SHOP_ZONE).date(), lang)
        self.delivery_text = self.app.t("article.delivery", lang, day=day, cost=cost)

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
