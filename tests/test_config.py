import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import DEFAULT_CONFIG, ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_config_loads():
    settings = load_settings(DEFAULT_CONFIG)
    assert settings.kiosk.language == "nl"
    assert settings.payment_public_key_path.is_file()
    assert "demo-kiosk-token" not in repr(settings)  # the credential is a secret


@pytest.mark.parametrize("body, expected", [
    ("[api]\nbase_url = 'ftp://x'\n", "key api.base_url: Value error, must start with http"),
    ("[api]\ntokn = 'x'\n", "key api.tokn: unknown key"),
    ("[display]\nwidth = 'big'\n", "key display.width"),
    ("[payment]\nterminal = 'magic'\n", "key payment.terminal"),
    ("[kiosk\n", "not valid TOML"),
    ("[payment]\npublic_key = 'nope.pem'\n", "key payment.public_key: file not found"),
])
def test_bad_config_names_file_and_key(tmp_path, body, expected):
    path = tmp_path / "kiosk.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml")


def test_kiosk_run_with_bad_config_exits_2_without_traceback(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("[display]\nheight = -5\n")
    result = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}: key display.height" in result.stderr
