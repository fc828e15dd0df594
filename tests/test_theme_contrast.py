"""Text contrast of the theme, computed from its colours (WCAG 2.2 AA, 1.4.3: at least 4.5:1), in
every palette: the standard one and the high-contrast mode's.

`theme.TEXT_ROLES` lists every text colour on every background the screens draw it on;
tests/test_ui_accessibility.py walks the real screens and checks that each text they show is one of
these pairs, so this table cannot quietly fall behind the .kv files."""

import re
from pathlib import Path

import pytest

from kiosk import theme

SCREENS = Path(__file__).resolve().parents[1] / "kiosk" / "screens"


def test_the_contrast_formula_matches_known_values():
    black, white = theme.hex_colour("#000000"), theme.hex_colour("#FFFFFF")
    assert theme.contrast_ratio(black, white) == pytest.approx(21.0)
    assert theme.contrast_ratio(white, white) == pytest.approx(1.0)
    # #767676 on white is the classic "just passes" grey: 4.54:1.
    assert theme.contrast_ratio(theme.hex_colour("#767676"), white) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("palette", theme.PALETTES.values(), ids=theme.PALETTES)
@pytest.mark.parametrize("role", sorted(theme.TEXT_ROLES))
def test_every_text_colour_has_at_least_4_5_to_1_on_its_background(palette, role):
    foreground, background = theme.text_pairs(palette)[role]
    ratio = theme.contrast_ratio(foreground, background)
    assert ratio >= 4.5, f"{palette.name}: {role} is {ratio:.2f}:1"


def test_high_contrast_is_higher_than_standard_for_every_role():
    # The mode is for people who need more than AA: every pair at least 7:1 (AAA), none worse than standard.
    for role in theme.TEXT_ROLES:
        standard = theme.contrast_ratio(*theme.text_pairs(theme.STANDARD)[role])
        high = theme.contrast_ratio(*theme.text_pairs(theme.HIGH_CONTRAST)[role])
        assert high >= 7.0, f"high contrast: {role} is {high:.2f}:1"
        assert high >= min(standard, 7.0), role


def test_every_palette_has_every_colour_and_a_strong_outline_in_high_contrast():
    for palette in theme.PALETTES.values():
        for name in theme.COLOUR_NAMES:
            colour = getattr(palette, name)
            assert len(colour) == 4 and all(0 <= c <= 1 for c in colour), (palette.name, name)
    assert theme.HIGH_CONTRAST.OUTLINE[3] == 1 and theme.STANDARD.OUTLINE[3] == 0
    # Controls' edges (non-text contrast, WCAG 1.4.11: 3:1) against the background in high contrast.
    assert theme.contrast_ratio(theme.HIGH_CONTRAST.BORDER, theme.HIGH_CONTRAST.BACKGROUND) >= 3


def test_no_kv_file_names_a_fixed_colour_or_font_size():
    """Colours come from the active palette (`look.palette.TEXT`) and font sizes scale with large text
    (`sp(... * look.text_scale)`), else a mode would leave parts of a screen behind. A rule that sets a
    text colour or size writes `-color:` / `-font_size:`: the base <Label> rule binds both to `look`
    too, and without the `-` (drop the earlier rules' bindings) whichever fires last would win."""
    colour = re.compile(r"\btheme\.(" + "|".join(theme.COLOUR_NAMES) + r")\b")
    problems = []
    for path in sorted(SCREENS.glob("*.kv")):
        rule = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            rule = line.strip() if line.startswith("<") else rule
            where = f"{path.name}:{number}: {line.strip()}"
            if colour.search(line):
                problems.append(f"{where}  (a fixed colour)")
            if re.match(r"\s*-?font_size:", line) and "look.text_scale" not in line:
                problems.append(f"{where}  (a font size that large text does not scale)")
            base = path.name == "theme.kv" and rule == "<Label>:"
            if re.match(r"\s*(color|font_size):", line) and not base:
                problems.append(f"{where}  (write -{line.strip().split(':')[0]}:)")
    assert not problems, "\n".join(problems)
