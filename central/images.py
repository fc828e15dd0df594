"""Generated product pictures: deterministic 600x600 PNGs, drawn on first request.

A soft background per top category, a simple shape that differs per picture number, and the
product name in big letters, so a tester can tell pictures of different products apart at a glance.
Encoded bytes are kept in a small in-memory LRU cache (a picture is ~20 kB; 256 of them ~5 MB).
"""

from __future__ import annotations

import hashlib
import io
import textwrap
import threading
from collections import OrderedDict
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from central.catalog_data import CATEGORY_COLOURS

SIZE = 600
_FALLBACK_BACKGROUND = (238, 238, 238)


# Pillow's built-in font has no accented letters ("Müller", "Italië"); Debian's DejaVu has them
# (fonts-dejavu-core, installed by scripts/setup.sh).
_DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(_DEJAVU, size=size)
    except OSError:
        return ImageFont.load_default(size=size)


def _darker(colour: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)  # type: ignore[return-value]


def render_picture(name: str, category_id: str, number: int) -> bytes:
    """Draw picture `number` (1-based) of a product; the same input always gives the same bytes."""
    background = CATEGORY_COLOURS.get(category_id.split("-")[0], _FALLBACK_BACKGROUND)
    accent = _darker(background, 0.62)
    digest = hashlib.sha256(f"{name}:{number}".encode()).digest()

    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)

    # An icon-like shape in the upper part; which one depends on the picture number.
    cx, cy, r = 300, 210, 120 + digest[0] % 30
    shape = (number - 1) % 3
    if shape == 0:
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=accent)
        draw.ellipse((cx - r // 2, cy - r // 2, cx + r // 2, cy + r // 2), fill=background)
    elif shape == 1:
        draw.rounded_rectangle((cx - r, cy - r * 3 // 4, cx + r, cy + r * 3 // 4), radius=28, fill=accent)
        draw.rectangle((cx - r // 3, cy - r, cx + r // 3, cy - r * 3 // 4), fill=accent)
    else:
        draw.polygon([(cx, cy - r), (cx + r, cy + r * 3 // 4), (cx - r, cy + r * 3 // 4)], fill=accent)
        draw.polygon([(cx, cy - r // 4), (cx + r // 3, cy + r * 3 // 4), (cx - r // 3, cy + r * 3 // 4)],
                     fill=background)

    # The product name, wrapped, in big dark letters under the shape.
    font = _font(44)
    lines = textwrap.wrap(name, width=20)[:3]
    y = 380
    for line in lines:
        width = draw.textlength(line, font=font)
        draw.text(((SIZE - width) / 2, y), line, fill=(33, 33, 33), font=font)
        y += 54
    draw.text((SIZE - 70, SIZE - 50), f"{number}", fill=accent, font=_font(32))

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


class PictureCache:
    """A bounded, thread-safe LRU of rendered pictures (handlers run on several threads)."""

    def __init__(self, max_entries: int = 256) -> None:
        self._max = max_entries
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, product_id: str, number: int, name: str, category_id: str) -> bytes:
        key = (product_id, number)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        png = render_picture(name, category_id, number)  # outside the lock: drawing takes ~20 ms
        with self._lock:
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return png
