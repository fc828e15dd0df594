"""Command APDUs, status words, and the 61xx / 6Cxx rules (EMV Book 1 section 9.3.1)."""

import pytest

from kiosk.hardware import apdu
from kiosk.hardware.apdu import CardChannel, ResponseApdu


class ScriptedCard:
    """A transport that checks each command against a script and plays the scripted answer."""

    def __init__(self, *exchanges: tuple[str, str]):
        self.script = [(bytes.fromhex(c), bytes.fromhex(r)) for c, r in exchanges]
        self.sent: list[bytes] = []

    def __call__(self, command: bytes) -> bytes:
        self.sent.append(command)
        assert self.script, f"unexpected command {command.hex().upper()}"
        expected, answer = self.script.pop(0)
        assert command == expected, f"sent {command.hex().upper()}, script expected {expected.hex().upper()}"
        return answer


def test_command_encodings():
    assert apdu.select_by_name(b"2PAY.SYS.DDF01").to_bytes().hex().upper() == "00A404000E325041592E5359532E444446303100"
    assert apdu.select_by_name(bytes.fromhex("A0000000031010"), next_occurrence=True).to_bytes().hex().upper() == (
        "00A4040207A000000003101000"
    )
    assert apdu.get_processing_options(b"").to_bytes().hex().upper() == "80A80000028300" "00"
    assert apdu.get_processing_options(b"\x01\x02").to_bytes().hex().upper() == "80A800000483020102" "00"
    assert apdu.read_record(1, 2).to_bytes().hex().upper() == "00B2020C00"
    assert apdu.read_record(2, 1).to_bytes().hex().upper() == "00B2011400"
    assert apdu.generate_ac(apdu.ARQC, b"\xaa").to_bytes().hex().upper() == "80AE800001AA00"
    assert apdu.get_response(0x1A).to_bytes().hex().upper() == "00C000001A"
    with pytest.raises(ValueError):
        apdu.read_record(31, 1)


def test_response_parsing():
    response = ResponseApdu.from_bytes(bytes.fromhex("01029000"))
    assert (response.data, response.sw) == (b"\x01\x02", 0x9000)
    assert "0102" not in repr(response)
    with pytest.raises(apdu.MalformedResponse):
        ResponseApdu.from_bytes(b"\x90")


def test_61xx_fetches_the_rest_with_get_response():
    card = ScriptedCard(
        ("00B2010C00", "6104"),
        ("00C0000004", "01020304" "6102"),  # even the GET RESPONSE may have more waiting
        ("00C0000002", "0506" "9000"),
    )
    response = CardChannel(card).exchange(apdu.read_record(1, 1))
    assert response.data == bytes.fromhex("010203040506") and response.sw == 0x9000


def test_6cxx_resends_with_the_right_le():
    card = ScriptedCard(("00B2010C00", "6C03"), ("00B2010C03", "AABBCC9000"))
    assert CardChannel(card).exchange(apdu.read_record(1, 1)).data == bytes.fromhex("AABBCC")


def test_6cxx_then_61xx():
    card = ScriptedCard(("00B2010C00", "6C03"), ("00B2010C03", "6103"), ("00C0000003", "AABBCC9000"))
    assert CardChannel(card).exchange(apdu.read_record(1, 1)).data == bytes.fromhex("AABBCC")


def test_endless_61xx_is_an_error_not_a_hang():
    card = lambda command: bytes.fromhex("6101")  # noqa: E731
    with pytest.raises(apdu.MalformedResponse, match="61xx"):
        CardChannel(card).exchange(apdu.read_record(1, 1))


@pytest.mark.parametrize(
    "sw, error",
    [
        ("6A82", apdu.FileNotFound),
        ("6A83", apdu.RecordNotFound),
        ("6985", apdu.ConditionsNotSatisfied),
        ("6D00", apdu.NotSupported),
        ("6283", apdu.SelectedFileInvalidated),
        ("6F00", apdu.StatusWordError),
    ],
)
def test_error_status_words_raise(sw, error):
    card = ScriptedCard(("00B2010C00", sw))
    with pytest.raises(error) as caught:
        CardChannel(card).exchange(apdu.read_record(1, 1))
    assert caught.value.sw == int(sw, 16)
    assert sw in str(caught.value) and "READ RECORD" in str(caught.value)
