"""Settings staff change on the pillar: validated by the config's own models, refused when locked,
audited with old and new value, kept through a restart, applied on top of the config."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.config import DEFAULT_CONFIG, Settings, load_settings, parse_settings
from kiosk.staff.auth import StaffSession
from kiosk.staff.directory import StaffMember
from kiosk.staff.overrides import (
    EDITABLE,
    InvalidSetting,
    NotEditable,
    SessionEnded,
    SettingLocked,
    SettingsEditor,
)
from kiosk.staff.records import OverrideRecord
from kiosk.staff.store import StaffStore

SANNE = StaffMember(id="s-utr-1", name="Sanne de Vries")
MEHMET = StaffMember(id="s-utr-2", name="Mehmet Yilmaz", role="manager")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.wall = T0
        self.mono = 100.0

    def now(self):
        return self.wall


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def base():
    """The config beneath the overrides: not all defaults, so 'back to the config' means something."""
    return parse_settings({"session": {"idle_s": 45}, "kiosk": {"receipt_text": "Tot ziens!"}},
                          source=DEFAULT_CONFIG)


@pytest.fixture
def open_editor(tmp_path, clock):
    stores = []

    def make(**kwargs):
        store = StaffStore(tmp_path / "staff.json", clock=clock.now)
        stores.append(store)
        return SettingsEditor(store, clock=clock.now, **kwargs)

    yield make
    for store in stores:
        store.close()


def session_of(member, clock, idle_s=120):
    return StaffSession(member, "pin", idle_s=idle_s, clock=lambda: clock.mono)


def test_every_editable_key_is_a_real_plain_setting():
    assert len({s.key for s in EDITABLE}) == len(EDITABLE)
    for setting in EDITABLE:
        section, field = setting.key.split(".")
        assert field in type(getattr(Settings(), section)).model_fields, setting.key
        assert setting.label.startswith("staff.settings.")
    keys = {s.key for s in EDITABLE}
    assert {"kiosk.language", "session.idle_s", "display.theme", "display.large_text", "display.low_reach",
            "kiosk.receipt_text", "stock.nearby_shops"} <= keys
    assert not any(k.startswith(("api.", "payment.", "staff.", "journal.", "catalog.")) for k in keys)


def test_a_change_applies_audits_and_returns_the_new_settings(open_editor, base, clock):
    editor = open_editor()
    updated = editor.change(base, "session.idle_s", "120", session_of(SANNE, clock))
    assert updated.session.idle_s == 120.0
    assert updated.source == base.source and updated.journal_path == base.journal_path
    assert editor.overrides() == {"session.idle_s": 120.0}  # stored as validated, not as typed
    (record,) = editor.audit.records()
    assert (record.event, record.staff_id, record.staff_name, record.key, record.old, record.new) == (
        "setting_changed", "s-utr-1", "Sanne de Vries", "session.idle_s", 45.0, 120.0)
    assert record.at == T0 and record.at.tzinfo is not None


def test_old_is_what_the_pillar_used_before_this_change(open_editor, base, clock):
    editor = open_editor()
    editor.change(base, "display.theme", "high_contrast", session_of(SANNE, clock))
    clock.wall += timedelta(minutes=5)
    editor.change(base, "kiosk.language", "en", session_of(MEHMET, clock))
    editor.change(base, "display.theme", "standard", session_of(MEHMET, clock))
    records = [(r.staff_id, r.key, r.old, r.new) for r in reversed(editor.audit.records())]
    assert records == [("s-utr-1", "display.theme", "standard", "high_contrast"),
                       ("s-utr-2", "kiosk.language", "nl", "en"),
                       ("s-utr-2", "display.theme", "high_contrast", "standard")]
    # Back to the config's own value: no override is kept for it any more.
    assert editor.overrides() == {"kiosk.language": "en"}


def test_setting_the_same_value_again_changes_and_audits_nothing(open_editor, base, clock):
    editor = open_editor()
    editor.change(base, "display.large_text", True, session_of(SANNE, clock))
    editor.change(base, "display.large_text", "true", session_of(SANNE, clock))
    assert len(editor.audit.records()) == 1


@pytest.mark.parametrize("key, value, message", [
    ("session.idle_s", "-5", "session.idle_s: Input should be greater than 0"),
    ("session.idle_s", "soon", "session.idle_s: Input should be a valid number"),
    ("display.theme", "pink", "display.theme: Input should be 'standard' or 'high_contrast'"),
    ("kiosk.language", "de", "kiosk.language: Input should be 'nl' or 'en'"),
    ("kiosk.receipt_text", "x" * 201, "kiosk.receipt_text: String should have at most 200 characters"),
    ("stock.nearby_shops", 21, "stock.nearby_shops: Input should be less than or equal to 20"),
    ("display.low_reach", "perhaps", "display.low_reach: Input should be a valid boolean"),
])
def test_an_invalid_value_is_refused_with_the_models_message(open_editor, base, clock, key, value, message):
    editor = open_editor()
    with pytest.raises(InvalidSetting) as info:
        editor.change(base, key, value, session_of(SANNE, clock))
    assert str(info.value).startswith(message)
    assert info.value.key == key and info.value.problems
    assert editor.overrides() == {} and editor.audit.records() == []


def test_a_key_the_fleet_locks_is_refused_and_shown_locked(open_editor, base, clock):
    editor = open_editor(locked={"kiosk.language"})
    with pytest.raises(SettingLocked, match="kiosk.language: locked by the fleet"):
        editor.change(base, "kiosk.language", "en", session_of(SANNE, clock))
    with pytest.raises(SettingLocked):
        editor.reset(base, "kiosk.language", session_of(SANNE, clock))
    assert editor.overrides() == {} and editor.audit.records() == []
    views = {v.key: v for v in editor.settings(base)}
    assert views["kiosk.language"].locked and not views["display.theme"].locked


def test_a_key_off_the_list_is_refused(open_editor, base, clock):
    editor = open_editor()
    for key in ("api.token", "payment.no_cvm_limit_cents", "staff.lockout_attempts", "nonsense"):
        with pytest.raises(NotEditable, match="not a setting staff may change"):
            editor.change(base, key, "x", session_of(SANNE, clock))
    assert editor.audit.records() == []


def test_an_ended_session_changes_nothing(open_editor, base, clock):
    editor = open_editor()
    session = session_of(SANNE, clock, idle_s=120)
    clock.mono += 120
    with pytest.raises(SessionEnded):
        editor.change(base, "kiosk.language", "en", session)
    assert editor.overrides() == {}


def test_a_change_keeps_the_session_alive(open_editor, base, clock):
    editor = open_editor()
    session = session_of(SANNE, clock, idle_s=120)
    clock.mono += 100
    editor.change(base, "kiosk.language", "en", session)
    clock.mono += 100
    assert not session.expired


def test_overrides_survive_a_restart_and_sit_on_top_of_the_config(open_editor, base, clock):
    editor = open_editor()
    editor.change(base, "session.idle_s", 60, session_of(SANNE, clock))
    editor.change(base, "kiosk.receipt_text", "Fijne dag!", session_of(SANNE, clock))
    editor.store.close()
    again = open_editor()
    effective = again.effective(base)
    assert (effective.session.idle_s, effective.kiosk.receipt_text) == (60.0, "Fijne dag!")
    assert effective.session.countdown_s == base.session.countdown_s  # untouched keys: the config's
    # The config beneath changes (a new file, later a fleet bundle): the override still wins over it,
    # and keys without an override follow the new config.
    newer = parse_settings({"session": {"idle_s": 30, "countdown_s": 20}})
    assert (again.effective(newer).session.idle_s, again.effective(newer).session.countdown_s) == (60.0, 20.0)
    assert len(again.audit.records()) == 2


def test_reset_goes_back_to_the_config_and_is_audited(open_editor, base, clock):
    editor = open_editor()
    editor.change(base, "session.idle_s", 60, session_of(SANNE, clock))
    restored = editor.reset(base, "session.idle_s", session_of(MEHMET, clock))
    assert restored.session.idle_s == 45.0 and editor.overrides() == {}
    record = editor.audit.records()[0]
    assert (record.event, record.staff_id, record.key, record.old, record.new) == (
        "setting_reset", "s-utr-2", "session.idle_s", 60.0, 45.0)
    editor.reset(base, "session.idle_s", session_of(MEHMET, clock))  # nothing to reset: no record
    assert len(editor.audit.records()) == 2


def test_effective_skips_and_reports_overrides_that_no_longer_apply(open_editor, base, clock):
    editor = open_editor(locked={"display.theme"})
    stamp = {"set_at": T0, "staff_id": "s-utr-1", "staff_name": "Sanne de Vries"}
    editor.store.commit(put=[
        OverrideRecord(key="stock.nearby_shops", value=50, **stamp),      # a limit tightened since
        OverrideRecord(key="display.theme", value="high_contrast", **stamp),  # the fleet locks it now
        OverrideRecord(key="display.promo_style", value="big", **stamp),  # a setting that left the list
        OverrideRecord(key="kiosk.language", value="en", **stamp),        # fine
    ])
    report = editor.effective_report(base)
    assert report.settings.kiosk.language == "en"
    assert report.settings.stock.nearby_shops == base.stock.nearby_shops
    assert report.settings.display.theme == "standard"
    reasons = {s.key: s.reason for s in report.skipped}
    assert reasons["stock.nearby_shops"].startswith("no longer valid: Input should be less than or equal to 20")
    assert reasons["display.theme"] == "locked by the fleet"
    assert reasons["display.promo_style"] == "no longer a setting staff may change"
    assert set(editor.overrides()) == {"stock.nearby_shops", "display.theme", "display.promo_style", "kiosk.language"}
    views = {v.key: v for v in editor.settings(base)}
    assert views["kiosk.language"].overridden and not views["stock.nearby_shops"].overridden


def test_the_settings_screen_gets_kinds_limits_and_values(open_editor, base, clock):
    editor = open_editor()
    editor.change(base, "kiosk.language", "en", session_of(SANNE, clock))
    views = {v.key: v for v in editor.settings(base)}
    assert [v.key for v in editor.settings(base)] == [s.key for s in EDITABLE]
    language = views["kiosk.language"]
    assert (language.kind, language.choices, language.value, language.base_value, language.overridden) == (
        "choice", ("nl", "en"), "en", "nl", True)
    assert views["display.theme"].choices == ("standard", "high_contrast")
    assert views["display.large_text"].kind == "toggle"
    idle = views["session.idle_s"]
    assert (idle.kind, idle.minimum, idle.minimum_exclusive, idle.maximum, idle.integer) == ("number", 0, True, 3600, False)
    shops = views["stock.nearby_shops"]
    assert (shops.minimum, shops.maximum, shops.integer) == (0, 20, True)
    assert (views["kiosk.receipt_text"].kind, views["kiosk.receipt_text"].max_length) == ("text", 200)


def test_the_audit_log_is_capped_keeping_the_newest(tmp_path, base, clock):
    store = StaffStore(tmp_path / "staff.json", audit_cap=3, clock=clock.now)
    editor = SettingsEditor(store, clock=clock.now)
    for shops in range(1, 7):
        editor.change(base, "stock.nearby_shops", shops, session_of(SANNE, clock))
    assert [r.new for r in editor.audit.records()] == [6, 5, 4]
    doc = json.loads((tmp_path / "staff.json").read_text())
    assert sorted(doc["data"]["audit"], key=int) == ["4", "5", "6"]
    store.close()


def test_the_store_is_a_crash_safe_journal_file(open_editor, base, clock, tmp_path):
    editor = open_editor()
    editor.change(base, "kiosk.language", "en", session_of(SANNE, clock))
    editor.change(base, "stock.nearby_shops", 5, session_of(SANNE, clock))
    editor.store.close()
    path = tmp_path / "staff.json"
    doc = json.loads(path.read_text())
    assert doc["format"] == "kiosk-journal" and set(doc["data"]) >= {"overrides", "audit"}
    # A damaged file is set aside; the previous generation (one change fewer) is used, with an alert.
    path.write_text(path.read_text()[:-20])
    again = open_editor()
    assert again.overrides() == {"kiosk.language": "en"}
    assert again.store.alerts and list(tmp_path.glob("staff.json.corrupt-*"))


def test_the_shipped_config_with_overrides(open_editor, clock):
    settings = load_settings(DEFAULT_CONFIG)
    editor = open_editor()
    updated = editor.change(settings, "display.low_reach", True, session_of(SANNE, clock))
    assert updated.display.low_reach and updated.payment_public_key_path == settings.payment_public_key_path
    assert updated.api.token.get_secret_value() == settings.api.token.get_secret_value()
    assert Path(editor.store.path).exists()
