"""Sealing card data for the payment service: X25519 + HKDF-SHA256 + AES-256-GCM (an ECIES).

The card module seals what authorisation needs (card number, expiry, EMV cryptogram) to the
payment service's public key the moment it is read; only the payment service can open it. Part of
the wire contract, so the reference server's test acquirer and the kiosk share one definition.

Sealing uses a fresh ephemeral key per card read, so two seals of the same data never look alike.
The key id and the ephemeral public key are bound into the AEAD as associated data.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pydantic import BaseModel, ConfigDict, Field

from kiosk.contract import SealedCardData

_INFO = b"kiosk card data v1"


class SealError(Exception):
    """The sealed data could not be opened: wrong key, tampered, or malformed."""


def luhn_valid(number: str) -> bool:
    """The card-number check digit (ISO/IEC 7812-1 Annex B): every payment card number passes it."""
    if not number.isdigit():
        return False
    total = 0
    for i, digit in enumerate(reversed(number)):
        d = int(digit)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class CardDataPayload(BaseModel):
    """What is inside a seal: exactly what the payment service needs to authorise (JSON, UTF-8).

    Built inside `kiosk/hardware/` only and opened by the payment service only. Hex strings are
    upper-case EMV data elements as read from the card or sent to it (EMV Book 3 Annex A).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pan: str = Field(pattern=r"^[0-9]{12,19}$", description="5A, Application PAN")
    expiry: str = Field(pattern=r"^[0-9]{6}$", description="5F24, Application Expiration Date YYMMDD")
    pan_sequence: str | None = Field(default=None, description="5F34, hex")
    aid: str = Field(description="4F / 84, the selected application, hex")
    arqc: str = Field(pattern=r"^[0-9A-F]{16}$", description="9F26, Application Cryptogram")
    cid: str = Field(description="9F27, Cryptogram Information Data, hex")
    atc: str = Field(description="9F36, Application Transaction Counter, hex")
    iad: str | None = Field(default=None, description="9F10, Issuer Application Data, hex")
    unpredictable_number: str = Field(description="9F37 sent to the card, hex")
    amount_cents: int = Field(ge=0, description="9F02 as sent to the card")
    currency_code: str = Field(description="5F2A as sent to the card, e.g. '0978'")
    transaction_date: str = Field(pattern=r"^[0-9]{6}$", description="9A, YYMMDD")
    tvr: str = Field(default="0000000000", description="95, Terminal Verification Results, hex")
    aip: str | None = Field(default=None, pattern=r"^[0-9A-F]{4}$",
                            description="82, Application Interchange Profile from GPO, hex; part of the ARQC data")


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive_key(shared: bytes, epk: bytes, key_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk, info=_INFO + key_id.encode()).derive(shared)


def load_public_key(path: Path) -> X25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, X25519PublicKey):
        raise ValueError(f"{path}: not an X25519 public key")
    return key


def load_private_key(path: Path) -> X25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError(f"{path}: not an X25519 private key")
    return key


def key_id_of(public_key: X25519PublicKey) -> str:
    """A short stable name for a key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(raw)
    return digest.finalize().hex()[:16]


def seal(plaintext: bytes, public_key: X25519PublicKey) -> SealedCardData:
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = key_id_of(public_key)
    key = _derive_key(ephemeral.exchange(public_key), epk, key_id)
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, epk + key_id.encode())
    return SealedCardData(key_id=key_id, epk=_b64e(epk), nonce=_b64e(nonce), ciphertext=_b64e(ciphertext))


def open_sealed(sealed: SealedCardData, private_key: X25519PrivateKey) -> bytes:
    expected_id = key_id_of(private_key.public_key())
    if sealed.key_id != expected_id:
        raise SealError(f"sealed to key {sealed.key_id!r}, this service holds {expected_id!r}")
    try:
        epk = _b64d(sealed.epk)
        nonce = _b64d(sealed.nonce)
        ciphertext = _b64d(sealed.ciphertext)
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(epk))
        key = _derive_key(shared, epk, sealed.key_id)
        return AESGCM(key).decrypt(nonce, ciphertext, epk + sealed.key_id.encode())
    except (ValueError, InvalidTag) as exc:
        raise SealError("sealed card data is malformed or was tampered with") from exc
