"""The EMV read flow: from "a card is there" to card data plus an ARQC for online authorisation.

One path, in the order EMV prescribes, over any `transmit(apdu) -> response` function (pyscard, the
in-process virtual card, a scripted test transport):

1. Application selection (EMV Book 1 section 12; Book B for contactless): contactless, SELECT PPSE;
   contact, SELECT PSE '1PAY.SYS.DDF01' and READ RECORD its directory (Book 1 section 12.2.3); pick
   the accepted application of highest priority, asking the shopper (`choose_application`) when the
   card wants confirmation or offers equal priorities (Book 1 section 12.4); without a directory, try
   the accepted AIDs one by one (Book 1 section 12.3.3).
2. SELECT the application, read its PDOL (Book 1 section 11.3.4, Book 3 section 10.1).
3. GET PROCESSING OPTIONS with the PDOL filled from terminal data (Book 3 sections 6.5.8, 10.1).
4. READ RECORD for every record the AFL lists (Book 3 sections 6.5.11, 10.2).
5. Processing restrictions: an expired application sets its TVR bit (Book 3 section 10.4.3).
5b. Cardholder verification decision (Book 3 section 10.5; Books C-2/C-3 for contactless): the kiosk
   can do "no CVM" only, so a card that needs a PIN or signature for this amount stops here with
   `CardNeedsPin`, before GENERATE AC (`decide_cvm`).
6. GENERATE AC asking for an ARQC, CDOL1 filled (Book 3 sections 6.5.5, 9.2), unless the card already
   gave its cryptogram in the GPO answer (Visa qVSDC, EMV Book C-3).

Terminal risk management beyond that is later work: the kiosk goes online for every payment and
never takes a PIN (DESIGN.md).

Failures become the `CardError` subclasses of `terminal.py`. Messages name the step and the status
word, never card data. The full PAN lives only in `EmvReadout`, whose repr is masked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from kiosk.hardware import apdu, tlv
from kiosk.hardware.apdu import CardChannel, Transmit
from kiosk.hardware.masking import last_day_of_month, mask_pan
from kiosk.hardware.terminal import (
    ApplicationChoice,
    ApplicationChooser,
    CardError,
    CardNeedsPin,
    CardNotSupported,
    CardReadFailed,
    CardRequest,
    ReadCancelled,
)

log = logging.getLogger("kiosk.hardware.emv")

PPSE = b"2PAY.SYS.DDF01"  # Proximity Payment System Environment, EMV Book B section 3.3
PSE = b"1PAY.SYS.DDF01"  # Payment System Environment of contact cards, EMV Book 1 section 12.2.2

CONTACTLESS = "contactless"
CONTACT = "contact"

# Accepted applications, in the order tried when there is no PPSE (Book 1 section 12.3.3, "list of
# AIDs"). An AID on the card may be longer than these (Book 1 section 12.3.1, partial selection).
VISA = bytes.fromhex("A0000000031010")
VISA_VPAY = bytes.fromhex("A0000000032020")
MASTERCARD = bytes.fromhex("A0000000041010")
MAESTRO = bytes.fromhex("A0000000043060")
DEFAULT_AIDS: tuple[bytes, ...] = (VISA, MASTERCARD, MAESTRO, VISA_VPAY)

SCHEMES: dict[bytes, str] = {
    VISA: "Visa",
    VISA_VPAY: "V PAY",
    MASTERCARD: "Mastercard",
    MAESTRO: "Maestro",
}

# Terminal Transaction Qualifiers '9F66' (EMV Book C-3 Annex A.2): byte 1 '20' qVSDC supported;
# byte 2 '80' online cryptogram required (the kiosk always goes online); byte 3 '40' consumer device
# CVM supported (phones verify the shopper themselves). No online PIN, no signature: unattended.
TTQ = bytes.fromhex("20804000")
TTQ_CVM_REQUIRED = (1, 0x40)  # byte 2 bit 7: "CVM required" (amount above the no-CVM limit)
TERMINAL_TYPE = b"\x24"  # '9F35': unattended, merchant-operated, online only (Book 4 Annex A1)
TERMINAL_CAPABILITIES = bytes.fromhex("000800")  # '9F33': no CVM required only (Book 4 Annex A2)
CVM_RESULTS = bytes.fromhex("1F0002")  # '9F34': no CVM required, successful (Book 4 Annex A4)

# TVR '95' byte 2 bit 7: "Expired application" (EMV Book 3 Annex C5).
TVR_EXPIRED_APPLICATION = (1, 0x40)


def interface_for_atr(atr: bytes) -> str:
    """CONTACTLESS for a PC/SC contactless pseudo-ATR ('3B 8n 80 01 ...', PC/SC part 3 section
    3.1.3.2.3), else CONTACT (a chip card's own ATR, EMV Book 1 section 8)."""
    atr = bytes(atr)
    if len(atr) >= 4 and atr[0] == 0x3B and atr[1] & 0xF0 == 0x80 and atr[2:4] == b"\x80\x01":
        return CONTACTLESS
    return CONTACT


def scheme_for_aid(aid: bytes) -> str | None:
    """Scheme name from the AID (RID + PIX); an AID may extend an accepted one."""
    for known, scheme in SCHEMES.items():
        if aid.startswith(known):
            return scheme
    return None


@dataclass(frozen=True)
class Application:
    """A candidate from the PPSE directory (Book B section 3.3.2, Book 1 section 12.2.3)."""

    aid: bytes
    label: str = ""
    priority: int = 0  # '87' bits 4-1; 0 = no priority given, 1 = highest
    confirm: bool = False  # '87' bit 8: cardholder confirmation required (Book 1 section 12.2.3)

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.priority == 0, self.priority)

    def choice(self) -> ApplicationChoice:
        return ApplicationChoice(self.aid.hex().upper(), self.label, self.priority, scheme_for_aid(self.aid) or "")


@dataclass(frozen=True)
class EmvReadout:
    """Everything the flow read and sent. Holds the full PAN: never let it leave kiosk/hardware/."""

    aid: bytes
    scheme: str
    pan: str = field(repr=False)
    expiry: str  # YYMMDD
    pan_sequence: bytes | None
    arqc: bytes = field(repr=False)
    cid: int
    atc: bytes
    iad: bytes | None = field(repr=False)
    unpredictable_number: bytes = field(repr=False)
    amount_cents: int
    currency_code: str
    transaction_date: date
    tvr: bytes
    aip: bytes | None = None  # 82, Application Interchange Profile: part of what the ARQC signs

    @property
    def masked_pan(self) -> str:
        return mask_pan(self.pan)

    def __repr__(self) -> str:
        return f"EmvReadout(scheme={self.scheme!r}, aid={self.aid.hex().upper()}, pan={self.masked_pan})"

    __str__ = __repr__


# --- terminal data ------------------------------------------------------------------------------------


def _bcd(number: int, digits: int) -> bytes:
    """Numeric format 'n' (Book 3 section 4.3): BCD, right-justified, left-padded with zeros."""
    text = f"{number:0{digits}d}"
    if len(text) > digits:
        raise ValueError(f"{number} does not fit in {digits} digits")
    return bytes.fromhex(text)


def terminal_values(request: CardRequest, today: date, unpredictable_number: bytes) -> dict[int, bytes]:
    """The terminal data objects a PDOL or CDOL may ask for (EMV Book 3 Annex A, Book 4 Annex A).

    Above the no-CVM limit the TTQ says "CVM required" (Book C-3 section 5.2.2), so a phone can
    verify its owner itself (consumer device CVM) and a card knows the reader wants a CVM.
    """
    ttq = _set_tvr_bit(TTQ, TTQ_CVM_REQUIRED) if request.amount_cents > request.no_cvm_limit_cents else TTQ
    return {
        0x9F02: _bcd(request.amount_cents, 12),  # Amount, Authorised (n12)
        0x9F03: _bcd(0, 12),  # Amount, Other (cash back)
        0x5F2A: bytes.fromhex(request.currency_code.rjust(4, "0")),  # n3 in 2 bytes
        0x5F36: b"\x02",  # Transaction Currency Exponent: cents
        0x9F1A: bytes.fromhex(request.country_code.rjust(4, "0")),
        0x9A: bytes.fromhex(today.strftime("%y%m%d")),
        0x9C: b"\x00",  # Transaction Type: goods and services
        0x9F37: unpredictable_number,
        0x9F66: ttq,
        0x95: bytes(5),  # TVR: nothing to report before the card is read
        0x9F35: TERMINAL_TYPE,
        0x9F33: TERMINAL_CAPABILITIES,
        0x9F34: CVM_RESULTS,
    }


# --- the flow -------------------------------------------------------------------------------------------


@contextmanager
def _step(name: str) -> Iterator[None]:
    """Turn transport and data errors inside one step into CardErrors that name the step."""
    try:
        yield
    except CardError:
        raise
    except apdu.StatusWordError as exc:
        raise CardReadFailed(f"{name}: {exc}") from None
    except (apdu.ApduError, ValueError) as exc:  # TlvError is a ValueError; so are oversized commands
        raise CardReadFailed(f"{name}: malformed card answer: {exc}") from None


def _directory_entries(entries: Iterable[tlv.Tlv]) -> list[Application]:
    """Application templates '61' of a PPSE FCI or a PSE directory record (Book 1 section 12.2.3,
    table 47; Book B section 3.3.2): '4F' ADF name, '50' label, '87' priority indicator."""
    applications = []
    for entry in entries:
        if entry.tag != 0x61:
            continue
        fields = tlv.primitives([entry])
        aid = fields.get(0x4F)
        if not aid or not 5 <= len(aid) <= 16:  # Book 1 section 12.2.1: AID is 5 to 16 bytes
            continue
        api = (fields.get(0x87, b"\x00")[:1] or b"\x00")[0]
        label = fields.get(0x50, b"").decode("ascii", "replace")
        applications.append(Application(aid, label, api & 0x0F, bool(api & 0x80)))
    return applications


def select_ppse(channel: CardChannel) -> list[Application] | None:
    """SELECT '2PAY.SYS.DDF01' and list its directory entries (EMV Book B section 3.3.2).

    FCI: '6F' > 'A5' > 'BF0C' > '61' entries, each with '4F' ADF name, '50' label, '87' priority.
    None when the card has no PPSE ('6A82' or '6D00'): the caller falls back to the AID list.
    """
    try:
        response = channel.exchange(apdu.select_by_name(PPSE))
    except (apdu.FileNotFound, apdu.NotSupported):
        return None
    fci = tlv.parse_one(response.data, 0x6F)
    directory = tlv.find([fci], 0xBF0C)
    return _directory_entries(directory.children if directory is not None and directory.children else ())


def select_pse(channel: CardChannel) -> list[Application] | None:
    """Contact cards: SELECT '1PAY.SYS.DDF01', then READ RECORD its directory (EMV Book 1 section
    12.2.3 and 12.3.2).

    FCI '6F' > 'A5' > '88' gives the SFI of the directory file (1 to 10); records 1, 2, ... are
    templates '70' of '61' application entries, read until '6A83' (record not found). None when the
    PSE is absent or blocked, or the directory cannot be read: Book 1 section 12.3.2 says to use the
    list of AIDs method then.
    """
    try:
        response = channel.exchange(apdu.select_by_name(PSE))
        fci = tlv.parse_one(response.data, 0x6F)
        sfi = tlv.find([fci], 0x88)
        if sfi is None or len(sfi.value) != 1 or not 1 <= sfi.value[0] <= 10:
            log.debug("PSE without a usable directory SFI '88'")
            return None
        applications: list[Application] = []
        for record in range(1, 256):
            try:
                response = channel.exchange(apdu.read_record(sfi.value[0], record))
            except apdu.RecordNotFound:
                break
            applications.extend(_directory_entries(tlv.parse_one(response.data, 0x70).children or ()))
        return applications
    except (apdu.ApduError, tlv.TlvError) as exc:  # CardErrors (card removed ...) pass through
        log.debug("no usable PSE (%s), falling back to the AID list", type(exc).__name__)
        return None


def directory_applications(channel: CardChannel, accepted: Sequence[bytes], interface: str = CONTACTLESS) -> list[Application]:
    """The candidate list (EMV Book 1 section 12.4): directory entries we accept, best priority first
    (directory order among equals); without a directory (PPSE for contactless, PSE for contact), the
    accepted AID list itself, in its order (Book 1 section 12.3.3)."""
    listed = select_ppse(channel) if interface == CONTACTLESS else select_pse(channel)
    if listed is None:
        log.debug("no %s directory, trying the %d accepted AIDs", interface, len(accepted))
        return [Application(aid) for aid in accepted]
    usable = [app for app in listed if any(app.aid.startswith(a) for a in accepted)]
    usable.sort(key=lambda app: app.sort_key)
    return usable


def candidate_applications(channel: CardChannel, accepted: Sequence[bytes], interface: str = CONTACTLESS) -> list[bytes]:
    """AIDs to try, best first (EMV Book 1 section 12.4): see `directory_applications`."""
    return [app.aid for app in directory_applications(channel, accepted, interface)]


def needs_choice(candidates: Sequence[Application]) -> bool:
    """Book 1 section 12.4: the shopper must choose (or confirm) when the best candidate asks for
    cardholder confirmation ('87' bit 8), or when the best two share the same priority."""
    if not candidates:
        return False
    if candidates[0].confirm:
        return True
    return len(candidates) > 1 and candidates[0].sort_key == candidates[1].sort_key


def choose_candidates(
    candidates: list[Application], choose_application: ApplicationChooser | None
) -> list[Application]:
    """Final order of the candidates to SELECT (Book 1 section 12.4).

    Without a chooser, or when no choice is needed, the highest priority first. Otherwise the
    shopper's choice only; None from the chooser means the shopper cancelled (ReadCancelled).
    """
    if choose_application is None or not needs_choice(candidates):
        return candidates
    chosen = choose_application([app.choice() for app in candidates])
    if chosen is None:
        raise ReadCancelled("no application chosen")
    for app in candidates:
        if app.aid.hex().upper() == str(chosen.aid).upper():
            return [app]
    raise CardNotSupported("the chosen application is not one the card offers")


def select_application(channel: CardChannel, candidates: Sequence[bytes]) -> tuple[bytes, tlv.Tlv]:
    """SELECT the first candidate the card answers (EMV Book 1 section 11.3, 12.4) -> (AID, FCI '6F').

    '6A82' or '6283' (blocked) means "try the next one"; the AID returned is the card's '84' DF name.
    """
    for aid in candidates:
        try:
            response = channel.exchange(apdu.select_by_name(aid))
        except (apdu.FileNotFound, apdu.SelectedFileInvalidated, apdu.NotSupported):
            continue
        fci = tlv.parse_one(response.data, 0x6F)
        df_name = tlv.find([fci], 0x84)
        selected = df_name.value if df_name and df_name.value else aid
        if scheme_for_aid(selected) is None:
            continue
        return selected, fci
    raise CardNotSupported("the card has no application this kiosk accepts")


def get_processing_options(channel: CardChannel, fci: tlv.Tlv, values: dict[int, bytes]) -> dict[int, bytes]:
    """GPO with the PDOL '9F38' filled (EMV Book 3 sections 6.5.8 and 10.1) -> the answer's objects.

    Format 1 is template '80' (AIP then AFL, Book 3 section 6.5.8.4); format 2 is template '77'
    holding '82' AIP, '94' AFL and, on a qVSDC card, the cryptogram already.
    """
    pdol = tlv.find([fci], 0x9F38)
    pdol_data = tlv.fill_dol(tlv.parse_dol(pdol.value), values) if pdol else b""
    try:
        response = channel.exchange(apdu.get_processing_options(pdol_data))
    except apdu.ConditionsNotSatisfied:
        # Book 3 section 10.1: '6985' means this application refuses this transaction.
        raise CardNotSupported("the card refused this transaction (GPO 6985)") from None
    objects = tlv.parse(response.data)
    if len(objects) != 1:
        raise tlv.TlvError("GPO answer must be one template")
    answer = objects[0]
    if answer.tag == 0x80:
        if len(answer.value) < 2:
            raise tlv.TlvError("GPO format 1 answer shorter than the AIP")
        return {0x82: answer.value[:2], 0x94: answer.value[2:]}
    if answer.tag == 0x77:
        found = tlv.primitives([answer])
        if 0x82 not in found or 0x94 not in found:  # both mandatory (Book 3 section 6.5.8.4)
            raise tlv.TlvError("GPO answer lacks the AIP '82' or the AFL '94'")
        return found
    raise tlv.TlvError(f"GPO answer is template {tlv.tag_hex(answer.tag)}, expected 80 or 77")


def parse_afl(afl: bytes) -> list[tuple[int, int, int]]:
    """Application File Locator '94' -> [(SFI, first record, last record)] (EMV Book 3 section 10.2)."""
    if len(afl) % 4:
        raise tlv.TlvError(f"AFL of {len(afl)} bytes is not a multiple of 4")
    entries = []
    for i in range(0, len(afl), 4):
        sfi, first, last, offline = afl[i] >> 3, afl[i + 1], afl[i + 2], afl[i + 3]
        if not 1 <= sfi <= 30 or first == 0 or last < first or offline > last - first + 1:
            raise tlv.TlvError(f"AFL entry {i // 4} is invalid")
        entries.append((sfi, first, last))
    return entries


def read_records(channel: CardChannel, afl: bytes) -> dict[int, bytes]:
    """READ RECORD for every record in the AFL (EMV Book 3 sections 6.5.11 and 10.2).

    Each record is template '70'; the first occurrence of a tag wins.
    """
    found: dict[int, bytes] = {}
    for sfi, first, last in parse_afl(afl):
        for record in range(first, last + 1):
            response = channel.exchange(apdu.read_record(sfi, record))
            for tag, value in tlv.primitives([tlv.parse_one(response.data, 0x70)]).items():
                found.setdefault(tag, value)
    return found


def generate_arqc(channel: CardChannel, cdol1: bytes, values: dict[int, bytes]) -> dict[int, bytes]:
    """GENERATE AC asking for an ARQC, CDOL1 '8C' filled (EMV Book 3 sections 6.5.5 and 9.2).

    Format 1 is template '80': CID (1), ATC (2), AC (8), then IAD (Book 3 section 6.5.5.4);
    format 2 is template '77' with '9F27', '9F36', '9F26', '9F10'.
    """
    cdol_data = tlv.fill_dol(tlv.parse_dol(cdol1), values)
    response = channel.exchange(apdu.generate_ac(apdu.ARQC, cdol_data))
    objects = tlv.parse(response.data)
    if len(objects) != 1:
        raise tlv.TlvError("GENERATE AC answer must be one template")
    answer = objects[0]
    if answer.tag == 0x80:
        raw = answer.value
        if len(raw) < 11:
            raise tlv.TlvError("GENERATE AC format 1 answer is too short")
        found = {0x9F27: raw[0:1], 0x9F36: raw[1:3], 0x9F26: raw[3:11]}
        if len(raw) > 11:
            found[0x9F10] = raw[11:]
        return found
    if answer.tag == 0x77:
        return tlv.primitives([answer])
    raise tlv.TlvError(f"GENERATE AC answer is template {tlv.tag_hex(answer.tag)}, expected 80 or 77")


# --- card data ------------------------------------------------------------------------------------------


def _digits(raw: bytes) -> str:
    """Compressed numeric 'cn' (Book 3 section 4.3): BCD digits, right-padded with 'F'."""
    return raw.hex().upper().rstrip("F")


def card_number_and_expiry(data: dict[int, bytes]) -> tuple[str, str]:
    """PAN '5A' and expiry '5F24' (YYMMDD), or both from Track 2 Equivalent Data '57' (Book 3 Annex A)."""
    pan = _digits(data[0x5A]) if 0x5A in data else None
    expiry = data[0x5F24].hex() if 0x5F24 in data else None
    if (pan is None or expiry is None) and 0x57 in data:
        track2 = data[0x57].hex().upper()
        separator = track2.find("D")
        if separator > 0 and len(track2) >= separator + 5:
            pan = pan or track2[:separator]
            yymm = track2[separator + 1 : separator + 5]
            if yymm.isdigit() and 1 <= int(yymm[2:]) <= 12:
                expiry = expiry or last_day_of_month(yymm)
    if pan is None or not pan.isdigit() or not 12 <= len(pan) <= 19:
        raise CardReadFailed("the card gave no valid card number")
    if expiry is None or len(expiry) != 6 or not expiry.isdigit() or not 1 <= int(expiry[2:4]) <= 12:
        raise CardReadFailed("the card gave no valid expiry date")
    return pan, expiry


def _is_expired(expiry: str, today: date) -> bool:
    """Book 3 section 10.4.3: expired when the transaction date is after the expiration date.

    YY 00-49 is 20YY, 50-99 is 19YY (Book 4 section 6.7.3), so compare full dates, not strings.
    """
    yy = int(expiry[:2])
    year = 2000 + yy if yy < 50 else 1900 + yy
    return (year, int(expiry[2:4]), int(expiry[4:6])) < (today.year, today.month, today.day)


def _set_tvr_bit(tvr: bytes, bit: tuple[int, int]) -> bytes:
    out = bytearray(tvr)
    out[bit[0]] |= bit[1]
    return bytes(out)


# --- cardholder verification ---------------------------------------------------------------------------

# CVM codes, '8E' rule byte 1 bits 6-1 (EMV Book 3 Annex C3, table 39).
CVM_FAIL = 0x00
CVM_SIGNATURE = 0x1E
CVM_NO_CVM = 0x1F
CVM_NAMES = {
    0x00: "fail CVM processing",
    0x01: "offline plaintext PIN",
    0x02: "online PIN",
    0x03: "offline plaintext PIN and signature",
    0x04: "offline enciphered PIN",
    0x05: "offline enciphered PIN and signature",
    0x1E: "signature",
}
TERMINAL_CVMS = frozenset({CVM_NO_CVM})  # what the kiosk can perform: no PIN pad, no pen
AIP_CVM_SUPPORTED = (0, 0x10)  # AIP byte 1 bit 5: cardholder verification is supported
CTQ_ONLINE_PIN = (0, 0x80)  # '9F6C' byte 1 bit 8 (Book C-3 Annex A.2)
CTQ_SIGNATURE = (0, 0x40)  # byte 1 bit 7
CTQ_CDCVM_PERFORMED = (1, 0x80)  # byte 2 bit 8: consumer device CVM performed (a phone)


@dataclass(frozen=True)
class CvmDecision:
    """Whether this payment can go ahead without a PIN. `detail` says why, in words (no card data)."""

    no_cvm: bool
    detail: str
    needed: str | None = None  # what the card wants instead: "online PIN", "signature" ...


def _bit(data: bytes | None, bit: tuple[int, int]) -> bool:
    return data is not None and len(data) > bit[0] and bool(data[bit[0]] & bit[1])


def _cvm_condition_met(condition: int, method: int, request: CardRequest, same_currency: bool, x: int, y: int) -> bool:
    """CVM condition codes, '8E' rule byte 2 (EMV Book 3 Annex C3, table 40), for a purchase at an
    unattended kiosk: no cash, no cashback. Unknown (RFU, proprietary) conditions are not met."""
    amount = request.amount_cents
    return {
        0x00: True,  # always
        0x01: False,  # if unattended cash
        0x02: True,  # if not unattended cash and not manual cash and not purchase with cashback
        0x03: method in TERMINAL_CVMS or method == CVM_FAIL,  # if terminal supports the CVM
        0x04: False,  # if manual cash
        0x05: False,  # if purchase with cashback
        0x06: same_currency and amount < x,  # in the application currency and under X
        0x07: same_currency and amount > x,
        0x08: same_currency and amount < y,
        0x09: same_currency and amount > y,
    }.get(condition, False)


def process_cvm_list(request: CardRequest, card_data: dict[int, bytes]) -> CvmDecision:
    """CVM List '8E' processing for a contact card (EMV Book 3 section 10.5, Annex C3).

    Rules are taken in order; a rule whose condition is met is tried. The kiosk can only perform
    "no CVM required"; a PIN or signature rule fails, and then the next rule applies only when the
    rule's bit 7 ("apply succeeding CVM rule if this CVM is unsuccessful") is set (section 10.5.5).
    No AIP support bit or no CVM List: no CVM processing at all (section 10.5).
    """
    if not _bit(card_data.get(0x82), AIP_CVM_SUPPORTED):
        return CvmDecision(True, "the card does not ask for cardholder verification")
    cvm_list = card_data.get(0x8E)
    if not cvm_list or len(cvm_list) <= 8:
        return CvmDecision(True, "the card gives no CVM rules")
    if len(cvm_list) % 2:
        raise tlv.TlvError("CVM List '8E' has an odd length")
    x, y = int.from_bytes(cvm_list[0:4], "big"), int.from_bytes(cvm_list[4:8], "big")
    app_currency = card_data.get(0x9F42)
    same_currency = app_currency is not None and app_currency.hex() == request.currency_code.rjust(4, "0")
    wanted: str | None = None
    for i in range(8, len(cvm_list), 2):
        code, condition = cvm_list[i], cvm_list[i + 1]
        method, apply_next = code & 0x3F, bool(code & 0x40)
        if not _cvm_condition_met(condition, method, request, same_currency, x, y):
            continue
        if method == CVM_NO_CVM:
            return CvmDecision(True, "the card's CVM list allows no CVM for this amount")
        if method == CVM_FAIL:
            break
        wanted = wanted or CVM_NAMES.get(method, "cardholder verification")
        if not apply_next:
            break
    needed = wanted or "cardholder verification"
    return CvmDecision(False, f"the card requires {needed} for this amount", needed)


def decide_cvm(request: CardRequest, card_data: dict[int, bytes], interface: str = CONTACTLESS) -> CvmDecision:
    """The kiosk's CVM decision for this card and amount (EMV Book 3 section 10.5; Books C-2 and
    C-3 for contactless). The kiosk performs "no CVM" only; it never asks for a PIN.

    - Above `request.no_cvm_limit_cents` (either interface): a PIN is needed, unless a phone verified
      its owner itself (CTQ '9F6C' "consumer device CVM performed", Book C-3 section 5.4.3).
    - Contactless at or under the limit: no CVM (the reader CVM required limit, Book C-2 section
      3.5 / Book C-3 section 5.2.2).
    - Contact at or under the limit: the card's CVM List decides (`process_cvm_list`).
    """
    ctq = card_data.get(0x9F6C)
    if request.amount_cents > request.no_cvm_limit_cents:
        if interface == CONTACTLESS and _bit(ctq, CTQ_CDCVM_PERFORMED):
            return CvmDecision(True, "verified on the shopper's own device")
        if _bit(ctq, CTQ_ONLINE_PIN):
            needed = "online PIN"
        elif _bit(ctq, CTQ_SIGNATURE):
            needed = "signature"
        elif interface == CONTACT:
            needed = process_cvm_list(request, card_data).needed or "PIN"
        else:
            needed = "PIN"
        return CvmDecision(False, f"{needed} needed above the no-CVM limit", needed)
    if interface == CONTACTLESS:
        return CvmDecision(True, "contactless at or under the no-CVM limit")
    return process_cvm_list(request, card_data)


def read_emv(
    transmit: Transmit,
    request: CardRequest,
    *,
    accepted_aids: Sequence[bytes] = DEFAULT_AIDS,
    today: date | None = None,
    unpredictable_number: bytes | None = None,
    interface: str = CONTACTLESS,
    choose_application: ApplicationChooser | None = None,
) -> EmvReadout:
    """Run the whole read flow (module docstring) against a card and return what it gave.

    `interface` (CONTACTLESS or CONTACT, see `interface_for_atr`) picks the directory (PPSE or PSE)
    and the CVM rules. `choose_application` is asked when the card wants a choice (`needs_choice`);
    None picks the highest priority.

    Raises CardNotSupported (no accepted application, transaction refused, declined by the card),
    CardNeedsPin (the card needs a PIN or signature for this amount), CardReadFailed (malformed
    answers, unexpected status words), ReadCancelled (no application chosen), or whatever
    `transmit` raises (CardRemovedTooEarly, ReadCancelled).
    """
    if interface not in (CONTACTLESS, CONTACT):
        raise ValueError(f"interface must be {CONTACTLESS!r} or {CONTACT!r}, not {interface!r}")
    channel = CardChannel(transmit)
    today = today or request.transaction_date or date.today()
    un = unpredictable_number if unpredictable_number is not None else os.urandom(4)
    values = terminal_values(request, today, un)

    with _step("application selection"):
        applications = directory_applications(channel, accepted_aids, interface)
        if not applications:
            raise CardNotSupported("the card lists no application this kiosk accepts")
        candidates = [app.aid for app in choose_candidates(applications, choose_application)]
        aid, fci = select_application(channel, candidates)
    scheme = scheme_for_aid(aid) or "unknown"
    with _step("GET PROCESSING OPTIONS"):
        gpo = get_processing_options(channel, fci, values)
    with _step("READ RECORD"):
        records = read_records(channel, gpo.get(0x94, b""))
    card_data = {**records, **{t: v for t, v in gpo.items() if t not in records}}
    pan, expiry = card_number_and_expiry(card_data)

    # Processing restrictions (Book 3 section 10.4.3): the card decides with the TVR it is given.
    if _is_expired(expiry, today):
        values[0x95] = _set_tvr_bit(values[0x95], TVR_EXPIRED_APPLICATION)

    # Cardholder verification (Book 3 section 10.5): stop before the card computes a cryptogram.
    with _step("cardholder verification"):
        cvm = decide_cvm(request, card_data, interface)
    if not cvm.no_cvm:
        log.info("card needs %s for %d cents: not usable at the kiosk", cvm.needed, request.amount_cents)
        raise CardNeedsPin(cvm.detail)

    with _step("GENERATE AC"):
        if 0x9F26 in gpo and 0x8C not in card_data:
            cryptogram = gpo  # qVSDC: the card computed its cryptogram during GPO (Book C-3 5.2)
        elif 0x8C in card_data:
            cryptogram = generate_arqc(channel, card_data[0x8C], values)
        else:
            raise CardReadFailed("GENERATE AC: the card gave no CDOL1 '8C'")
        arqc, cid, atc = cryptogram.get(0x9F26), cryptogram.get(0x9F27), cryptogram.get(0x9F36)
        if arqc is None or len(arqc) != 8 or cid is None or len(cid) != 1 or atc is None or len(atc) != 2:
            raise CardReadFailed("GENERATE AC: cryptogram, CID or ATC missing or malformed")

    # CID bits 8-7 (Book 3 section 6.5.5.4): '00' AAC = the card declines, '10' ARQC = go online.
    kind = cid[0] & 0xC0
    if kind == 0x00:
        raise CardNotSupported("the card declined the transaction offline (AAC)")
    if kind != 0x80:
        raise CardReadFailed(f"GENERATE AC: asked for an ARQC, card answered CID {cid.hex().upper()}")

    readout = EmvReadout(
        aid=aid,
        scheme=scheme,
        pan=pan,
        expiry=expiry,
        pan_sequence=card_data.get(0x5F34),
        arqc=arqc,
        cid=cid[0],
        atc=atc,
        iad=cryptogram.get(0x9F10),
        unpredictable_number=un,
        amount_cents=request.amount_cents,
        currency_code=request.currency_code,
        transaction_date=today,
        tvr=values[0x95],
        aip=card_data.get(0x82),
    )
    log.info("card read: %s %s, ATC %s", scheme, readout.masked_pan, atc.hex().upper())
    return readout
