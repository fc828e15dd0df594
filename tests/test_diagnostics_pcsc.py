"""Diagnostics of the card reader through the real pcscd and the vpcd virtual reader: pcscd up, the
reader with and without a card, a reader that is not there, a test read of an emulated card (masked
number only); and pcscd down or hanging, each in a subprocess whose pcsc-lite client is pointed
(PCSCLITE_CSOCK_NAME) at a socket that does not exist, or that never answers: the shared pcscd
keeps running for the other tests."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time

import pytest

from central.seed import DEMO_KIOSK_TOKEN
from kiosk.api import CentralApi
from kiosk.config import parse_settings
from kiosk.diagnostics import CheckStatus, Diagnostics
from kiosk.hardware import open_terminal
from kiosk.hardware.virtual_card import PROFILES
from kiosk.services import KioskServices
from support.pcsc import PAYMENT_PUBLIC_KEY, VPCD_READER, wait_for_card_state
from support.ui import ROOT

pytestmark = pytest.mark.hardware

OK, WARNING, FAILED = CheckStatus.ok, CheckStatus.warning, CheckStatus.failed


def pcsc_settings(tmp_path, reader: str):
    return parse_settings({
        "api": {"base_url": "http://127.0.0.1:9", "token": DEMO_KIOSK_TOKEN},
        "payment": {"terminal": "pcsc", "reader": reader, "public_key": str(PAYMENT_PUBLIC_KEY)},
        "catalog": {"directory": str(tmp_path / "catalog"), "image_cache": str(tmp_path / "images")},
        "journal": {"path": str(tmp_path / "journal" / "journal.json")},
    })


@pytest.fixture
def make_diagnostics(tmp_path, vpcd_reader):
    made = []

    def make(reader: str = vpcd_reader, **options) -> Diagnostics:
        settings = pcsc_settings(tmp_path, reader)
        terminal = open_terminal("pcsc", reader=reader, public_key_path=PAYMENT_PUBLIC_KEY)
        services = KioskServices(settings, CentralApi(settings.api.base_url, DEMO_KIOSK_TOKEN, retries=0), terminal)
        made.append(services)
        return Diagnostics(services, **options)

    yield make
    for services in made:
        services.journal.close()
        services.catalog.close()


async def test_pcscd_up_and_the_vpcd_reader_there_without_a_card(make_diagnostics):
    # The test before may have just taken its card away: pcscd sees that within ~400 ms.
    await asyncio.to_thread(wait_for_card_state, VPCD_READER, False)
    diagnostics = make_diagnostics()
    pcscd = await diagnostics.check_pcscd()
    assert (pcscd.status, pcscd.summary_key) == (OK, "diag.pcscd.up"), pcscd
    assert pcscd.params["readers"] >= 2  # vpcd gives two
    reader = await diagnostics.check_reader()
    assert (reader.status, reader.summary_key) == (OK, "diag.reader.present"), reader
    assert reader.params == {"reader": VPCD_READER, "card_present": False}


async def test_a_reader_that_is_not_connected_fails_and_lists_what_is(make_diagnostics):
    diagnostics = make_diagnostics("Cherry ST-1275")
    reader = await diagnostics.check_reader()
    assert (reader.status, reader.summary_key) == (FAILED, "diag.reader.not_found"), reader
    assert reader.params["wanted"] == "Cherry ST-1275" and VPCD_READER in reader.params["found"]
    assert (await diagnostics.check_pcscd()).status is OK  # pcscd itself is fine


async def test_a_card_left_on_the_reader_is_a_warning(make_diagnostics, vpcd_card):
    vpcd_card("visa")
    reader = await make_diagnostics().check_reader()
    assert (reader.status, reader.summary_key) == (WARNING, "diag.reader.card_on_reader"), reader
    assert reader.params == {"reader": VPCD_READER, "card_present": True}


async def test_test_read_of_an_emulated_card_shows_the_masked_number_only(make_diagnostics, vpcd_card, caplog):
    vpcd_card("visa")
    caplog.set_level(logging.DEBUG)
    check = await make_diagnostics().test_read_card(timeout_s=5)
    assert (check.status, check.summary_key) == (OK, "diag.card_read.ok"), check
    assert check.params["masked_pan"] == "476173******0010" and check.params["scheme"] == "Visa"
    assert check.params["reader"] == VPCD_READER and check.params["aid"].startswith("A000000003")
    assert check.params["expiry_month"] == "2030-12" and check.params["cvm"] == "no_cvm"
    pan = PROFILES["visa"].pan
    assert pan not in check.model_dump_json() and pan not in caplog.text


async def test_test_read_without_a_card_times_out_as_asked(make_diagnostics):
    started = time.monotonic()
    check = await make_diagnostics().test_read_card(timeout_s=1)
    assert (check.status, check.summary_key, check.params) == (FAILED, "diag.card_read.timeout", {"timeout_s": 1})
    assert time.monotonic() - started < 5


# --- pcscd down or hanging (subprocesses) ---------------------------------------------------------

CHILD = r"""
import asyncio, json, sys
from pathlib import Path
from kiosk.api import CentralApi
from kiosk.config import parse_settings
from kiosk.diagnostics import Diagnostics
from kiosk.hardware import open_terminal
from kiosk.services import KioskServices

data_dir, reader, key, timeout_s, names = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5:]

async def main():
    settings = parse_settings({
        "api": {"base_url": "http://127.0.0.1:9", "token": "t"},
        "payment": {"terminal": "pcsc", "reader": reader, "public_key": key},
        "catalog": {"directory": f"{data_dir}/catalog", "image_cache": f"{data_dir}/images"},
        "journal": {"path": f"{data_dir}/journal/journal.json"}})
    terminal = open_terminal("pcsc", reader=reader, public_key_path=Path(key))
    services = KioskServices(settings, CentralApi(settings.api.base_url, "t", retries=0), terminal)
    diagnostics = Diagnostics(services, timeouts={"pcscd": timeout_s, "reader": timeout_s})
    checks = []
    for name in names:
        if name == "card_read":
            checks.append(await diagnostics.test_read_card(timeout_s=1))
        else:
            checks.append(await diagnostics.run(name))
    checks.append(await diagnostics.check_pcscd())  # again: a hung first probe is not piled up
    print(json.dumps([c.model_dump(mode="json") for c in checks]))

asyncio.run(main())
"""


def run_child(tmp_path, socket_path, *names: str, timeout_s: float = 3.0) -> tuple[list[dict], float]:
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(socket_path)}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path), VPCD_READER, str(PAYMENT_PUBLIC_KEY),
                             str(timeout_s), *names], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()[-1:]][0], elapsed


def test_pcscd_stopped_fails_every_reader_check_with_pcscd_not_running(tmp_path, pcscd):
    checks, _ = run_child(tmp_path, tmp_path / "no-pcscd.comm", "pcscd", "reader", "card_read")
    pcscd_check, reader, card_read, again = checks
    assert (pcscd_check["status"], pcscd_check["summary_key"]) == ("failed", "diag.pcscd.down"), pcscd_check
    assert "pcscd not running" in pcscd_check["detail"]
    assert (reader["status"], reader["summary_key"]) == ("failed", "diag.reader.pcscd_down"), reader
    assert (card_read["status"], card_read["summary_key"]) == ("failed", "diag.card_read.reader_unavailable")
    assert "pcscd is not running" in card_read["detail"]
    assert again["summary_key"] == "diag.pcscd.down"
    for check in checks:
        assert check["duration_ms"] < 2000, check


def test_a_hanging_pcscd_fails_within_the_checks_time_limit(tmp_path, pcscd):
    # A socket that accepts and never answers: pcsc-lite's client waits on it (as on a hung pcscd).
    path = tmp_path / "hung-pcscd.comm"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(8)
    try:
        checks, elapsed = run_child(tmp_path, path, "pcscd", "reader", timeout_s=0.5)
    finally:
        listener.close()
    pcscd_check, reader, again = checks
    assert (pcscd_check["status"], pcscd_check["summary_key"]) == ("failed", "diag.pcscd.not_answering"), pcscd_check
    assert pcscd_check["params"] == {"timeout_s": 0.5}
    assert (reader["status"], reader["summary_key"]) == ("failed", "diag.reader.not_answering"), reader
    assert again["summary_key"] == "diag.pcscd.not_answering" and again["duration_ms"] < 100  # no second thread
    assert elapsed < 10  # the hung threads did not keep the process from exiting
