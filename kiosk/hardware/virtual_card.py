"""An emulated EMV contactless card at the APDU level, for the simulator, the demo and the tests.

`VirtualCard(profile).respond(apdu) -> response` answers what `emv.read_emv` sends: SELECT PPSE,
SELECT PSE and READ RECORD of its directory (contact cards), SELECT AID, GET PROCESSING OPTIONS,
READ RECORD, GENERATE AC (and GET RESPONSE when the profile answers T=0 style with '61xx'), and the
PC/SC GET DATA UID pseudo-APDU 'FF CA 00 00 00' when the profile has a UID (a contactless reader
answers it for the card). Anything else gets '6D00'; an unknown file '6A82'.

A profile may hold several applications (`directory`: AID, label, '87' priority byte with bit 8 =
cardholder confirmation required), a contact ATR and PSE, a CTQ '9F6C' (returned by GPO), its own
CVM List '8E', or be no payment card at all (a staff badge: `payment=False`).

A card is data: a `CardProfile`. Broken cards are profiles too: `responses` replaces the answer to
one command with raw bytes (garbage GPO, odd status words), `withdraw_at` makes the card leave the
field at a given command (the vpcd emulator closes its connection, the simulator raises
CardRemovedTooEarly).

The ARQC is real: an ISO 9797-1 MAC algorithm 3 with a card master key derived from a published
*test* issuer master key (EMV Book 2 Annex A1.4.1 option A), so a test acquirer can verify it.
The PANs are test numbers, Luhn-valid, in ranges issuers use for testing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from kiosk.hardware.emv import MAESTRO, MASTERCARD, PPSE, PSE, VISA, VISA_VPAY
from kiosk.hardware.tlv import encode, parse_dol, template

# Published test key: never a real issuer's. Shared with the reference server's test acquirer.
TEST_ISSUER_MASTER_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")

# Generic PC/SC pseudo-ATR of an ISO 14443-4 card without historical bytes (PC/SC part 3 section
# 3.1.3.2.3): T=1, so the reader never needs T=0 GET RESPONSE handling unless a profile asks for it.
CONTACTLESS_ATR = bytes.fromhex("3B80800101")
# A contact EMV chip's basic ATR for T=0 (EMV Book 1 section 8.3.1): TS '3B', T0 '6x', TB1 '00',
# TC1 '00', then historical bytes. T=0, so answers come as '61xx' + GET RESPONSE.
CONTACT_ATR = bytes.fromhex("3B6800000073C84013009000")
# PC/SC part 3 section 3.1.3.2.3 pseudo-ATR of a MIFARE Classic 1K (a typical staff badge).
MIFARE_1K_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")

PSE_DIRECTORY_SFI = 1
DEFAULT_CVM_LIST = bytes.fromhex("000000000000000042031F03")  # online PIN if supported, else no CVM

SW_OK = b"\x90\x00"
SW_FILE_NOT_FOUND = b"\x6a\x82"
SW_RECORD_NOT_FOUND = b"\x6a\x83"
SW_WRONG_LENGTH = b"\x67\x00"
SW_CONDITIONS = b"\x69\x85"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_CLA_NOT_SUPPORTED = b"\x6e\x00"
SW_NO_DIAGNOSIS = b"\x6f\x00"

VISA_PDOL = bytes.fromhex("9F66049F02069F03069F1A0295055F2A029A039C019F3704")
CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F37049F35019F3403")


class CardWithdrawn(Exception):
    """The emulated card left the field while answering (profile `withdraw_at`)."""


@dataclass(frozen=True)
class CardProfile:
    name: str
    aid: bytes
    label: str
    pan: str = field(repr=False)
    expiry: str  # YYMMDD, '5F24'
    pan_sequence: int = 1
    pdol: bytes = VISA_PDOL
    cdol1: bytes = CDOL1
    aip: bytes = bytes.fromhex("1980")  # SDA, cardholder verification, terminal risk management
    has_ppse: bool = True
    gpo_format: int = 2  # 1: template '80', 2: template '77' (EMV Book 3 section 6.5.8.4)
    ac_format: int = 2  # 1: template '80', 2: template '77' (EMV Book 3 section 6.5.5.4)
    t0_get_response: bool = False  # answer data with '61xx' first, like a T=0 contact card
    responses: Mapping[str, bytes] = field(default_factory=dict)  # command name -> raw answer
    withdraw_at: str | None = None  # command name at which the card leaves the field
    atr: bytes = CONTACTLESS_ATR
    pse: bool = False  # contact PSE '1PAY.SYS.DDF01' with a READ RECORD directory (Book 1 12.2.3)
    directory: tuple[tuple[bytes, str, int], ...] = ()  # (AID, label, '87'); () = (aid, label, 01)
    ctq: bytes | None = None  # Card Transaction Qualifiers '9F6C', in the GPO answer (Book C-3)
    cvm_list: bytes = DEFAULT_CVM_LIST  # '8E': amount X, amount Y, rules (Book 3 Annex C3)
    uid: bytes | None = None  # answered to GET DATA 'FF CA 00 00 00' (PC/SC part 3 3.2.2.1.3)
    payment: bool = True  # False: no payment application at all (a staff badge)

    @property
    def applications(self) -> tuple[tuple[bytes, str, int], ...]:
        return self.directory or ((self.aid, self.label, 0x01),)


def _contact(profile: CardProfile, name: str, **changes: object) -> CardProfile:
    """The contact-chip variant of a card: own ATR, T=0 answers, a PSE instead of a PPSE."""
    return replace(profile, name=name, atr=CONTACT_ATR, t0_get_response=True, has_ppse=False, pse=True, **changes)


_VISA = CardProfile("visa", VISA, "VISA DEBIT", "4761739001010010", "301231")
_MASTERCARD = CardProfile("mastercard", MASTERCARD, "MASTERCARD", "5413330089010012", "291130", pdol=b"", gpo_format=1, ac_format=1)
_MAESTRO = CardProfile("maestro", MAESTRO, "MAESTRO", "6799990100000000019", "281031", pdol=b"")
_VPAY = CardProfile("vpay", VISA_VPAY, "V PAY", "4820390001030027", "290630")
_EUR_50 = (5000).to_bytes(4, "big")

PROFILES: dict[str, CardProfile] = {
    p.name: p
    for p in (
        _VISA,
        _MASTERCARD,
        _MAESTRO,
        _VPAY,
        # The reference server's test acquirer declines a card number ending in 0002.
        replace(_VISA, name="declined", pan="4761739001010002"),
        replace(_VISA, name="expired", expiry="200131"),
        # Cards for the unhappy paths.
        replace(_VISA, name="no_ppse", has_ppse=False),
        CardProfile("unsupported", bytes.fromhex("A00000002501"), "AMEX", "374245455400126", "301231"),
        replace(_VISA, name="garbage_gpo", responses={"GPO": bytes.fromhex("771082021980940408") + SW_OK}),
        replace(_VISA, name="withdrawn", withdraw_at="GENERATE AC"),
        replace(_VISA, name="t0", t0_get_response=True),
        # A card that asks for an online PIN above EUR 50: CTQ "online PIN required" and a CVM list
        # "online PIN over X = 50.00, else no CVM" (EMV Book 3 Annex C3, Book C-3 Annex A.2).
        replace(
            _VISA,
            name="pin_above_limit",
            ctq=bytes.fromhex("8000"),
            cvm_list=_EUR_50 + bytes(4) + bytes.fromhex("0207" "1F00"),
        ),
        # A phone: it verified its owner itself (CTQ byte 2 bit 8, consumer device CVM performed).
        replace(_VISA, name="phone_cdcvm", label="VISA MOBILE", ctq=bytes.fromhex("0080")),
        # Contact chips (T=0, PSE directory read with READ RECORD). The Maestro allows no CVM under
        # EUR 50 and wants an online PIN above (CVM list rules '1F06', '0200'); V PAY tries PINs,
        # then allows no CVM at an unattended terminal ('4403', '4203', '1F03').
        _contact(_MAESTRO, "maestro_contact", cvm_list=_EUR_50 + bytes(4) + bytes.fromhex("1F06" "0200")),
        _contact(_VPAY, "vpay_contact", cvm_list=bytes(8) + bytes.fromhex("4403" "4203" "1F03")),
        # Co-badged debit card: Mastercard priority 1, Maestro priority 2 (the PPSE lists both).
        replace(
            _MASTERCARD,
            name="two_apps",
            directory=((MASTERCARD, "MASTERCARD", 0x01), (MAESTRO, "MAESTRO", 0x02)),
        ),
        # The same, but the card asks for cardholder confirmation ('87' bit 8).
        replace(
            _MASTERCARD,
            name="two_apps_confirm",
            directory=((MASTERCARD, "MASTERCARD", 0x81), (MAESTRO, "MAESTRO", 0x82)),
        ),
        # A card answering garbage from its first answer on (SELECT PPSE: '9000' and no FCI).
        replace(_VISA, name="garbage", responses={"SELECT PPSE": bytes.fromhex("DEADBEEF00") + SW_OK}),
        # A staff badge (MIFARE Classic 1K): no payment application, a UID for the reader.
        CardProfile("badge", b"", "", "", "", atr=MIFARE_1K_ATR, has_ppse=False, uid=bytes.fromhex("04A1B2C3"), payment=False),
    )
}


# --- issuer test crypto ------------------------------------------------------------------------------


def _des_ecb(key: bytes, block: bytes, *, decrypt: bool = False) -> bytes:
    """DES (8-byte key given three times) or two-key 3DES (16 bytes, spelled K1 K2 K1 as
    `cryptography` wants) on one block."""
    if len(key) == 16:
        key = key + key[:8]
    cipher = Cipher(TripleDES(key), modes.ECB())
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(block) + op.finalize()


def derive_card_master_key(issuer_master_key: bytes, pan: str, pan_sequence: int) -> bytes:
    """EMV Book 2 Annex A1.4.1 option A: Y = rightmost 16 digits of PAN || PSN; MK = E(Y) || E(~Y)."""
    y = bytes.fromhex((pan + f"{pan_sequence:02d}")[-16:].rjust(16, "0"))
    inverted = bytes(b ^ 0xFF for b in y)
    return _des_ecb(issuer_master_key, y) + _des_ecb(issuer_master_key, inverted)


def mac_algorithm_3(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3, padding method 2 (EMV Book 2 Annex A1.2): single DES CBC with
    the left key half, the last block finished with 3DES."""
    padded = data + b"\x80" + bytes(-(len(data) + 1) % 8)
    left, right = key[:8], key[8:16]
    state = bytes(8)
    for i in range(0, len(padded), 8):
        state = _des_ecb(left * 3, bytes(a ^ b for a, b in zip(state, padded[i : i + 8])))
    return _des_ecb(left * 3, _des_ecb(right * 3, state, decrypt=True))


def application_cryptogram(pan: str, pan_sequence: int, cdol1_data: bytes, aip: bytes, atc: bytes) -> bytes:
    """The ARQC a test card computes: MAC over CDOL1 data || AIP || ATC with the card master key
    (the data of EMV Book 2 section 8.1.1; Visa CVN 10 style, no session key)."""
    key = derive_card_master_key(TEST_ISSUER_MASTER_KEY, pan, pan_sequence)
    return mac_algorithm_3(key, cdol1_data + aip + atc)


# --- the card -----------------------------------------------------------------------------------------


def _bcd_pan(pan: str) -> bytes:
    return bytes.fromhex(pan + "F" * (len(pan) % 2))


class VirtualCard:
    """One emulated card; keeps its ATC across reads like a real one."""

    def __init__(self, profile: CardProfile | str = "visa", *, atc: int = 1):
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise KeyError(f"unknown card profile {profile!r}; known: {', '.join(PROFILES)}")
            profile = PROFILES[profile]
        self.profile = profile
        self.atr = profile.atr
        self.atc = atc
        self._selected: bytes | None = None
        self._gpo_done = False
        self._pending = b""  # data waiting for GET RESPONSE

    def __repr__(self) -> str:
        return f"VirtualCard(profile={self.profile.name!r}, atc={self.atc})"

    def reset(self) -> None:
        """Power cycle: nothing selected (the ATC is non-volatile and stays)."""
        self._selected = None
        self._gpo_done = False
        self._pending = b""

    def respond(self, command: bytes) -> bytes:
        """Answer one command APDU with data + SW1 SW2. Raises CardWithdrawn per the profile."""
        try:
            name, answer = self._dispatch(command)
        except CardWithdrawn:
            raise
        except Exception:  # a card never crashes; it answers "no precise diagnosis"
            return SW_NO_DIAGNOSIS
        if name and name == self.profile.withdraw_at:
            raise CardWithdrawn(name)
        if name in self.profile.responses:
            return self.profile.responses[name]
        if self.profile.t0_get_response and len(answer) > 2 and name != "GET RESPONSE":
            self._pending = answer[:-2]
            return bytes([0x61, len(self._pending) & 0xFF])
        return answer

    # Each handler returns (command name, response).
    def _dispatch(self, command: bytes) -> tuple[str, bytes]:
        if len(command) < 4:
            return "", SW_WRONG_LENGTH
        cla, ins, p1, p2 = command[:4]
        data = command[5 : 5 + command[4]] if len(command) > 5 else b""
        if ins == 0xA4 and cla == 0x00 and p1 == 0x04:
            return self._select(data)
        if ins == 0xA8 and cla == 0x80:
            return "GPO", self._gpo(data)
        if ins == 0xB2 and cla == 0x00:
            return "READ RECORD", self._read_record(p1, p2 >> 3)
        if ins == 0xAE and cla == 0x80:
            return "GENERATE AC", self._generate_ac(p1, data)
        if cla == 0xFF and ins == 0xCA and p1 == 0x00 and self.profile.uid is not None:
            return "GET DATA UID", self.profile.uid + SW_OK
        if ins == 0xC0 and cla == 0x00:
            pending, self._pending = self._pending, b""
            return "GET RESPONSE", (pending + SW_OK) if pending else SW_CONDITIONS
        if cla not in (0x00, 0x80):
            return "", SW_CLA_NOT_SUPPORTED
        return "", SW_INS_NOT_SUPPORTED

    def _directory_entry(self, aid: bytes, label: str, api: int) -> bytes:
        return template(0x61, (0x4F, aid), (0x50, label.encode()), (0x87, bytes([api])))

    def _select(self, name: bytes) -> tuple[str, bytes]:
        profile = self.profile
        if not profile.payment:
            return ("SELECT PPSE" if name == PPSE else "SELECT AID"), SW_FILE_NOT_FOUND
        if name == PPSE:
            if not profile.has_ppse:
                return "SELECT PPSE", SW_FILE_NOT_FOUND
            entries = b"".join(self._directory_entry(*app) for app in profile.applications)
            directory = encode(0xBF0C, entries)
            return "SELECT PPSE", template(0x6F, (0x84, PPSE), template(0xA5, directory)) + SW_OK
        if name == PSE:
            if not profile.pse:
                return "SELECT PSE", SW_FILE_NOT_FOUND
            self._selected, self._gpo_done = PSE, False
            fci = template(0x6F, (0x84, PSE), template(0xA5, (0x88, bytes([PSE_DIRECTORY_SFI]))))
            return "SELECT PSE", fci + SW_OK
        # Partial selection (EMV Book 1 section 12.3.1): the terminal may send a prefix of the AID.
        for aid, label, api in profile.applications:
            if len(name) >= 5 and aid.startswith(name):
                self._selected, self._gpo_done = aid, False
                proprietary = [(0x50, label.encode()), (0x87, bytes([api]))]
                if profile.pdol:
                    proprietary.append((0x9F38, profile.pdol))
                return "SELECT AID", template(0x6F, (0x84, aid), template(0xA5, *proprietary)) + SW_OK
        return "SELECT AID", SW_FILE_NOT_FOUND

    def _gpo(self, data: bytes) -> bytes:
        if self._selected is None or self._selected == PSE:
            return SW_CONDITIONS
        expected = sum(e.length for e in parse_dol(self.profile.pdol))
        if data[:1] != b"\x83" or len(data) < 2 or data[1] != expected or len(data) != 2 + expected:
            return SW_WRONG_LENGTH
        self._gpo_done = True
        afl = bytes.fromhex("08010200")  # SFI 1, records 1 to 2, none for offline data authentication
        if self.profile.gpo_format == 1:
            return encode(0x80, self.profile.aip + afl) + SW_OK
        extra = [(0x9F6C, self.profile.ctq)] if self.profile.ctq is not None else []
        return template(0x77, (0x82, self.profile.aip), (0x94, afl), *extra) + SW_OK

    def _records(self) -> dict[tuple[int, int], bytes]:
        p = self.profile
        track2 = bytes.fromhex(p.pan + "D" + p.expiry[:4] + "2010000000000" + "F" * ((len(p.pan) + 18) % 2))
        return {
            (1, 1): template(0x70, (0x57, track2), (0x9F08, b"\x00\x02")),
            (1, 2): template(
                0x70,
                (0x5A, _bcd_pan(p.pan)),
                (0x5F24, bytes.fromhex(p.expiry)),
                (0x5F25, bytes.fromhex("200101")),
                (0x5F28, bytes.fromhex("0528")),
                (0x5F34, bytes([p.pan_sequence])),
                (0x8C, p.cdol1),
                (0x8E, p.cvm_list),
                (0x9F07, bytes.fromhex("FF00")),
                (0x9F42, bytes.fromhex("0978")),
            ),
        }

    def _read_record(self, record: int, sfi: int) -> bytes:
        if self._selected == PSE:  # the PSE directory: one application entry per record
            apps = self.profile.applications
            if sfi != PSE_DIRECTORY_SFI or not 1 <= record <= len(apps):
                return SW_RECORD_NOT_FOUND
            return template(0x70, self._directory_entry(*apps[record - 1])) + SW_OK
        if not self._gpo_done:
            return SW_CONDITIONS
        found = self._records().get((sfi, record))
        return found + SW_OK if found else SW_RECORD_NOT_FOUND

    def _generate_ac(self, reference_control: int, data: bytes) -> bytes:
        if not self._gpo_done:
            return SW_CONDITIONS
        if len(data) != sum(e.length for e in parse_dol(self.profile.cdol1)):
            return SW_WRONG_LENGTH
        p = self.profile
        # The card may only lower what is asked (EMV Book 3 section 9.2.1): AAC stays AAC, else ARQC.
        cid = 0x00 if reference_control & 0xC0 == 0x00 else 0x80
        atc = self.atc.to_bytes(2, "big")
        self.atc += 1
        cryptogram = application_cryptogram(p.pan, p.pan_sequence, data, p.aip, atc)
        iad = bytes.fromhex("06010A03A00000")  # Visa-style IAD: CVN 10, CVR
        self._gpo_done = False  # one GENERATE AC per transaction here
        if p.ac_format == 1:
            return encode(0x80, bytes([cid]) + atc + cryptogram + iad) + SW_OK
        return template(0x77, (0x9F27, bytes([cid])), (0x9F36, atc), (0x9F26, cryptogram), (0x9F10, iad)) + SW_OK
