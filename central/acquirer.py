"""The test acquirer: decides approve or decline from the sealed card data, by fixed, documented rules.

It stands in for the bank (acquirer and issuer host in one). It is the only code that opens the
seal, and it keeps the card number inside this module: the answer carries the card summary the
kiosk sent, never the PAN. It verifies the card's ARQC with the published *test* issuer master key,
so a payload whose cryptogram was not made by a (test) card over this very transaction declines.

Test rules, checked in this order (the first that matches decides):

| #  | Condition                                                               | Outcome / decline code        |
|----|-------------------------------------------------------------------------|-------------------------------|
| 1  | the seal does not open, or what is inside is not a `CardDataPayload`    | `invalid_card_data`           |
| 2  | the PAN fails the Luhn check                                            | `invalid_card`                |
| 3  | the card expired before the current month (valid through its month)     | `expired_card`                |
| 4  | CID '9F27' bits 8-7 are not '10' (the card gave an AAC/TC, not an ARQC) | `cryptogram_not_arqc`         |
| 5  | transaction date '9A' more than 1 day away from the acquirer's today   | `invalid_transaction_date`    |
| 6  | amount in the sealed payload ('9F02') differs from the requested amount | `amount_mismatch`             |
| 7  | the ARQC does not verify with the test issuer keys (see below)          | `invalid_cryptogram`          |
| 8  | the amount ends in ,51 (amount_cents % 100 == 51)                       | `insufficient_funds`          |
| 9  | the amount ends in ,05 (amount_cents % 100 == 5)                        | `do_not_honour`               |
| 10 | the PAN ends in 0002                                                    | `insufficient_funds`          |
| 11 | the amount is over 5,000.00 euro (500000 cents; 500000 itself approves) | `amount_limit`                |
| -  | otherwise                                                               | approved, 6-character code    |

The demo catalog (`central/seed.py`) only has prices ending in ,95 or ,99, so a single article or a
small basket never hits rules 8 and 9: a total ending in ,51 needs at least 13 articles (nine at ,95
and four at ,99), one ending in ,05 at least 19.

The authorisation code is 6 characters from A-Z and 0-9. Given the `payment_id`, it is derived from
it (HMAC-SHA256 with a fixed test key), so a test can predict it; without one it is random.

ARQC verification (EMV Book 2 Annex A1.2, A1.4.1 option A, section 8.1; what the emulated test
cards in `kiosk/hardware/virtual_card.py` compute -- Visa CVN 10 style, card master key, no session
key). The card master key is derived from the test issuer master key, the PAN and the PAN sequence
number; the MAC (ISO/IEC 9797-1 algorithm 3, padding method 2) runs over CDOL1 data || AIP || ATC,
with CDOL1 data rebuilt in the test cards' CDOL1 order ('9F02 06 9F03 06 9F1A 02 95 05 5F2A 02
9A 03 9C 01 9F37 04 9F35 01 9F34 03'):

    9F02 amount authorised  <- payload amount_cents (n12)    9A   date     <- payload transaction_date
    9F03 amount other       <- 000000000000 (no cash back)   9C   type     <- 00 (goods and services)
    9F1A terminal country   <- 0528 (the kiosk's terminal)   9F37 UN       <- payload unpredictable_number
    95   TVR                <- payload tvr                   9F35 terminal <- 24 (unattended, online only)
    5F2A currency           <- payload currency_code         9F34 CVM res. <- 1F0002 (no CVM required)
    AIP '82'                <- payload aip, or 1980 (the test cards' AIP) when the kiosk did not send it
    ATC '9F36'              <- payload atc

The terminal constants are the kiosk terminal's fixed parameters (`kiosk/hardware/emv.py`
`terminal_values`, `kiosk/hardware/terminal.py` `CardRequest`), known to the acquirer as a real
acquirer knows its terminals' configuration.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from pydantic import ValidationError

try:  # cryptography >= 43 keeps 3DES here, without a deprecation warning
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

from kiosk.contract import SealedCardData
from kiosk.contract.sealing import CardDataPayload, SealError, load_private_key, luhn_valid, open_sealed

DEFAULT_KEY_PATH = Path(__file__).parent / "keys" / "demo_payment_service_private.pem"
AMOUNT_LIMIT_CENTS = 500_000
MAX_DATE_SKEW_DAYS = 1

# Published test key, never a real issuer's: the same one the emulated test cards derive their keys
# from (kiosk/hardware/virtual_card.py). central/ may not import kiosk.hardware, hence this copy.
TEST_ISSUER_MASTER_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")

# The kiosk terminal's fixed CDOL1 values (kiosk/hardware/emv.py terminal_values).
TERMINAL_COUNTRY_CODE = bytes.fromhex("0528")
TRANSACTION_TYPE = b"\x00"
TERMINAL_TYPE = b"\x24"
CVM_RESULTS = bytes.fromhex("1F0002")
AMOUNT_OTHER = bytes(6)
DEFAULT_AIP = bytes.fromhex("1980")  # the emulated test cards' AIP, for a payload without one

_AUTH_CODE_ALPHABET = string.ascii_uppercase + string.digits
_AUTH_CODE_KEY = b"kiosk test acquirer auth codes v1"

DECLINE_MESSAGES = {
    "invalid_card_data": "The card data could not be read by the payment service.",
    "invalid_card": "The card number is not valid.",
    "expired_card": "The card has expired.",
    "cryptogram_not_arqc": "The card did not ask for online authorisation (no ARQC).",
    "invalid_transaction_date": "The transaction date is more than a day away from the payment service's date.",
    "amount_mismatch": "The amount the card approved differs from the amount asked for.",
    "invalid_cryptogram": "The card's cryptogram (ARQC) could not be verified: the card data is not genuine "
                          "or was changed.",
    "insufficient_funds": "Insufficient funds.",
    "do_not_honour": "The card issuer declined the payment (do not honour).",
    "amount_limit": "The amount is over the limit for this card.",
}


@dataclass(frozen=True)
class Decision:
    approved: bool
    auth_code: str | None = None
    decline_code: str | None = None

    @property
    def decline_message(self) -> str | None:
        return DECLINE_MESSAGES.get(self.decline_code) if self.decline_code else None


def is_expired(expiry_yymmdd: str, today: date) -> bool:
    """A card is valid through the end of its expiry month."""
    year, month = 2000 + int(expiry_yymmdd[0:2]), int(expiry_yymmdd[2:4])
    return (year, month) < (today.year, today.month)


# --- test issuer cryptography (EMV Book 2 Annex A1) ---------------------------------------------------


def _des_ecb(key: bytes, block: bytes, *, decrypt: bool = False) -> bytes:
    """Two-key 3DES (16 bytes, spelled K1 K2 K1 for `cryptography`) or single DES (8 bytes given three
    times, K1 K1 K1) on one 8-byte block."""
    if len(key) == 16:
        key = key + key[:8]
    cipher = Cipher(TripleDES(key), modes.ECB())
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(block) + op.finalize()


def derive_card_master_key(issuer_master_key: bytes, pan: str, pan_sequence: str) -> bytes:
    """EMV Book 2 Annex A1.4.1 option A: Y = rightmost 16 digits of PAN || PSN (n2, '00' when the card
    has none), left-padded with zeros; MK = 3DES(IMK, Y) || 3DES(IMK, Y xor 'FF..FF')."""
    y = bytes.fromhex((pan + pan_sequence)[-16:].rjust(16, "0"))
    inverted = bytes(b ^ 0xFF for b in y)
    return _des_ecb(issuer_master_key, y) + _des_ecb(issuer_master_key, inverted)


def mac_algorithm_3(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with padding method 2 (EMV Book 2 Annex A1.2.1): DES-CBC with
    the left key half, the last block decrypted with the right half and encrypted with the left."""
    padded = data + b"\x80" + bytes(-(len(data) + 1) % 8)
    left, right = key[:8], key[8:16]
    state = bytes(8)
    for i in range(0, len(padded), 8):
        state = _des_ecb(left * 3, bytes(a ^ b for a, b in zip(state, padded[i : i + 8], strict=True)))
    return _des_ecb(left * 3, _des_ecb(right * 3, state, decrypt=True))


def cdol1_data(card: CardDataPayload) -> bytes:
    """The CDOL1 data the kiosk sent with GENERATE AC, rebuilt from the payload (module docstring)."""
    return (
        bytes.fromhex(f"{card.amount_cents:012d}")
        + AMOUNT_OTHER
        + TERMINAL_COUNTRY_CODE
        + bytes.fromhex(card.tvr)
        + bytes.fromhex(card.currency_code.rjust(4, "0"))
        + bytes.fromhex(card.transaction_date)
        + TRANSACTION_TYPE
        + bytes.fromhex(card.unpredictable_number)
        + TERMINAL_TYPE
        + CVM_RESULTS
    )


def expected_arqc(card: CardDataPayload) -> bytes:
    """The ARQC a genuine test card computes for this payload: MAC(MK, CDOL1 data || AIP || ATC)."""
    key = derive_card_master_key(TEST_ISSUER_MASTER_KEY, card.pan, (card.pan_sequence or "00").rjust(2, "0"))
    aip = bytes.fromhex(card.aip) if card.aip else DEFAULT_AIP
    return mac_algorithm_3(key, cdol1_data(card) + aip + bytes.fromhex(card.atc))


def arqc_valid(card: CardDataPayload) -> bool:
    try:
        expected = expected_arqc(card)
    except ValueError:  # a data element that is not hex or not the length EMV gives it
        return False
    return hmac.compare_digest(expected, bytes.fromhex(card.arqc))


def _is_arqc(cid_hex: str) -> bool:
    """CID '9F27' bits 8-7 '10' = ARQC (EMV Book 3 section 6.5.5.4); '00' AAC, '01' TC."""
    try:
        cid = bytes.fromhex(cid_hex)
    except ValueError:
        return False
    return len(cid) == 1 and cid[0] & 0xC0 == 0x80


def _date_off(transaction_yymmdd: str, today: date) -> bool:
    try:
        when = date(2000 + int(transaction_yymmdd[0:2]), int(transaction_yymmdd[2:4]), int(transaction_yymmdd[4:6]))
    except ValueError:
        return True
    return abs((when - today).days) > MAX_DATE_SKEW_DAYS


def auth_code_for(payment_id: str | None) -> str:
    """6 characters A-Z 0-9: derived from the payment id when given (deterministic for tests), else random."""
    if payment_id is None:
        return "".join(secrets.choice(_AUTH_CODE_ALPHABET) for _ in range(6))
    number = int.from_bytes(hmac.new(_AUTH_CODE_KEY, payment_id.encode(), hashlib.sha256).digest()[:8], "big")
    code = []
    for _ in range(6):
        number, index = divmod(number, len(_AUTH_CODE_ALPHABET))
        code.append(_AUTH_CODE_ALPHABET[index])
    return "".join(code)


def _decline(code: str) -> Decision:
    return Decision(approved=False, decline_code=code)


class TestAcquirer:
    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, key_path: Path | None = None) -> None:
        self._key: X25519PrivateKey = load_private_key(key_path or DEFAULT_KEY_PATH)

    def authorise(self, sealed: SealedCardData, amount_cents: int, *, payment_id: str | None = None,
                  today: date | None = None) -> Decision:
        """Apply the test rules of the module docstring, in order."""
        try:
            card = CardDataPayload.model_validate_json(open_sealed(sealed, self._key))
        except (SealError, ValidationError, ValueError):
            return _decline("invalid_card_data")
        today = today or date.today()
        if not luhn_valid(card.pan):
            return _decline("invalid_card")
        if is_expired(card.expiry, today):
            return _decline("expired_card")
        if not _is_arqc(card.cid):
            return _decline("cryptogram_not_arqc")
        if _date_off(card.transaction_date, today):
            return _decline("invalid_transaction_date")
        if card.amount_cents != amount_cents:
            return _decline("amount_mismatch")
        if not arqc_valid(card):
            return _decline("invalid_cryptogram")
        if amount_cents % 100 == 51:
            return _decline("insufficient_funds")
        if amount_cents % 100 == 5:
            return _decline("do_not_honour")
        if card.pan.endswith("0002"):
            return _decline("insufficient_funds")
        if amount_cents > AMOUNT_LIMIT_CENTS:
            return _decline("amount_limit")
        return Decision(approved=True, auth_code=auth_code_for(payment_id))
