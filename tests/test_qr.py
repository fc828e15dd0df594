"""kiosk.qr: the QR as one byte per module, bottom row first, for a texture made on the UI thread."""

import subprocess
import sys

import pytest

from kiosk.qr import BLACK, WHITE, QrBitmap, bitmap_of, qr_bitmap, qr_matrix

URL = "http://127.0.0.1:8000/orders/3f2a9c1e-7b4d-4e0a-9c55-0d1e2f3a4b5c/track"


def decoded(bitmap: QrBitmap, scale: int = 8) -> list[str]:
    """Read the bitmap back as a phone would (zxing-cpp), the right way up and enlarged."""
    import zxingcpp
    from PIL import Image

    image = Image.frombytes("L", (bitmap.size, bitmap.size), b"".join(bitmap.rows_top_down()))
    image = image.resize((bitmap.size * scale, bitmap.size * scale), Image.NEAREST)
    return [code.text for code in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("border", [4, 2])
def test_the_bitmap_is_the_matrix_bottom_row_first_with_a_white_quiet_zone(border):
    matrix = qr_matrix(URL, border=border)
    bitmap = qr_bitmap(URL, border=border)
    n = bitmap.size
    assert n == len(matrix) == len(matrix[0]) and len(bitmap.pixels) == n * n
    assert n % 2 == 1  # always odd: rows are tight because Kivy unpacks odd widths byte-aligned
    assert set(bitmap.pixels) == {BLACK, WHITE}
    # Row 0 of the pixels is the bottom row of the code (an OpenGL texture's first row).
    for y in range(n):
        row = bitmap.pixels[y * n:(y + 1) * n]
        assert row == bytes(BLACK if dark else WHITE for dark in matrix[n - 1 - y])
    # The quiet zone: `border` white modules on every side; the finder patterns start right inside it.
    rows = bitmap.rows_top_down()
    for i in range(border):
        assert rows[i] == rows[n - 1 - i] == bytes([WHITE]) * n
        assert all(row[i] == row[n - 1 - i] == WHITE for row in rows)
    assert rows[border][border:border + 7] == bytes([BLACK]) * 7  # top-left finder's top edge
    assert rows[n - 1 - border][border:border + 7] == bytes([BLACK]) * 7  # bottom-left finder's bottom edge


@pytest.mark.parametrize("border", [4, 2])
def test_the_bitmap_decodes_to_the_text(border):
    assert decoded(qr_bitmap(URL, border=border)) == [URL]


def test_bitmap_of_a_small_matrix_by_hand():
    matrix = [[True, False, False],
              [False, True, False],
              [False, False, True]]
    bitmap = bitmap_of(matrix)
    assert bitmap == QrBitmap(3, bytes([WHITE, WHITE, BLACK,  # the bottom row first
                                        WHITE, BLACK, WHITE,
                                        BLACK, WHITE, WHITE]))
    assert bitmap.rows_top_down() == [bytes([BLACK, WHITE, WHITE]), bytes([WHITE, BLACK, WHITE]),
                                      bytes([WHITE, WHITE, BLACK])]


def test_kiosk_qr_imports_no_kivy():
    code = "import sys, kiosk.qr; sys.exit('kivy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
