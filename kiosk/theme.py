"""Theme colours and sizes, as plain data so tests can check contrast without a window.

Sizes are in dp for a portrait 1080x1920 pillar screen (about 100 dpi on a 22" panel): 96 dp is
about 2.4 cm, above the 2 cm touch target the accessibility work asks for.
"""

from __future__ import annotations

Colour = tuple[float, float, float, float]


def hex_colour(value: str, alpha: float = 1.0) -> Colour:
    value = value.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


BACKGROUND = hex_colour("#F3F2EE")
SURFACE = hex_colour("#FFFFFF")
TEXT = hex_colour("#1B1B1B")
TEXT_MUTED = hex_colour("#555555")
HEADER = hex_colour("#1B1B1B")
HEADER_TEXT = hex_colour("#FFFFFF")
PRIMARY = hex_colour("#FFCC00")       # the brand yellow: main action per screen
PRIMARY_TEXT = hex_colour("#1B1B1B")
PRIMARY_DOWN = hex_colour("#E0B000")
SECONDARY = hex_colour("#FFFFFF")
SECONDARY_TEXT = hex_colour("#1B1B1B")
SECONDARY_DOWN = hex_colour("#E6E6E6")
BORDER = hex_colour("#BDBDBD")
SUCCESS = hex_colour("#1E7B34")
DANGER = hex_colour("#B3261E")
ACCENT = hex_colour("#0B5CAD")

BUTTON_HEIGHT = 112   # dp
CHIP_HEIGHT = 96
SPACING = 24
PADDING = 32
RADIUS = 18

FONT_TITLE = 52       # sp
FONT_HEADING = 40
FONT_BODY = 30
FONT_SMALL = 24
