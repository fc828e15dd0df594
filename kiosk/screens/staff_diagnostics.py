"""Staff: diagnostics (issue 8, point 5). What works and what does not, in words staff can act on.

On entry every check of `services.diagnostics` runs (card reader, card reader service, central
system, orders, catalog, configuration, disk), each a row: its status as a coloured icon AND a word
(never colour alone), the translated summary with its figures, and a smaller technical line for
support. The actions: test-read a card (only the masked result shows), bring the catalog up to date
now (with its progress: pages and articles), send unsent orders and stock changes now, check again,
and restart the app (after a confirmation). Everything runs as a coroutine on the app's loop: the
screen never blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.catalog.sync import SyncProgress
from kiosk.diagnostics import CHECK_NAMES, Check, CheckStatus
from kiosk.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE, translate
from kiosk.screens.base import KioskScreen
from kiosk.screens.widgets import BottomSheet

log = logging.getLogger("kiosk.staff")

CARD_READ_TIMEOUT_S = 20.0
STATUS_ICONS = {CheckStatus.ok: "check_circle", CheckStatus.warning: "warning", CheckStatus.failed: "error"}
STATUS_COLOURS = {CheckStatus.ok: "SUCCESS", CheckStatus.warning: "WARNING", CheckStatus.failed: "DANGER"}
STATUS_WORDS = {CheckStatus.ok: "diag.status.ok", CheckStatus.warning: "diag.status.warning",
                CheckStatus.failed: "diag.status.failed"}
DURATION_UNITS = ((86400, "diag.duration.days"), (3600, "diag.duration.hours"), (60, "diag.duration.minutes"))


def _number(language: str, value: float | int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE]))


def duration_text(language: str, seconds: float) -> str:
    """An age as people say it: "45 s", "12 min", "3 uur", "2 d"."""
    for size, key in DURATION_UNITS:
        if seconds >= size:
            return translate(language, key, n=_number(language, round(seconds / size)))
    return translate(language, "diag.duration.seconds", n=_number(language, round(seconds)))


def shown_params(language: str, params: dict) -> dict[str, object]:
    """A check's params ready for its text: numbers the language's way, nothing shown as "None", and
    for every age in seconds (`..._age_s`, `age_s`) a spoken duration without the `_s`."""
    shown: dict[str, object] = {}
    for name, value in params.items():
        if value is None:
            shown[name] = "–"
        elif isinstance(value, bool):
            shown[name] = translate(language, "diag.yes" if value else "diag.no")
        elif isinstance(value, (int, float)):
            shown[name] = _number(language, value)
        else:
            shown[name] = value
        if name.endswith("age_s"):
            shown[name[:-2]] = "–" if value is None else duration_text(language, float(value))
    return shown


def summary_text(language: str, check: Check | None) -> str:
    if check is None:
        return ""
    try:
        return translate(language, check.summary_key, **shown_params(language, check.params))
    except (KeyError, IndexError, ValueError):  # a text naming a figure this check did not give
        log.warning("diagnostic text %s does not fit its params %s", check.summary_key, check.params)
        return translate(language, check.summary_key)


class CheckRow(BoxLayout):
    """One check or action result: status icon + word, name, summary, detail (staff_diagnostics.kv)."""

    name = StringProperty("")                       # the check's name, e.g. "central_api"
    content_height = NumericProperty(0)             # the height its contents need (staff_diagnostics.kv)
    check = ObjectProperty(None, allownone=True)    # its latest Check (None: not run yet)
    running = BooleanProperty(False)

    def status_icon(self, check: Check | None) -> str:
        from kiosk.icons import glyph

        return glyph(STATUS_ICONS[check.status]) if check is not None else ""

    def status_colour(self, palette, check: Check | None, *_colours):
        return getattr(palette, STATUS_COLOURS[check.status]) if check is not None else palette.TEXT_MUTED

    def status_word(self, lang: str, check: Check | None, running: bool) -> str:
        if check is None or running:
            return translate(lang, "diag.status.running")
        return translate(lang, STATUS_WORDS[check.status])

    def title(self, lang: str, name: str) -> str:
        return translate(lang, f"diag.name.{name}") if name else ""

    def summary(self, lang: str, check: Check | None, running: bool) -> str:
        if running and check is None:
            return translate(lang, "diag.checking")
        return summary_text(lang, check)

    def detail(self, check: Check | None) -> str:
        return check.detail if check is not None else ""


class ConfirmRestart(BottomSheet):
    """"Restart the app?" with the answer; `on_yes` restarts."""

    def __init__(self, on_yes: Callable[[], None], **kwargs):
        super().__init__(**kwargs)
        self._on_yes = on_yes

    def yes(self) -> None:
        self.dismiss(animation=False)
        self._on_yes()


class StaffDiagnosticsScreen(KioskScreen):
    running = BooleanProperty(False)                    # the checks are running
    action = StringProperty("")                         # the action under way ("card_read", ...), "" = none
    action_result = ObjectProperty(None, allownone=True)  # the last action's Check
    progress = ObjectProperty(None, allownone=True)     # the catalog sync's latest SyncProgress
    progress_fraction = NumericProperty(0)              # 0..1, when the total is known
    restart_requested = BooleanProperty(False)
    checks = ListProperty([])

    def __init__(self, **kwargs):
        self.rows: dict[str, CheckRow] = {}  # before the kv rule runs: on_kv_post fills it
        self.confirm: ConfirmRestart | None = None
        super().__init__(**kwargs)

    def on_kv_post(self, base_widget) -> None:
        for name in CHECK_NAMES:
            row = self.rows[name] = CheckRow(name=name)
            self.ids.checks.add_widget(row)

    def refresh(self) -> None:
        self.run_checks()

    def on_leave(self, *args) -> None:
        if self.confirm is not None and self.confirm.is_open:
            self.confirm.dismiss(animation=False)

    # --- the checks -------------------------------------------------------------------------------

    def run_checks(self) -> None:
        if self.running:
            return
        self.running = True
        for row in self.rows.values():
            row.running = True
        self.app.spawn(self._run_checks())

    async def _run_checks(self) -> None:
        try:
            checks = await self.services.diagnostics.run_all()  # never raises; each check has a time limit
        finally:
            self.running = False
            for row in self.rows.values():
                row.running = False
        self.checks = checks
        for check in checks:
            if check.name in self.rows:
                self.rows[check.name].check = check

    # --- the actions ------------------------------------------------------------------------------

    def _start(self, name: str, coroutine_factory: Callable[[], Awaitable[Check]]) -> None:
        if self.action:
            return
        self.action, self.action_result = name, None
        self.ids.action_row.name, self.ids.action_row.check = name, None
        self._show_action()
        self.app.spawn(self._finish(name, coroutine_factory))

    def _show_action(self) -> None:
        """The action's progress and result are below its button: bring them into view."""
        Clock.schedule_once(lambda _dt: self.ids.scroller.scroll_to(self.ids.action_box, padding=dp(24),
                                                                    animate=False), 0.05)

    async def _finish(self, name: str, coroutine_factory: Callable[[], Awaitable[Check]]) -> None:
        try:
            result = await coroutine_factory()
        finally:
            self.action = ""
        self.action_result = result
        self.ids.action_row.check = result
        self._show_action()
        if name in ("catalog_sync", "send_now"):  # the catalog and journal rows have news
            self.run_checks()

    def test_card(self) -> None:
        self._start("card_read", lambda: self.services.diagnostics.test_read_card(timeout_s=CARD_READ_TIMEOUT_S))

    def sync_catalog(self) -> None:
        self.progress, self.progress_fraction = None, 0
        self._start("catalog_sync", lambda: self.services.diagnostics.sync_catalog_now(self._progressed))

    def _progressed(self, progress: SyncProgress) -> None:
        self.progress = progress
        if progress.total:
            self.progress_fraction = min(1.0, progress.done / progress.total)

    def send_now(self) -> None:
        self._start("send_now", self.services.diagnostics.send_now)

    def ask_restart(self) -> None:
        self.confirm = ConfirmRestart(self.restart)
        self.confirm.open(animation=False)

    def restart(self) -> None:
        self.restart_requested = True
        log.warning("staff %s asked for a restart",
                    self.app.staff_session.staff.id if self.app.staff_session else "(nobody)")
        self.services.diagnostics.request_restart("staff")

    # --- texts (staff_diagnostics.kv) -------------------------------------------------------------

    def action_text(self, lang: str, action: str, progress: SyncProgress | None, restart_requested: bool) -> str:
        if restart_requested:
            return translate(lang, "diag.restart.requested")
        if action == "card_read":
            return translate(lang, "diag.card_read.waiting", timeout_s=_number(lang, CARD_READ_TIMEOUT_S))
        if action == "catalog_sync":
            if progress is None:
                return translate(lang, "diag.catalog_sync.starting")
            if progress.total:
                return translate(lang, "diag.catalog_sync.progress_total", pages=progress.pages,
                                 done=progress.done, total=progress.total)
            return translate(lang, "diag.catalog_sync.progress", pages=progress.pages, done=progress.done)
        if action == "send_now":
            return translate(lang, "diag.send_now.sending")
        return ""
