"""Fleet bundles (issue 9): every reason a bundle is refused, with its message; replay; canonical bytes;
key rotation; staged rollout over 50 pillars; locked and forbidden keys; the fleet layer of the settings."""

import base64
import json
from pathlib import Path
from typing import get_args

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from kiosk.config import DEFAULT_CONFIG, Settings, parse_settings
from kiosk.fleet.bundle import (
    LOCAL_ONLY,
    MAX_BUNDLE_BYTES,
    SECTIONS,
    SETTINGS_KEYS,
    Rollout,
    canonical_bytes,
    parse_bundle,
)
from kiosk.fleet.canonical import canonical_json
from kiosk.fleet.errors import REASONS, BundleRejected
from kiosk.fleet.keys import TrustedKeys, generate_key_pair, key_id, load_private_key, sign_bundle
from kiosk.fleet.merge import effective_settings
from kiosk.fleet.rollout import bucket, in_rollout
from kiosk.fleet.verify import applies_to, parse_and_verify, verify_signed
from kiosk.staff.overrides import EDITABLE, SettingLocked

ROOT = Path(__file__).resolve().parent.parent
KEY_A = Ed25519PrivateKey.generate()
KEY_B = Ed25519PrivateKey.generate()
KIOSK, SHOP = "utr-01", "utrecht-centrum"


def document(**changes):
    """A valid shop bundle object for SHOP, with `changes` on top (None removes a field)."""
    doc = {
        "schema_version": 1,
        "version": 5,
        "scope": {"kind": "shop", "ids": [SHOP, "amsterdam-zuid"]},
        "settings": {"session": {"idle_s": 120}, "display": {"theme": "high_contrast"}},
        "locked": ["display.theme"],
        "created_at": "2025-03-01T09:00:00Z",
        "note": "longer idle time",
    }
    doc.update(changes)
    return {name: value for name, value in doc.items() if value is not None}


def wire(doc, key=KEY_A, **envelope) -> bytes:
    signed = sign_bundle(doc, key).model_dump()
    signed.update(envelope)
    return json.dumps(signed).encode()


def verify(raw, trusted=None, *, kiosk_id=KIOSK, store_id=SHOP, applied_version=None, level=None):
    trusted = TrustedKeys.of([KEY_A.public_key()]) if trusted is None else trusted
    return parse_and_verify(raw, trusted, kiosk_id=kiosk_id, store_id=store_id,
                            applied_version=applied_version, level=level)


def rejected(raw, **kwargs) -> BundleRejected:
    with pytest.raises(BundleRejected) as info:
        verify(raw, **kwargs)
    assert info.value.reason in REASONS
    assert str(info.value) == f"{info.value.reason}: {info.value.message}"
    return info.value


def test_a_good_bundle_verifies_and_says_what_it_changes():
    verified = verify(wire(document()))
    assert verified.level == "shop" and verified.version == 5
    assert verified.key_id == key_id(KEY_A.public_key())
    assert verified.bundle.changes() == {"session.idle_s": 120.0, "display.theme": "high_contrast"}
    assert verified.bundle.locked_keys == {"display.theme"}
    assert len(verified.digest) == 64 and verified.raw.startswith(b"{")


# --- every rejection reason -------------------------------------------------------------------------


def test_every_reason_has_a_test_below():
    assert set(REASONS) == {"oversized", "not_json", "schema", "unknown_key", "bad_signature", "wrong_scope",
                            "replay"}


def test_oversized_is_refused_before_it_is_read():
    raw = wire(document())
    padded = raw[:-1] + b" " * (MAX_BUNDLE_BYTES - len(raw)) + b"}"
    assert len(padded) == MAX_BUNDLE_BYTES
    assert verify(padded).version == 5  # at the limit: read
    error = rejected(padded + b" ")
    assert error.reason == "oversized"
    assert f"{MAX_BUNDLE_BYTES + 1:,} bytes" in error.message and f"{MAX_BUNDLE_BYTES:,}" in error.message


@pytest.mark.parametrize("raw, expected", [
    (b"", "not JSON: Expecting value at line 1 column 1"),
    (b'{"bundle": ', "not JSON"),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b'{"version": NaN}', "NaN is not JSON"),
    (b'{"version": 1e400}', "too large for a JSON number"),
    (b'{"a": 1, "a": 2}', "duplicate member name 'a'"),
    (b'{"note": "\\ud800"}', "lone surrogate"),
    (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
])
def test_not_json(raw, expected):
    error = rejected(raw)
    assert error.reason == "not_json"
    assert expected in error.message


def signed_with(doc) -> bytes:
    """A bundle object signed as is, valid or not (the schema check must not depend on a good signature)."""
    signature = KEY_A.sign(canonical_json(doc))
    return json.dumps({"bundle": doc, "key_id": key_id(KEY_A.public_key()),
                       "signature": base64.b64encode(signature).decode()}).encode()


@pytest.mark.parametrize("changes, expected", [
    ({"version": 0}, "field bundle.version: Input should be greater than or equal to 1 (got 0)"),
    ({"version": "7"}, "field bundle.version: Input should be a valid integer (got '7')"),
    ({"version": 2.5}, "field bundle.version"),
    ({"version": None}, "field bundle.version: Field required"),
    ({"schema_version": 2}, "field bundle.schema_version: schema version 2 is not known to this kiosk software"),
    ({"scope": {"kind": "fleet", "ids": ["x"]}}, "field bundle.scope: a fleet bundle is for every pillar"),
    ({"scope": {"kind": "shop", "ids": []}}, "field bundle.scope: a shop bundle names at least one shop"),
    ({"scope": {"kind": "region", "ids": []}}, "field bundle.scope.kind: Input should be 'fleet', 'shop' or 'kiosk'"),
    ({"settings": {"session": {"idle_s": -1}}},
     "field bundle.settings.session.idle_s: Input should be greater than 0 (got -1)"),
    ({"settings": {"session": {"idel_s": 100}}}, "field bundle.settings.session.idel_s: unknown field"),
    ({"settings": {"sesion": {"idle_s": 100}}}, "field bundle.settings.sesion: unknown field"),
    ({"settings": {"display": {"theme": "dark"}}}, "field bundle.settings.display.theme: Input should be 'standard'"),
    ({"settings": {"session": 5}}, "field bundle.settings.session"),
    ({"settings": {"source": "/etc"}}, "field bundle.settings: 'source' is not a settings section"),
    ({"rollout": {"percent": 101, "salt": "s"}},
     "field bundle.rollout.percent: Input should be less than or equal to 100 (got 101)"),
    ({"rollout": {"percent": 10}}, "field bundle.rollout.salt: Field required"),
    ({"locked": ["session.idel_s"]}, "field bundle.locked.0: 'session.idel_s' is not a settings key"),
    ({"locked": ["display.theme", "api.token"]}, "field bundle.locked.1: api.token is never set by the fleet"),
    ({"created_at": "2025-03-01T09:00:00"}, "field bundle.created_at: Input should have timezone info"),
    ({"colour": "red"}, "field bundle.colour: unknown field (misspelt, or for a newer kiosk software?)"),
])
def test_schema_errors_name_the_field_and_why(changes, expected):
    error = rejected(signed_with(document(**changes)))
    assert error.reason == "schema"
    assert expected in error.message


@pytest.mark.parametrize("envelope, expected", [
    ({"signature": "not base64!"}, "field signature: not standard base64"),
    ({"signature": base64.b64encode(b"x" * 10).decode()},
     "field signature: an Ed25519 signature is 64 bytes, this is 10"),
    ({"key_id": "KEY"}, "field key_id: String should match pattern"),
    ({"key_id": None}, "field key_id: Input should be a valid string"),
    ({"extra": 1}, "field extra: unknown field"),
])
def test_schema_errors_of_the_envelope(envelope, expected):
    error = rejected(wire(document(), **envelope))
    assert error.reason == "schema"
    assert expected in error.message


@pytest.mark.parametrize("raw, expected", [
    (b"[]", "the file is an array, not a JSON object"),
    (b"null", "the file is null, not a JSON object"),
    (b'{"bundle": 3, "key_id": "0123456789abcdef", "signature": ""}',
     "field bundle: Input should be a valid dictionary"),
])
def test_schema_errors_of_the_file(raw, expected):
    error = rejected(raw)
    assert error.reason == "schema"
    assert expected in error.message


@pytest.mark.parametrize("key, value", [
    ("kiosk.id", "another-pillar"),
    ("kiosk.store_id", "elsewhere"),
    ("api.token", "stolen"),
    ("api.base_url", "https://evil.example"),
    ("journal.path", "/tmp/journal.json"),
    ("payment.terminal", "simulated"),
    ("payment.public_key", "/tmp/attacker.pem"),
    ("staff.members", [{"id": "x", "name": "X", "badge_uids": ["04AA"]}]),
])
def test_keys_the_fleet_never_sets_are_refused_by_name(key, value):
    section, field = key.split(".")
    error = rejected(signed_with(document(settings={section: {field: value}})))
    assert error.reason == "schema"
    assert f"field bundle.settings: {key} is never set by the fleet: {LOCAL_ONLY[key]}" in error.message
    if key == "api.token":
        assert "stolen" not in error.message  # a secret is never repeated


def test_local_only_covers_every_path_and_secret_and_no_staff_setting():
    for section, model in SECTIONS.items():
        for field, info in model.model_fields.items():
            if info.annotation in (Path, Path | None, SecretStr):
                assert f"{section}.{field}" in LOCAL_ONLY, f"{section}.{field} is local: list it"
    assert set(LOCAL_ONLY) <= SETTINGS_KEYS
    assert not {s.key for s in EDITABLE} & set(LOCAL_ONLY)  # what staff may change, the fleet may set and lock
    assert {"kiosk.id", "api.token", "journal.path"} <= set(LOCAL_ONLY)


def test_every_staff_editable_key_can_be_locked():
    assert parse_bundle(document(locked=[s.key for s in EDITABLE])).locked_keys == {s.key for s in EDITABLE}


def test_unknown_key():
    error = rejected(wire(document(), key=KEY_B))
    assert error.reason == "unknown_key"
    assert f"signed with key {key_id(KEY_B.public_key())}, which this pillar does not trust" in error.message
    assert key_id(KEY_A.public_key()) in error.message  # names what it does trust
    assert rejected(wire(document()), trusted=TrustedKeys({})).message.endswith("(trusted: none)")


@pytest.mark.parametrize("tamper", [
    lambda signed: signed["bundle"]["settings"]["session"].update(idle_s=3600),
    lambda signed: signed["bundle"].update(version=999),
    lambda signed: signed["bundle"]["scope"]["ids"].append("eindhoven"),
    lambda signed: signed["bundle"].pop("locked"),
    lambda signed: signed.update(signature=sign_bundle(document(note="other"), KEY_A).signature),
])
def test_bad_signature(tamper):
    signed = json.loads(wire(document()))
    tamper(signed)
    error = rejected(json.dumps(signed).encode())
    assert error.reason == "bad_signature"
    assert "the signature does not match the bundle" in error.message


def test_signature_is_checked_before_scope_and_version():
    """A forged bundle is reported as forged, never as a replay or as another shop's."""
    signed = json.loads(wire(document()))
    signed["bundle"]["scope"]["ids"] = ["elsewhere"]
    assert rejected(json.dumps(signed).encode(), applied_version=10).reason == "bad_signature"


@pytest.mark.parametrize("scope, kiosk_id, store_id, expected", [
    ({"kind": "shop", "ids": ["amsterdam-zuid"]}, KIOSK, SHOP,
     f"a shop bundle for amsterdam-zuid; this is pillar {KIOSK} in shop {SHOP}"),
    ({"kind": "kiosk", "ids": ["utr-02", "utr-03"]}, KIOSK, SHOP,
     f"a kiosk bundle for utr-02, utr-03; this is pillar {KIOSK}"),
    ({"kind": "kiosk", "ids": [SHOP]}, KIOSK, SHOP, "a kiosk bundle for"),  # a shop id is no pillar id
])
def test_wrong_scope(scope, kiosk_id, store_id, expected):
    error = rejected(wire(document(scope=scope)), kiosk_id=kiosk_id, store_id=store_id)
    assert error.reason == "wrong_scope"
    assert expected in error.message


def test_wrong_level_is_wrong_scope():
    """Fetched as the kiosk-level file, a shop bundle must not be compared with the kiosk level's version."""
    error = rejected(wire(document()), level="kiosk")
    assert (error.reason, error.message) == ("wrong_scope", "a shop bundle where a kiosk bundle was expected")
    assert verify(wire(document()), level="shop").level == "shop"


def test_scope_of_each_kind():
    fleet = parse_bundle(document(scope={"kind": "fleet", "ids": []}))
    shop = parse_bundle(document())
    kiosk = parse_bundle(document(scope={"kind": "kiosk", "ids": [KIOSK]}))
    assert applies_to(fleet, "anyone", "anywhere")
    assert applies_to(shop, "anyone", SHOP) and not applies_to(shop, KIOSK, "eindhoven")
    assert applies_to(kiosk, KIOSK, "anywhere") and not applies_to(kiosk, "utr-02", SHOP)


def test_replay_and_rollback_are_refused():
    old, new = wire(document(version=4)), wire(document(version=5))
    assert verify(new, applied_version=None).version == 5  # nothing applied yet
    assert verify(new, applied_version=4).version == 5
    for raw, applied in [(new, 5), (old, 5), (old, 9)]:  # the same again, an older one, a rollback
        error = rejected(raw, applied_version=applied)
        assert error.reason == "replay"
        assert "is not above the applied version" in error.message


def test_replay_of_an_old_bundle_after_a_newer_one():
    """What a pillar sees: v1 applied, v2 applied, then someone serves v1 again (validly signed)."""
    v1, v2 = wire(document(version=1)), wire(document(version=2, settings={"session": {"idle_s": 200}}))
    applied = verify(v1, applied_version=None).version
    applied = verify(v2, applied_version=applied).version
    error = rejected(v1, applied_version=applied)
    assert (error.reason, error.message.split(" (")[0]) == ("replay", "version 1 is not above the applied version 2")


# --- canonical bytes --------------------------------------------------------------------------------


def test_canonical_bytes_are_stable_across_member_order_and_whitespace():
    doc = document()
    shuffled = json.loads(json.dumps(dict(reversed(list(doc.items())))))
    shuffled["settings"] = {"display": doc["settings"]["display"], "session": doc["settings"]["session"]}
    assert list(shuffled) != list(doc)
    assert canonical_bytes(shuffled) == canonical_bytes(doc)
    # Another tool's file (indented, members reordered, 120.0 for 120) verifies with the same signature.
    signed = json.loads(wire(doc))
    signed["bundle"] = shuffled
    signed["bundle"]["settings"]["session"]["idle_s"] = 120.0
    assert verify(json.dumps(signed, indent=4, sort_keys=True).encode()).version == 5


def test_canonical_bytes_exactly():
    doc = {"b": [1, 120.0, 0.5, 1e-7, 0.000001, 1e21, -0.0, True, None], "a": "é\n\"\\\x01", "\u00e9": {}, "A": 2}
    assert canonical_bytes(doc) == (
        b'{"A":2,"a":"\xc3\xa9\\n\\"\\\\\\u0001","b":[1,120,0.5,1e-7,0.000001,1e+21,0,true,null],"\xc3\xa9":{}}')


def test_canonical_bytes_sort_by_utf16_code_units():
    """RFC 8785: U+1F600 (D83D DE00 in UTF-16) sorts before U+FFFF, unlike by code point."""
    assert canonical_json({"\uffff": 1, "\U0001F600": 2}) == '{"\U0001F600":2,"\uffff":1}'.encode()


def test_canonical_bytes_refuse_what_other_implementations_would_read_differently():
    with pytest.raises(ValueError, match="beyond"):
        canonical_json({"n": 2**53 + 1})
    with pytest.raises(ValueError, match="not a JSON value"):
        canonical_json({"n": {1, 2}})


# --- keys and rotation ------------------------------------------------------------------------------


def test_key_rotation(tmp_path):
    keys = tmp_path / "fleet_keys"
    old = generate_key_pair(keys, "fleet-2024")
    new = generate_key_pair(keys, "fleet-2025")
    (keys / "README.md").write_text("not a key")
    private_dir = tmp_path / "private"
    private_dir.mkdir()
    for pair in (old, new):  # the private halves live with the central team, not in the pillar's folder
        pair.private_path.rename(private_dir / pair.private_path.name)
    by_old = wire(document(), key=load_private_key(private_dir / "fleet-2024.key.pem"))
    by_new = wire(document(), key=load_private_key(private_dir / "fleet-2025.key.pem"))

    both = TrustedKeys.load(keys)
    assert set(both.ids) == {old.key_id, new.key_id}
    assert verify(by_old, both).key_id == old.key_id
    assert verify(by_new, both).key_id == new.key_id

    old.public_path.unlink()  # the old key retired
    only_new = TrustedKeys.load(keys)
    assert verify(by_new, only_new).key_id == new.key_id
    error = rejected(by_old, trusted=only_new)
    assert error.reason == "unknown_key" and old.key_id in error.message


def test_keygen_writes_the_private_key_0600_and_never_overwrites(tmp_path):
    pair = generate_key_pair(tmp_path, "k")
    assert pair.private_path.stat().st_mode & 0o777 == 0o600
    assert pair.public_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert key_id(load_private_key(pair.private_path).public_key()) == pair.key_id
    with pytest.raises(FileExistsError):
        generate_key_pair(tmp_path, "k")
    with pytest.raises(ValueError):
        generate_key_pair(tmp_path, "../k")


def test_a_bad_file_in_the_keys_folder_is_a_configuration_error(tmp_path):
    from kiosk.config import ConfigError

    (tmp_path / "broken.pub.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n")
    with pytest.raises(ConfigError, match="broken.pub.pem: not a PEM public key"):
        TrustedKeys.load(tmp_path)
    with pytest.raises(ConfigError, match="folder not found"):
        TrustedKeys.load(tmp_path / "absent")


def test_the_demo_key_pair_matches_and_is_trusted():
    trusted = TrustedKeys.load(ROOT / "config" / "fleet_keys")
    private = load_private_key(ROOT / "central" / "keys" / "demo_fleet_private.pem")
    assert trusted.ids == (key_id(private.public_key()),)
    assert verify_signed(wire(document(), key=private), trusted).version == 5


# --- staged rollout ---------------------------------------------------------------------------------

KIOSKS = [f"kiosk-{n:03d}" for n in range(50)]


def rolled_out(percent, salt="2025-03-idle"):
    return {k for k in KIOSKS if in_rollout(k, Rollout(percent=percent, salt=salt))}


def test_rollout_over_50_pillars():
    ten, fifty, everyone = rolled_out(10), rolled_out(50), rolled_out(100)
    assert 1 <= len(ten) <= 10  # about 5
    assert 15 <= len(fifty) <= 35  # about 25
    assert everyone == set(KIOSKS)
    assert rolled_out(0) == set()
    assert ten <= fifty <= everyone  # raising the percent only adds pillars
    assert rolled_out(10) == ten  # the same answer every time
    assert rolled_out(10, salt="another change") != ten  # a new salt draws others


def test_rollout_is_monotonic_at_every_step():
    previous: set[str] = set()
    for percent in range(0, 101):
        now = rolled_out(percent)
        assert previous <= now
        previous = now


def test_rollout_bucket_is_the_documented_hash():
    import hashlib

    digest = hashlib.sha256(b"salt" + b"kiosk-007").digest()
    assert bucket("kiosk-007", "salt") == int.from_bytes(digest[:8], "big") % 10_000
    assert in_rollout("anyone", None)


def test_a_verified_bundle_outside_the_rollout_is_valid_but_not_for_this_pillar_yet():
    inside = next(k for k in KIOSKS if in_rollout(k, Rollout(percent=10, salt="s")))
    outside = next(k for k in KIOSKS if not in_rollout(k, Rollout(percent=10, salt="s")))
    raw = wire(document(rollout={"percent": 10, "salt": "s"}))
    for kiosk in (inside, outside):
        verified = verify(raw, kiosk_id=kiosk)  # verified either way: rollout is no rejection
        assert in_rollout(kiosk, verified.bundle.rollout) == (kiosk == inside)


# --- the fleet layer of the settings ----------------------------------------------------------------


def verified_of(**changes):
    doc = document(**changes)
    return verify(wire(doc), kiosk_id=KIOSK, store_id=SHOP)


@pytest.fixture
def base():
    return parse_settings({"session": {"idle_s": 45, "receipt_s": 30}, "display": {"promotion_s": 8}},
                          source=DEFAULT_CONFIG)


def test_fleet_then_shop_then_kiosk(base):
    fleet = verified_of(version=9, scope={"kind": "fleet", "ids": []}, locked=["session.idle_s"],
                        settings={"session": {"idle_s": 100, "countdown_s": 20}, "display": {"theme": "high_contrast"}})
    shop = verified_of(version=2, settings={"session": {"idle_s": 110}})
    kiosk = verified_of(version=1, scope={"kind": "kiosk", "ids": [KIOSK]}, locked=["display.theme"],
                        settings={"session": {"idle_s": 120}})
    settings, locked = effective_settings(base, [kiosk, shop, fleet])  # any order in: applied by level
    assert settings.session.idle_s == 120  # kiosk over shop over fleet
    assert settings.session.countdown_s == 20  # only the fleet sets it
    assert settings.display.theme == "high_contrast"
    assert settings.session.receipt_s == 30 and settings.display.promotion_s == 8  # the config's, untouched
    assert settings.kiosk.id == base.kiosk.id and settings.api.token.get_secret_value() == "demo-kiosk-token"
    assert settings.source == base.source
    assert locked == {"session.idle_s", "display.theme"}
    assert effective_settings(base, []) == (base, frozenset())


def test_the_highest_version_of_a_level_is_the_one_used(base):
    older = verified_of(version=3, settings={"session": {"idle_s": 100}})
    newer = verified_of(version=4, settings={"session": {"idle_s": 200}})
    assert effective_settings(base, [newer, older])[0].session.idle_s == 200


def test_staff_overrides_come_after_and_locked_keys_stay(base, tmp_path):
    from datetime import datetime, timezone

    from kiosk.staff.auth import StaffSession
    from kiosk.staff.directory import StaffMember
    from kiosk.staff.overrides import SettingsEditor
    from kiosk.staff.store import StaffStore

    def clock():
        return datetime(2025, 3, 1, 9, tzinfo=timezone.utc)

    store = StaffStore(tmp_path / "staff.json", clock=clock)
    try:
        editor = SettingsEditor(store, clock=clock)
        session = StaffSession(StaffMember(id="s-1", name="Sanne"), "pin", idle_s=120, clock=lambda: 0.0)
        editor.change(base, "display.theme", "high_contrast", session)
        editor.change(base, "session.idle_s", "60", session)
        fleet_settings, locked = effective_settings(
            base, [verified_of(settings={"display": {"theme": "standard"}}, locked=["display.theme"])])
        editor.set_locked(locked)
        final = editor.effective(fleet_settings)
        assert final.display.theme == "standard"  # the fleet's: the staff override is skipped while locked
        assert final.session.idle_s == 60  # a staff override of an unlocked key still applies
        with pytest.raises(SettingLocked):
            editor.change(fleet_settings, "display.theme", "high_contrast", session)
    finally:
        store.close()


def test_settings_from_a_bundle_are_validated_like_the_config_file():
    bundle = parse_bundle(document(settings={"session": {"idle_s": "120"}, "display": {"large_text": True}}))
    assert bundle.changes() == {"session.idle_s": 120.0, "display.large_text": True}
    assert bundle.given_keys == ("session.idle_s", "display.large_text")
    assert isinstance(bundle.settings, Settings)
    with pytest.raises(BundleRejected, match="the bundle is an array, not a JSON object"):
        parse_bundle([])


def test_reasons_are_a_closed_set():
    from kiosk.fleet.errors import Reason

    assert REASONS == get_args(Reason)
