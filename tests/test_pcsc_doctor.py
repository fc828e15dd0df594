"""`kiosk doctor card` through the real pcscd, vpcd and an emulated card: masked output only."""

import json
import subprocess
import sys

import pytest

from kiosk.hardware.virtual_card import PROFILES
from support.ui import ROOT

pytestmark = pytest.mark.hardware


@pytest.fixture
def config(tmp_path, vpcd_reader):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[payment]\nreader = "{vpcd_reader}"\n'
                    f'public_key = "{ROOT / "config" / "payment_service_public.pem"}"\n')
    return path


def doctor(config, *args):
    return subprocess.run([sys.executable, "-m", "kiosk", "doctor", "card", "--config", str(config), "--json", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_doctor_reads_a_card_and_shows_only_the_masked_summary(config, vpcd_card):
    vpcd_card("visa")
    result = doctor(config, "--amount", "1000")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scheme"] == "Visa" and report["masked_pan"] == "476173******0010"
    assert report["expiry_month"] == "2030-12" and report["aid"].startswith("A000000003")
    assert report["cvm"] == "no_cvm"
    assert PROFILES["visa"].pan not in result.stdout + result.stderr


def test_doctor_says_a_pin_is_needed_above_the_limit(config, vpcd_card):
    vpcd_card("visa")
    result = doctor(config, "--amount", "9000")
    assert result.returncode == 3
    assert json.loads(result.stdout)["cvm"] == "pin_required"


def test_doctor_without_a_card_exits_non_zero_with_a_clear_message(config):
    result = doctor(config, "--timeout", "1")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "timeout"
