"""`kiosk fleet keygen|sign|verify|show` as the central team runs it: exit codes, one-line reasons, no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
DEMO_PRIVATE = ROOT / "central" / "keys" / "demo_fleet_private.pem"

BUNDLE = {
    "schema_version": 1,
    "version": 3,
    "scope": {"kind": "shop", "ids": ["utrecht-centrum"]},
    "settings": {"session": {"idle_s": 120}, "display": {"theme": "high_contrast"}},
    "rollout": {"percent": 100, "salt": "2025-03"},
    "locked": ["display.theme"],
    "created_at": "2025-03-01T09:00:00Z",
    "note": "langere wachttijd",
}


def kiosk(*args: str) -> list[str]:
    return [sys.executable, "-m", "kiosk", *args]


@pytest.fixture
def keys(tmp_path, capsys):
    """A fresh key pair: the public key alone in a trusted keys folder, the private one elsewhere."""
    assert main(["fleet", "keygen", "--out", str(tmp_path / "central"), "--name", "fleet-test"]) == 0
    out = capsys.readouterr().out
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (tmp_path / "central" / "fleet-test.pub.pem").rename(trusted / "fleet-test.pub.pem")
    key_id = out.split()[2]
    return tmp_path / "central" / "fleet-test.key.pem", trusted, key_id


def write(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_keygen_prints_the_key_id_and_writes_the_pair(tmp_path, capsys):
    assert main(["fleet", "keygen", "--out", str(tmp_path), "--name", "k1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("key id      ") and len(out.split()[2]) == 16
    assert (tmp_path / "k1.key.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "k1.pub.pem").is_file()
    assert main(["fleet", "keygen", "--out", str(tmp_path), "--name", "k1"]) == 1  # never overwrites
    assert "exists: a key is never overwritten" in capsys.readouterr().err


def test_sign_then_verify_then_show(tmp_path, keys, capsys):
    private, trusted, key_id = keys
    signed = tmp_path / "signed.json"
    assert main(["fleet", "sign", str(write(tmp_path / "b.json", BUNDLE)), "--key", str(private),
                 "--out", str(signed)]) == 0
    assert f"signed shop bundle version 3 with key {key_id}" in capsys.readouterr().err
    wire = json.loads(signed.read_text())
    assert wire["bundle"] == BUNDLE and wire["key_id"] == key_id

    assert main(["fleet", "verify", str(signed), "--keys", str(trusted)]) == 0
    assert capsys.readouterr().out.startswith(f"ok: shop bundle version 3 (shop: utrecht-centrum), "
                                              f"signed with trusted key {key_id}")
    assert main(["fleet", "verify", str(signed), "--keys", str(trusted), "--kiosk-id", "utr-01",
                 "--store-id", "utrecht-centrum", "--applied-version", "2", "--level", "shop"]) == 0
    assert "pillar utr-01 is in" in capsys.readouterr().out

    assert main(["fleet", "show", str(signed), "--keys", str(trusted)]) == 0
    out = capsys.readouterr().out
    for line in ["version    3", "scope      shop: utrecht-centrum", "locked     display.theme",
                 f"key id     {key_id}", f"signature  ok (trusted key {key_id})", "settings   2 changed:",
                 "  session.idle_s = 120.0", '  display.theme = "high_contrast"', "note       langere wachttijd"]:
        assert line in out


def test_sign_publishes_into_a_new_folder_atomically(tmp_path, keys, capsys):
    private, _, _ = keys
    target = tmp_path / "fleet" / "shops" / "utrecht-centrum.json"  # the folder is not there yet
    assert main(["fleet", "sign", str(write(tmp_path / "b.json", BUNDLE)), "--key", str(private),
                 "--out", str(target)]) == 0
    assert json.loads(target.read_text())["bundle"] == BUNDLE
    assert sorted(p.name for p in target.parent.iterdir()) == ["utrecht-centrum.json"]  # no temporary left
    (tmp_path / "blocked").write_text("a file where a folder should be")
    assert main(["fleet", "sign", str(tmp_path / "b.json"), "--key", str(private),
                 "--out", str(tmp_path / "blocked" / "fleet.json")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_sign_to_stdout(tmp_path, keys, capsys):
    private, _, key_id = keys
    assert main(["fleet", "sign", str(write(tmp_path / "b.json", BUNDLE)), "--key", str(private)]) == 0
    assert json.loads(capsys.readouterr().out)["key_id"] == key_id


@pytest.mark.parametrize("args, reason", [
    (["--applied-version", "3"], "replay: version 3 is not above the applied version 3"),
    (["--kiosk-id", "ams-01", "--store-id", "amsterdam-zuid"], "wrong_scope: a shop bundle for utrecht-centrum"),
    (["--level", "fleet"], "wrong_scope: a shop bundle where a fleet bundle was expected"),
    (["--kiosk-id", "ams-01"], "give --kiosk-id and --store-id together"),
])
def test_verify_refuses_with_the_reason(tmp_path, keys, capsys, args, reason):
    private, trusted, _ = keys
    signed = tmp_path / "signed.json"
    assert main(["fleet", "sign", str(write(tmp_path / "b.json", BUNDLE)), "--key", str(private),
                 "--out", str(signed)]) == 0
    capsys.readouterr()
    assert main(["fleet", "verify", str(signed), "--keys", str(trusted), *args]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"kiosk fleet verify: {reason}")


def test_verify_and_show_a_tampered_bundle(tmp_path, keys, capsys):
    private, trusted, _ = keys
    signed = tmp_path / "signed.json"
    main(["fleet", "sign", str(write(tmp_path / "b.json", BUNDLE)), "--key", str(private), "--out", str(signed)])
    wire = json.loads(signed.read_text())
    wire["bundle"]["settings"]["session"]["idle_s"] = 3600
    write(signed, wire)
    capsys.readouterr()
    assert main(["fleet", "verify", str(signed), "--keys", str(trusted)]) == 1
    assert capsys.readouterr().err.startswith("kiosk fleet verify: bad_signature: the signature does not match")
    assert main(["fleet", "show", str(signed), "--keys", str(trusted)]) == 0  # shows it, and says so
    assert "signature  NOT OK: bad_signature" in capsys.readouterr().out


def test_verify_with_the_shipped_keys_knows_the_demo_key_only(tmp_path, keys, capsys):
    private, _, key_id = keys
    by_test_key, by_demo_key = tmp_path / "a.json", tmp_path / "b.json"
    main(["fleet", "sign", str(write(tmp_path / "in.json", BUNDLE)), "--key", str(private), "--out", str(by_test_key)])
    main(["fleet", "sign", str(tmp_path / "in.json"), "--key", str(DEMO_PRIVATE), "--out", str(by_demo_key)])
    capsys.readouterr()
    assert main(["fleet", "verify", str(by_demo_key)]) == 0  # default: config/fleet_keys
    assert main(["fleet", "verify", str(by_test_key)]) == 1
    assert f"unknown_key: signed with key {key_id}" in capsys.readouterr().err


@pytest.mark.parametrize("bundle, reason", [
    ({**BUNDLE, "version": 0}, "schema: field bundle.version: Input should be greater than or equal to 1"),
    ({**BUNDLE, "settings": {"api": {"token": "x"}}},
     "schema: field bundle.settings: api.token is never set by the fleet"),
    ({**BUNDLE, "locked": ["display.them"]}, "schema: field bundle.locked.0: 'display.them' is not a settings key"),
    ({"bundle": BUNDLE, "key_id": "0" * 16, "signature": ""}, "is already signed: give the bundle object"),
])
def test_sign_refuses_a_bundle_a_kiosk_would_refuse(tmp_path, keys, capsys, bundle, reason):
    private, _, _ = keys
    out = tmp_path / "signed.json"
    assert main(["fleet", "sign", str(write(tmp_path / "b.json", bundle)), "--key", str(private),
                 "--out", str(out)]) == 1
    assert reason in capsys.readouterr().err
    assert not out.exists()


def test_sign_refuses_what_is_no_json_and_a_key_that_is_no_private_key(tmp_path, keys, capsys):
    private, trusted, _ = keys
    (tmp_path / "b.json").write_text("{version: 3}")
    assert main(["fleet", "sign", str(tmp_path / "b.json"), "--key", str(private)]) == 1
    assert "kiosk fleet sign: not_json:" in capsys.readouterr().err
    write(tmp_path / "b.json", BUNDLE)
    assert main(["fleet", "sign", str(tmp_path / "b.json"), "--key", str(trusted / "fleet-test.pub.pem")]) == 2
    assert "not an unencrypted PEM private key" in capsys.readouterr().err


def test_show_an_unsigned_bundle(tmp_path, capsys):
    assert main(["fleet", "show", str(write(tmp_path / "b.json", BUNDLE))]) == 0
    out = capsys.readouterr().out
    assert "signature  none (a bundle object, not signed yet)" in out
    assert "rollout    100% (salt '2025-03': buckets below 10000 of 10000)" in out


def test_the_real_command_end_to_end(tmp_path):
    """Through `python -m kiosk`, as the central team types it: exit codes and no tracebacks."""
    bundle = write(tmp_path / "b.json", BUNDLE)
    signed = tmp_path / "signed.json"
    result = subprocess.run(kiosk("fleet", "sign", str(bundle), "--key", str(DEMO_PRIVATE), "--out", str(signed)),
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    result = subprocess.run(kiosk("fleet", "verify", str(signed), "--kiosk-id", "utr-01", "--store-id", "elsewhere"),
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("kiosk fleet verify: wrong_scope: ") and "Traceback" not in result.stderr
    result = subprocess.run(kiosk("fleet", "verify", str(signed), "--keys", str(tmp_path / "absent")),
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "configuration error" in result.stderr and "Traceback" not in result.stderr
