"""The icon set: every icon the .kv files name exists, and the shipped font really draws it."""

import re
from pathlib import Path

import pytest
from PIL import ImageFont

from kiosk.icons import ICON_FONT_FILE, ICONS, glyph

SCREENS = Path(__file__).resolve().parent.parent / "kiosk" / "screens"


def _icons_named_in_code() -> set[str]:
    named = set()
    for path in [*SCREENS.glob("*.kv"), *SCREENS.glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        named |= set(re.findall(r'\bicon:\s*"([a-z0-9_]+)"', text))
        named |= set(re.findall(r'\.icon\s*=\s*"([a-z0-9_]+)"', text))
        for both in re.findall(r'\.icon,\s*[\w.]+\.icon\s*=\s*"([a-z0-9_]+)",\s*"([a-z0-9_]+)"', text):
            named |= set(both)
    return named


def test_the_screens_name_only_known_icons():
    named = _icons_named_in_code()
    assert {"arrow_back", "shopping_cart", "search", "backspace", "check"} <= named  # the finder works
    assert not named - set(ICONS), f"unknown icons: {sorted(named - set(ICONS))}"


@pytest.mark.parametrize("name", sorted(ICONS))
def test_the_font_draws_every_icon(name):
    font = ImageFont.truetype(str(ICON_FONT_FILE), 96)
    missing = font.getmask("\U000f0000")  # a codepoint the font lacks: what it draws then
    mask = font.getmask(glyph(name))
    box = mask.getbbox()
    assert box is not None, f"{name}: the font draws nothing for it"
    assert (mask.size, bytes(mask)) != (missing.size, bytes(missing)), f"{name}: not in the font"
    assert max(box[2] - box[0], box[3] - box[1]) > 40, f"{name}: the glyph is only {box} at 96 px"


def test_an_unknown_icon_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown icon 'shoping_cart'"):
        glyph("shoping_cart")
