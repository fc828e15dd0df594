"""Drive the real app with synthetic touches: the demo's autopilot and the UI tests share this.

Touches go through Kivy's own input path (`UnitTestTouch` -> `EventLoop.post_dispatch_input`), so a
tap here is what a finger does: hit-testing, ScrollView delays, button states and all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kivy.tests.common import UnitTestTouch

from kiosk.screens.cached_image import CachedImage
from kivy.uix.widget import Widget

log = logging.getLogger("kiosk.autopilot")


class AutopilotError(RuntimeError):
    pass


class UiDriver:
    def __init__(self, app, screenshot_dir: Path | None = None, timeout_s: float = 20.0) -> None:
        self.app = app
        self.screenshot_dir = screenshot_dir
        self.timeout_s = timeout_s
        self.screenshots: list[Path] = []

    @property
    def current(self) -> str:
        return self.app.root.current

    async def frames(self, count: int = 2) -> None:
        for _ in range(count):
            await asyncio.sleep(1 / 60)

    async def wait_until(self, predicate: Callable[[], bool], what: str, timeout_s: float | None = None) -> None:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while not predicate():
            if time.monotonic() > deadline:
                raise AutopilotError(f"timed out waiting for {what} (screen: {self.current})")
            await asyncio.sleep(1 / 30)

    async def wait_for_screen(self, name: str, timeout_s: float | None = None) -> None:
        manager = self.app.root
        await self.wait_until(lambda: manager.current == name and not manager.transition.is_active,
                              f"screen {name!r}", timeout_s)
        await self.frames(3)

    async def tap(self, widget: Widget) -> None:
        if widget.disabled or not getattr(widget, "shown", True):
            raise AutopilotError(f"cannot tap disabled {type(widget).__name__} {getattr(widget, 'text', '')!r}")
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        await self.frames(2)
        touch.touch_up()
        await self.frames(2)

    def screen(self, name: str):
        return self.app.root.get_screen(name)

    def visible_tile(self, recycle_view, index: int = 0) -> Widget:
        """The tile showing data row `index` (RecycleView creates views lazily)."""
        for view in recycle_view.children[0].children:
            if getattr(view, "index", None) == index:
                return view
        raise AutopilotError(f"row {index} is not visible in {recycle_view}")

    async def wait_for_images(self, timeout_s: float = 5.0) -> None:
        """Let the pictures of the current screen arrive, so screenshots show them."""
        root = self.app.root.current_screen

        def images_done() -> bool:
            return not any(isinstance(widget, CachedImage) and widget.status == "loading"
                           for widget in root.walk(restrict=True))

        try:
            await self.wait_until(images_done, "pictures", timeout_s)
        except AutopilotError:
            log.info("some pictures did not load in time; taking the screenshot anyway")
        await self.frames(3)

    async def screenshot(self, name: str) -> Path | None:
        if self.screenshot_dir is None:
            return None
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        await self.wait_for_images()
        from kivy.core.window import Window  # imported late: the window settings come first

        # Window.screenshot appends a counter to the name and returns the path it really wrote.
        written = Path(Window.screenshot(name=str(self.screenshot_dir / f"{name}.png")))
        target = self.screenshot_dir / f"{name}.png"
        written.replace(target)
        self.screenshots.append(target)
        log.info("screenshot %s", target)
        return target


async def play_journey(driver: UiDriver, present_card: Callable[[], Awaitable[None]] | None = None, *,
                       way: str = "take_now", tour: bool = False) -> object:
    """Attract -> categories -> article list -> article -> cart -> how to get it -> pay -> receipt.
    Returns the receipt.

    `present_card` is awaited once the pay screen waits for a card (a test inserts its virtual card
    there; the simulated terminal presents its own card). `way`: see `choose_way`. `tour` also
    searches on the keyboard and has it delivered, so every screen gets its screenshot.
    """
    await shop_until_pay(driver, way="delivery" if tour else way, search=tour)
    if present_card is not None:
        await present_card()
    await driver.wait_for_screen("receipt", timeout_s=90)
    receipt = driver.screen("receipt")
    await driver.wait_until(lambda: receipt.qr_texture is not None, "the receipt's QR")  # made off the UI thread
    await driver.screenshot("09-receipt")
    return receipt.receipt


DEMO_ADDRESS = {"postcode": "3511BK", "house_number": "12", "addition": "", "email": "demo@example.nl"}


async def type_text(driver: UiDriver, keys, text: str) -> None:
    """Type on an on-screen keyboard or keypad by tapping its keys, as a finger would."""
    for char in text:
        await driver.tap(keys.keys[char.lower()])


async def type_address(driver: UiDriver, address, field: str, text: str) -> None:
    """Tap a field of the address screen and type into it on whichever keys it docks (the postcode
    switches from the keypad to the letters after four digits)."""
    await driver.tap(address.ids[field])
    for char in text:
        await driver.tap(address.shown_keys.keys[char.lower()])


async def choose_way(driver: UiDriver, way: str) -> None:
    """On the "how would you like to get it" screen: `take_now` (or the first way offered when this
    shop has none), `pickup_other` (the nearest other shop) or `delivery` (typing the demo address)."""
    fulfil = driver.screen("fulfil")
    await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
    if not fulfil.prices_accepted:
        await driver.tap(fulfil.ids.accept_prices_button)
    offer = fulfil.offer
    if way == "pickup_other":
        wanted = next(c for c in offer.pickups if c.option.store_id != driver.app.services.stores.own_store_id)
    elif way == "delivery":
        wanted = offer.delivery
    else:
        wanted = offer.take_now or offer.choices[0]
    row = fulfil.row_for(wanted.key)
    await driver.tap(row)
    await driver.wait_until(lambda: fulfil.selected == wanted.key, "the chosen way")
    await driver.screenshot("06-fulfil")
    await driver.tap(fulfil.ids.continue_button)
    if wanted.type != "delivery":
        return
    await driver.wait_for_screen("address")
    address = driver.screen("address")
    for field in ("postcode", "house_number", "addition", "email"):
        await type_address(driver, address, field, DEMO_ADDRESS[field])
    await driver.screenshot("07-address")
    await driver.tap(address.ids.continue_button)


async def shop_until_pay(driver: UiDriver, *, way: str = "take_now", search: bool = False) -> None:
    """Put one article in the cart, press "check out" and choose how to get it (`choose_way`): ends
    on the pay screen waiting for a card."""
    await shop_until_checkout(driver, search=search)
    await choose_way(driver, way)
    await driver.wait_for_screen("pay")
    pay = driver.screen("pay")
    await driver.wait_until(lambda: pay.state == "waiting_for_card", "the card prompt")
    await driver.screenshot("08-pay")


async def search_on_the_keyboard(driver: UiDriver, text: str = "fietsbel") -> None:
    """From the categories: search by tapping the on-screen keyboard, then come back."""
    categories = driver.screen("categories")
    await driver.tap(categories.ids.search_field)
    await driver.wait_for_screen("search")
    search = driver.screen("search")
    await type_text(driver, search.keyboard, text)
    await driver.wait_until(lambda: len(search.ids.results.data) > 0, "search results")
    await driver.screenshot("02b-search")
    driver.app.go_back()
    await driver.wait_for_screen("categories")


@dataclass(frozen=True)
class Picks:
    """What a scripted shopper takes. The demo's: the first category, among the first articles one
    with variants that a payment without PIN covers, and its second variant. The soak's vary from
    session to session (tests/support/soak.py): 1,000 orders of one variant would empty its shelves,
    and a soak should see many pictures and pages. Indexes wrap around what is there."""

    category: int = 0
    article: int | None = None  # among the affordable first articles; None: the first one with variants
    variant: int = 1


def _tile(driver: UiDriver, grid, wanted: int) -> Widget:
    """The tile of row `wanted` when it is on screen, else of the first row (a RecycleView makes only
    the views it shows)."""
    try:
        return driver.visible_tile(grid, wanted)
    except AutopilotError:
        return driver.visible_tile(grid, 0)


async def shop_until_checkout(driver: UiDriver, *, search: bool = False, picks: Picks = Picks(),
                              check_out: bool = True) -> None:
    """Put one article in the cart and press "check out": ends on the "how to get it" screen (without
    `check_out`: on the article screen, the article in the cart)."""
    app = driver.app
    await driver.wait_for_screen("attract")
    await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
    await driver.screenshot("01-attract")
    await driver.tap(driver.screen("attract").ids.touch_prompt)  # not the promotion: that opens its article

    await driver.wait_for_screen("categories")
    categories = driver.screen("categories")
    await driver.wait_until(lambda: len(categories.ids.grid.data) > 0, "categories")
    await driver.frames(3)
    await driver.screenshot("02-categories")
    if search:
        await search_on_the_keyboard(driver)
    await driver.tap(_tile(driver, categories.ids.grid, picks.category % len(categories.ids.grid.data)))

    await driver.wait_for_screen("products")
    products = driver.screen("products")
    await driver.wait_until(lambda: len(products.ids.grid.data) > 0, "products")
    await driver.frames(3)
    await driver.screenshot("03-products")
    # Only what a contactless payment without PIN covers: the pillar takes no PINs.
    limit = app.services.settings.payment.no_cvm_limit_cents
    rows = products.ids.grid.data[:6]
    articles = [app.services.catalog.product(row["key"]) for row in rows]
    affordable = [i for i, p in enumerate(articles) if max(v.price_cents for v in p.variants) <= limit] or [0]
    if picks.article is None:
        with_variants = [i for i in affordable if len(articles[i].variants) > 1]
        wanted = (with_variants or affordable)[0]
    else:
        wanted = affordable[picks.article % len(affordable)]
    await driver.tap(_tile(driver, products.ids.grid, wanted))

    await driver.wait_for_screen("article")
    article = driver.screen("article")
    await driver.wait_until(lambda: article.stock_state != "loading", "stock figures")
    chips = list(reversed(article.ids.colours.children)) or list(reversed(article.ids.sizes.children))
    if len(chips) > 1:
        before, chip = article.sku, chips[picks.variant % len(chips)]
        await driver.tap(chip)
        if chip is not chips[0]:
            await driver.wait_until(lambda: article.sku != before, "another variant")
    for chip in chips:  # a variant that is not available cannot go into the cart: take one that is
        if not article.ids.add_button.disabled:
            break
        await driver.tap(chip)
        await driver.frames(2)
    await driver.screenshot("04-article")
    await driver.tap(article.ids.add_button)
    await driver.wait_until(lambda: app.cart_count == 1, "the cart to hold the article")
    if not check_out:
        return
    await driver.tap(article.ids.to_cart_button)

    await driver.wait_for_screen("cart")
    cart = driver.screen("cart")
    await driver.wait_until(lambda: len(cart.ids.lines.data) == 1, "the cart line")
    await driver.frames(3)
    await driver.screenshot("05-cart")
    await driver.tap(cart.ids.pay_button)
    await driver.wait_for_screen("fulfil")
