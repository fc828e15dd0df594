"""QR codes as one byte per module, for the screens to make a texture of (`qr_texture` in kiosk/screens/widgets.py).

qrcode's matrix is 6 to 14 ms of pure Python (eight trial masks): the screens compute it in a worker
thread with `qr_bitmap` and, back on the UI thread, only copy these bytes into a texture, one texel per
module (shown enlarged with "nearest" filtering, so the modules stay crisp). No Kivy here.
"""

from __future__ import annotations

from dataclasses import dataclass

import qrcode
from qrcode.constants import ERROR_CORRECT_M

BLACK, WHITE = 0, 255
# A module of qrcode's matrix (True = dark) as a byte: bytes(row) gives 1/0, translate makes them grey levels.
_LEVELS = bytes([WHITE, BLACK]) + bytes(254)


@dataclass(frozen=True)
class QrBitmap:
    """A square QR image, `size` modules a side (the quiet zone included), one byte per module
    (BLACK or WHITE), rows from the bottom up: an OpenGL texture's first row is its bottom one."""

    size: int
    pixels: bytes

    def rows_top_down(self) -> list[bytes]:
        """The rows as a person reads the code (for tests and checks)."""
        n = self.size
        return [self.pixels[i * n:(i + 1) * n] for i in reversed(range(n))]


def qr_matrix(text: str, *, border: int = 4) -> list[list[bool]]:
    """The modules, True for dark, top row first, with `border` light modules of quiet zone around them.
    Medium error correction survives a scratched or glare-lit screen photo."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(text)
    code.make(fit=True)
    return code.get_matrix()


def bitmap_of(matrix: list[list[bool]]) -> QrBitmap:
    """The matrix as grey levels, bottom row first. Rows are tight (no padding): for one byte per
    texel Kivy's blit_buffer sets GL_UNPACK_ALIGNMENT to a divisor of the width (1 when it is odd,
    as a QR's always is), so no row needs padding to a 4-byte boundary."""
    return QrBitmap(len(matrix), b"".join(bytes(row).translate(_LEVELS) for row in reversed(matrix)))


def qr_bitmap(text: str, *, border: int = 4) -> QrBitmap:
    """A black-on-white QR of `text` with a quiet zone of `border` modules; slow: call it off the UI thread."""
    return bitmap_of(qr_matrix(text, border=border))
