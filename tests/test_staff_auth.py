"""The staff door: PIN hashes, PIN and badge logins, the lockout (through restarts), idle sessions,
the staff directory, and `kiosk staff hash-pin`. A PIN is never stored or logged in clear."""

import argparse
import io
import logging
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.config import DEFAULT_CONFIG, load_settings, parse_settings
from kiosk.staff import cli
from kiosk.staff.auth import AmbiguousPin, LockedOut, LoggedIn, StaffGate, StaffSession, UnknownBadge, WrongPin
from kiosk.staff.directory import StaffDirectory, StaffMember
from kiosk.staff.pins import InvalidPin, MalformedPinHash, hash_pin, parse_pin_hash, verify_pin
from kiosk.staff.store import StaffStore, store_path

ROOT = Path(__file__).resolve().parent.parent
# 8-digit PINs: a run of 8 digits cannot turn up by chance in a file or log, so "not in it" means something.
SANNE_PIN, MEHMET_PIN, WRONG_PIN = "80472915", "61938274", "55501963"
SANNE_HASH, MEHMET_HASH = hash_pin(SANNE_PIN), hash_pin(MEHMET_PIN)
SANNE_BADGE = "04A1B2C3D4E5F6"


class Clock:
    """Wall clock (UTC, for the lockout) and monotonic clock (for idle), moved together."""

    def __init__(self):
        self.wall = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def staff_settings(**staff):
    return parse_settings({"staff": {
        "members": [
            {"id": "s-utr-1", "name": "Sanne de Vries", "pin_hash": SANNE_HASH, "badge_uids": [SANNE_BADGE]},
            {"id": "s-utr-2", "name": "Mehmet Yilmaz", "role": "manager", "pin_hash": MEHMET_HASH},
        ], **staff}})


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def open_gate(tmp_path, clock):
    """A function making a gate on tmp_path/staff.json: call it again for 'after a restart'."""
    stores = []

    def make(**staff):
        settings = staff_settings(**staff)
        store = StaffStore(tmp_path / "staff.json", clock=clock.now)
        stores.append(store)
        return StaffGate.from_settings(settings, StaffDirectory.from_config(settings.staff), store,
                                       clock=clock.now, monotonic=clock.monotonic)

    yield make
    for store in stores:
        store.close()


def events(gate):
    return [(r.event, r.staff_id, r.detail) for r in reversed(gate.audit.records())]


# --- PIN hashes -----------------------------------------------------------------------------------

def test_a_pin_hash_describes_itself_and_verifies():
    stored = hash_pin("1234")
    assert stored.startswith("scrypt$n=16384,r=8,p=1$")
    parsed = parse_pin_hash(stored)
    assert (len(parsed.salt), len(parsed.digest)) == (16, 32)
    assert verify_pin("1234", stored)
    assert not verify_pin("1235", stored)
    assert not verify_pin("12345", stored)
    assert hash_pin("1234") != stored  # a fresh salt every time


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", " 1234", "١٢٣٤"])
def test_only_4_to_8_digits_are_a_pin(pin):
    with pytest.raises(InvalidPin):
        hash_pin(pin)
    assert not verify_pin(pin, SANNE_HASH)


@pytest.mark.parametrize("stored", [
    "1234", "", "scrypt$n=16384,r=8,p=1$AAAA$AAAA",  # salt too short
    "bcrypt$n=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "scrypt$n=16383,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "scrypt$n=1048576,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
])
def test_a_malformed_hash_is_refused_without_repeating_it(stored):
    with pytest.raises(MalformedPinHash) as info:
        verify_pin("1234", stored)
    assert stored == "" or stored not in str(info.value)


# --- logging in by PIN ------------------------------------------------------------------------------

def test_each_members_pin_logs_that_member_in(open_gate):
    gate = open_gate()
    result = gate.login_with_pin(MEHMET_PIN)
    assert isinstance(result, LoggedIn) and result.staff.id == "s-utr-2" and result.staff.is_manager
    assert gate.session is result.session and result.session.method == "pin"
    assert isinstance(gate.login_with_pin(SANNE_PIN), LoggedIn)
    assert gate.session.staff.id == "s-utr-1"
    assert events(gate) == [("login", "s-utr-2", "pin"), ("logout", "s-utr-2", "replaced"), ("login", "s-utr-1", "pin")]


def test_five_wrong_pins_lock_pin_entry_and_even_the_right_pin_is_refused(open_gate, clock):
    gate = open_gate()
    assert [gate.login_with_pin(WRONG_PIN) for _ in range(4)] == [WrongPin(4), WrongPin(3), WrongPin(2), WrongPin(1)]
    locked = gate.login_with_pin(WRONG_PIN)
    assert locked == LockedOut(clock.wall + timedelta(seconds=300))
    assert gate.locked_out() == locked
    clock.advance(299)
    assert gate.login_with_pin(SANNE_PIN) == locked  # the right PIN, refused unchecked
    assert gate.session is None
    assert locked.seconds_left(clock.now()) == 1
    assert [e for e, _, _ in events(gate)] == ["pin_wrong"] * 5 + ["lockout"]


def test_pin_entry_opens_again_after_the_lockout_with_a_fresh_count(open_gate, clock):
    gate = open_gate(lockout_attempts=3, lockout_s=60)
    for _ in range(3):
        gate.login_with_pin(WRONG_PIN)
    clock.advance(60)
    assert gate.locked_out() is None
    assert gate.login_with_pin(WRONG_PIN) == WrongPin(2)  # counting from the start again
    assert isinstance(gate.login_with_pin(SANNE_PIN), LoggedIn)


def test_the_lockout_survives_a_restart(open_gate, clock):
    gate = open_gate()
    for _ in range(5):
        gate.login_with_pin(WRONG_PIN)
    gate.store.close()
    clock.advance(100)
    clock.mono = 5.0  # a reboot: the monotonic clock starts again
    again = open_gate()
    assert again.locked_out() == LockedOut(clock.wall + timedelta(seconds=200))
    assert isinstance(again.login_with_pin(SANNE_PIN), LockedOut)
    clock.advance(200)
    assert isinstance(again.login_with_pin(SANNE_PIN), LoggedIn)


def test_wrong_pins_before_a_restart_still_count_after_it(open_gate):
    gate = open_gate()
    for _ in range(3):
        gate.login_with_pin(WRONG_PIN)
    gate.store.close()
    assert open_gate().login_with_pin(WRONG_PIN) == WrongPin(1)


def test_a_right_pin_resets_the_count(open_gate):
    gate = open_gate()
    for _ in range(4):
        gate.login_with_pin(WRONG_PIN)
    assert isinstance(gate.login_with_pin(SANNE_PIN), LoggedIn)
    assert gate.login_with_pin(WRONG_PIN) == WrongPin(4)


def test_an_old_wrong_pin_is_forgotten_after_lockout_s(open_gate, clock):
    gate = open_gate()
    for _ in range(4):
        gate.login_with_pin(WRONG_PIN)
    clock.advance(300)
    assert gate.login_with_pin(WRONG_PIN) == WrongPin(4)


def test_a_clock_set_back_never_lengthens_the_lockout(open_gate, clock):
    gate = open_gate()
    for _ in range(5):
        gate.login_with_pin(WRONG_PIN)
    clock.wall -= timedelta(days=1)
    assert gate.locked_out() == LockedOut(clock.wall + timedelta(seconds=300))


def test_a_pin_of_two_members_logs_in_nobody(tmp_path, clock):
    shared = hash_pin(SANNE_PIN)
    settings = parse_settings({"staff": {"members": [
        {"id": "a", "name": "A", "pin_hash": SANNE_HASH}, {"id": "b", "name": "B", "pin_hash": shared}]}})
    store = StaffStore(tmp_path / "staff.json", clock=clock.now)
    gate = StaffGate.from_settings(settings, StaffDirectory.from_config(settings.staff), store, clock=clock.now)
    assert gate.login_with_pin(SANNE_PIN) == AmbiguousPin()
    assert gate.session is None
    assert events(gate) == [("pin_ambiguous", None, "a, b")]
    assert gate.login_with_pin(WRONG_PIN) == WrongPin(4)  # the shared PIN did not count as wrong


async def test_the_async_login_runs_scrypt_off_the_loop(open_gate):
    gate = open_gate()
    assert isinstance(await gate.login_with_pin_async(SANNE_PIN), LoggedIn)
    assert await gate.login_with_pin_async(WRONG_PIN) == WrongPin(4)


# --- logging in by badge ----------------------------------------------------------------------------

def test_a_badge_logs_its_owner_in_even_during_a_pin_lockout(open_gate):
    gate = open_gate()
    for _ in range(5):
        gate.login_with_pin(WRONG_PIN)
    result = gate.login_with_badge("04:a1:b2:c3:d4:e5:f6")
    assert isinstance(result, LoggedIn) and result.staff.id == "s-utr-1" and result.session.method == "badge"
    assert gate.locked_out() is not None  # the badge does not lift the PIN lockout


def test_an_unknown_badge_is_refused_and_audited_masked(open_gate):
    gate = open_gate()
    assert gate.login_with_badge("04FFEEDDCCBBAA") == UnknownBadge()
    assert gate.session is None
    (record,) = gate.audit.records()
    assert record.event == "badge_unknown" and record.detail == "badge 04FF…"
    assert "04FFEEDDCCBBAA" not in gate.store.path.read_text()


# --- sessions -----------------------------------------------------------------------------------------

def test_a_staff_session_ends_after_idle_s_without_a_touch(open_gate, clock):
    gate = open_gate(idle_s=120)
    session = gate.login_with_pin(SANNE_PIN).session
    clock.advance(100)
    session.touch()
    clock.advance(119)
    assert not session.expired and not gate.end_if_idle()
    assert session.seconds_left == pytest.approx(1)
    clock.advance(1)
    assert session.expired
    assert gate.end_if_idle()
    assert gate.session is None and session.ended_because == "idle"
    assert not gate.end_if_idle()
    assert events(gate)[-1] == ("logout", "s-utr-1", "idle")


def test_log_out_ends_the_session_once(open_gate):
    gate = open_gate()
    session = gate.login_with_badge(SANNE_BADGE).session
    gate.logout()
    gate.logout()  # harmless
    assert session.expired and gate.session is None
    assert events(gate) == [("login", "s-utr-1", "badge"), ("logout", "s-utr-1", "logout")]


def test_a_session_needs_a_positive_idle_time():
    with pytest.raises(ValueError):
        StaffSession(StaffMember(id="a", name="A"), "pin", idle_s=0)


# --- never a PIN in clear -------------------------------------------------------------------------------

def test_no_pin_is_ever_in_the_store_or_the_log(open_gate, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    gate = open_gate()
    gate.login_with_pin(SANNE_PIN)
    gate.logout()
    for _ in range(5):
        gate.login_with_pin(WRONG_PIN)
    gate.login_with_pin(MEHMET_PIN)
    written = "".join(p.read_text() for p in tmp_path.glob("staff.json*"))
    assert "pin_wrong" in written and "lockout" in written  # (the right file)
    for pin in (SANNE_PIN, MEHMET_PIN, WRONG_PIN):
        assert pin not in written
        assert pin not in caplog.text
    assert "lockout" in caplog.text.lower() or "locked" in caplog.text


# --- the directory ---------------------------------------------------------------------------------------

def test_the_directory_merges_the_central_list():
    directory = StaffDirectory.from_config(staff_settings().staff)
    merged = directory.with_central([
        {"staff_id": "s-utr-1", "name": "Sanne de Vries-Bakker", "role": "manager", "badge_uids": ["04 99 88"]},
        {"staff_id": "s-utr-9", "name": "Kim", "role": "staff", "badge_uids": ["0477"]},
        {"staff_id": "s-utr-8", "name": "Bad", "role": "owner"},
    ])
    sanne = merged.get("s-utr-1")
    assert (sanne.name, sanne.role, sanne.badge_uids, sanne.source) == ("Sanne de Vries-Bakker", "manager", ("049988",), "both")
    assert sanne.pin_hash == SANNE_HASH  # PIN hashes only ever come from the config
    assert merged.by_badge(SANNE_BADGE) is None  # the central register dropped that badge
    assert merged.by_badge("049988").id == "s-utr-1"
    assert merged.get("s-utr-9").pin_hash is None and merged.by_badge("0477").id == "s-utr-9"
    assert merged.get("s-utr-2").source == "config"
    assert merged.get("s-utr-8") is None and merged.rejected and merged.rejected[0].startswith("s-utr-8")
    assert {m.id for m in merged.with_pins()} == {"s-utr-1", "s-utr-2"}
    # A newer list replaces the older one (it does not pile up on it).
    assert merged.with_central([]).by_badge("0477") is None
    assert directory.by_badge(SANNE_BADGE).id == "s-utr-1"  # the original is unchanged


def test_the_directory_takes_the_contracts_objects_by_attribute():
    class Entry:
        staff_id, name, role, badge_uids = "s-9", "Kim", "staff", ["04AB"]

    assert StaffDirectory().with_central([Entry()]).by_badge("04ab").name == "Kim"


def test_a_badge_two_members_claim_logs_in_nobody():
    directory = StaffDirectory.from_config(staff_settings().staff).with_central(
        [{"staff_id": "s-9", "name": "Kim", "badge_uids": [SANNE_BADGE]}])
    assert directory.by_badge(SANNE_BADGE) is None
    assert directory.conflicts == {SANNE_BADGE}


def test_the_badge_matcher_knows_every_members_badge():
    settings = load_settings(DEFAULT_CONFIG)
    directory = StaffDirectory.from_config(settings.staff).with_central([{"staff_id": "s-9", "name": "K", "badge_uids": ["0477"]}])
    matcher = directory.badge_matcher(settings.staff)
    for uid in ("04A1B2C3D4E5F6", "04112233445566", "0477"):
        assert matcher.is_badge(b"\x3b\x00", uid)
    assert not matcher.is_badge(b"\x3b\x00", "0478")


def test_the_store_lives_next_to_the_journal():
    settings = load_settings(DEFAULT_CONFIG)
    assert store_path(settings) == settings.journal_path.parent / "staff.json"


# --- kiosk staff hash-pin -------------------------------------------------------------------------------

def test_hash_pin_from_a_pipe_prints_only_the_hash():
    result = subprocess.run([sys.executable, "-m", "kiosk", "staff", "hash-pin"], input=f"{SANNE_PIN}\n",
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert verify_pin(SANNE_PIN, line)
    assert SANNE_PIN not in result.stdout + result.stderr
    # What it prints is accepted by the config as it is.
    assert parse_settings({"staff": {"members": [{"id": "x", "name": "X", "pin_hash": line}]}})


@pytest.mark.parametrize("given", ["12a4\n", "123\n", ""])
def test_hash_pin_refuses_what_is_no_pin(given):
    result = subprocess.run([sys.executable, "-m", "kiosk", "staff", "hash-pin"], input=given,
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.startswith("kiosk staff hash-pin: ")


class Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("typed, code", [([SANNE_PIN, SANNE_PIN], 0), ([SANNE_PIN, MEHMET_PIN], 1), (["12"], 1)])
def test_hash_pin_at_a_terminal_asks_twice_without_echo(monkeypatch, capsys, typed, code):
    answers = iter(typed)
    prompts = []
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: prompts.append(prompt) or next(answers))
    out = io.StringIO()
    assert cli.main(argparse.Namespace(staff_command="hash-pin"), stdin=Tty(), stdout=out) == code
    assert len(prompts) == len(typed)
    if code == 0:
        assert verify_pin(SANNE_PIN, out.getvalue().strip())
    else:
        assert out.getvalue() == ""
        assert "differ" in capsys.readouterr().err or len(typed) == 1
    assert SANNE_PIN not in out.getvalue() + capsys.readouterr().err
