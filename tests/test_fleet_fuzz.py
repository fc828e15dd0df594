"""Property-based fuzzing of the fleet bundle reader (hypothesis): whatever a server sends, the pillar
either gets a verified bundle it can apply or a `BundleRejected` with a reason; never another exception.

Five properties, FLEET_FUZZ_EXAMPLES inputs each (default 700: 3,500 in all, some seconds).
The long run, before a release or after touching kiosk/fleet/:

    FLEET_FUZZ_EXAMPLES=20000 KIVY_NO_ARGS=1 .venv/bin/python -m pytest -q -p no:cacheprovider --timeout=0 \\
        tests/test_fleet_fuzz.py          # 100,000 inputs, about six minutes
"""

import base64
import json
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import parse_settings
from kiosk.fleet.bundle import MAX_BUNDLE_BYTES, SECTIONS
from kiosk.fleet.canonical import canonical_json
from kiosk.fleet.errors import REASONS, BundleRejected
from kiosk.fleet.keys import TrustedKeys, key_id, sign_bundle
from kiosk.fleet.merge import effective_settings
from kiosk.fleet.rollout import in_rollout
from kiosk.fleet.verify import parse_and_verify
from support.fuzz import places as places_in

EXAMPLES = int(os.environ.get("FLEET_FUZZ_EXAMPLES", "700"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

KEY = Ed25519PrivateKey.generate()
TRUSTED = TrustedKeys.of([KEY.public_key()])
BASE = parse_settings({})
KIOSK, SHOP = "utr-01", "utrecht-centrum"

VALID = {
    "schema_version": 1,
    "version": 5,
    "scope": {"kind": "shop", "ids": [SHOP]},
    "settings": {"session": {"idle_s": 120, "countdown_s": 5}, "display": {"theme": "high_contrast"},
                 "staff": {"badge_uids": ["04A1B2C3"], "lockout_s": 60}, "kiosk": {"language": "en"}},
    "rollout": {"percent": 50, "salt": "s"},
    "locked": ["display.theme", "kiosk.language"],
    "created_at": "2025-03-01T09:00:00Z",
    "note": "fuzz",
}

SETTINGS_NAMES = ["kiosk", "api", "session", "display", "staff", "payment", "journal", "source", "idle_s", "theme",
                  "token", "id", "members", "badge_uids", "language", "receipt_text", "percent", "salt", "kind", "ids"]
json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
                | st.sampled_from(["fleet", "shop", "kiosk", SHOP, KIOSK, "display.theme", "2025-03-01T09:00:00Z",
                                   "high_contrast", "standard", "nl", "en"]))
names = st.sampled_from(sorted(VALID) + SETTINGS_NAMES + ["bundle", "key_id", "signature"]) | st.text(max_size=10)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(names, children, max_size=5),
    max_leaves=25,
)


def outcome(raw: bytes, applied_version=None) -> str:
    """What the pillar makes of `raw`: a reason, or "applied"/"not_in_rollout". Any other exception fails."""
    try:
        verified = parse_and_verify(raw, TRUSTED, kiosk_id=KIOSK, store_id=SHOP, applied_version=applied_version)
        if not in_rollout(KIOSK, verified.bundle.rollout):
            return "not_in_rollout"
        settings_now, locked = effective_settings(BASE, [verified])
    except BundleRejected as exc:
        assert exc.reason in REASONS and exc.message
        return exc.reason
    assert locked == verified.bundle.locked_keys
    assert settings_now.kiosk.id == BASE.kiosk.id  # whatever got through, never the local-only keys
    assert settings_now.api.token == BASE.api.token and settings_now.journal.path == BASE.journal.path
    return "applied"


def signed(document) -> bytes:
    """`document` signed as is, valid or not (to reach the checks past the signature)."""
    try:
        signature = base64.b64encode(KEY.sign(canonical_json(document))).decode()
    except ValueError:  # not canonicalisable (e.g. a huge integer): sign anything, it will be refused
        signature = base64.b64encode(b"\0" * 64).decode()
    return json.dumps({"bundle": document, "key_id": key_id(KEY.public_key()), "signature": signature}).encode()


def test_the_unmutated_bundle_applies():
    """The baseline the mutations start from (if this failed, the fuzzing below would prove little)."""
    assert outcome(json.dumps(sign_bundle(VALID, KEY).model_dump()).encode()) in ("applied", "not_in_rollout")
    assert outcome(signed(VALID)) in ("applied", "not_in_rollout")
    assert outcome(signed(VALID), applied_version=5) == "replay"


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw):
    assert outcome(raw) in REASONS


@FUZZ
@given(json_values)
def test_arbitrary_json_values(value):
    assert outcome(json.dumps(value).encode()) in REASONS
    # ... and as the bundle inside a correctly signed envelope
    assert outcome(signed(value)) in REASONS


SETTING_FIELDS = sorted({f"{section}.{field}" for section, model in SECTIONS.items() for field in model.model_fields})


DEFAULTS = BASE.model_dump(mode="json")


def mostly(good, bad):
    """Most draws good: a bundle must get past the first field to test the rest."""
    return st.integers(min_value=0, max_value=4).flatmap(lambda n: bad if n == 2 else good)  # 0 is drawn most


@st.composite
def plausible_documents(draw):
    """Bundles near the valid ones: right field names, values mostly right, sometimes not."""
    settings_part: dict = {}
    keys = st.sampled_from(SETTING_FIELDS + ["session.idel_s", "sesion.idle_s", "source.x"])
    for key in draw(st.lists(keys, max_size=4)):
        section, field = key.split(".")
        default = DEFAULTS.get(section, {}).get(field) if isinstance(DEFAULTS.get(section), dict) else None
        value = draw(mostly(st.just(default), json_scalars | st.lists(st.text("0123456789ABCDEFX ", max_size=16),
                                                                      max_size=3)))
        settings_part.setdefault(section, {})[field] = value
    document = {
        "schema_version": draw(mostly(st.just(1), st.sampled_from([2, "1", True, 1.0, None]))),
        "version": draw(mostly(st.integers(min_value=1, max_value=12), st.integers(-2, 0) | json_scalars)),
        "scope": draw(mostly(st.fixed_dictionaries({
            "kind": mostly(st.sampled_from(["fleet", "shop", "kiosk"]), st.just("region")),
            "ids": st.lists(mostly(st.sampled_from([SHOP, KIOSK, "amsterdam-zuid", "utr-02"]), st.just("")),
                            max_size=3)}),
            json_values)),
        "settings": settings_part,
        "rollout": draw(st.none() | st.fixed_dictionaries({
            "percent": mostly(st.floats(min_value=0, max_value=100) | st.integers(0, 100),
                              st.floats(min_value=-10, max_value=110) | json_scalars),
            "salt": mostly(st.text(min_size=1, max_size=8), st.text(max_size=70))})),
        "locked": draw(st.lists(mostly(st.sampled_from(SETTING_FIELDS),
                                       st.sampled_from(["nope", "session.idel_s", ""])), max_size=3)),
        "created_at": draw(mostly(st.just("2025-03-01T09:00:00Z"),
                                  st.sampled_from(["2025-03-01T09:00:00", "yesterday", 0, 1.7e9, 10**15, None]))),
        "note": draw(st.text(max_size=20)),
    }
    dropped = draw(mostly(st.just(set()), st.sets(st.sampled_from(sorted(document)), max_size=2)))
    return {name: value for name, value in document.items() if name not in dropped}


@FUZZ
@given(plausible_documents(), st.none() | st.integers(min_value=0, max_value=12))
def test_plausible_bundles_signed(document, applied_version):
    """Signed, so every check is reached: schema, scope, version, rollout and the merge."""
    assert outcome(signed(document), applied_version) in (*REASONS, "applied", "not_in_rollout")


@st.composite
def mutated_documents(draw):
    document = json.loads(json.dumps(VALID))
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        places = [p for p, _ in places_in(document) if p]
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["drop", "replace", "add", "wrong_type"]))
        if action == "replace" and draw(st.booleans()):
            parent[last] = draw(json_scalars)  # often the right shape, so it gets further
        elif action == "drop":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(json_values)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(names)] = draw(json_values)
        elif action == "add" and isinstance(parent, list):
            parent.append(draw(json_values))
        else:
            value = parent[last]
            wrong = st.sampled_from([0, [], {}, None, True])
            parent[last] = str(value) if not isinstance(value, str) else draw(wrong)
    return document


@FUZZ
@given(mutated_documents(), st.booleans(), st.none() | st.integers(min_value=0, max_value=6))
def test_mutated_bundles(document, sign_again, applied_version):
    """Signed again, mutations reach the checks past the signature; not signed again, never get through."""
    raw = signed(document) if sign_again else json.dumps(
        {**sign_bundle(VALID, KEY).model_dump(), "bundle": document}).encode()
    result = outcome(raw, applied_version)
    assert result in (*REASONS, "applied", "not_in_rollout")
    if not sign_again and document != VALID:
        assert result in ("schema", "bad_signature")  # changed after signing: never gets through


@FUZZ
@given(st.data())
def test_flipped_bytes_of_a_signed_bundle(data):
    raw = bytearray(json.dumps(sign_bundle(VALID, KEY).model_dump()).encode())
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        raw[index] = data.draw(st.integers(min_value=0, max_value=255))
    if data.draw(st.booleans()):
        raw = raw[:data.draw(st.integers(min_value=0, max_value=len(raw)))]
    result = outcome(bytes(raw))
    assert result in (*REASONS, "applied", "not_in_rollout")


def test_the_cap_holds_for_any_size():
    assert outcome(b"{" + b" " * MAX_BUNDLE_BYTES + b"}") == "oversized"
