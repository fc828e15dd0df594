"""The `kiosk` command as a person runs it: real subprocesses, real ports, real window (Xvfb)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kiosk.hardware.virtual_card import PROFILES

ROOT = Path(__file__).resolve().parent.parent


def kiosk(*args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", *args]


def test_kiosk_central_serves_the_contract(tmp_path):
    process = subprocess.Popen(kiosk("central", "--port", "0", "--db", str(tmp_path / "c.sqlite"), "--seed-articles", "50"),
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = None
        for line in process.stdout:
            if found := re.search(r"(http://127\.0\.0\.1:\d+)", line):
                url = found.group(1)
                break
        assert url, "kiosk central should print where it serves"
        assert httpx.get(f"{url}/v1/health", timeout=5).json()["status"] == "ok"
        assert httpx.get(f"{url}/v1/categories", timeout=5).status_code == 401  # no token, no data
        paths = httpx.get(f"{url}/openapi.json", timeout=5).json()["paths"]
        assert {"/v1/catalog", "/v1/payments", "/v1/orders"} <= set(paths)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.ui
def test_kiosk_demo_autopilot_plays_a_journey_and_writes_screenshots(tmp_path, needs_display):
    shots = tmp_path / "shots"
    env = {**os.environ, "KIVY_HOME": str(tmp_path / "kivy")}
    result = subprocess.run(kiosk("demo", "--autopilot", "--screenshots", str(shots), "--seed-articles", "200",
                                  "--db", str(tmp_path / "central.sqlite"), "--terminal", "simulated"),
                            cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"order [0-9A-Z]{4}-[0-9A-Z]{4} paid, 8 screenshots", result.stdout)
    assert sorted(p.name for p in shots.glob("*.png")) == [
        "01-attract.png", "02-categories.png", "03-products.png", "04-article.png",
        "05-cart.png", "06-fulfil.png", "08-pay.png", "09-receipt.png"]
    full_pan = PROFILES["visa"].pan
    assert full_pan not in result.stdout + result.stderr, "the full card number must never be logged"
    assert PROFILES["visa"].pan[-4:] in result.stdout + result.stderr  # (the masked one is)
