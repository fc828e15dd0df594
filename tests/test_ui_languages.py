"""Switching language changes every visible text on every screen (issue 7, items 1 and 9).

The real app against the reference server, with the simulated card terminal: one article goes into
the cart, and every screen of `kiosk.screens.SCREENS` is shown with content - attract, categories,
an article list, an article, search results, the cart, how to get it, the address (with its error
messages), the card prompt and the receipt. On each, the language button is tapped (it must be on
every screen) and the texts of all visible labels and buttons are read in Dutch and in English:

- no text anywhere on the screen shows an untranslated `[some.key]`;
- no Dutch text that holds words appears unchanged in English. What may stay the same is what is
  not the kiosk's own text, and it is named from where it comes from, not from what the screens show:
  the catalog (article names, brands, descriptions, sizes, colours, category names), the shops, the
  promotions, the order's reference, number and card, what the shopper typed, and the few messages
  the two catalogs spell the same ("Postcode"). Those strings are cut out of a text (as whole words),
  and if any word of two letters or more is left, the text must change. Numbers, prices, dates and
  symbols hold no such words. A Dutch word written into a .kv file or a Python view is caught.
"""

from __future__ import annotations

import re

import pytest
from kivy.uix.label import Label

from kiosk.config import StaffSection
from kiosk.hardware import open_terminal
from kiosk.i18n import LANGUAGES, strings, translate
from kiosk.screens import SCREENS
from kiosk.screens.autopilot import UiDriver
from kiosk.screens.widgets import TechnicalLine
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui

UNTRANSLATED = re.compile(r"\[[a-z0-9_]+(?:\.[a-z0-9_]+)+\]")
WORD = re.compile(r"[^\W\d_]{2,}")
CARD_DELAY_S = 8.0  # the simulated card is tapped this long after the card prompt: time to read it


# --- reading a screen -----------------------------------------------------------------------------

def _hidden(widget) -> bool:
    return widget.opacity <= 0 or getattr(widget, "shown", True) is False or widget.width <= 0 or widget.height <= 0


def visible_labels(widget) -> list[Label]:
    """Labels and buttons (Kivy buttons are labels) that can be seen: not in a hidden subtree."""
    if _hidden(widget):
        return []
    found = [widget] if isinstance(widget, Label) and not isinstance(widget, TechnicalLine) and widget.text.strip() else []
    for child in reversed(widget.children):
        found += visible_labels(child)
    return found


def every_text(screen) -> list[str]:
    return [w.text for w in screen.walk(restrict=True) if isinstance(w, Label) and not isinstance(w, TechnicalLine) and w.text]


def data_strings(app, typed: set[str]) -> set[str]:
    """Text that is not the kiosk's own, by its source (see the module docstring)."""
    services = app.services
    catalog = services.catalog
    found: set[str] = set(typed)
    categories = list(catalog.top_categories())
    while categories:
        category = categories.pop()
        found |= {category.name, category.name_en or ""}
        categories += catalog.children(category.id)
    for top in catalog.top_categories():
        for summary in catalog.products_in(top.id):
            product = catalog.product(summary.id)
            found |= {product.name, product.brand or "", product.description}
            for variant in product.variants:
                for value in (variant.size, variant.colour):
                    if value:
                        found |= {value, value[:1].upper() + value[1:]}
    for nearby in services.stores.by_distance():
        found |= {nearby.store.name, nearby.store.city, nearby.store.address}
    found.add(services.settings.kiosk.store_name)
    for promotion in services.promotions:
        found |= {promotion.title, promotion.title_en or "", promotion.subtitle, promotion.subtitle_en or ""}
    for line in services.cart.lines:
        found |= {line.name, line.variant_label}
    receipt = app.screen("receipt").receipt
    if receipt is not None:
        found |= {receipt.reference, receipt.order_number or "", receipt.tracking_url}
        if receipt.card is not None:
            found |= {receipt.card.scheme, receipt.card.masked_pan}
    # Messages the catalogs spell the same in both languages (placeholders cut out).
    dutch, english = strings("nl"), strings("en")
    for key, text in dutch.items():
        if english.get(key) == text:
            found |= {part for part in re.split(r"\{\w+\}", text) if part.strip()}
    return {text.strip() for text in found if text and text.strip()}


def own_words(text: str, data: re.Pattern) -> list[str]:
    """The words of `text` that are the kiosk's own: what is left once data strings are cut out."""
    return WORD.findall(data.sub(" ", text))


def data_pattern(strings_: set[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(s) for s in sorted(strings_, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


class LanguageWalk:
    def __init__(self, app, driver: UiDriver) -> None:
        self.app, self.driver = app, driver
        self.typed: set[str] = set()
        self.visited: list[str] = []
        self.problems: list[str] = []

    async def settle(self) -> None:
        """Until the screen's texts stop changing (some screens refill lists after a switch)."""
        screen = self.app.root.current_screen
        await self.driver.frames(3)
        last, stable = None, 0
        for _ in range(120):
            now = every_text(screen)
            stable = stable + 1 if now == last else 0
            if stable >= 3:
                return
            last = now
            await self.driver.frames(1)

    async def switch_language(self) -> None:
        """Tap this screen's language button, as a shopper does."""
        screen = self.app.root.current_screen
        label = translate(self.app.lang, "language.switch")
        buttons = [w for w in visible_labels(screen) if w.text == label and hasattr(w, "trigger_action")]
        assert buttons, f"{screen.name}: no language button ({label!r}) on screen"
        before = self.app.lang
        await self.driver.tap(buttons[0])
        await self.driver.wait_until(lambda: self.app.lang != before, f"the language to switch on {screen.name}")
        await self.settle()

    async def check(self, name: str) -> None:
        app = self.app
        await self.driver.wait_for_screen(name)
        await self.settle()
        screen = app.root.current_screen
        assert app.lang == "nl"
        texts = {}
        for lang in LANGUAGES:
            if app.lang != lang:
                await self.switch_language()
            texts[lang] = [w.text for w in visible_labels(screen)]
            for text in every_text(screen):
                if UNTRANSLATED.search(text):
                    self.problems.append(f"{name} ({lang}): untranslated {text!r}")
            await self.driver.screenshot(f"{name}-{lang}")
        await self.switch_language()  # back to Dutch for the next screen
        assert app.lang == "nl"
        data = data_pattern(data_strings(app, self.typed))
        english = set(texts["en"])
        checked = [text for text in texts["nl"] if own_words(text, data)]
        assert checked, f"{name}: no text of the kiosk's own found in Dutch: {texts['nl']}"
        for text in dict.fromkeys(checked):
            if text in english:
                self.problems.append(f"{name}: {text!r} is the same in English (words {own_words(text, data)})")
        self.visited.append(name)


STAFF_BADGE = "04A1B2C3D4E5F6"  # s-utr-1 of the reference server's demo shop


# --- the walk -------------------------------------------------------------------------------------

async def test_every_screen_changes_every_text_with_the_language(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated", simulated_delay_s=CARD_DELAY_S)
    settings = settings.model_copy(update={"staff": StaffSection.model_validate(
        {"members": [{"id": "s-utr-1", "name": "Sanne de Vries", "badge_uids": [STAFF_BADGE]}]})})
    if hasattr(settings.display, "promotion_s"):
        settings.display.promotion_s = 600  # no promotion turns while a screen is read
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=CARD_DELAY_S)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app, tmp_path / "shots")
        walk = LanguageWalk(app, driver)
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        await driver.wait_until(lambda: app.services.stores.loaded, "the shops", timeout_s=30)

        await walk.check("attract")

        app.start_shopping()
        categories = app.screen("categories")
        await driver.wait_until(lambda: len(categories.ids.grid.data) > 0, "categories")
        await walk.check("categories")

        top = app.services.catalog.top_categories()[0]
        app.open_category(top.id)
        products = app.screen("products")
        await driver.wait_until(lambda: len(products.ids.grid.data) > 0, "products")
        await walk.check("products")

        # An article a contactless payment without PIN covers, with variants if there is one.
        limit = app.services.settings.payment.no_cvm_limit_cents
        candidates = [app.services.catalog.product(row["key"]) for row in products.ids.grid.data[:12]]
        affordable = [p for p in candidates if max(v.price_cents for v in p.variants) <= limit // 2]
        assert affordable, "the test catalog should have an affordable article in its first category"
        product = next((p for p in affordable if len(p.variants) > 1), affordable[0])
        app.open_product(product.id)
        article = app.screen("article")
        await driver.wait_for_screen("article")
        await driver.wait_until(lambda: article.stock_state != "loading", "stock figures")
        article.add_to_cart()
        await driver.wait_until(lambda: app.cart_count == 1, "the cart to hold the article")
        await walk.check("article")

        query = WORD.findall(product.name)[0].lower()
        walk.typed.add(query)
        app.open_search(query)
        search = app.screen("search")
        await driver.wait_until(lambda: search.total > 0 and len(search.ids.results.data) > 0, "search results")
        await walk.check("search")

        app.go("cart")
        cart = app.screen("cart")
        await driver.wait_until(lambda: len(cart.ids.lines.data) == 1, "the cart line")
        await walk.check("cart")

        cart.pay()
        fulfil = app.screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
        if not fulfil.prices_accepted:
            fulfil.accept_prices()
        await walk.check("fulfil")

        # The address, with the message of every field that is wrong when nothing is typed.
        assert fulfil.offer.delivery is not None
        fulfil.choose(fulfil.offer.delivery.key)
        fulfil.go_on()
        address = app.screen("address")
        await driver.wait_for_screen("address")
        address.go_on()
        await driver.wait_until(lambda: bool(address.errors), "the address messages")
        await walk.check("address")
        app.go_back()
        await driver.wait_for_screen("fulfil")
        await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it again")

        way = fulfil.offer.take_now or next(c for c in fulfil.offer.choices if c.type != "delivery")
        fulfil.choose(way.key)
        fulfil.go_on()
        pay = app.screen("pay")
        await driver.wait_for_screen("pay")
        await driver.wait_until(lambda: pay.state == "waiting_for_card", "the card prompt")
        await walk.check("pay")
        assert pay.state == "waiting_for_card", "the card came before both languages were read: raise CARD_DELAY_S"

        await driver.wait_for_screen("receipt", timeout_s=60)
        receipt = app.screen("receipt")
        await driver.wait_until(lambda: receipt.confirmed, "the order number")
        await walk.check("receipt")

        # Staff: the PIN screen, then in with a badge, every staff screen with its data.
        app.open_staff_login()
        await driver.wait_for_screen("staff_login")
        await walk.check("staff_login")
        app.badge_presented(STAFF_BADGE)
        await driver.wait_for_screen("staff_home")
        home = app.screen("staff_home")
        await driver.wait_until(lambda: home.to_pick >= 0 or home.pick_list_unreachable, "the pick list counts")
        await walk.check("staff_home")
        loaded = {
            "staff_restock": lambda screen: True,
            "staff_picks": lambda screen: screen.loaded and not screen.loading,
            "staff_settings": lambda screen: not screen.loading,
            "staff_diagnostics": lambda screen: screen.checks and not screen.running,
        }
        for name, ready in loaded.items():
            app.go(name)
            await driver.wait_for_screen(name)
            screen = app.screen(name)
            await driver.wait_until(lambda: ready(screen), f"{name} to show its data", timeout_s=30)
            await walk.check(name)
        app.staff_logout()
        await driver.wait_for_screen("attract")

    assert sorted(walk.visited) == sorted(SCREENS), "every registered screen is walked in both languages"
    assert walk.problems == []


# --- the walk's own judgement ---------------------------------------------------------------------

def test_the_walk_flags_kiosk_words_and_lets_data_pass():
    data = data_pattern({"Fietsdrager Pro", "Zwart", "M", "Postcode", "3511BK"})
    assert own_words("Fietsdrager Pro", data) == []
    assert own_words("Zwart · M", data) == []
    assert own_words("€ 12,95", data) == [] and own_words("14:05 · 2.000", data) == []
    assert own_words("Postcode", data) == [] and own_words("3511BK", data) == []
    assert own_words("Betalen", data) == ["Betalen"]
    assert own_words("Mooi Zwarte fiets", data) == ["Mooi", "Zwarte", "fiets"]  # whole words only
    assert own_words("Winkelwagen  1", data) == ["Winkelwagen"]
