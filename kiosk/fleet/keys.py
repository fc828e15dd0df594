"""Ed25519 keys for fleet bundles: make a pair, sign a bundle, and the public keys a kiosk trusts.

The central team keeps the private key (`NAME.key.pem`, written 0600; in the demo the reference
server's `central/keys/demo_fleet_private.pem`). Each pillar trusts every `*.pub.pem` in
`config/fleet_keys/`, several at once, so a key is rotated without a flag day: ship the new public
key to the pillars, sign with the new key, and remove the old public key once no bundle signed
with it is still served. A bundle names its key by id: the first 16 hex digits of the SHA-256 of
the raw 32-byte public key (as kiosk/contract/sealing.py names the payment service's key).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.config import DEFAULT_CONFIG, ConfigError
from kiosk.fleet.bundle import SignedBundle, canonical_bytes, parse_bundle

TRUSTED_KEYS_DIR = DEFAULT_CONFIG.parent / "fleet_keys"
PUBLIC_SUFFIX = ".pub.pem"
PRIVATE_SUFFIX = ".key.pem"
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class KeyFileError(ConfigError):
    """A key file or folder that cannot be used; the message names the file and why."""


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class KeyPair:
    private_path: Path
    public_path: Path
    key_id: str


def _write_new(path: Path, data: bytes, mode: int) -> None:
    # O_EXCL: never overwrite a key (losing a private key means re-keying every pillar). The mode is
    # given at creation, so the private key is never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may only have taken bits away; make it exactly this
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def generate_key_pair(directory: Path, name: str) -> KeyPair:
    """`directory/NAME.key.pem` (PKCS#8, 0600) and `directory/NAME.pub.pem`; FileExistsError if either exists."""
    if not _NAME.match(name):
        raise ValueError(f"key name {name!r}: letters, digits, '.', '_' and '-' only")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / f"{name}{PRIVATE_SUFFIX}", directory / f"{name}{PUBLIC_SUFFIX}"
    for path in (private_path, public_path):
        if path.exists():
            raise FileExistsError(f"{path} exists: a key is never overwritten")
    private = Ed25519PrivateKey.generate()
    _write_new(private_path, private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()), 0o600)
    public = private.public_key()
    _write_new(public_path, public.public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)
    return KeyPair(private_path, public_path, key_id(public))


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read {what} ({exc.strerror})") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise KeyFileError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 public key")
    return key


class TrustedKeys:
    """The public keys bundles may be signed with, by key id."""

    def __init__(self, keys: Mapping[str, Ed25519PublicKey], source: Path | None = None) -> None:
        self._keys = dict(keys)
        self.source = source

    @classmethod
    def of(cls, keys: Iterable[Ed25519PublicKey]) -> TrustedKeys:
        return cls({key_id(key): key for key in keys})

    @classmethod
    def load(cls, directory: Path = TRUSTED_KEYS_DIR) -> TrustedKeys:
        """Every `*.pub.pem` in `directory`. A file that is not an Ed25519 public key is a
        configuration error (KeyFileError, naming it): better no start than a key silently ignored."""
        directory = Path(directory)
        if not directory.is_dir():
            raise KeyFileError(f"{directory}: trusted fleet keys folder not found")
        paths = sorted(directory.glob(f"*{PUBLIC_SUFFIX}"))
        return cls({key_id(key): key for key in map(load_public_key, paths)}, source=directory)

    def get(self, key_id: str) -> Ed25519PublicKey | None:
        return self._keys.get(key_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._keys))

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)


def sign_bundle(document: Mapping[str, Any], private_key: Ed25519PrivateKey) -> SignedBundle:
    """`document` (the bundle object) signed; BundleRejected("schema") first if it is not a valid bundle."""
    parse_bundle(document)
    signature = private_key.sign(canonical_bytes(document))
    return SignedBundle(bundle=dict(document), key_id=key_id(private_key.public_key()),
                        signature=base64.b64encode(signature).decode("ascii"))
