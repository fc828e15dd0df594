"""Staff PINs: only a salted scrypt hash is ever kept, never the PIN (issue 8).

    hash_pin("1234")            -> "scrypt$n=16384,r=8,p=1$<salt, base64>$<hash, base64>"
    verify_pin("1234", stored)  -> True

The stored form names its own cost parameters, so the defaults can be raised later without
invalidating the hashes already in a config. `parse_pin_hash` refuses a malformed hash, and also one
weaker than we make ourselves or one so costly it would stall a pillar: the config loader calls it,
so a bad hash stops the kiosk at start-up with the key named, never at the moment staff log in.

A PIN is 4 to 8 digits. A PIN that is not (letters, too short) is never hashed and never matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SCHEME = "scrypt"
N, R, P = 16384, 8, 1          # ~50 ms per hash on a pillar: cheap once, costly for a guesser
SALT_BYTES = 16
HASH_BYTES = 32
MIN_N = N                      # a config hash may be stronger than ours, never weaker
MAX_MEMORY = 128 * 1024 * 1024  # scrypt needs 128*r*n bytes; more than this would stall the pillar

MIN_PIN_LENGTH, MAX_PIN_LENGTH = 4, 8
_PIN = re.compile(rf"[0-9]{{{MIN_PIN_LENGTH},{MAX_PIN_LENGTH}}}")
_B64 = r"[A-Za-z0-9+/]+={0,2}"
_FORMAT = re.compile(rf"scrypt\$n=([0-9]{{1,8}}),r=([0-9]{{1,3}}),p=([0-9]{{1,3}})\$({_B64})\$({_B64})")
FORMAT_HELP = "scrypt$n=16384,r=8,p=1$<salt base64>$<hash base64>, as `kiosk staff hash-pin` prints it"


class InvalidPin(ValueError):
    """Not a PIN: a PIN is 4 to 8 digits."""


class MalformedPinHash(ValueError):
    """A stored PIN hash that is not one `hash_pin` could have made. The message never repeats the
    value: a PIN typed where its hash belongs must not end up in a log."""


@dataclass(frozen=True)
class PinHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def __str__(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        digest = base64.b64encode(self.digest).decode("ascii")
        return f"{SCHEME}$n={self.n},r={self.r},p={self.p}${salt}${digest}"


def is_pin(pin: object) -> bool:
    return isinstance(pin, str) and _PIN.fullmatch(pin) is not None


def _derive(pin: str, n: int, r: int, p: int, salt: bytes, length: int) -> bytes:
    return hashlib.scrypt(pin.encode("ascii"), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=MAX_MEMORY + 2 * 1024 * 1024)


def hash_pin(pin: str) -> str:
    """The stored form of `pin` (a fresh random salt each time, so equal PINs hash differently)."""
    if not is_pin(pin):
        raise InvalidPin("a PIN is 4 to 8 digits")
    salt = secrets.token_bytes(SALT_BYTES)
    return str(PinHash(N, R, P, salt, _derive(pin, N, R, P, salt, HASH_BYTES)))


def parse_pin_hash(stored: str) -> PinHash:
    """The parts of a stored hash, or MalformedPinHash saying what is wrong (never what it got)."""
    if not isinstance(stored, str):
        raise MalformedPinHash(f"not a PIN hash: expected {FORMAT_HELP}")
    match = _FORMAT.fullmatch(stored.strip())
    if match is None:
        raise MalformedPinHash(f"not a PIN hash: expected {FORMAT_HELP}")
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    try:
        salt = base64.b64decode(match.group(4), validate=True)
        digest = base64.b64decode(match.group(5), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedPinHash("not a PIN hash: the salt or hash is not valid base64") from None
    if n < MIN_N or n & (n - 1):
        raise MalformedPinHash(f"scrypt n must be a power of two of at least {MIN_N}")
    if not 1 <= r <= 32 or not 1 <= p <= 4:
        raise MalformedPinHash("scrypt r must be 1..32 and p 1..4")
    if 128 * r * n > MAX_MEMORY:
        raise MalformedPinHash(f"scrypt n*r too large: it would need over {MAX_MEMORY // 2**20} MiB per login")
    if len(salt) < SALT_BYTES:
        raise MalformedPinHash(f"the salt must be at least {SALT_BYTES} bytes")
    if not 16 <= len(digest) <= 64:
        raise MalformedPinHash("the hash must be 16 to 64 bytes")
    return PinHash(n, r, p, salt, digest)


def verify_pin(pin: str, stored: str | PinHash) -> bool:
    """Whether `pin` is the PIN behind `stored`. The comparison takes the same time however many
    bytes match. MalformedPinHash for a bad `stored` (the config loader has refused those already)."""
    parsed = stored if isinstance(stored, PinHash) else parse_pin_hash(stored)
    if not is_pin(pin):
        return False  # the format of a PIN is no secret: no need to spend scrypt on it
    derived = _derive(pin, parsed.n, parsed.r, parsed.p, parsed.salt, len(parsed.digest))
    return hmac.compare_digest(derived, parsed.digest)
