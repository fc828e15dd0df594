"""The shopper's accessibility modes (European Accessibility Act; EN 301 549 / WCAG 2.2 AA), no Kivy.

Three modes, each switched on the accessibility panel that the accessibility button opens on every
screen. They last for the shopper's session: the idle reset (`KioskApp.start_over`) clears them.

- large text: every font size times `LARGE_TEXT_SCALE` (the layouts grow with it, nothing is cut off);
- high contrast: `theme.HIGH_CONTRAST` instead of `theme.STANDARD` (black, white and yellow);
- low reach: for shoppers in a wheelchair, every control moves into the lower part of the tall
  portrait screen, below `LOW_REACH_TOP`; the top part keeps only the page title and pictures.

Where the low-reach line comes from. EN 301 549 V3.2.1 clause 8.3.3.1 (unobstructed forward reach,
from the ADA and Section 508 reach ranges) puts essential controls between 380 mm and 1 220 mm above
the floor. The reference pillar is a floor-standing totem with a 55" 1080x1920 portrait panel whose
picture runs from 58 cm to 180 cm above the floor (121.8 cm tall): 122 cm is then 52 % of the way up
the screen. Controls stay below 50 % of the height (960 px of 1920), about 3 cm under the limit, and
the panel's bottom edge (58 cm) is above the 38 cm low limit. A pillar with a smaller panel must be
mounted so that half its height is at most 122 cm above the floor (e.g. a 43" panel, 95 cm tall:
its top at or below 170 cm); `reach_line_height_cm` gives the figure for any mounting.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kiosk import theme

LARGE_TEXT_SCALE = 1.35

REACH_HIGH_CM = 122.0        # EN 301 549 8.3.3.1.1: essential controls no higher than 1 220 mm
REACH_LOW_CM = 38.0          # EN 301 549 8.3.3.1.2: and no lower than 380 mm
PANEL_TOP_CM = 180.0         # the reference pillar: the picture's top edge above the floor
PANEL_HEIGHT_CM = 121.8      # a 55" 16:9 panel in portrait
LOW_REACH_TOP = 0.50         # controls' top edges at most this fraction of the screen height up


def reach_line_height_cm(fraction: float = LOW_REACH_TOP, panel_top_cm: float = PANEL_TOP_CM,
                         panel_height_cm: float = PANEL_HEIGHT_CM) -> float:
    """How high above the floor a point `fraction` of the way up the screen is."""
    return panel_top_cm - panel_height_cm * (1 - fraction)


@dataclass(frozen=True)
class AccessibilityModes:
    large_text: bool = False
    high_contrast: bool = False
    low_reach: bool = False

    MODES = ("large_text", "high_contrast", "low_reach")

    @classmethod
    def defaults_of(cls, display) -> AccessibilityModes:
        """The modes every shopper session starts in: the `[display]` settings (theme, large_text,
        low_reach), which staff may change; the shopper's panel switches each for their session."""
        return cls(large_text=display.large_text, high_contrast=display.theme == theme.HIGH_CONTRAST.name,
                   low_reach=display.low_reach)

    def toggled(self, mode: str) -> AccessibilityModes:
        if mode not in self.MODES:
            raise ValueError(f"unknown accessibility mode {mode!r}")
        return replace(self, **{mode: not getattr(self, mode)})

    @property
    def any_on(self) -> bool:
        return self.large_text or self.high_contrast or self.low_reach

    @property
    def text_scale(self) -> float:
        return LARGE_TEXT_SCALE if self.large_text else 1.0

    @property
    def palette(self) -> theme.Palette:
        return theme.HIGH_CONTRAST if self.high_contrast else theme.STANDARD

    def reach_top(self, screen_height: float) -> float:
        """The highest a control's top edge may be, in px from the bottom of the screen."""
        return screen_height * LOW_REACH_TOP if self.low_reach else screen_height

    def reach_gap(self, screen_height: float) -> float:
        """The height of the area above the reach line that holds no controls (0 when off)."""
        return screen_height - self.reach_top(screen_height)
