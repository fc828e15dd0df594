"""Text contrast of the theme, computed from its colours (WCAG 2.2 AA: at least 4.5:1)."""

import pytest

from kiosk import theme


def test_the_contrast_formula_matches_known_values():
    black, white = theme.hex_colour("#000000"), theme.hex_colour("#FFFFFF")
    assert theme.contrast_ratio(black, white) == pytest.approx(21.0)
    assert theme.contrast_ratio(white, white) == pytest.approx(1.0)
    # #767676 on white is the classic "just passes" grey: 4.54:1.
    assert theme.contrast_ratio(theme.hex_colour("#767676"), white) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("name", sorted(theme.TEXT_ON_BACKGROUND))
def test_every_text_colour_has_at_least_4_5_to_1_on_its_background(name):
    foreground, background = theme.TEXT_ON_BACKGROUND[name]
    assert theme.contrast_ratio(foreground, background) >= 4.5, name
