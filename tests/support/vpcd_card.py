"""A card on the vpcd virtual reader: a `VirtualCard` answering over the vpcd socket protocol.

vpcd (vsmartcard) is a pcscd reader driver that waits for a card emulator on TCP (PLATFORM.md):
connecting = card inserted, closing = card removed. Every frame is a 2-byte big-endian length then
the payload; one-byte payloads are control (0x00 power off, 0x01 power on, 0x02 reset, 0x04 get
ATR, the last one answered with the ATR), longer ones are command APDUs answered with the response.

    with inserted_card("visa"):          # card on the reader for the block
        ...
    card = VpcdCard("visa"); card.insert(); ...; card.remove()   # insert at the right moment
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Iterator

from kiosk.hardware.virtual_card import CardProfile, CardWithdrawn, VirtualCard

log = logging.getLogger("tests.vpcd_card")

DEFAULT_PORT = 35963  # reader "Virtual PCD 00 00"; 35964 is "Virtual PCD 00 01"

POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04


class VpcdCard:
    """An emulated card that can be put on and taken off a vpcd reader from the test's thread."""

    def __init__(self, profile: CardProfile | str = "visa", *, port: int = DEFAULT_PORT, host: str = "127.0.0.1"):
        self.card = VirtualCard(profile)
        self.host, self.port = host, port
        self.commands: list[bytes] = []  # every APDU received, for assertions
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.withdrawn = threading.Event()  # set when the card left by itself (profile withdraw_at)

    def __repr__(self) -> str:
        return f"VpcdCard({self.card.profile.name!r}, port={self.port}, inserted={self.inserted})"

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self) -> VpcdCard:
        if self._sock is not None:
            raise RuntimeError("card already inserted")
        try:
            sock = socket.create_connection((self.host, self.port), timeout=2)
        except OSError as exc:
            raise RuntimeError(
                f"cannot reach vpcd on {self.host}:{self.port} ({exc}); is pcscd running with vsmartcard-vpcd?"
            ) from exc
        sock.settimeout(None)
        # Small frames both ways: without these, Nagle on one side and delayed ACKs on the other
        # add ~40 ms to every APDU (a real reader's latency is a few ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self.withdrawn.clear()
        self._thread = threading.Thread(target=self._serve, args=(sock,), name=f"vpcd-card-{self.port}", daemon=True)
        self._thread.start()
        return self

    def remove(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> VpcdCard:
        return self.insert()

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                payload = _read_frame(sock)
                if payload is None:
                    return
                if len(payload) == 1:
                    if payload[0] == GET_ATR:
                        _send_frame(sock, self.card.atr)
                    elif payload[0] in (POWER_OFF, POWER_ON, RESET):
                        self.card.reset()
                    continue
                self.commands.append(payload)
                try:
                    answer = self.card.respond(payload)
                except CardWithdrawn:
                    log.debug("card withdrawn at %s", payload[:4].hex())
                    self.withdrawn.set()
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    return
                _send_frame(sock, answer)
        except OSError:
            return  # removed from the test's thread while we were reading


def _quickack(sock: socket.socket) -> None:
    """Linux: ACK at once (the setting does not stick, so it is renewed before every read)."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def _read_exact(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        _quickack(sock)
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_frame(sock: socket.socket) -> bytes | None:
    header = _read_exact(sock, 2)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _read_exact(sock, length) if length else b""


def _send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


@contextlib.contextmanager
def inserted_card(profile: CardProfile | str = "visa", port: int = DEFAULT_PORT) -> Iterator[VpcdCard]:
    """The card is on the reader inside the block and removed on exit, even on error."""
    card = VpcdCard(profile, port=port)
    card.insert()
    try:
        yield card
    finally:
        card.remove()
