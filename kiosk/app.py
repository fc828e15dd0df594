"""KioskApp: builds the screens, owns the services, runs on asyncio.

The app holds only what every screen binds to (language, cart badge, connection state) and the
navigation. Everything else lives in `KioskServices`, which knows no Kivy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager, SlideTransition

from kiosk.barcode import WedgeDetector, is_valid_ean
from kiosk.i18n import format_when, other_language, translate
from kiosk.money import format_eur
from kiosk.services import ConnectionStatus, KioskServices
from kiosk.screens import SCREENS

log = logging.getLogger("kiosk.app")
_SCREENS_DIR = Path(__file__).resolve().parent / "screens"
_ICON = Path(__file__).resolve().parent.parent / "assets" / "icon.png"


def _load_rules() -> None:
    """Load the .kv rules once per process: a second app (tests, a restart) reuses them, and loading
    a rule twice would build every widget in it twice."""
    for name in ("theme", *SCREENS):
        path = str(_SCREENS_DIR / f"{name}.kv")
        if path not in Builder.files:
            Builder.load_file(path)


class _LogAndContinue(ExceptionHandler):
    """A bug in one callback must not take the pillar down: log it and keep running."""

    def handle_exception(self, inst):
        log.exception("unhandled exception in the UI", exc_info=inst)
        return ExceptionManager.PASS


class KioskApp(App):
    lang = StringProperty("nl")
    cart_count = NumericProperty(0)
    online = BooleanProperty(False)
    catalog_ready = BooleanProperty(False)
    catalog_count = NumericProperty(0)
    catalog_synced_at = ObjectProperty(None, allownone=True)  # datetime of the local copy
    catalog_syncing = BooleanProperty(False)
    catalog_status_text = StringProperty("")
    services = ObjectProperty(None)

    RECONNECT_MIN_S = 2.0
    RECONNECT_MAX_S = 30.0

    def __init__(self, services: KioskServices, *, animate: bool = True, lockdown: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = "Kiosk"
        self.icon = str(_ICON)
        self.services = services
        self.lang = services.settings.kiosk.language
        self._animate = animate
        self._lockdown = lockdown
        self._history: list[str] = []
        self._tasks: set[asyncio.Task] = set()
        self._after_start: list[Callable[[], Awaitable[object]]] = []
        self._wedge = WedgeDetector()

    # --- building -------------------------------------------------------------------------

    def build(self):
        if not any(isinstance(h, _LogAndContinue) for h in ExceptionManager.handlers):
            ExceptionManager.add_handler(_LogAndContinue())
        _load_rules()
        manager = ScreenManager(transition=SlideTransition(duration=0.18) if self._animate else NoTransition())
        for name, screen_class in SCREENS.items():
            manager.add_widget(screen_class(name=name))
        if self._lockdown:
            Window.bind(on_request_close=lambda *args, **kw: True)
            Window.show_cursor = False
        Window.bind(on_key_down=self._on_key_down)
        self.services.status.listeners.append(self._status_changed)
        self.bind(lang=lambda *_: self._update_catalog_status())
        self._status_changed(self.services.status)
        return manager

    @property
    def image_cache(self):
        return self.services.images

    def on_start(self):
        self.spawn(self.services.images.open())
        self.spawn(self._keep_connected())
        self.spawn(self._run_orders())
        for factory in self._after_start:
            self.spawn(factory())

    def on_stop(self):
        Window.unbind(on_key_down=self._on_key_down)
        for task in list(self._tasks):
            task.cancel()

    def run_after_start(self, factory: Callable[[], Awaitable[object]]) -> None:
        """Start a coroutine (e.g. the autopilot) once the window is up."""
        self._after_start.append(factory)

    # --- tasks ----------------------------------------------------------------------------

    def spawn(self, coroutine: Awaitable[object]) -> asyncio.Task:
        """Run a coroutine on the app's loop; keep a reference and report its failure."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def _run_orders(self) -> None:
        await self.services.open_journal()
        await self.services.run_outbox()

    async def _keep_connected(self) -> None:
        await self.services.keep_in_sync(min_retry_s=self.RECONNECT_MIN_S, max_retry_s=self.RECONNECT_MAX_S)

    def _status_changed(self, status: ConnectionStatus) -> None:
        self.online = status.online
        self.catalog_ready = status.catalog_loaded
        self.catalog_count = status.catalog_count
        self.catalog_synced_at = status.catalog_synced_at
        self.catalog_syncing = status.syncing
        self._update_catalog_status()

    def _update_catalog_status(self) -> None:
        """One line under the title: how old the catalog is when offline, or that it is coming."""
        if not self.catalog_ready:
            key = "catalog.syncing" if self.online else "attract.offline"
            self.catalog_status_text = self.t(key, self.lang)
        elif not self.online and self.catalog_synced_at is not None:
            when = format_when(self.catalog_synced_at, self.lang)
            self.catalog_status_text = self.t("catalog.as_of", self.lang, when=when)
        else:
            self.catalog_status_text = ""

    # --- barcode scanner (a keyboard wedge: fast keystrokes ending in Enter) ----------------

    def _on_key_down(self, window, key, scancode, codepoint, modifiers) -> bool:
        now = time.monotonic()
        if key in (13, 271):  # Enter, keypad Enter
            code = self._wedge.enter(now)
            if code:
                self.open_barcode(code)
                return True
            return False
        if codepoint:
            self._wedge.key(codepoint, now)
        return False

    def open_barcode(self, code: str) -> None:
        hit = self.services.catalog.find_ean(code) if is_valid_ean(code) else None
        if hit is None:
            log.info("scanned code %s is not in the catalog", code)
            self.open_search(code)
            return
        self.open_product(*hit)

    # --- text -----------------------------------------------------------------------------

    def t(self, key: str, language: str, **values: object) -> str:
        """Translated text; .kv files pass `app.lang` so labels re-render when it changes."""
        return translate(language, key, **values)

    def money(self, cents: int, language: str) -> str:
        return format_eur(int(cents), language)

    def toggle_language(self) -> None:
        self.lang = other_language(self.lang)

    # --- navigation -----------------------------------------------------------------------

    @property
    def manager(self) -> ScreenManager:
        return self.root

    def screen(self, name: str):
        return self.root.get_screen(name)

    def go(self, name: str) -> None:
        current = self.root.current
        if name == current:
            return
        self._history.append(current)
        self._move(name, "left")

    def go_back(self) -> None:
        target = self._history.pop() if self._history else "categories"
        self._move(target, "right")

    def _move(self, name: str, direction: str) -> None:
        if isinstance(self.root.transition, SlideTransition):
            self.root.transition.direction = direction
        self.root.current = name

    def start_over(self) -> None:
        """Back to the attract screen with nothing of this shopper left behind."""
        self.services.reset_session()
        self.screen("search").finder = None
        self.screen("fulfil").forget()
        self.screen("address").forget()
        self.refresh_cart()
        self.lang = self.services.settings.kiosk.language
        self._history.clear()
        self._move("attract", "right")

    def start_shopping(self) -> None:
        self._history = ["attract"]
        self._move("categories", "left")

    # --- shopper intents shared by several screens -----------------------------------------

    def refresh_cart(self) -> None:
        self.cart_count = self.services.cart.item_count

    def open_category(self, category_id: str) -> None:
        self.screen("products").show(category_id)
        self.go("products")

    def open_product(self, product_id: str, sku: str | None = None) -> None:
        self.screen("article").show(product_id, sku)
        self.go("article")

    def open_search(self, query: str = "") -> None:
        search = self.screen("search")
        search.start()
        for char in query:
            search.key(char)
        self.go("search")

    def resolve_url(self, url: str) -> str:
        return self.services.api.absolute_url(url)

    def show_receipt(self, receipt) -> None:
        """The order is paid: the cart is done, and there is no way "back" into the payment."""
        self.services.cart.clear()
        self.refresh_cart()
        self.screen("receipt").show(receipt)
        self._history.clear()
        self._move("receipt", "left")
