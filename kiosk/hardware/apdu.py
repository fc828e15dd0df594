"""Command and response APDUs, status words, and the transport rules for 61xx / 6Cxx.

References:
- ISO/IEC 7816-4 section 5 (APDU structure) and EMV 4.4 Book 1 section 11 (the commands EMV uses:
  SELECT 11.3, GET RESPONSE 11.2 / ISO 7816-4 7.6.1) and Book 3 section 6.5 (GENERATE AC 6.5.5,
  GET PROCESSING OPTIONS 6.5.8, READ RECORD 6.5.11).
- EMV 4.4 Book 1 section 9.3.1 (T=0 transport of case 2 and case 4 commands): SW1 '61' means "xx
  more bytes are available, fetch them with GET RESPONSE"; SW1 '6C' means "wrong Le, re-send the same
  command with Le = xx". Contactless readers usually hide this, contact cards under T=0 do not.

Only short APDUs (Lc and Le one byte each): EMV payment cards never need extended ones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

log = logging.getLogger("kiosk.hardware.apdu")

Transmit = Callable[[bytes], bytes]
"""Send one command APDU, return the raw response APDU (data + SW1 SW2). May raise a CardError."""

SW_OK = 0x9000
# A card that keeps answering 61xx forever must not hang the kiosk.
MAX_GET_RESPONSE_ROUNDS = 32


@dataclass(frozen=True)
class CommandApdu:
    """ISO 7816-4 section 5.1: CLA INS P1 P2 [Lc data] [Le]. `le=0` asks for up to 256 bytes."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = field(default=b"", repr=False)  # may carry terminal data; no card data, but be safe
    le: int | None = None
    name: str = ""  # for logs and messages: "SELECT", "READ RECORD" ...

    def to_bytes(self) -> bytes:
        if len(self.data) > 255:
            raise ValueError(f"{self.name or 'command'} data of {len(self.data)} bytes needs an extended APDU")
        raw = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            raw += bytes([len(self.data)]) + self.data
        if self.le is not None:
            raw += bytes([self.le & 0xFF])  # Le 256 is coded '00'
        return raw

    def with_le(self, le: int) -> CommandApdu:
        return replace(self, le=le)


@dataclass(frozen=True)
class ResponseApdu:
    """ISO 7816-4 section 5.1: response data followed by the status word SW1 SW2."""

    data: bytes = field(repr=False)  # may hold card data
    sw1: int
    sw2: int

    @property
    def sw(self) -> int:
        return (self.sw1 << 8) | self.sw2

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise MalformedResponse(f"response of {len(raw)} bytes has no status word")
        return cls(bytes(raw[:-2]), raw[-2], raw[-1])


# --- status words -----------------------------------------------------------------------------------


class ApduError(Exception):
    """A card answer the transport could not use. Never carries response data in its message."""


class MalformedResponse(ApduError):
    pass


class StatusWordError(ApduError):
    """The card answered with a status word other than '9000' (ISO 7816-4 section 5.1.3)."""

    def __init__(self, command: str, sw: int):
        self.command = command
        self.sw = sw
        super().__init__(f"{command or 'command'} answered {sw:04X} ({describe_sw(sw)})")


class FileNotFound(StatusWordError):
    """'6A82': the application or file is not on the card (EMV Book 1 section 12.3.2)."""


class RecordNotFound(StatusWordError):
    """'6A83': no such record."""


class ConditionsNotSatisfied(StatusWordError):
    """'6985': e.g. GPO refused for these terminal data (EMV Book 3 section 10.1)."""


class NotSupported(StatusWordError):
    """'6D00' / '6E00' / '6A81': instruction, class or function not supported."""


class SelectedFileInvalidated(StatusWordError):
    """'6283': the application is blocked (EMV Book 1 section 12.3.2)."""


_SW_CLASSES: dict[int, type[StatusWordError]] = {
    0x6A82: FileNotFound,
    0x6A83: RecordNotFound,
    0x6985: ConditionsNotSatisfied,
    0x6D00: NotSupported,
    0x6E00: NotSupported,
    0x6A81: NotSupported,
    0x6283: SelectedFileInvalidated,
}

_SW_TEXT = {
    0x6283: "selected file invalidated",
    0x6700: "wrong length",
    0x6982: "security status not satisfied",
    0x6983: "authentication method blocked",
    0x6984: "referenced data invalidated",
    0x6985: "conditions of use not satisfied",
    0x6A81: "function not supported",
    0x6A82: "file or application not found",
    0x6A83: "record not found",
    0x6A86: "incorrect P1 P2",
    0x6A88: "referenced data not found",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}


def describe_sw(sw: int) -> str:
    if sw in _SW_TEXT:
        return _SW_TEXT[sw]
    if sw >> 8 == 0x63:
        return "warning, non-volatile memory changed"
    if sw >> 8 == 0x62:
        return "warning, non-volatile memory unchanged"
    return "error"


def status_error(command: str, sw: int) -> StatusWordError:
    return _SW_CLASSES.get(sw, StatusWordError)(command, sw)


# --- commands ---------------------------------------------------------------------------------------


def select_by_name(name: bytes, *, next_occurrence: bool = False) -> CommandApdu:
    """SELECT by DF name (AID or "2PAY.SYS.DDF01"), EMV Book 1 section 11.3.2: P1 '04', P2 '00'/'02'."""
    return CommandApdu(0x00, 0xA4, 0x04, 0x02 if next_occurrence else 0x00, name, le=0, name="SELECT")


def get_processing_options(pdol_data: bytes) -> CommandApdu:
    """GET PROCESSING OPTIONS, EMV Book 3 section 6.5.8: data is template '83' holding the PDOL answer."""
    return CommandApdu(0x80, 0xA8, 0x00, 0x00, b"\x83" + bytes([len(pdol_data)]) + pdol_data, le=0, name="GPO")


def read_record(sfi: int, record: int) -> CommandApdu:
    """READ RECORD, EMV Book 3 section 6.5.11: P1 record number, P2 = SFI << 3 | '100' (P1 is a number)."""
    if not 1 <= sfi <= 30 or not 1 <= record <= 255:
        raise ValueError(f"READ RECORD SFI {sfi} record {record} out of range")
    return CommandApdu(0x00, 0xB2, record, (sfi << 3) | 0x04, le=0, name=f"READ RECORD {sfi}/{record}")


ARQC = 0x80  # GENERATE AC reference control parameter, EMV Book 3 table 12: ARQC
TC = 0x40
AAC = 0x00


def generate_ac(reference_control: int, cdol_data: bytes) -> CommandApdu:
    """GENERATE APPLICATION CRYPTOGRAM, EMV Book 3 section 6.5.5: P1 says which cryptogram is asked."""
    return CommandApdu(0x80, 0xAE, reference_control, 0x00, cdol_data, le=0, name="GENERATE AC")


def get_response(length: int) -> CommandApdu:
    """GET RESPONSE, ISO 7816-4 section 7.6.1 / EMV Book 1 section 9.3.1.3."""
    return CommandApdu(0x00, 0xC0, 0x00, 0x00, le=length, name="GET RESPONSE")


# --- transport --------------------------------------------------------------------------------------


class CardChannel:
    """Sends commands over a raw `transmit` and applies the 61xx / 6Cxx rules of EMV Book 1 9.3.1.

    `exchange()` returns the response of a successful ('9000') command and raises a
    `StatusWordError` subclass for any other status word; what the transmit function raises (e.g.
    CardRemovedTooEarly) passes through untouched.
    """

    def __init__(self, transmit: Transmit):
        self._transmit = transmit

    def _send(self, command: CommandApdu) -> ResponseApdu:
        raw = self._transmit(command.to_bytes())
        response = ResponseApdu.from_bytes(raw)
        log.debug("%s -> %04X (%d bytes)", command.name, response.sw, len(response.data))
        return response

    def exchange(self, command: CommandApdu) -> ResponseApdu:
        response = self._send(command)
        if response.sw1 == 0x6C:  # wrong Le: re-send the same command with the card's Le (9.3.1.2)
            response = self._send(command.with_le(response.sw2))
        data = response.data
        rounds = 0
        while response.sw1 == 0x61:  # more data waiting: GET RESPONSE (9.3.1.3), '00' means 256
            rounds += 1
            if rounds > MAX_GET_RESPONSE_ROUNDS:
                raise MalformedResponse(f"{command.name}: card keeps answering 61xx")
            response = self._send(get_response(response.sw2))
            if response.sw1 == 0x6C:
                response = self._send(get_response(response.sw2))
            data += response.data
        if response.sw != SW_OK:
            raise status_error(command.name, response.sw)
        return ResponseApdu(data, response.sw1, response.sw2)
