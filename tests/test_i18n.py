import json
import re
from pathlib import Path

from kiosk.i18n import LANGUAGES, strings, translate

SCREENS = Path(__file__).resolve().parent.parent / "kiosk" / "screens"


def test_every_language_has_the_same_keys():
    keys = {lang: set(strings(lang)) for lang in LANGUAGES}
    assert keys["nl"] == keys["en"]


def test_placeholders_match_between_languages():
    for key, dutch in strings("nl").items():
        english = strings("en")[key]
        assert set(re.findall(r"{(\w+)}", dutch)) == set(re.findall(r"{(\w+)}", english)), key


def test_every_key_named_in_kv_files_exists():
    used = set()
    for kv in SCREENS.glob("*.kv"):
        used |= set(re.findall(r'app\.t\("([\w.]+)"', kv.read_text()))
    assert used, "the kv files should take their text from the translations"
    assert used <= set(strings("nl")), used - set(strings("nl"))


def test_missing_key_shows_itself():
    assert translate("en", "no.such.key") == "[no.such.key]"
    assert translate("nl", "products.from", price="€ 1") == "vanaf € 1"


def test_json_files_are_valid_utf8():
    for lang in LANGUAGES:
        json.loads((SCREENS.parent / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
