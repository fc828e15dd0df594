"""Checking a fleet bundle as received: nothing in it is believed before its signature is checked.

    verified = parse_and_verify(raw, TrustedKeys.load(), kiosk_id=..., store_id=...,
                                applied_version=version_applied_at_that_level, level="shop")

Checks, in this order, each refusing with `BundleRejected(reason, message)`:

1. size (`oversized`): before anything is parsed, so a broken or hostile server cannot make the
   pillar parse megabytes.
2. JSON (`not_json`): UTF-8, plain JSON, no duplicate names (kiosk/fleet/canonical.py).
3. schema (`schema`): the envelope and the bundle, by the pydantic models, the message naming each
   field and why. Reading is safe on untrusted data (nothing is acted on) and the signed bytes
   are only defined for a well-formed bundle; a kiosk too old for a bundle says so here.
4. key (`unknown_key`): the key id must be one of the trusted keys.
5. signature (`bad_signature`): Ed25519 over the canonical bytes of the bundle as sent.
6. scope (`wrong_scope`) and 7. version (`replay`): only now, because scope and version are the
   sender's words until the signature holds. Judged earlier, a forged bundle would be reported as
   a replay or as someone else's, a lie in the report and a way to probe the pillar's state.

Rollout is not a rejection: a verified bundle whose rollout does not include this pillar yet is
simply not applied (`in_rollout`, kiosk/fleet/rollout.py), and the applied version stays as it is,
so the same settings at a higher percent and version reach it later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from kiosk.fleet.bundle import MAX_BUNDLE_BYTES, Bundle, ScopeKind, SignedBundle, canonical_bytes, parse_signed
from kiosk.fleet.canonical import loads_strict
from kiosk.fleet.errors import BundleRejected
from kiosk.fleet.keys import TrustedKeys


@dataclass(frozen=True)
class ReadBundle:
    """A bundle read (size, JSON, schema) but not yet verified: for showing, never for applying."""

    envelope: SignedBundle
    bundle: Bundle
    signed_bytes: bytes  # canonical_bytes(envelope.bundle)
    raw: bytes


@dataclass(frozen=True)
class VerifiedBundle:
    bundle: Bundle
    key_id: str
    digest: str  # SHA-256 hex of the signed bytes: names exactly this bundle in reports
    raw: bytes   # the file as received: what the pillar keeps as its last good bundle

    @property
    def level(self) -> ScopeKind:
        return self.bundle.scope.kind

    @property
    def version(self) -> int:
        return self.bundle.version


def read_bundle(raw: bytes) -> ReadBundle:
    """Steps 1-3: size, JSON, schema."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise BundleRejected("oversized", f"the bundle is {len(raw):,} bytes; at most {MAX_BUNDLE_BYTES:,} are read")
    try:
        document = loads_strict(raw)
    except ValueError as exc:
        raise BundleRejected("not_json", str(exc)) from None
    envelope, bundle = parse_signed(document)
    try:
        signed_bytes = canonical_bytes(envelope.bundle)
    except ValueError as exc:  # a value no other implementation would canonicalise the same way
        raise BundleRejected("schema", f"field bundle: {exc}") from None
    return ReadBundle(envelope, bundle, signed_bytes, raw)


def check_signature(read: ReadBundle, trusted: TrustedKeys) -> VerifiedBundle:
    """Steps 4-5: a trusted key, and its signature over the bundle's canonical bytes."""
    key_id = read.envelope.key_id
    public_key = trusted.get(key_id)
    if public_key is None:
        known = ", ".join(trusted.ids) or "none"
        raise BundleRejected("unknown_key", f"signed with key {key_id}, which this pillar does not trust "
                                            f"(trusted: {known})")
    try:
        public_key.verify(read.envelope.signature_bytes, read.signed_bytes)
    except InvalidSignature:
        raise BundleRejected("bad_signature", f"the signature does not match the bundle for key {key_id} "
                                              "(changed after signing, or not signed by that key)") from None
    return VerifiedBundle(read.bundle, key_id, hashlib.sha256(read.signed_bytes).hexdigest(), read.raw)


def verify_signed(raw: bytes, trusted: TrustedKeys) -> VerifiedBundle:
    """Steps 1-5: a well-formed bundle signed by a trusted key (for any pillar: no scope or version check)."""
    return check_signature(read_bundle(raw), trusted)


def applies_to(bundle: Bundle, kiosk_id: str, store_id: str) -> bool:
    """Whether the bundle's scope includes this pillar (rollout aside)."""
    scope = bundle.scope
    if scope.kind == "fleet":
        return True
    return (store_id if scope.kind == "shop" else kiosk_id) in scope.ids


def check_level(bundle: Bundle, level: ScopeKind | None) -> None:
    """`level`: the level the caller fetched for (one file per level), so a bundle of another level
    cannot stand in for it and be compared with that level's applied version (None: any level)."""
    if level is not None and bundle.scope.kind != level:
        raise BundleRejected("wrong_scope", f"a {bundle.scope.kind} bundle where a {level} bundle was expected")


def check_scope(bundle: Bundle, *, kiosk_id: str, store_id: str, level: ScopeKind | None = None) -> None:
    """Step 6: the level asked for (`check_level`), and this pillar in the bundle's scope."""
    check_level(bundle, level)
    scope = bundle.scope
    if not applies_to(bundle, kiosk_id, store_id):
        this = f"pillar {kiosk_id}" if scope.kind == "kiosk" else f"pillar {kiosk_id} in shop {store_id}"
        shown = ", ".join(scope.ids[:10]) + (f" and {len(scope.ids) - 10} more" if len(scope.ids) > 10 else "")
        raise BundleRejected("wrong_scope", f"a {scope.kind} bundle for {shown}; this is {this}")


def check_version(bundle: Bundle, applied_version: int | None) -> None:
    """Step 7: the version must be above the one applied at this level (None: nothing applied yet)."""
    if applied_version is not None and bundle.version <= applied_version:
        raise BundleRejected("replay", f"version {bundle.version} is not above the applied version {applied_version} "
                                       "(an old bundle again, or a rollback: publish old settings as a new version)")


def parse_and_verify(raw: bytes, trusted: TrustedKeys, *, kiosk_id: str, store_id: str,
                     applied_version: int | None, level: ScopeKind | None = None) -> VerifiedBundle:
    """All seven checks; the bundle this pillar may apply (if `in_rollout`), or BundleRejected."""
    verified = verify_signed(raw, trusted)
    check_scope(verified.bundle, kiosk_id=kiosk_id, store_id=store_id, level=level)
    check_version(verified.bundle, applied_version)
    return verified
