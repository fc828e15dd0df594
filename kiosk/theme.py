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
WARNING = hex_colour("#8A4B00")       # "a few left": dark amber, readable on white
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


# --- contrast (WCAG 2.2, 1.4.3: at least 4.5:1 for text) -----------------------------------------

def relative_luminance(colour: Colour) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: Colour, background: Colour) -> float:
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Every text colour on every background it is drawn on in the .kv files (checked by a test).
TEXT_ON_BACKGROUND = {
    "body": (TEXT, BACKGROUND), "body on card": (TEXT, SURFACE),
    "muted": (TEXT_MUTED, BACKGROUND), "muted on card": (TEXT_MUTED, SURFACE),
    "primary button": (PRIMARY_TEXT, PRIMARY), "primary button pressed": (PRIMARY_TEXT, PRIMARY_DOWN),
    "secondary button": (SECONDARY_TEXT, SECONDARY), "secondary button pressed": (SECONDARY_TEXT, SECONDARY_DOWN),
    "header": (HEADER_TEXT, HEADER), "danger button": (HEADER_TEXT, DANGER),
    "success": (SUCCESS, BACKGROUND), "success on card": (SUCCESS, SURFACE),
    "danger": (DANGER, BACKGROUND), "danger on card": (DANGER, SURFACE),
    "warning": (WARNING, BACKGROUND), "warning on card": (WARNING, SURFACE),
    "accent": (ACCENT, BACKGROUND), "accent on card": (ACCENT, SURFACE),
}
