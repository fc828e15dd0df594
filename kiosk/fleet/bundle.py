"""A fleet configuration bundle (issue 9): the models, the keys the fleet may not set, the signed bytes.

On the wire a signed bundle is one JSON object, UTF-8, at most MAX_BUNDLE_BYTES:

    {"bundle": {"schema_version": 1,
                "version": 7,
                "scope": {"kind": "shop", "ids": ["utrecht-centrum"]},
                "settings": {"session": {"idle_s": 120}, "display": {"theme": "high_contrast"}},
                "rollout": {"percent": 10, "salt": "2025-03-idle"},
                "locked": ["display.theme"],
                "created_at": "2025-03-01T09:00:00Z",
                "note": "longer idle time in Utrecht"},
     "key_id": "1f0c9a4b7e2d3c5a",
     "signature": "<standard base64, padded, of the 64-byte Ed25519 signature>"}

- `version` only ever goes up, per level (fleet, shop, kiosk): a kiosk refuses a version not above
  the one it applied at that level. Going back is publishing the old settings as a new version.
- `scope`: `fleet` (ids empty: every pillar), `shop` (ids: store ids, `kiosk.store_id`) or
  `kiosk` (ids: pillar ids, `kiosk.id`).
- `settings`: a part of the kiosk's config (kiosk/config.py), in its sections, validated by the
  same pydantic models as the config file; every key must exist there. `LOCAL_ONLY` keys never
  come from the fleet.
- `rollout`: optional; only pillars whose stable hash falls in the first `percent` apply it
  (kiosk/fleet/rollout.py). Absent: every pillar in scope.
- `locked`: settings keys ("section.field") staff may not override on the pillar.

The signature is Ed25519 over `canonical_bytes(document["bundle"])`: the `bundle` object exactly as
sent, in RFC 8785 canonical form (kiosk/fleet/canonical.py). So any tool can make or check one, and
the whitespace and member order of the file do not matter. The signature covers what was sent, not
what the models made of it, so a newer kiosk that reads a field differently still checks the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from kiosk.config import Settings
from kiosk.fleet.canonical import MAX_SAFE_INTEGER, canonical_json
from kiosk.fleet.errors import BundleRejected

SCHEMA_VERSION = 1
# A bundle is settings, not data: 64 KiB is far more than every key of the config, and a cap read
# before parsing keeps a hostile or broken server from making the pillar parse megabytes.
MAX_BUNDLE_BYTES = 64 * 1024

ScopeKind = Literal["fleet", "shop", "kiosk"]
LEVELS: tuple[ScopeKind, ...] = ("fleet", "shop", "kiosk")  # applied in this order: later wins

# Keys the fleet never sets, and why. They are this pillar's own (identity, credential, hardware,
# paths on its disk), or would let a bundle cut the pillar off from the fix or weaken payment.
LOCAL_ONLY: dict[str, str] = {
    "kiosk.id": "the pillar's own identity; one bundle for many pillars would make them all the same pillar",
    "kiosk.store_id": "the shop the pillar stands in; bundles are scoped by it, so a bundle may not move the pillar",
    "api.base_url": "where the pillar fetches from; a wrong one would cut it off from the server that brings the fix",
    "api.token": "the pillar's own credential; a secret never belongs in a file any web server or CDN serves",
    "payment.public_key": "the key card data is sealed to, a file on the pillar; never redirected remotely",
    "payment.terminal": "the pillar's reader hardware; and the simulated terminal is never switched on remotely",
    "payment.reader": "the pillar's reader hardware",
    "payment.simulated_profile": "only for the simulated terminal, which the fleet never switches on",
    "payment.simulated_delay_s": "only for the simulated terminal, which the fleet never switches on",
    "catalog.directory": "a path on the pillar's disk; moving it would leave the local catalog behind",
    "catalog.image_cache": "a path on the pillar's disk",
    "journal.path": "a path on the pillar's disk; moving it would orphan unsent orders",
    "fleet.enabled": "a bundle that switched the fleet off could never be undone by another bundle",
    "fleet.url": "where the pillar fetches bundles from; a wrong one would cut it off from the next bundle",
    "fleet.keys": "the keys bundles are checked with; a bundle never chooses who may sign bundles",
    "staff.members": "PIN hashes in a file any web server can serve could be guessed offline (a PIN has at "
                     "most 10^8 values); staff come from the config file and the central staff list",
}

# The sections of Settings (`source` is a field too, but where the file was read from, not a setting).
SECTIONS: dict[str, type[BaseModel]] = {
    name: info.annotation for name, info in Settings.model_fields.items()
    if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
}


# Every "section.field" of the kiosk's config model.
SETTINGS_KEYS = frozenset(f"{section}.{field}" for section, model in SECTIONS.items() for field in model.model_fields)


def _a_fleet_key(key: str) -> str:
    if key in LOCAL_ONLY:
        raise ValueError(f"{key} is never set by the fleet, so there is nothing to lock")
    if key not in SETTINGS_KEYS:
        raise ValueError(f"{key!r} is not a settings key (section.field of the kiosk's config)")
    return key


SettingKey = Annotated[str, AfterValidator(_a_fleet_key)]
ScopeId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Model(BaseModel):
    # An unknown field is an error: a bundle meant for a newer kiosk software is refused, not half applied.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Model):
    kind: ScopeKind
    ids: list[ScopeId] = Field(default_factory=list, max_length=10_000,
                               description="shop ids (kiosk.store_id) or pillar ids (kiosk.id); empty for fleet")

    @model_validator(mode="after")
    def _ids_fit_kind(self) -> Scope:
        if self.kind == "fleet" and self.ids:
            raise ValueError("a fleet bundle is for every pillar: ids must be empty")
        if self.kind != "fleet" and not self.ids:
            what = "shop" if self.kind == "shop" else "pillar"
            raise ValueError(f"a {self.kind} bundle names at least one {what} in ids")
        if len(set(self.ids)) != len(self.ids):
            raise ValueError("an id appears twice in ids")
        return self

    def describe(self) -> str:
        return "fleet: every pillar" if self.kind == "fleet" else f"{self.kind}: {', '.join(self.ids)}"


class Rollout(_Model):
    percent: float = Field(strict=True, ge=0, le=100, description="to 0.01: 12.5 is 1250 of 10000 buckets")
    salt: str = Field(min_length=1, max_length=64, description="keep it when widening; a new one draws other pillars")


class Bundle(_Model):
    schema_version: int = Field(strict=True)
    version: int = Field(strict=True, ge=1, le=MAX_SAFE_INTEGER)
    scope: Scope
    settings: Settings = Field(default_factory=Settings)
    rollout: Rollout | None = None
    locked: list[SettingKey] = Field(default_factory=list, max_length=200)
    created_at: AwareDatetime
    note: str = Field(default="", max_length=500)

    # The "section.field" keys the bundle gives (not the defaults the model fills in around them).
    _given: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema version {value} is not known to this kiosk software (it reads {SCHEMA_VERSION})")
        return value

    @field_validator("settings", mode="before")
    @classmethod
    def _only_fleet_keys(cls, value: Any) -> Any:
        # Before the models see it: a refused key is named as refused, whatever its value.
        if isinstance(value, dict):
            for section, fields in value.items():
                if section in Settings.model_fields and section not in SECTIONS:
                    raise ValueError(f"{section!r} is not a settings section")
                if isinstance(fields, dict):
                    for field in fields:
                        if (reason := LOCAL_ONLY.get(f"{section}.{field}")) is not None:
                            raise ValueError(f"{section}.{field} is never set by the fleet: {reason}")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _remember_given_keys(cls, data: Any, handler: Any) -> Bundle:
        bundle = handler(data)
        if isinstance(data, dict) and isinstance(data.get("settings"), dict):
            bundle._given = tuple(f"{section}.{field}" for section, fields in data["settings"].items()
                                  for field in fields)
        return bundle

    @property
    def level(self) -> ScopeKind:
        return self.scope.kind

    @property
    def given_keys(self) -> tuple[str, ...]:
        return self._given

    def changes(self) -> dict[str, Any]:
        """The settings this bundle sets: "section.field" -> the value as validated (python values)."""
        result = {}
        for key in self._given:
            section, field = key.split(".", 1)
            result[key] = getattr(getattr(self.settings, section), field)
        return result

    def changes_json(self) -> dict[str, Any]:
        """The same, as JSON values (for reports and `kiosk fleet show`)."""
        result = {}
        for key in self._given:
            section, field = key.split(".", 1)
            result[key] = self.settings.model_dump(mode="json", include={section: {field}})[section][field]
        return result

    @property
    def locked_keys(self) -> frozenset[str]:
        return frozenset(self.locked)


class SignedBundle(_Model):
    """The envelope: the bundle as sent (kept as is: the signature is over exactly it), key and signature."""

    bundle: dict[str, Any]
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="first 16 hex digits of SHA-256 of the raw public key")
    signature: str = Field(max_length=200, description="standard base64 (padded) of the 64-byte Ed25519 signature")

    @field_validator("signature")
    @classmethod
    def _base64_of_64_bytes(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not standard base64") from None
        if len(raw) != 64:
            raise ValueError(f"an Ed25519 signature is 64 bytes, this is {len(raw)}")
        return value

    @property
    def signature_bytes(self) -> bytes:
        return base64.b64decode(self.signature, validate=True)

    def to_json(self) -> str:
        """The wire form, readable (whitespace and order do not matter to the signature)."""
        return json.dumps(self.model_dump(), indent=2, ensure_ascii=False) + "\n"


def canonical_bytes(bundle: Mapping[str, Any]) -> bytes:
    """What is signed: the `bundle` object (as `json.loads` gives it) as RFC 8785 canonical JSON, UTF-8.

    Sorted member names, no whitespace, shortest numbers (`120.0` is `120`), UTF-8 strings with
    only `"`, `\\` and control characters escaped. See kiosk/fleet/canonical.py.
    """
    return canonical_json(dict(bundle))


# --- reading, with messages that name the field ------------------------------------------------

_HIDDEN = frozenset({"token", "pin_hash"})


def _describe(error: Mapping[str, Any], prefix: str) -> str:
    where = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "") or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"field {where}: unknown field (misspelt, or for a newer kiosk software?)"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    shown = ""
    if isinstance(value, (str, int, float, bool)) and not any(part in _HIDDEN for part in error["loc"]):
        text = repr(value)
        shown = f" (got {text if len(text) <= 60 else text[:57] + '...'})"
    return f"field {where}: {message}{shown}"


def describe_errors(exc: ValidationError, prefix: str = "", limit: int = 5) -> str:
    """pydantic's errors as one line: each field by its dotted path in the file, and why."""
    errors = exc.errors()
    text = "; ".join(_describe(error, prefix) for error in errors[:limit])
    return text + (f"; and {len(errors) - limit} more" if len(errors) > limit else "")


def _json_kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "true or false", type(None): "null"}
    return names.get(type(value), "a number")


def _an_object(document: Any, what: str) -> None:
    if not isinstance(document, dict):
        raise BundleRejected("schema", f"{what} is {_json_kind(document)}, not a JSON object")


def parse_bundle(document: Any) -> Bundle:
    """The bundle object (unsigned, as `kiosk fleet sign` takes it); BundleRejected("schema") if it is not one."""
    _an_object(document, "the bundle")
    try:
        return Bundle.model_validate(document)
    except ValidationError as exc:
        raise BundleRejected("schema", describe_errors(exc, "bundle")) from None


def parse_signed(document: Any) -> tuple[SignedBundle, Bundle]:
    """The envelope and the bundle in it; BundleRejected("schema") naming the field if either is malformed."""
    _an_object(document, "the file")
    try:
        envelope = SignedBundle.model_validate(document)
    except ValidationError as exc:
        raise BundleRejected("schema", describe_errors(exc)) from None
    return envelope, parse_bundle(envelope.bundle)
