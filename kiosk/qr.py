"""QR codes as PNG bytes (the screens turn them into textures)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_png(text: str, *, box_size: int = 12, border: int = 4) -> bytes:
    """A black-on-white QR; medium error correction survives a scratched or glare-lit screen photo."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()
