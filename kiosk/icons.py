"""The theme's icons: Material Icons (Google, Apache License 2.0), one font in assets/fonts.

Buttons name an icon (`icon: "search"` in .kv); `KButton` draws its glyph beside the text in the text
colour (kiosk/screens/widgets.py). Codepoints, not ligatures: Kivy's text renderer does not shape
ligatures. Only the icons in use are listed, so a misspelt name fails loudly (tests/test_icons.py
also checks that the font really draws each of them).
"""

from __future__ import annotations

from pathlib import Path

ICON_FONT_NAME = "KioskIcons"
ICON_FONT_FILE = Path(__file__).resolve().parent.parent / "assets" / "fonts" / "MaterialIcons-Regular.ttf"

# name (as in the Material Icons catalogue) -> codepoint
ICONS: dict[str, str] = {
    "accessible": "\ue914",
    "add": "\ue145",
    "add_shopping_cart": "\ue854",
    "arrow_back": "\ue5c4",
    "arrow_forward": "\ue5c8",
    "backspace": "\ue14a",
    "badge": "\uea67",
    "build": "\ue869",
    "check": "\ue5ca",
    "check_circle": "\ue86c",
    "checklist": "\ue6b1",
    "close": "\ue5cd",
    "contactless": "\uea71",
    "credit_card": "\ue870",
    "delete": "\ue872",
    "done_all": "\ue877",
    "edit": "\ue3c9",
    "error": "\ue000",
    "home": "\ue88a",
    "inventory_2": "\ue1a1",
    "language": "\ue894",
    "local_shipping": "\ue558",
    "lock": "\ue897",
    "logout": "\ue9ba",
    "qr_code_2": "\ue00a",
    "refresh": "\ue5d5",
    "remove": "\ue15b",
    "restart_alt": "\uf053",
    "save": "\ue161",
    "search": "\ue8b6",
    "send": "\ue163",
    "settings": "\ue8b8",
    "settings_backup_restore": "\ue8ba",
    "shopping_bag": "\uf1cc",
    "shopping_cart": "\ue8cc",
    "store": "\ue8d1",
    "storefront": "\uea12",
    "sync": "\ue627",
    "warning": "\ue002",
}


def glyph(name: str) -> str:
    """The character that draws icon `name` in ICON_FONT_NAME; KeyError for an unknown name."""
    try:
        return ICONS[name]
    except KeyError:
        raise KeyError(f"unknown icon {name!r} (kiosk/icons.py lists the icons in use)") from None
