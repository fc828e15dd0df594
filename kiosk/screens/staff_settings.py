"""Staff: the pillar's own settings (issue 8, point 4), and the last things staff did on it.

One row per setting staff may change (kiosk/staff/overrides.py `EDITABLE`): its name, its value now
(a choice in words: "Nederlands", "Standaard"), "Aangepast" when this pillar overrides the
configuration, and a lock with "Vastgezet door het hoofdkantoor" when the fleet locks it. Editing:
a toggle or a choice is a row of chips, a tap changes it; a number is typed on the numeric keypad
and a text on the on-screen keyboard, each in a bottom sheet. "Terug naar standaard" drops the
override. A value the settings refuse is shown by its row, with the reasons; nothing is saved then.

Every change goes through `services.settings_editor` (validated by the config's own models, saved
with its audit record in one fsynced write) on a worker thread, and then `app.apply_settings` puts the
new settings to work. Below the rows: the last `AUDIT_SHOWN` audit records (who, what, old -> new,
when in the shop's time).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.config import Settings
from kiosk.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE, strings, translate
from kiosk.screens.base import KioskScreen
from kiosk.screens.keyboard import OnScreenKeyboard
from kiosk.screens.quantity import NumberEntrySheet
from kiosk.screens.widgets import BottomSheet, KToggle
from kiosk.staff.overrides import (EDITABLE, InvalidSetting, NotEditable, SessionEnded, SettingLocked,
                                   SettingView)
from kiosk.staff.records import AuditRecord

log = logging.getLogger("kiosk.staff")

SHOP_TIME = ZoneInfo("Europe/Amsterdam")  # the audit's times as the shop's clock shows them
AUDIT_SHOWN = 20
MAX_DIGITS = 6  # a number typed on the keypad (more than any limit, so a too-big one is refused, not cut)
LABELS = {setting.key: setting.label for setting in EDITABLE}


# --- values in words ------------------------------------------------------------------------------

def number_text(language: str, value: float | int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE]))


def value_text(language: str, key: str, value: Any) -> str:
    """A setting's value as staff read it: "Aan", "Nederlands", "90 s", "„Tot ziens!”"."""
    label = LABELS.get(key, "")
    if isinstance(value, bool):
        return translate(language, "staff.settings.on" if value else "staff.settings.off")
    if isinstance(value, (int, float)):
        number = number_text(language, value)
        return translate(language, "staff.settings.seconds", value=number) if key.endswith("_s") else number
    if value is None or value == "":
        return translate(language, "staff.settings.empty")
    choice = f"{label}.{value}"
    if isinstance(value, str) and choice in strings(DEFAULT_LANGUAGE):
        return translate(language, choice)
    return translate(language, "staff.settings.quoted", text=str(value))


def range_text(language: str, view: SettingView) -> str:
    """What may be typed, in whole numbers (the keypad types no decimals)."""
    if view.minimum is None or view.maximum is None:
        return ""
    low = int(view.minimum) + 1 if view.minimum_exclusive else view.minimum
    return translate(language, "staff.settings.range", low=number_text(language, low),
                     high=number_text(language, view.maximum))


# --- the rows ---------------------------------------------------------------------------------------

class SettingChip(KToggle):
    """One choice of a setting (or Aan / Uit); its text follows the language (staff_settings.kv)."""

    label_key = StringProperty("")


class SettingRow(BoxLayout):
    """One setting: name, value, state, controls, an error, "back to the default" (staff_settings.kv)."""

    view = ObjectProperty(None, allownone=True)  # the SettingView shown
    saving = BooleanProperty(False)
    error_key = StringProperty("")               # the headline of a refused change ("" = none)
    problems = ListProperty([])                  # why, as the settings said
    screen = ObjectProperty(None)

    @property
    def key(self) -> str:
        return self.view.key if self.view else ""

    def on_view(self, _row, view: SettingView | None) -> None:
        self._build_controls()

    @property
    def edit_button(self):
        """"Wijzigen" of a number or a text (hidden for the other kinds and when locked)."""
        return self.ids.edit_button

    def _build_controls(self) -> None:
        box = self.ids.controls
        box.clear_widgets()
        view = self.view
        if view is None or view.locked:
            return
        if view.kind in ("choice", "toggle"):
            options = view.choices if view.kind == "choice" else (True, False)
            for option in options:
                chip = SettingChip(group=f"setting-{view.key}", state="down" if option == view.value else "normal")
                chip.label_key = (f"{view.label}.{option}" if view.kind == "choice"
                                  else "staff.settings.on" if option else "staff.settings.off")
                chip.value = str(option)
                chip.bind(on_release=lambda _chip, option=option: self.choose(option))
                box.add_widget(chip)

    def choose(self, option: Any) -> None:
        if self.view is None or option == self.view.value:
            self._build_controls()  # a tap on the chosen chip: it stays chosen
            return
        self.screen.change(self.key, option)

    # the texts (staff_settings.kv passes app.lang, so they follow the language)

    def label_text(self, lang: str, view: SettingView | None) -> str:
        return translate(lang, view.label) if view else ""

    def value_text(self, lang: str, view: SettingView | None) -> str:
        return value_text(lang, view.key, view.value) if view else ""

    def reset_text(self, lang: str, view: SettingView | None) -> str:
        if view is None:
            return ""
        return translate(lang, "staff.settings.reset", value=value_text(lang, view.key, view.base_value))

    def error_text(self, lang: str, key: str, view: SettingView | None) -> str:
        if not key:
            return ""
        text, hint = translate(lang, key), ""
        if key == "staff.settings.invalid" and view is not None:  # what would be allowed
            if view.kind == "number":
                hint = range_text(lang, view)
            elif view.max_length:
                hint = translate(lang, "staff.settings.max_length", count=view.max_length)
        return f"{text} {hint}".strip()

    def show_error(self, key: str, problems: list[str] = ()) -> None:
        self.error_key, self.problems = key, list(problems)

    def clear_error(self) -> None:
        self.error_key, self.problems = "", []


class AuditLine(BoxLayout):
    """One audit record: when (the shop's time), and who did what (staff_settings.kv)."""

    record = ObjectProperty(None, allownone=True)

    def when_text(self, lang: str, record: AuditRecord | None) -> str:
        if record is None:
            return ""
        from babel.dates import format_datetime

        return format_datetime(record.at, "medium", tzinfo=SHOP_TIME,
                               locale=BABEL_LOCALES.get(lang, BABEL_LOCALES[DEFAULT_LANGUAGE]))

    def what_text(self, lang: str, record: AuditRecord | None) -> str:
        if record is None:
            return ""
        who = record.staff_name or translate(lang, "staff.audit.nobody")
        setting = translate(lang, LABELS[record.key]) if record.key in LABELS else (record.key or "")
        return translate(lang, f"staff.audit.{record.event}", who=who, setting=setting,
                         old=value_text(lang, record.key or "", record.old),
                         new=value_text(lang, record.key or "", record.new), detail=record.detail or "")


# --- the editing sheets -------------------------------------------------------------------------------

class NumberSheet(NumberEntrySheet):
    """A setting's number on the keypad; "Klaar" hands what was typed to `on_done` (nothing typed: no
    change). More digits than any limit, so a too-big number is refused with its range, not cut."""

    hint = StringProperty("")
    max_digits = NumericProperty(MAX_DIGITS)

    def __init__(self, title: str, current: str, hint: str, on_done: Callable[[str], None], **kwargs):
        super().__init__(title, current, **kwargs)
        self._on_done = on_done
        self.hint = hint

    def finish(self, typed: str) -> None:
        if typed:
            self._on_done(typed)


class TextSheet(BottomSheet):
    """A text on the on-screen keyboard; "Klaar" hands it to `on_done`."""

    title = StringProperty("")
    text = StringProperty("")
    max_length = NumericProperty(0)

    def __init__(self, title: str, text: str, max_length: int | None, on_done: Callable[[str], None], **kwargs):
        super().__init__(**kwargs)
        self._on_done = on_done
        self.title, self.text, self.max_length = title, text, max_length or 0
        self.keyboard = OnScreenKeyboard()
        self.keyboard.bind(on_key=lambda _kb, value: self.key(value))
        self.ids.box.add_widget(self.keyboard)

    def key(self, value: str) -> None:
        if value == "\n":
            self.dismiss()
            self._on_done(self.text)
            return
        if value == "\b":
            self.text = self.text[:-1]
            return
        # A new sentence starts with a capital (the keyboard types lower case).
        if not self.text.strip() or self.text.rstrip()[-1:] in ".!?" and self.text.endswith(" "):
            value = value.upper()
        self.text += value  # the limit is the settings' to tell: a longer text is refused with the reason

    def clear(self) -> None:
        self.text = ""


# --- the screen ---------------------------------------------------------------------------------------

class StaffSettingsScreen(KioskScreen):
    loading = BooleanProperty(False)
    audit = ListProperty([])  # the newest AuditRecords, newest first

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rows: dict[str, SettingRow] = {}
        self.sheet: BottomSheet | None = None

    def refresh(self) -> None:
        for row in self.rows.values():
            row.clear_error()
        self.app.spawn(self.reload())

    def on_leave(self, *args) -> None:
        if self.sheet is not None and self.sheet.is_open:
            self.sheet.dismiss(animation=False)
        self.sheet = None

    def _read(self) -> tuple[list[SettingView], list[AuditRecord]]:
        editor = self.services.settings_editor
        return editor.settings(self.services.base_settings), editor.audit.records(limit=AUDIT_SHOWN)

    async def reload(self) -> None:
        """Read the settings and the audit log (the store validates every record: off the UI thread)."""
        self.loading = True
        try:
            views, records = await asyncio.to_thread(self._read)
        finally:
            self.loading = False
        self._show(views, records)

    def _show(self, views: list[SettingView], records: list[AuditRecord]) -> None:
        box = self.ids.rows
        for view in views:
            row = self.rows.get(view.key)
            if row is None:
                row = self.rows[view.key] = SettingRow(screen=self)
                box.add_widget(row)
            row.view = view
        self.audit = records
        lines = self.ids.audit_lines
        lines.clear_widgets()
        for record in records:
            lines.add_widget(AuditLine(record=record))

    # --- editing ----------------------------------------------------------------------------------

    def edit(self, key: str) -> None:
        """Open the keypad (a number) or the keyboard (a text) for `key`."""
        row = self.rows[key]
        view, lang = row.view, self.app.lang
        if view is None or view.locked or row.saving:
            return
        title = translate(lang, view.label)
        if view.kind == "number":
            self.sheet = NumberSheet(title, number_text(lang, view.value), range_text(lang, view),
                                     lambda typed: self.change(key, typed))
        else:
            self.sheet = TextSheet(title, str(view.value or ""), view.max_length, lambda text: self.change(key, text))
        self.sheet.open(animation=False)

    def change(self, key: str, value: Any) -> None:
        self._run(key, lambda editor, base, session: editor.change(base, key, value, session))

    def reset(self, key: str) -> None:
        self._run(key, lambda editor, base, session: editor.reset(base, key, session))

    def _run(self, key: str, action: Callable) -> None:
        row = self.rows[key]
        if row.saving:
            return
        row.clear_error()
        row.saving = True
        self.app.spawn(self._save(row, action))

    async def _save(self, row: SettingRow, action: Callable) -> None:
        services, session = self.services, self.app.staff_session
        try:
            if session is None:
                raise SessionEnded(row.key, "nobody is logged in")
            # The editor fsyncs the override and its audit record: off the UI thread.
            settings = await asyncio.to_thread(action, services.settings_editor, services.base_settings, session)
        except InvalidSetting as exc:
            row.show_error("staff.settings.invalid", exc.problems)
        except SettingLocked:
            row.show_error("staff.settings.locked_now")
        except SessionEnded:
            row.show_error("staff.settings.session_ended")
        except NotEditable:
            row.show_error("staff.settings.not_editable")
        except Exception:
            log.exception("changing setting %s", row.key)
            row.show_error("staff.settings.save_failed")
        else:
            self.app.apply_settings(settings)
            log.info("setting %s now %r", row.key, _value(settings, row.key))
        finally:
            row.saving = False
        await self.reload()
        if row.error_key:
            Clock.schedule_once(lambda _dt: self._scroll_to(row), 0)

    def _scroll_to(self, row: SettingRow) -> None:
        if row.parent is not None:
            self.ids.scroller.scroll_to(row, padding=20, animate=False)


def _value(settings: Settings, key: str) -> Any:
    section, _, field = key.partition(".")
    return getattr(getattr(settings, section), field)
