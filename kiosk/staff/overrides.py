"""Settings staff may change on the pillar, kept as overrides in the staff store (issue 8).

    editor = SettingsEditor(store, locked=fleet_locked_keys)
    editor.settings(base)                             # what the staff screen lists, with kind and limits
    base = editor.change(base, "session.idle_s", "120", session)   # -> the new effective Settings
    editor.reset(base, "session.idle_s", session)     # back to the value beneath the override
    editor.effective(base)                            # base with the overrides on top

`base` is what the pillar would run without staff: the config file (and, later, the fleet bundle).
Layers, later wins: defaults < config < fleet < staff overrides; a key the fleet locks is never
overridden (refused when changed, skipped when applied).

Only the keys in `EDITABLE` can be changed, and every change is validated by the same pydantic
models as the config file (`kiosk.config.Settings`), with the override applied to the whole
settings, so a staff value can never be one the config file would refuse. The value stored is the
validated one (e.g. 120.0 for "120"). A value equal to the one beneath is not kept as an override,
so a later config or fleet change of that key shows through again.

Each change and each reset goes into the audit log in the same write as the override: who, key,
old and new effective value, when. An override that no longer validates (after an upgrade tightened
a limit, or a key left `EDITABLE`) is skipped by `effective` and reported, not deleted: staff see
it and reset it.

Writes block on the disk (fsync): call `change` and `reset` from a worker thread (asyncio.to_thread).
"""

from __future__ import annotations

import logging
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue, ValidationError

from kiosk.config import Settings
from kiosk.staff.audit import AuditLog
from kiosk.staff.auth import StaffSession
from kiosk.staff.records import OverrideRecord, utc_now
from kiosk.staff.store import StaffStore

log = logging.getLogger("kiosk.staff.overrides")


@dataclass(frozen=True)
class EditableSetting:
    key: str    # "section.field" of kiosk.config.Settings
    label: str  # the i18n message id of its name on the staff screen


# The allow-list. Never a credential, a path, an address or a hardware setting: those are the
# config's and the fleet's. The labels are message ids for kiosk/i18n (the staff screen adds them).
EDITABLE: tuple[EditableSetting, ...] = (
    EditableSetting("kiosk.language", "staff.settings.language"),
    EditableSetting("kiosk.receipt_text", "staff.settings.receipt_text"),
    EditableSetting("session.idle_s", "staff.settings.idle_s"),
    EditableSetting("session.countdown_s", "staff.settings.countdown_s"),
    EditableSetting("session.receipt_s", "staff.settings.receipt_s"),
    EditableSetting("display.theme", "staff.settings.theme"),
    EditableSetting("display.large_text", "staff.settings.large_text"),
    EditableSetting("display.low_reach", "staff.settings.low_reach"),
    EditableSetting("display.promotion_s", "staff.settings.promotion_s"),
    EditableSetting("stock.nearby_shops", "staff.settings.nearby_shops"),
)

SettingKind = Literal["choice", "toggle", "number", "text"]


class SettingsError(Exception):
    """A change staff cannot make; the message says which key and why."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class NotEditable(SettingsError):
    """Not a setting staff may change here."""


class SettingLocked(SettingsError):
    """Locked by the fleet configuration: shown, not changeable."""


class InvalidSetting(SettingsError):
    """The value fails the setting's validation; `problems` are pydantic's messages."""

    def __init__(self, key: str, problems: list[str]) -> None:
        super().__init__(key, "; ".join(problems))
        self.problems = problems


class SessionEnded(SettingsError):
    """The staff session is over (logged out or idle): log in again."""


@dataclass(frozen=True)
class SettingView:
    """One line of the staff settings screen."""

    key: str
    label: str
    kind: SettingKind
    value: Any                 # effective now
    base_value: Any            # what it would be without the override (config, fleet)
    overridden: bool
    locked: bool
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    minimum_exclusive: bool = False  # "more than" rather than "at least" (e.g. an idle time above 0)
    maximum: float | None = None
    max_length: int | None = None
    integer: bool = False


@dataclass(frozen=True)
class SkippedOverride:
    key: str
    value: JsonValue
    reason: str


@dataclass(frozen=True)
class Effective:
    settings: Settings
    skipped: tuple[SkippedOverride, ...] = ()


def _split(key: str) -> tuple[str, str]:
    section, _, field = key.partition(".")
    return section, field


def _get(settings: Settings, key: str) -> JsonValue:
    section, field = _split(key)
    return settings.model_dump(mode="json", include={section: {field}})[section][field]


def _with(settings: Settings, key: str, value: object) -> Settings:
    """`settings` with `key` set to `value`, validated whole by the config's own models."""
    data = settings.model_dump()  # python mode: secrets stay SecretStr, paths stay Paths
    section, field = _split(key)
    data[section][field] = value
    try:
        validated = Settings.model_validate(data)
    except ValidationError as exc:
        raise InvalidSetting(key, [error["msg"] for error in exc.errors()]) from None
    return validated.model_copy(update={"source": settings.source})


class SettingsEditor:
    def __init__(self, store: StaffStore, *, locked: Iterable[str] = (),
                 editable: Iterable[EditableSetting] = EDITABLE, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.audit = AuditLog(store, clock=clock)
        self.editable = {setting.key: setting for setting in editable}
        self.locked = frozenset(locked)
        self._clock = clock

    def set_locked(self, keys: Iterable[str]) -> None:
        """The keys the fleet locks now (the fleet bundle brings them)."""
        self.locked = frozenset(keys)

    def overrides(self) -> dict[str, JsonValue]:
        return {key: record.value for key, record in self.store.overrides().items()}

    # --- applying -----------------------------------------------------------------------------

    def effective_report(self, base: Settings) -> Effective:
        """`base` with every usable override on top, and those that were skipped and why."""
        settings, skipped = base, []
        records = self.store.overrides()
        order = [key for key in self.editable if key in records] + sorted(set(records) - set(self.editable))
        for key in order:
            value = records[key].value
            if key not in self.editable:
                skipped.append(SkippedOverride(key, value, "no longer a setting staff may change"))
            elif key in self.locked:
                skipped.append(SkippedOverride(key, value, "locked by the fleet"))
            else:
                try:
                    settings = _with(settings, key, value)
                except InvalidSetting as exc:
                    skipped.append(SkippedOverride(key, value, f"no longer valid: {'; '.join(exc.problems)}"))
        for item in skipped:
            log.warning("staff override %s = %r not applied: %s", item.key, item.value, item.reason)
        return Effective(settings, tuple(skipped))

    def effective(self, base: Settings) -> Settings:
        return self.effective_report(base).settings

    # --- listing ------------------------------------------------------------------------------

    def settings(self, base: Settings) -> list[SettingView]:
        """Every editable setting with its effective and base value, kind, limits and lock."""
        effective = self.effective_report(base)
        applied = set(self.store.overrides()) - {s.key for s in effective.skipped}
        return [_view(setting, base, effective.settings, setting.key in applied, setting.key in self.locked)
                for setting in self.editable.values()]

    # --- changing -----------------------------------------------------------------------------

    def _check(self, key: str, session: StaffSession) -> None:
        if session.expired:
            raise SessionEnded(key, "the staff session has ended: log in again")
        if key not in self.editable:
            raise NotEditable(key, "not a setting staff may change on the pillar")
        if key in self.locked:
            raise SettingLocked(key, "locked by the fleet configuration")

    def change(self, base: Settings, key: str, value: object, session: StaffSession) -> Settings:
        """Set `key` to `value` for this pillar; returns the new effective settings.
        NotEditable, SettingLocked, InvalidSetting or SessionEnded when it cannot be done."""
        self._check(key, session)
        session.touch()
        current = self.effective(base)
        new_settings = _with(current, key, value)
        old, new = _get(current, key), _get(new_settings, key)
        if new == old:
            return current
        staff = session.staff
        audit = self.audit.make("setting_changed", staff=staff, key=key, old=old, new=new)
        if new == _get(base, key):
            self.store.commit(audit=[audit], delete=[key])
        else:
            record = OverrideRecord(key=key, value=new, set_at=self._clock(), staff_id=staff.id, staff_name=staff.name)
            self.store.commit(audit=[audit], put=[record])
        log.info("staff %s changed %s", staff.id, key)
        return self.effective(base)

    def reset(self, base: Settings, key: str, session: StaffSession) -> Settings:
        """Drop the override of `key` (back to the config's or fleet's value); audited."""
        self._check(key, session)
        session.touch()
        records = self.store.overrides()
        if key not in records:
            return self.effective(base)
        old, new = records[key].value, _get(base, key)
        self.store.commit(audit=[self.audit.make("setting_reset", staff=session.staff, key=key, old=old, new=new)],
                          delete=[key])
        log.info("staff %s reset %s", session.staff.id, key)
        return self.effective(base)


def _view(setting: EditableSetting, base: Settings, effective: Settings, overridden: bool, locked: bool) -> SettingView:
    section, field = _split(setting.key)
    info = type(getattr(base, section)).model_fields[field]
    limits: dict[str, Any] = {}
    for rule in info.metadata:
        for name, attr in (("minimum", "ge"), ("minimum", "gt"), ("maximum", "le"), ("maximum", "lt"),
                           ("max_length", "max_length")):
            if getattr(rule, attr, None) is not None:
                limits[name] = getattr(rule, attr)
                if attr == "gt":
                    limits["minimum_exclusive"] = True
    annotation = info.annotation
    if typing.get_origin(annotation) is Literal:
        kind, choices = "choice", typing.get_args(annotation)
    elif annotation is bool:
        kind, choices = "toggle", ()
    elif annotation in (int, float):
        kind, choices = "number", ()
    else:
        kind, choices = "text", ()
    return SettingView(key=setting.key, label=setting.label, kind=kind, value=_get(effective, setting.key),
                       base_value=_get(base, setting.key), overridden=overridden, locked=locked,
                       choices=tuple(choices), integer=annotation is int, **limits)
