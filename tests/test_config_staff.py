"""The staff part of the config: members with PIN hashes and badges, lockout and idle, the new settings."""

import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest

from kiosk import theme
from kiosk.config import DEFAULT_CONFIG, ConfigError, DisplaySection, load_settings, parse_settings
from kiosk.staff.pins import hash_pin, verify_pin

ROOT = Path(__file__).resolve().parent.parent
HASH = hash_pin("2468")


def write(tmp_path, body: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(body)
    return path


def test_the_shipped_config_has_the_demo_staff():
    staff = load_settings(DEFAULT_CONFIG).staff
    by_id = {m.id: m for m in staff.members}
    assert (by_id["s-utr-1"].name, by_id["s-utr-1"].role) == ("Sanne de Vries", "staff")
    assert (by_id["s-utr-2"].name, by_id["s-utr-2"].role) == ("Mehmet Yilmaz", "manager")
    assert verify_pin("1234", by_id["s-utr-1"].pin_hash)
    assert verify_pin("4321", by_id["s-utr-2"].pin_hash)
    assert not verify_pin("4321", by_id["s-utr-1"].pin_hash)
    assert by_id["s-utr-1"].badge_uids == ["04A1B2C3D4E5F6"]
    # The reader's BadgeMatcher is built from staff.badge_uids: the members' badges are in it.
    assert {"04A1B2C3D4E5F6", "04112233445566"} <= set(staff.badge_uids)
    assert (staff.lockout_attempts, staff.lockout_s, staff.idle_s, staff.corner_hold_s) == (5, 300, 120, 3)
    assert "pin_hash" not in repr(by_id["s-utr-1"])


def test_defaults_of_the_new_settings():
    settings = parse_settings({})
    assert settings.staff.members == []
    assert settings.kiosk.receipt_text == ""
    assert (settings.display.theme, settings.display.large_text, settings.display.low_reach) == ("standard", False, False)


def test_the_theme_names_are_the_palettes_names():
    choices = typing.get_args(DisplaySection.model_fields["theme"].annotation)
    assert set(choices) == {theme.STANDARD.name, theme.HIGH_CONTRAST.name}


@pytest.mark.parametrize("member, expected", [
    ('pin_hash = "scrypt$n=16384,r=8,p=1$abc"', "key staff.members.0.pin_hash: Value error, not a PIN hash"),
    ('pin_hash = "scrypt$n=1024,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="',
     "key staff.members.0.pin_hash: Value error, scrypt n must be a power of two of at least 16384"),
    ('pin_hash = "scrypt$n=16384,r=8,p=1$!!!!$AAAA"', "key staff.members.0.pin_hash: Value error, not a PIN hash"),
    ('role = "boss"\npin_hash = "' + HASH + '"', "key staff.members.0.role"),
    ('pin = "1234"', "key staff.members.0.pin: unknown key"),
    ('', "staff member 's-1' needs a pin_hash or badge_uids"),
    ('badge_uids = ["04XX"]', "plain hex"),
])
def test_a_bad_member_names_the_file_and_key(tmp_path, member, expected):
    path = write(tmp_path, f'[[staff.members]]\nid = "s-1"\nname = "Sam"\n{member}\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_a_pin_typed_where_its_hash_belongs_is_never_repeated(tmp_path):
    path = write(tmp_path, '[[staff.members]]\nid = "s-1"\nname = "Sam"\npin_hash = "80472915"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "key staff.members.0.pin_hash" in str(info.value)
    assert "80472915" not in str(info.value)


def test_members_and_their_badges_are_distinct(tmp_path):
    twice = f'[[staff.members]]\nid = "s-1"\nname = "A"\npin_hash = "{HASH}"\n' * 2
    with pytest.raises(ConfigError, match="staff member id 's-1' appears twice"):
        load_settings(write(tmp_path, twice))
    shared = ('[[staff.members]]\nid = "s-1"\nname = "A"\nbadge_uids = ["04AA"]\n'
              '[[staff.members]]\nid = "s-2"\nname = "B"\nbadge_uids = ["04:aa"]\n')
    with pytest.raises(ConfigError, match="badge UID 04AA belongs to both 's-1' and 's-2'"):
        load_settings(write(tmp_path, shared))


def test_member_badges_are_normalised_and_join_the_reader_badges():
    body = ('[staff]\nbadge_uids = ["04 aa bb"]\n'
            '[[staff.members]]\nid = "s-1"\nname = "A"\nbadge_uids = ["04:AA:BB", "04 cc dd"]\n')
    staff = parse_settings(tomllib.loads(body)).staff
    assert staff.members[0].badge_uids == ["04AABB", "04CCDD"]
    assert staff.badge_uids == ["04 aa bb", "04CCDD"]  # 04AABB was listed already (as written)


@pytest.mark.parametrize("body, expected", [
    ("[staff]\nlockout_attempts = 0\n", "key staff.lockout_attempts"),
    ("[staff]\nlockout_s = -1\n", "key staff.lockout_s"),
    ("[staff]\nidle_s = 'long'\n", "key staff.idle_s"),
    ("[staff]\ncorner_hold_s = 60\n", "key staff.corner_hold_s"),
    ("[display]\ntheme = 'pink'\n", "key display.theme: Input should be 'standard' or 'high_contrast'"),
    ("[display]\nlarge_text = 'maybe'\n", "key display.large_text"),
    ("[kiosk]\nreceipt_text = '" + "x" * 201 + "'\n", "key kiosk.receipt_text: String should have at most 200"),
])
def test_bad_staff_settings_name_the_key(tmp_path, body, expected):
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, body))
    assert expected in str(info.value)


def test_kiosk_run_with_a_bad_pin_hash_exits_2_without_traceback(tmp_path):
    path = write(tmp_path, '[[staff.members]]\nid = "s-1"\nname = "Sam"\npin_hash = "80472915"\n')
    result = subprocess.run([sys.executable, "-m", "kiosk", "run", "--config", str(path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{path}: key staff.members.0.pin_hash" in result.stderr
    assert "80472915" not in result.stderr + result.stdout
