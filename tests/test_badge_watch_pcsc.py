"""Badge login through the real pcscd (issue 8 points 1 and 7): the badge watcher on a `PcscTerminal`
on the vpcd virtual reader, with emulated cards that record every command they receive.

A badge tapped while the watcher runs is reported once with its UID; a payment card is reported never
and gets no EMV command (at most the reader's GET DATA for its UID, once, however long it stays); the
next badge after it was taken away is reported; a card left after a payment is not touched again;
pcscd down (a subprocess whose pcsc-lite client looks for a socket that does not exist) is a typed
error at once, and the watcher keeps retrying without crashing or flooding the log; pcscd hanging (a
socket that never answers) makes `pause()` fail typed in time and never keeps the process alive."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from kiosk.hardware.badge_watch import BadgeWatcher
from kiosk.hardware.badges import GET_UID, BadgeMatcher
from kiosk.hardware.pcsc_terminal import PcscTerminal
from kiosk.hardware.terminal import BadgePresented, CardRequest, ReaderUnavailable
from kiosk.hardware.virtual_card import MIFARE_1K_ATR, PROFILES
from support.pcsc import PAYMENT_PUBLIC_KEY, VPCD_READER, wait_for_card_state
from support.ui import ROOT

pytestmark = pytest.mark.hardware

BADGE_UID = PROFILES["badge"].uid.hex().upper()
# pcscd notices a vpcd card 0.2 to 1.3 s after the emulator connects (PLATFORM.md).
NOTICE_S = 5.0
# Long enough for several wait_for_badge rounds to look at a card that stays on the reader.
STAY_S = 2.0


def terminal(reader: str, **matcher) -> PcscTerminal:
    return PcscTerminal(reader, PAYMENT_PUBLIC_KEY, badge_matcher=BadgeMatcher(**(matcher or {"uids": [BADGE_UID]})))


async def until(condition, timeout_s: float = NOTICE_S, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def card_commands(card) -> list[bytes]:
    """Commands for the card itself (EMV): everything but the reader's pseudo-APDUs (CLA 'FF')."""
    return [c for c in card.commands if c[0] != 0xFF]


class Watching:
    """A started watcher and what it reported; `async with Watching(terminal) as w: ... w.badges`."""

    def __init__(self, term: PcscTerminal, poll_s: float = 0.5):
        self.badges: list[str] = []
        self.watcher = BadgeWatcher(term, self.badges.append, poll_s=poll_s, backoff_s=(0.2,))

    async def __aenter__(self) -> Watching:
        self.watcher.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.watcher.stop()


async def test_badge_tapped_while_watching_is_reported_once_with_its_uid(vpcd_reader, vpcd_card):
    async with Watching(terminal(vpcd_reader)) as watching:
        await asyncio.sleep(0.3)  # the watcher is polling an empty reader
        card = vpcd_card("badge", wait=False)  # tapped: pcscd notices it a little later
        await until(lambda: watching.badges, what="the badge reported")
        await asyncio.sleep(STAY_S)  # the badge stays on the reader
        assert watching.badges == [BADGE_UID]
        assert card.commands == [GET_UID]  # asked once for its UID, nothing else
        assert watching.watcher.last_error is None


async def test_badge_known_by_its_atr_is_reported_without_any_command(vpcd_reader, vpcd_card):
    async with Watching(terminal(vpcd_reader, atr_patterns=[MIFARE_1K_ATR.hex()])) as watching:
        card = vpcd_card("badge", wait=False)
        await until(lambda: watching.badges, what="the badge reported")
        assert watching.badges == [MIFARE_1K_ATR.hex().upper()] and card.commands == []


async def test_payment_card_is_never_reported_nor_sent_an_emv_command_then_a_badge_is(vpcd_reader, vpcd_card):
    async with Watching(terminal(vpcd_reader)) as watching:
        visa = vpcd_card("visa", wait=False)
        await until(lambda: visa.commands, what="the watcher looking at the card")
        await asyncio.sleep(STAY_S)  # left on the reader: the watcher keeps polling
        assert watching.badges == []
        assert visa.commands == [GET_UID], "only the UID was asked, once; no EMV command"
        assert card_commands(visa) == []

        visa.remove()  # taken away; then a badge is tapped
        await asyncio.to_thread(wait_for_card_state, vpcd_reader, False)
        badge = vpcd_card("badge", wait=False)
        await until(lambda: watching.badges, what="the badge after the payment card")
        assert watching.badges == [BADGE_UID] and badge.commands == [GET_UID]
        assert visa.commands == [GET_UID]


async def test_contact_payment_card_gets_no_command_at_all(vpcd_reader, vpcd_card):
    async with Watching(terminal(vpcd_reader)) as watching:
        card = vpcd_card("maestro_contact", wait=False)
        await asyncio.to_thread(wait_for_card_state, vpcd_reader, True, NOTICE_S)
        await asyncio.sleep(STAY_S)
        assert watching.badges == [] and card.commands == []  # no UID on a contact card: nothing to ask


async def test_the_pay_screen_owns_the_reader_while_paused_and_its_card_is_not_looked_at_after(vpcd_reader, vpcd_card):
    term = terminal(vpcd_reader)
    async with Watching(term, poll_s=30) as watching:
        await until(lambda: watching.watcher.busy, what="the watcher in the reader")
        async with watching.watcher.paused():  # what the pay screen does around read_card
            assert not watching.watcher.busy
            visa = vpcd_card("visa", wait=False)
            result = await asyncio.to_thread(term.read_card, CardRequest(100, card_timeout_s=NOTICE_S), threading.Event())
            assert result.summary.scheme == "Visa"
        read_commands = list(visa.commands)
        await asyncio.sleep(STAY_S)  # the shopper forgot the card on the reader
        assert visa.commands == read_commands, "the card left after paying was sent something"
        assert watching.badges == []


async def test_a_badge_on_the_pay_screen_is_not_reported_again_after_resume(vpcd_reader, vpcd_card):
    term = terminal(vpcd_reader)
    async with Watching(term) as watching:
        async with watching.watcher.paused():
            vpcd_card("badge", wait=False)
            with pytest.raises(BadgePresented) as caught:
                await asyncio.to_thread(term.read_card, CardRequest(100, card_timeout_s=NOTICE_S), threading.Event())
            assert caught.value.badge_id == BADGE_UID  # the pay screen handles this one
        await asyncio.sleep(STAY_S)
        assert watching.badges == [], "one tap, two logins"


def test_wait_for_badge_times_out_and_a_missing_reader_is_a_typed_error(vpcd_reader, vpcd_card):
    started = time.monotonic()
    assert terminal(vpcd_reader).wait_for_badge(0.4) is None
    assert 0.4 <= time.monotonic() - started < 1.5
    started = time.monotonic()
    with pytest.raises(ReaderUnavailable):
        terminal("no such reader").wait_for_badge(10)
    assert time.monotonic() - started < 2


# --- pcscd down (a subprocess: the shared pcscd keeps running for the other tests) ---------------

CHILD = r"""
import asyncio, json, logging, sys, time
from pathlib import Path
from kiosk.hardware.badge_watch import BadgeWatcher
from kiosk.hardware.badges import BadgeMatcher
from kiosk.hardware.pcsc_terminal import PcscTerminal
from kiosk.hardware.terminal import CardError

reader, key, uid = sys.argv[1:4]
term = PcscTerminal(reader, Path(key), badge_matcher=BadgeMatcher(uids=[uid]))
out = {}
started = time.monotonic()
try:
    out["result"] = term.wait_for_badge(10)
except CardError as exc:
    out["error"] = [type(exc).__name__, exc.reason, str(exc)]
out["elapsed"] = time.monotonic() - started

class Count(logging.Handler):
    levels = []
    def emit(self, record):
        self.levels.append(record.levelname)

logging.getLogger("kiosk.hardware.badge_watch").addHandler(Count())
logging.getLogger("kiosk.hardware.badge_watch").setLevel(logging.DEBUG)

async def watch():
    badges = []
    watcher = BadgeWatcher(term, badges.append, poll_s=0.5, backoff_s=(0.05, 0.1))
    watcher.start()
    await asyncio.sleep(1.0)
    out["watcher"] = {"running": watcher.running, "failures": watcher.failures, "last_error": watcher.last_error,
                      "badges": badges}
    started = time.monotonic()
    await watcher.stop()
    out["stop_s"] = time.monotonic() - started

asyncio.run(watch())
out["log_levels"] = Count.levels
print(json.dumps(out))
"""


def test_pcscd_down_is_a_typed_error_at_once_and_the_watcher_retries_quietly(tmp_path, pcscd):
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    result = subprocess.run([sys.executable, "-c", CHILD, VPCD_READER, str(PAYMENT_PUBLIC_KEY), BADGE_UID],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    name, reason, message = out["error"]
    assert (name, reason) == ("ReaderUnavailable", "reader_unavailable") and "pcscd is not running" in message
    assert out["elapsed"] < 2, "asked to wait 10 s, pcscd being down must not make it wait"
    watcher = out["watcher"]
    assert watcher["running"] and watcher["badges"] == [] and watcher["failures"] >= 5
    assert watcher["last_error"].startswith("ReaderUnavailable") and "pcscd is not running" in watcher["last_error"]
    assert out["log_levels"].count("WARNING") == 1 and "ERROR" not in out["log_levels"], out["log_levels"]
    assert out["stop_s"] < 1


HUNG_CHILD = r"""
import asyncio, json, sys, time
from pathlib import Path
from kiosk.hardware.badge_watch import BadgeWatcher
from kiosk.hardware.pcsc_terminal import PcscTerminal
from kiosk.hardware.terminal import CardError

out = {}

async def main():
    watcher = BadgeWatcher(PcscTerminal(sys.argv[1], Path(sys.argv[2])), print, poll_s=0.5)
    watcher.start()
    await asyncio.sleep(0.5)
    out["busy"] = watcher.busy  # stuck in pcsc-lite's client
    started = time.monotonic()
    try:
        await watcher.pause(timeout_s=1.0)
        out["pause"] = "returned"
    except CardError as exc:
        out["pause"] = exc.reason
    out["pause_s"] = time.monotonic() - started
    out["paused"] = watcher.is_paused
    await watcher.stop(timeout_s=0.5)

asyncio.run(main())
print(json.dumps(out), flush=True)
"""


def test_a_hanging_pcscd_makes_pause_fail_in_time_and_the_process_can_exit(tmp_path, pcscd):
    path = tmp_path / "hung-pcscd.comm"  # accepts and never answers, as a hung pcscd
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(8)
    try:
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-c", HUNG_CHILD, VPCD_READER, str(PAYMENT_PUBLIC_KEY)],
                                capture_output=True, text=True, cwd=ROOT, timeout=30,
                                env={**os.environ, "PCSCLITE_CSOCK_NAME": str(path)})
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["busy"] and out["pause"] == "reader_unavailable" and not out["paused"], out
    assert out["pause_s"] < 3
    assert elapsed < 15, "the hung reader call kept the process from exiting"


async def test_a_badge_on_the_reader_logs_its_staff_member_in(vpcd_reader, vpcd_card, tmp_path):
    """End to end below the screens: emulated badge -> pcscd -> watcher -> the staff gate -> a session
    (and an audit record that holds the badge only masked)."""
    from kiosk.staff.auth import LoggedIn, StaffGate
    from kiosk.staff.directory import StaffDirectory, StaffMember
    from kiosk.staff.store import StaffStore

    member = StaffMember(id="s-utr-1", name="Sanne de Vries", badge_uids=(BADGE_UID,))
    store = StaffStore(tmp_path / "staff.json")
    gate = StaffGate(StaffDirectory([member]), store)
    results = []
    watcher = BadgeWatcher(terminal(vpcd_reader), lambda badge: results.append(gate.login_with_badge(badge)),
                           poll_s=0.5, backoff_s=(0.2,))
    watcher.start()
    try:
        vpcd_card("badge", wait=False)
        await until(lambda: results, what="the badge to log someone in")
    finally:
        await watcher.stop()
    assert isinstance(results[0], LoggedIn) and results[0].staff.id == "s-utr-1"
    assert gate.session is not None and gate.session.method == "badge"
    login = [r for r in store.audit() if r.event == "login"]
    assert login and login[0].staff_id == "s-utr-1"
    assert BADGE_UID not in store.path.read_text(encoding="utf-8")
    store.close()
