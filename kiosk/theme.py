"""Theme colours and sizes, as plain data so tests can check contrast without a window.

Colours come in palettes: `STANDARD`, and `HIGH_CONTRAST` for the accessibility panel's high-contrast
mode. The .kv files never name a colour constant: they bind to the app's active palette
(`app.palette.TEXT`), so switching the palette repaints every screen at once.

Sizes are in dp for a portrait 1080x1920 pillar screen (1 dp = 1 px there). Screen density assumed
for physical sizes: the layout is made for 1080x1920 portrait panels from 21.5" up; a 21.5" panel has
sqrt(1080² + 1920²) / 21.5 = 102.5 px per inch, the densest (worst) case, so 2 cm = 0.787 in = 81 px.
Every touch target is at least `MIN_TOUCH_DP` in both directions (EN 301 549 / the issue's 2 cm;
checked by tests/test_ui_accessibility.py on every screen); on a bigger panel they are bigger still.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

Colour = tuple[float, float, float, float]


def hex_colour(value: str, alpha: float = 1.0) -> Colour:
    value = value.lstrip("#")
    r, g, b = (int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


TRANSPARENT: Colour = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Palette:
    """Every colour a screen uses, by role. Text roles say on which backgrounds they are drawn in
    `text_pairs` below, and the contrast test checks each pair in every palette."""

    name: str
    BACKGROUND: Colour        # the screens' background
    SURFACE: Colour           # cards, tiles, rows, the bottom panels
    TEXT: Colour
    TEXT_MUTED: Colour        # secondary text: labels, details, hints
    HEADER: Colour            # the top bar and "quiet" buttons
    HEADER_TEXT: Colour
    PRIMARY: Colour           # the brand yellow: the one main action per screen
    PRIMARY_TEXT: Colour
    PRIMARY_DOWN: Colour
    SECONDARY: Colour
    SECONDARY_TEXT: Colour
    SECONDARY_DOWN: Colour
    BORDER: Colour            # the edge of secondary buttons, chips and fields
    SUCCESS: Colour
    DANGER: Colour
    DANGER_TEXT: Colour       # text on a DANGER-coloured button
    WARNING: Colour           # "a few left"
    ACCENT: Colour            # informative text: "confirmation follows", corrected search
    SELECTED: Colour          # a chosen chip, way or picture, the field being typed into
    SELECTED_TEXT: Colour
    INK: Colour               # drawings: the card-reader picture, radio marks, the spinner
    OUTLINE: Colour           # an extra edge around every control and card (high contrast only)
    ATTRACT: Colour           # the attract screen's background


STANDARD = Palette(
    name="standard",
    BACKGROUND=hex_colour("#F3F2EE"),
    SURFACE=hex_colour("#FFFFFF"),
    TEXT=hex_colour("#1B1B1B"),
    TEXT_MUTED=hex_colour("#555555"),
    HEADER=hex_colour("#1B1B1B"),
    HEADER_TEXT=hex_colour("#FFFFFF"),
    PRIMARY=hex_colour("#FFCC00"),
    PRIMARY_TEXT=hex_colour("#1B1B1B"),
    PRIMARY_DOWN=hex_colour("#E0B000"),
    SECONDARY=hex_colour("#FFFFFF"),
    SECONDARY_TEXT=hex_colour("#1B1B1B"),
    SECONDARY_DOWN=hex_colour("#E6E6E6"),
    BORDER=hex_colour("#BDBDBD"),
    SUCCESS=hex_colour("#1E7B34"),
    DANGER=hex_colour("#A4201A"),     # dark enough for the offline line on the yellow attract screen
    DANGER_TEXT=hex_colour("#FFFFFF"),
    WARNING=hex_colour("#8A4B00"),    # dark amber, readable on white
    ACCENT=hex_colour("#0B5CAD"),
    SELECTED=hex_colour("#1B1B1B"),
    SELECTED_TEXT=hex_colour("#FFFFFF"),
    INK=hex_colour("#1B1B1B"),
    OUTLINE=TRANSPARENT,
    ATTRACT=hex_colour("#FFCC00"),
)

# Black ground, white and yellow text, every control and card edged in white (WCAG 1.4.3 asks 4.5:1;
# every pair here is above 7:1, the AAA level, which is what high-contrast users come for).
HIGH_CONTRAST = Palette(
    name="high_contrast",
    BACKGROUND=hex_colour("#000000"),
    SURFACE=hex_colour("#121212"),
    TEXT=hex_colour("#FFFFFF"),
    TEXT_MUTED=hex_colour("#E0E0E0"),
    HEADER=hex_colour("#000000"),
    HEADER_TEXT=hex_colour("#FFFFFF"),
    PRIMARY=hex_colour("#FFD500"),
    PRIMARY_TEXT=hex_colour("#000000"),
    PRIMARY_DOWN=hex_colour("#FFFFFF"),
    SECONDARY=hex_colour("#000000"),
    SECONDARY_TEXT=hex_colour("#FFFFFF"),
    SECONDARY_DOWN=hex_colour("#333333"),
    BORDER=hex_colour("#FFFFFF"),
    SUCCESS=hex_colour("#7CE38B"),
    DANGER=hex_colour("#FF8A80"),
    DANGER_TEXT=hex_colour("#000000"),
    WARNING=hex_colour("#FFB347"),
    ACCENT=hex_colour("#FFD500"),
    SELECTED=hex_colour("#FFD500"),
    SELECTED_TEXT=hex_colour("#000000"),
    INK=hex_colour("#FFFFFF"),
    OUTLINE=hex_colour("#FFFFFF"),
    ATTRACT=hex_colour("#000000"),
)

PALETTES = {palette.name: palette for palette in (STANDARD, HIGH_CONTRAST)}
COLOUR_NAMES = tuple(f.name for f in fields(Palette) if f.name != "name")

# The standard palette's colours by name, for Python code that draws before an app exists.
BACKGROUND = STANDARD.BACKGROUND
SURFACE = STANDARD.SURFACE
TEXT = STANDARD.TEXT
TEXT_MUTED = STANDARD.TEXT_MUTED
HEADER = STANDARD.HEADER
HEADER_TEXT = STANDARD.HEADER_TEXT
PRIMARY = STANDARD.PRIMARY
PRIMARY_TEXT = STANDARD.PRIMARY_TEXT
PRIMARY_DOWN = STANDARD.PRIMARY_DOWN
SECONDARY = STANDARD.SECONDARY
SECONDARY_TEXT = STANDARD.SECONDARY_TEXT
SECONDARY_DOWN = STANDARD.SECONDARY_DOWN
BORDER = STANDARD.BORDER
SUCCESS = STANDARD.SUCCESS
DANGER = STANDARD.DANGER
WARNING = STANDARD.WARNING
ACCENT = STANDARD.ACCENT

BUTTON_HEIGHT = 112   # dp
CHIP_HEIGHT = 96
SPACING = 24
PADDING = 32
RADIUS = 18
MIN_TOUCH_DP = 81     # 2 cm at 102.5 px per inch (see the top of this module)

FONT_TITLE = 52       # sp
FONT_HEADING = 40
FONT_BODY = 30
FONT_SMALL = 24
FONT_NUMBER = 72      # the number being typed on a keypad


# --- contrast (WCAG 2.2, 1.4.3: at least 4.5:1 for text) -----------------------------------------

def relative_luminance(colour: Colour) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: Colour, background: Colour) -> float:
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Every text colour on every background it is drawn on in the .kv files, by role name (checked by
# tests/test_theme_contrast.py in every palette; tests/test_ui_accessibility.py finds the pairs the
# screens really draw and checks each is one of these).
TEXT_ROLES = {
    "body": ("TEXT", "BACKGROUND"), "body on card": ("TEXT", "SURFACE"),
    "muted": ("TEXT_MUTED", "BACKGROUND"), "muted on card": ("TEXT_MUTED", "SURFACE"),
    "primary button": ("PRIMARY_TEXT", "PRIMARY"), "primary button pressed": ("PRIMARY_TEXT", "PRIMARY_DOWN"),
    "secondary button": ("SECONDARY_TEXT", "SECONDARY"),
    "secondary button pressed": ("SECONDARY_TEXT", "SECONDARY_DOWN"),
    "muted on secondary button": ("TEXT_MUTED", "SECONDARY"),  # the search field's prompt
    "header": ("HEADER_TEXT", "HEADER"), "danger button": ("DANGER_TEXT", "DANGER"),
    "selected chip": ("SELECTED_TEXT", "SELECTED"), "chip": ("TEXT", "SURFACE"),
    "success": ("SUCCESS", "BACKGROUND"), "success on card": ("SUCCESS", "SURFACE"),
    "danger": ("DANGER", "BACKGROUND"), "danger on card": ("DANGER", "SURFACE"),
    "warning": ("WARNING", "BACKGROUND"), "warning on card": ("WARNING", "SURFACE"),
    "accent": ("ACCENT", "BACKGROUND"), "accent on card": ("ACCENT", "SURFACE"),
    "attract": ("TEXT", "ATTRACT"), "offline on attract": ("DANGER", "ATTRACT"),
}


def text_pairs(palette: Palette) -> dict[str, tuple[Colour, Colour]]:
    """The (text, background) colours of every role in `palette`."""
    return {role: (getattr(palette, fg), getattr(palette, bg)) for role, (fg, bg) in TEXT_ROLES.items()}


TEXT_ON_BACKGROUND = text_pairs(STANDARD)
