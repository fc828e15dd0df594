"""Staff: restock and count (issue 8, point 2).

Two steps on one screen:

1. Find the article: scan its barcode (the app calls `scanned(code)` in staff mode), or search the
   local catalog on the on-screen keyboard and tap a result (a complete EAN typed on the keyboard
   opens its article too).
2. The article: its variants with this shop's stock (available now, the last on-hand figure this
   pillar heard of, the shelf), read from the central API off the UI thread; choose a variant,
   "Ontvangen" (received: added) or "Geteld" (counted: what is on the shelf now), type the quantity
   on the keypad, "Opslaan". The answer shows at once: the new on-hand figure, or "saved, sent when
   there is a connection" (kiosk/restock.py journals it first), or why the central API refused it.

The screen only shows state and forwards intents; kiosk/restock.py does the work.
"""

from __future__ import annotations

import dataclasses
import logging

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from kiosk.finder import Finder
from kiosk.journal import JournalError
from kiosk.journal.adjustments import AdjustmentState
from kiosk.restock import QUANTITY_LIMITS, InvalidAdjustment, InvalidQuantity, ShopStock, VariantStock
from kiosk.screens.base import KioskScreen
from kiosk.screens.keyboard import NumericKeypad, OnScreenKeyboard
from kiosk.screens.widgets import IndexedView

log = logging.getLogger("kiosk.staff")

RESULTS = 50       # search hits shown: staff look for one article, not browse
MAX_DIGITS = 6     # the largest count the contract allows (100000) has six


class RestockHit(IndexedView, ButtonBehavior, BoxLayout):
    """One search result: tap to open the article."""

    key = StringProperty("")
    title = StringProperty("")
    brand = StringProperty("")


class RestockVariantRow(ButtonBehavior, BoxLayout):
    """One variant with this shop's figures; tap to choose it (the chosen one is framed)."""

    sku = StringProperty("")
    label = StringProperty("")
    figures = StringProperty("")
    place = StringProperty("")
    selected = BooleanProperty(False)


class RestockKeypad(NumericKeypad):
    """The phone-layout keypad without its "done" key: "Opslaan" below it is the one way to finish.
    Its last row is blank, 0, delete, so 0 sits under 8 as on every keypad."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        last = self.done.parent
        last.clear_widgets()
        for widget in (Widget(), self.keys["0"], self.delete):
            last.add_widget(widget)


class StaffRestockScreen(KioskScreen):
    step = StringProperty("find")         # "find": search or scan; "article": its variants and the form
    query = StringProperty("")
    typing = BooleanProperty(True)        # the keyboard is up
    total = NumericProperty(-1)           # search hits (-1: nothing searched yet)
    not_found = StringProperty("")        # a scanned code that is no article of the catalog
    product_id = StringProperty("")
    product_name = StringProperty("")
    product_brand = StringProperty("")
    loading = BooleanProperty(False)      # the shop's stock is being read
    stock_unreachable = BooleanProperty(False)
    sku = StringProperty("")              # the chosen variant
    kind = StringProperty("")             # "received" | "counted" ("" until chosen)
    typed = StringProperty("")            # the quantity as typed
    saving = BooleanProperty(False)
    message = StringProperty("")          # the outcome of the last save, already translated
    message_tone = StringProperty("")     # "ok" | "queued" | "error"

    def on_kv_post(self, base_widget):
        # Both steps stay alive; only the current one is in the tree (no hidden widget takes touches).
        self._find_step = self.ids.find_step.__self__
        self._article_step = self.ids.article_step.__self__
        self.ids.body.remove_widget(self._article_step)
        self.keyboard = OnScreenKeyboard()
        self.keyboard.bind(on_key=lambda _, value: self.key(value))
        self.keypad = RestockKeypad()
        self.keypad.bind(on_key=lambda _, value: self.digit(value))
        self.ids.keypad_slot.add_widget(self.keypad)
        self.finder: Finder | None = None
        self.stock: ShopStock | None = None
        self.rows: dict[str, RestockVariantRow] = {}
        self._last_outcome: tuple | None = None
        self._search_trigger = Clock.create_trigger(lambda dt: self._search(), 0)
        self.app.bind(lang=self._relabel)
        self._sync_keyboard()

    # --- entering ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """From the staff home: a fresh start (the previous visit's article and figures are gone)."""
        self.start_search()
        self.kind = ""

    def start_search(self) -> None:
        self.finder = Finder(self.services.catalog, limit=RESULTS)
        self.query, self.typing, self.total, self.not_found = "", True, -1, ""
        self.ids.results.data = []
        self._show_step("find")

    def _show_step(self, step: str) -> None:
        self.step = step
        body = self.ids.body
        wanted = self._find_step if step == "find" else self._article_step
        if wanted.parent is not body:
            body.clear_widgets()
            body.add_widget(wanted)

    # --- step 1: find the article -------------------------------------------------------------

    def key(self, value: str) -> None:
        finder = self.finder
        if finder is None:
            return
        if value == "\n":
            self.typing = False
            return
        if value == "\b":
            finder.backspace()
        else:
            finder.type(value)
        self.query, self.not_found = finder.query, ""
        hit = finder.barcode_hit()
        if hit is not None:  # an EAN typed in full: the article, that variant chosen
            self.open_article(*hit)
            return
        self._search_trigger()

    def clear(self) -> None:
        if self.finder is not None:
            self.finder.clear_query()
        self.query, self.typing, self.not_found = "", True, ""
        self._search_trigger()

    def show_keyboard(self) -> None:
        self.typing = True

    def on_typing(self, *args) -> None:
        if hasattr(self, "keyboard"):
            self._sync_keyboard()

    def _sync_keyboard(self) -> None:
        slot = self.ids.keyboard_slot
        if self.typing and self.keyboard.parent is None:
            slot.add_widget(self.keyboard)
        elif not self.typing and self.keyboard.parent is slot:
            slot.remove_widget(self.keyboard)

    def _search(self) -> None:
        if self.finder is None:
            return
        if not self.finder.query.strip():
            self.total = -1
            self.ids.results.data = []
            return
        self.app.spawn(self._run_search(self.finder))

    async def _run_search(self, finder: Finder) -> None:
        result = await finder.run()
        if result is None or finder is not self.finder:  # a newer search is on its way
            return
        self.total = result.total
        self.ids.results.data = [{"key": item.id, "title": item.name, "brand": item.brand or ""}
                                 for item in result.items]

    def scanned(self, code: str) -> None:
        """A barcode scanned while this screen shows: its article, that variant chosen."""
        hit = self.services.catalog.find_ean(code)
        if hit is None:
            log.info("restock: scanned code %s is not in the catalog", code)
            self.start_search()
            self.not_found = code.strip()
            return
        self.open_article(*hit)

    # --- step 2: the article --------------------------------------------------------------------

    def open_article(self, product_id: str, sku: str | None = None) -> None:
        product = self.services.catalog.product(product_id)
        if product is None:
            self.start_search()
            return
        self.product_id, self.product_name, self.product_brand = product.id, product.name, product.brand or ""
        self.typed, self.message, self.message_tone, self._last_outcome = "", "", "", None
        self.stock, self.stock_unreachable = None, False
        skus = [variant.sku for variant in product.variants]
        self.sku = sku if sku in skus else (skus[0] if len(skus) == 1 else "")
        # Rows at once (names, no figures yet); the figures follow from the central API.
        labels = {v.sku: " · ".join(part for part in (v.size, v.colour) if part) for v in product.variants}
        self._build_rows([VariantStock(s, labels[s], None, None, None) for s in skus], loading=True)
        self.typing = False
        self._show_step("article")
        self.ids.variants_view.scroll_y = 1
        self.loading = True
        self.app.spawn(self._load_stock(product))

    async def _load_stock(self, product) -> None:
        try:
            stock = await self.services.restock.stock_for(product)
        except Exception:  # stock_for does not raise for the central API; anything else is a bug
            log.exception("restock: stock of %s", product.id)
            stock = None
        if product.id != self.product_id:  # another article was opened meanwhile
            return
        self.loading = False
        self.stock = stock
        self.stock_unreachable = stock is None or not stock.reachable
        if stock is not None:
            self._build_rows(stock.variants)

    def _build_rows(self, variants: list[VariantStock], loading: bool = False) -> None:
        box = self.ids.variants
        box.clear_widgets()
        self.rows = {}
        for variant in variants:
            row = RestockVariantRow(sku=variant.sku, selected=variant.sku == self.sku)
            row.bind(on_release=lambda r: self.choose(r.sku))
            self._fill_row(row, variant, loading)
            self.rows[variant.sku] = row
            box.add_widget(row)

    def _fill_row(self, row: RestockVariantRow, variant: VariantStock, loading: bool = False) -> None:
        t, lang = self.app.t, self.app.lang
        row.label = variant.label or t("staff.restock.single_variant", lang)
        if loading:
            row.figures = t("staff.restock.reading", lang)
        else:
            parts = [t("staff.restock.available", lang, count=variant.available) if variant.available is not None
                     else t("staff.restock.available_unknown", lang)]
            if variant.on_hand is not None:
                parts.append(t("staff.restock.on_hand", lang, count=variant.on_hand))
            if variant.last is not None and not variant.last.state.is_final:
                parts.append(t("staff.restock.last_unsent", lang))
            row.figures = "   ·   ".join(parts)
        row.place = (t("staff.restock.location", lang, location=variant.location) if variant.location
                     else t("staff.restock.stockroom", lang) if variant.available is not None else "")

    def _relabel(self, *args) -> None:
        # The language button: the rows and the last outcome follow.
        if self.stock is not None:
            for variant in self.stock.variants:
                if variant.sku in self.rows:
                    self._fill_row(self.rows[variant.sku], variant)
        elif self.rows and self.step == "article":
            for row in self.rows.values():
                row.figures = self.app.t("staff.restock.reading", self.app.lang)
        if self._last_outcome is not None:
            tone, key, values = self._last_outcome
            self._say(tone, key, **values)

    def choose(self, sku: str) -> None:
        self.sku = sku
        self.message, self._last_outcome = "", None

    def on_sku(self, *args) -> None:
        for sku, row in getattr(self, "rows", {}).items():
            row.selected = sku == self.sku

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.message, self._last_outcome = "", None

    def digit(self, value: str) -> None:
        if value == "\n":
            self.save()
            return
        self.typed = self.typed[:-1] if value == "\b" else (self.typed + value)[:MAX_DIGITS]
        self.typed = self.typed.lstrip("0") or ("0" if self.typed else "")
        if self.typed:
            self.message, self._last_outcome = "", None

    def can_save(self, sku: str, kind: str, typed: str, saving: bool) -> bool:
        return bool(sku and kind and typed) and not saving

    def save(self) -> None:
        if not self.can_save(self.sku, self.kind, self.typed, self.saving) or self.app.staff_session is None:
            return
        self.saving = True
        self.app.spawn(self._record(self.product_id, self.sku, self.kind, int(self.typed)))

    async def _record(self, product_id: str, sku: str, kind: str, quantity: int) -> None:
        try:
            entry = await self.services.restock.record(self.app.staff_session, sku, kind, quantity)
        except InvalidQuantity as exc:
            self._say("error", "staff.restock.bad_quantity", minimum=exc.minimum, maximum=exc.maximum)
            return
        except InvalidAdjustment as exc:
            log.warning("restock: %s", exc)
            self._say("error", "staff.restock.not_saved")
            return
        except JournalError:
            log.exception("restock: adjustment not journalled")
            self._say("error", "staff.restock.not_saved")
            return
        finally:
            self.saving = False
        if product_id != self.product_id:
            return
        self.typed = ""
        if entry.state is AdjustmentState.acknowledged:
            result = entry.result
            self._say("ok", "staff.restock.saved", on_hand=result.on_hand, available=result.available)
            self._update_variant(sku, entry, available=result.available)
        elif entry.state is AdjustmentState.rejected:
            self._say("error", "staff.restock.rejected", reason=entry.last_error or "")
            self._update_variant(sku, entry)
        else:  # pending or sent: journalled, the background sender delivers it
            self._say("queued", "staff.restock.queued")
            self._update_variant(sku, entry)

    def _update_variant(self, sku: str, entry, available: int | None = None) -> None:
        if self.stock is None:
            return
        variants = []
        for variant in self.stock.variants:
            if variant.sku == sku:
                variant = dataclasses.replace(
                    variant, last=entry, available=available if available is not None else variant.available)
            variants.append(variant)
        self.stock = dataclasses.replace(self.stock, variants=variants)
        for variant in variants:
            if variant.sku == sku and sku in self.rows:
                self._fill_row(self.rows[sku], variant)

    def _say(self, tone: str, key: str, **values) -> None:
        self._last_outcome = (tone, key, values)
        self.message_tone = tone
        self.message = self.app.t(key, self.app.lang, **values)

    # --- texts for the .kv -------------------------------------------------------------------

    def quantity_hint(self, lang: str, kind: str) -> str:
        if not kind:
            return self.app.t("staff.restock.kind_hint", lang)
        minimum, maximum = QUANTITY_LIMITS[kind]
        return self.app.t(f"staff.restock.{kind}_hint", lang, minimum=minimum, maximum=maximum)

    def stock_line(self, lang: str, loading: bool, unreachable: bool) -> str:
        if loading:
            return self.app.t("staff.restock.loading", lang)
        if unreachable:
            return self.app.t("staff.restock.unreachable", lang)
        return ""

    def find_line(self, lang: str, query: str, total: int, not_found: str) -> str:
        if not_found:
            return self.app.t("staff.restock.unknown_code", lang, code=not_found)
        if query.strip() and total == 0:
            return self.app.t("staff.restock.no_results", lang)
        if query.strip() and total > 0:
            return self.app.t("staff.restock.results", lang, count=total)
        return self.app.t("staff.restock.find_hint", lang)
