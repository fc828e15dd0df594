"""KioskApp: builds the screens, owns the services, runs on asyncio.

The app holds only what every screen binds to (language, cart badge, connection state) and the
navigation. Everything else lives in `KioskServices`, which knows no Kivy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

from kivy.animation import Animation
from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager, SlideTransition

from kiosk import heap
from kiosk.accessibility import AccessibilityModes
from kiosk.barcode import WedgeDetector, is_valid_ean
from kiosk.i18n import format_when, other_language, translate
from kiosk.money import format_eur
from kiosk.services import ConnectionStatus, KioskServices
from kiosk.screens import SCREENS, kivy_fixes
from kiosk.screens.access_panel import close_panel, open_panel
from kiosk.screens.fleet_mode import FleetModeMixin
from kiosk.screens.staff_mode import StaffModeMixin
from kiosk.screens.widgets import look
from kiosk.session import Phase, ShopperSession

log = logging.getLogger("kiosk.app")
_SCREENS_DIR = Path(__file__).resolve().parent / "screens"
_ICON = Path(__file__).resolve().parent.parent / "assets" / "icon.png"
HEAP_UPKEEP_KEPT = 1000  # durations of the latest freezes and collections between shoppers kept
_FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"


def _load_rules() -> None:
    """Load the .kv rules once per process: a second app (tests, a restart) reuses them, and loading
    a rule twice would build every widget in it twice."""
    # The theme's typeface is a project asset (assets/fonts/README.md), registered as Kivy's default.
    LabelBase.register(DEFAULT_FONT, fn_regular=str(_FONTS / "Roboto-Regular.ttf"),
                       fn_bold=str(_FONTS / "Roboto-Bold.ttf"))
    for name in ("theme", "access_panel", "staff_common", *SCREENS, "still_there", "quantity"):
        path = str(_SCREENS_DIR / f"{name}.kv")
        if path not in Builder.files:
            Builder.load_file(path)


class _LogAndContinue(ExceptionHandler):
    """A bug in one callback must not take the pillar down: log it and keep running."""

    def handle_exception(self, inst):
        log.exception("unhandled exception in the UI", exc_info=inst)
        return ExceptionManager.PASS


class KioskApp(FleetModeMixin, StaffModeMixin, App):
    lang = StringProperty("nl")
    cart_count = NumericProperty(0)
    online = BooleanProperty(False)
    catalog_ready = BooleanProperty(False)
    catalog_count = NumericProperty(0)
    catalog_synced_at = ObjectProperty(None, allownone=True)  # datetime of the local copy
    catalog_syncing = BooleanProperty(False)
    catalog_status_text = StringProperty("")
    services = ObjectProperty(None)
    # The effective settings, for the .kv files to bind to (services.settings is a plain attribute);
    # `apply_settings` changes both, so a staff or fleet change shows without a restart. `rebind`:
    # kv binds `app.settings.kiosk.store_name` to `settings` only then (an intermediate in the chain).
    settings = ObjectProperty(None, rebind=True)

    RECONNECT_MIN_S = 2.0
    RECONNECT_MAX_S = 30.0
    IDLE_TICK_S = 0.25  # how often the shopper session is asked whether to ask "Still there?"
    # After the start: the built screens and the opened catalog leave the collector's walk (kiosk.heap;
    # again after shoppers when needed). None: never (tests that start hundreds of apps).
    HEAP_FREEZE_AFTER_S: float | None = 20.0
    HEAP_FREEZE_RETRY_S = 1.0  # until the attract screen is up (`_freeze_when_idle`)
    HEAP_CHECK_AFTER_RESET_S = 3.0  # after a shopper: the attract screen up, the binding prune (2 s) done

    def __init__(self, services: KioskServices, *, animate: bool = True, lockdown: bool | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = "Kiosk"
        self.icon = str(_ICON)
        self.services = services
        self.settings = services.settings
        self.lang = services.settings.kiosk.language
        self._animate = animate
        # None: as the settings say ([display] lockdown); `kiosk run --window` passes False.
        self._lockdown = services.settings.display.lockdown if lockdown is None else lockdown
        session = services.settings.session
        self.session = ShopperSession(idle_s=session.idle_s, countdown_s=session.countdown_s)
        self._idle_event = None
        self._receipt_event = None
        self._restart_event = None
        self._freeze_event = None
        self._refreeze_after_shopper = False
        self._must_freeze = False  # the pending freeze check freezes whether or not the heap has grown
        # How long each freeze and each collection between shoppers took, ms (the benches report them);
        # the latest only: a pillar runs for weeks.
        self.heap_freezes: deque[float] = deque(maxlen=HEAP_UPKEEP_KEPT)
        self.heap_collections: deque[float] = deque(maxlen=HEAP_UPKEEP_KEPT)
        self._still_there = None  # the "Still there?" overlay, made when first needed
        self._history: list[str] = []
        self._tasks: set[asyncio.Task] = set()
        self._after_start: list[Callable[[], Awaitable[object]]] = []
        self._wedge = WedgeDetector()
        self._staff_init()
        self._fleet_init()

    # --- building -------------------------------------------------------------------------

    def build(self):
        if not any(isinstance(h, _LogAndContinue) for h in ExceptionManager.handlers):
            ExceptionManager.add_handler(_LogAndContinue())
        self.set_access(self.default_access())  # the look is per process: a new app starts with the defaults
        _load_rules()
        manager = ScreenManager(transition=SlideTransition(duration=0.18) if self._animate else NoTransition())
        for name, screen_class in SCREENS.items():
            manager.add_widget(screen_class(name=name))
        if self._lockdown:
            Window.bind(on_request_close=self._refuse_close, on_keyboard=self._swallow_escape)
            Window.show_cursor = False
        Window.bind(on_key_down=self._on_key_down, on_touch_down=self._on_any_touch, on_touch_up=self._on_any_touch_up)
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
        self.session.restart()
        self._idle_event = Clock.schedule_interval(self._idle_tick, self.IDLE_TICK_S)
        self.services.badge_listeners.append(self.badge_presented)
        self.services.badge_watcher.start()
        self.services.diagnostics.on_restart_requested(self._restart_requested)
        self._fleet_start()
        # Once the screens are built and the catalog is open: out of the cyclic collector's way (kiosk.heap).
        if self.HEAP_FREEZE_AFTER_S is not None:
            self._freeze_event = Clock.schedule_once(self._freeze_when_idle, self.HEAP_FREEZE_AFTER_S)
            self._must_freeze = True
            # Screens build many widgets on first use: after the first shopper's reset, once more.
            self._refreeze_after_shopper = True

    def _heap_after_reset(self) -> None:
        """After a shopper, a moment later: collect what they left, and freeze again if it was the
        first shopper, or if what outlives shoppers has grown past kiosk.heap.REFREEZE_ABOVE."""
        if self.HEAP_FREEZE_AFTER_S is None:
            return
        if self._refreeze_after_shopper:
            self._refreeze_after_shopper, self._must_freeze = False, True
            if self._freeze_event is not None:  # the start's freeze is not done yet: this one does both
                self._freeze_event.cancel()
                self._freeze_event = None
        if self._freeze_event is None:
            self._freeze_event = Clock.schedule_once(self._freeze_when_idle, self.HEAP_CHECK_AFTER_RESET_S)

    def _freeze_when_idle(self, *_dt) -> None:
        """The freeze's one full collection holds this thread 0.2-0.5 s, a collection between shoppers
        7-15 ms: not while a shopper waits for a frame (the UI bench caught it inside a journey),
        only on the attract screen with no payment or scripted shopper holding the session; else
        look again in a second."""
        if self.root is None or self.root.current != "attract" or self.session.held:
            self._freeze_event = Clock.schedule_once(self._freeze_when_idle, self.HEAP_FREEZE_RETRY_S)
            return
        self._freeze_event = None
        if not self._must_freeze:
            self.heap_collections.append(heap.collect_unfrozen())
        if self._must_freeze or heap.grown():
            self._must_freeze = False
            self._freeze_heap()

    def _freeze_heap(self) -> None:
        self.heap_freezes.append(heap.freeze_long_lived())

    @property
    def heap_settled(self) -> bool:
        """No freeze or freeze check to come (kiosk.heap). The benches measure a journey after it."""
        return self._freeze_event is None and not self._refreeze_after_shopper

    def _restart_requested(self, reason: str) -> None:
        # Staff asked (Diagnose): stop cleanly; kiosk.launch.run then starts the process afresh.
        log.warning("restart requested: %s", reason)
        self._restart_event = Clock.schedule_once(lambda dt: self.stop(), 0.3)

    def on_stop(self):
        Window.unbind(on_key_down=self._on_key_down, on_touch_down=self._on_any_touch, on_touch_up=self._on_any_touch_up)
        if self._lockdown:
            Window.unbind(on_request_close=self._refuse_close, on_keyboard=self._swallow_escape)
            Window.show_cursor = True
        for event in (self._idle_event, self._receipt_event, self._restart_event, self._freeze_event):
            if event is not None:
                event.cancel()
        heap.thaw()
        self._hide_still_there()
        self._fleet_stop()
        self._release_on_stop()
        for task in list(self._tasks):
            task.cancel()

    def _release_on_stop(self) -> None:
        """Give back what outlives the app. The Window, the Clock and the services live longer than
        one app (tests, and a restart, run apps one after another in one process), and whatever of
        ours they still hold keeps the app and every screen alive (tests/test_app_gc.py)."""
        self._cancel_corner()
        close_panel(self)  # an open ModalView sits on the Window
        services = self.services
        for listeners, listener in ((services.status.listeners, self._status_changed),
                                    (services.badge_listeners, self.badge_presented)):
            if listener in listeners:
                listeners.remove(listener)
        services.diagnostics.off_restart_requested(self._restart_requested)
        if self.root is not None:
            for screen in self.root.screens:
                screen.release(services)
        # Animations still running (a ScrollView's bar fading out, also in a widget not on screen just
        # now) are kept, with their widgets, in Animation's class-wide set until they finish, and
        # nothing finishes them once this app's loop is over. Only this app runs: they are all ours.
        for animation in list(Animation._instances):
            for entry in list(animation._widgets.values()):
                animation.cancel(entry["widget"])

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

    def apply_settings(self, settings) -> None:
        """Put new effective settings (a staff change, a fleet bundle) to work in the running app.
        What reads `services.settings` when it needs a value follows at once (receipt time, promotion
        time, nearby shops), the .kv files follow `settings`; the shopper session's idle times are
        copied here; the default language and the display defaults apply at the next start-over (read
        there), never in the middle of someone's session. Keys that need a restart: kiosk/fleet/live.py."""
        self.services.settings = settings
        self.settings = settings
        self.session.idle_s = settings.session.idle_s
        self.session.countdown_s = settings.session.countdown_s

    # --- lockdown: an unattended pillar does not quit (staff get their own way out) ---------

    def _refuse_close(self, *args, **kwargs) -> bool:
        log.info("close request refused (lockdown)")
        return True

    def _swallow_escape(self, window, key, *args, **kwargs) -> bool:
        # Esc never reaches Kivy's exit_on_escape, whichever widget has the keyboard.
        return key == 27

    # --- the shopper session: "Still there?", then a full reset --------------------------------

    def _on_any_touch(self, window, touch) -> bool:
        """Every touch anywhere: the shopper is there. A touch while "Still there?" is shown answers
        it (and goes no further: it must not also press whatever lies under the question)."""
        self.session.touch()
        self.staff_touched()
        self._corner_press(touch)
        if self._still_there is not None and self._still_there.is_open:
            self._hide_still_there()
            return True
        return False

    def _on_any_touch_up(self, window, touch) -> bool:
        return self._corner_release(touch)

    def still_here(self) -> None:
        """The "Yes, I'm still here" button."""
        self.session.touch()
        self._hide_still_there()

    def _paying(self) -> bool:
        return self.screen("pay").running or self.services.payments.busy

    def _idle_tick(self, dt) -> None:
        self._ui_turned()
        if self.root is None or self.staff_idle_tick():
            return
        # Never cut a payment short: from the card prompt until the order is placed (or refused).
        if self._paying():
            self.session.hold("payment")
        else:
            self.session.release("payment")
        state = self.session.state()
        if self.root.current == "attract":
            # Nothing of a shopper to lose here, so no question; only a language (or an accessibility
            # mode) left switched goes back.
            self._hide_still_there()
            if state.phase is not Phase.active:
                self.lang = self.services.settings.kiosk.language
                close_panel(self)
                self.set_access(self.default_access())
                self.session.restart()
            return
        if state.phase is Phase.asking:
            self._show_still_there(state.seconds_left)
        elif state.phase is Phase.expired:
            log.info("no touch for %.0f s on %r: starting over", self.session.idle_s + self.session.countdown_s,
                     self.root.current)
            self.start_over()
        else:
            self._hide_still_there()

    def _show_still_there(self, seconds_left: int) -> None:
        if self._still_there is None:
            from kiosk.screens.still_there import StillThereView

            self._still_there = StillThereView()
        self._still_there.seconds_left = seconds_left
        if not self._still_there.is_open:
            self._still_there.open(animation=self._animate)

    def _hide_still_there(self) -> None:
        if self._still_there is not None and self._still_there.is_open:
            self._still_there.dismiss(animation=False)

    def _receipt_time_up(self, dt) -> None:
        self._receipt_event = None
        if self.root is not None and self.root.current == "receipt":
            self.start_over()

    # --- barcode scanner (a keyboard wedge: fast keystrokes ending in Enter) ----------------

    def _on_key_down(self, window, key, scancode, codepoint, modifiers) -> bool:
        self.session.touch()  # a key or a scan: someone is there
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
        if self.staff_scanned(code):
            return
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

    # --- accessibility: large text, high contrast, low reach (kiosk/accessibility.py) ----------

    @property
    def access(self) -> AccessibilityModes:
        return look.modes

    def default_access(self) -> AccessibilityModes:
        """The modes every shopper starts with: the pillar's `[display]` defaults (staff may set them)."""
        return AccessibilityModes.defaults_of(self.services.settings.display)

    def set_access(self, modes: AccessibilityModes) -> None:
        look.apply(modes)  # every screen binds to `look`: colours, font sizes, low-reach layouts

    def toggle_access(self, mode: str) -> None:
        self.set_access(self.access.toggled(mode))

    def open_accessibility(self) -> None:
        open_panel(self, animate=self._animate)

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
        """Back to the attract screen with nothing of this shopper left behind: cart, search (query,
        facets, sort), the chosen way to get it, the typed address, language, history."""
        self.close_shopper_session()
        self._move("attract", "right")

    def close_shopper_session(self) -> None:
        """Forget everything of the current shopper (start_over without the move; staff entry)."""
        if self._receipt_event is not None:
            self._receipt_event.cancel()
            self._receipt_event = None
        self._hide_still_there()
        close_panel(self)
        self.set_access(self.default_access())  # the modes were this shopper's
        self.session.restart()
        self.services.reset_session()
        self._forget_search()
        self.screen("fulfil").forget()
        self.screen("address").forget()
        self.refresh_cart()
        self.lang = self.services.settings.kiosk.language
        self._history.clear()
        # This shopper's screens made and dropped many Labels: a moment later (the attract screen up,
        # the dropped ones collected) let Kivy forget them. About 15 ms: not inside the touch.
        Clock.schedule_once(kivy_fixes.prune_unit_bindings, 2.0)
        self._heap_after_reset()

    def _forget_search(self) -> None:
        search = self.screen("search")
        search.finder = None  # the query, facets and sort live in the Finder; a new one comes on entry
        search.query, search.corrected, search.sort, search.total, search.typing = "", "", "relevance", 0, True
        search.ids.results.set_rows([])
        search.ids.facets.clear_widgets()

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
        # The QR stays for its set time whatever the idle clock says; then the pillar starts over.
        self.session.hold("receipt")
        if self._receipt_event is not None:
            self._receipt_event.cancel()
        self._receipt_event = Clock.schedule_once(self._receipt_time_up, self.services.settings.session.receipt_s)
