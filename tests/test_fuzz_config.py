"""Property-based fuzzing of the config loader (hypothesis, issue 10): `parse_settings` on any data and
`load_settings` on any file give a `Settings` or a `ConfigError` naming the file and saying what is
wrong — never a traceback of another kind (`kiosk run` prints ConfigError and exits 2; anything else
would crash the pillar at start-up with a stack trace on the screen).

Inputs: mutations of the shipped config/kiosk.toml (as TOML text, line by line and byte by byte, and
as the parsed dict, key by key), arbitrary TOML-shaped dicts, and arbitrary bytes. A file that loads
round-trips: its settings dumped and parsed again are the same settings.

FUZZ_CONFIG_EXAMPLES inputs per property (default 300; some seconds on 2 cores). The long run is
`bench/fuzz.py --target config` (README "Fuzzing").
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings, parse_settings
from support.fuzz import places as places_in
from support.scratch import scratch_dir

EXAMPLES = int(os.environ.get("FUZZ_CONFIG_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

SHIPPED_TEXT = DEFAULT_CONFIG.read_text(encoding="utf-8")
SHIPPED = tomllib.loads(SHIPPED_TEXT)
# One folder for every example (hypothesis and function-scoped tmp_path do not mix): the config is
# written next to a copy of the payment key it names, so a valid file really loads.
WORK = scratch_dir("fuzz-config-")
shutil.copy(DEFAULT_CONFIG.parent / SHIPPED["payment"]["public_key"], WORK / SHIPPED["payment"]["public_key"])
CONFIG = WORK / "kiosk.toml"


def dumped(settings_: Settings) -> dict[str, Any]:
    """Settings as the dict a TOML file would give (the token is a SecretStr: its value, not stars)."""
    data = settings_.model_dump(mode="json")
    data["api"]["token"] = settings_.api.token.get_secret_value()
    return data


def config_outcome(data: Any) -> str:
    """parse_settings: a Settings that round-trips, or a ConfigError saying where and what."""
    try:
        result = parse_settings(data, source=CONFIG)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"{CONFIG}: ") and len(message) > len(str(CONFIG)) + 2, message
        assert "Traceback" not in message
        return "ConfigError: " + _reason(message)
    assert isinstance(result, Settings) and result.source == CONFIG
    again = parse_settings(dumped(result), source=CONFIG)
    assert again == result, "a valid configuration must round-trip"
    return "valid"


def load_outcome(raw: bytes) -> str:
    """load_settings on a file holding `raw`: Settings (round-tripping) or a ConfigError naming the file."""
    CONFIG.write_bytes(raw)
    try:
        result = load_settings(CONFIG)
    except ConfigError as exc:
        assert str(exc).startswith(f"{CONFIG}: "), str(exc)
        return "ConfigError: " + _reason(str(exc))
    assert result.source == CONFIG.resolve()
    assert parse_settings(dumped(result), source=result.source) == result
    return "valid"


def _reason(message: str) -> str:
    """The kind of rejection, for counting: the first problem's key and message, without the value."""
    first = message.split(": ", 1)[1].split("; ")[0]
    if first.startswith("not valid TOML"):
        return "not valid TOML"
    first = first.split(" (got ")[0][:90]
    if first.startswith("key "):  # "key <section>.<field...>: what": the section and what, not the field
        key, _, what = first[4:].partition(": ")
        section = key.split(".")[0]
        return f"{section if section in SECTIONS else '<other>'}: {what}"
    return first


# --- strategies ---------------------------------------------------------------------------------

SECTIONS = sorted(SHIPPED)
KEYS = sorted({key for section in SHIPPED.values() if isinstance(section, dict) for key in section})
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64) | st.floats()
           | st.text(max_size=20)
           | st.sampled_from(["", "nl", "en", "de", "auto", "pcsc", "simulated", "window", "standard",
                              "high_contrast", "http://127.0.0.1:8700", "ftp://x", "https://", "04A1B2C3",
                              "3B8F8001804F0CA0000003060300XX0000000XX", "XX", "0G", "scrypt$n=16384,r=8,p=1$AA==$AA==",
                              "scrypt$n=99999999,r=999,p=999$AA==$AA==", "1234", "a\x00b", "../x", "/", "\udc80"]))
toml_values = st.recursive(
    scalars.filter(lambda v: v is not None),  # TOML has no null
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8),
                                                                      children, max_size=4),
    max_leaves=15,
)


@st.composite
def mutated_dicts(draw) -> dict:
    """The shipped configuration with 1 to 3 keys dropped, replaced, added or given the wrong type."""
    document = tomllib.loads(SHIPPED_TEXT)
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        places = [p for p, _ in places_in(document) if p]
        path = draw(st.sampled_from(places))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["drop", "scalar", "value", "add", "stringify"]))
        if action == "drop":
            del parent[last]
        elif action == "scalar":
            parent[last] = draw(scalars)
        elif action == "value":
            parent[last] = draw(toml_values)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS + SECTIONS) | st.text(max_size=8))] = draw(toml_values)
        else:
            value = parent[last]
            parent[last] = str(value) if not isinstance(value, str) else draw(st.sampled_from([0, [], {}, True, 1.5]))
    return document


@st.composite
def mutated_texts(draw) -> bytes:
    """The shipped kiosk.toml as text, lines dropped, duplicated or edited, then maybe bytes flipped."""
    lines = SHIPPED_TEXT.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "value", "key", "insert", "swap"]))
        line = lines[at]
        if action == "drop":
            del lines[at]
        elif action == "repeat":
            lines.insert(at, line)
        elif action == "value" and "=" in line:
            key = line.split("=", 1)[0]
            lines[at] = key + "= " + draw(st.sampled_from([
                '""', "0", "-1", "1e309", "nan", "inf", "-inf", "true", "[]", "{}", '"x"', "[1, 'a']",
                "'''\nmulti\n'''", '"\\u0000"', '"\\uD800"', "1979-05-27T07:32:00Z", "0x10", "1_000", "+1",
                "[" * 2000 + "]" * 2000, "{a = " * 600 + "1" + "}" * 600, '"' + "a" * 10_000 + '"']))
        elif action == "key" and "=" in line:
            lines[at] = draw(st.sampled_from(KEYS + ["idel_s", "x.y", '"quoted"', "a b", ""])) + " =" + \
                line.split("=", 1)[1]
        elif action == "insert":
            lines.insert(at, draw(st.sampled_from(["[kiosk]", "[[staff.members]]", "[nope]", "[kiosk.x]", "[",
                                                   "x = 1", "= 1", "\x00", "\ufeff", "# comment", "[api]"])))
        elif action == "swap" and at + 1 < len(lines):
            lines[at], lines[at + 1] = lines[at + 1], lines[at]
    raw = bytearray("\n".join(lines).encode("utf-8"))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 3]))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    return bytes(raw)


# --- properties ---------------------------------------------------------------------------------


def test_the_shipped_config_loads_and_round_trips():
    """The baseline the mutations start from."""
    assert load_outcome(SHIPPED_TEXT.encode()) == "valid"
    assert config_outcome(SHIPPED) == "valid"


@FUZZ
@given(mutated_dicts())
def test_mutated_settings_parse_or_raise_config_error(data):
    config_outcome(data)


@FUZZ
@given(st.dictionaries(st.sampled_from(SECTIONS) | st.text(max_size=6),
                       st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), toml_values, max_size=5)
                       | toml_values, max_size=5)
       | toml_values)
def test_arbitrary_data_parses_or_raises_config_error(data):
    config_outcome(data)


@FUZZ
@given(mutated_texts())
def test_mutated_files_load_or_raise_config_error(raw):
    load_outcome(raw)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_load_or_raise_config_error(raw):
    load_outcome(raw)


# --- regressions found by this fuzzing ----------------------------------------------------------


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a = " * 2000 + "1" + "}" * 2000])
def test_toml_nested_past_the_stack_is_a_config_error(value):
    """Was RecursionError out of load_settings (tomllib recurses once per nesting level)."""
    with pytest.raises(ConfigError, match="nested too deeply"):
        CONFIG.write_text(f"[kiosk]\nstore_name = {value}\n")
        load_settings(CONFIG)


@pytest.mark.parametrize("section, key", [("payment", "public_key"), ("journal", "path"), ("catalog", "directory"),
                                          ("catalog", "image_cache")])
def test_a_path_with_a_nul_character_is_a_config_error_naming_the_key(section, key):
    """Was ValueError ('embedded null byte') out of load_settings for payment.public_key, and later,
    far from the config, for every other path: TOML allows "\\u0000" in a string."""
    with pytest.raises(ConfigError, match=f"key {section}.{key}: .*NUL"):
        parse_settings({section: {key: "var/a\x00b"}}, source=CONFIG)
    CONFIG.write_text(f'[{section}]\n{key} = "var/a\\u0000b"\n')
    with pytest.raises(ConfigError, match=f"key {section}.{key}"):
        load_settings(CONFIG)


def test_a_config_path_that_cannot_be_a_path_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(Path(str(CONFIG) + "\x00"))


def test_a_key_path_too_long_for_the_file_system_is_a_config_error():
    """Was OSError ('File name too long') out of load_settings: Path.is_file() only swallows some errnos.
    Found by the long run (bench/fuzz.py --target config)."""
    CONFIG.write_text(f'[payment]\npublic_key = "{"a" * 10_000}"\n')
    with pytest.raises(ConfigError, match="key payment.public_key: not a usable path"):
        load_settings(CONFIG)


@pytest.mark.parametrize("section, key", [("api", "base_url"), ("fleet", "url")])
def test_a_url_without_a_host_is_refused_or_round_trips(section, key):
    """Found by the long run: "https://" passes and becomes "https:". It should be refused with the
    key named (a URL without a host is no API), and whatever is accepted must parse again."""
    try:
        result = parse_settings({section: {key: "https://"}}, source=CONFIG)
    except ConfigError as exc:
        assert f"key {section}.{key}" in str(exc)
        return
    assert parse_settings(dumped(result), source=CONFIG) == result
