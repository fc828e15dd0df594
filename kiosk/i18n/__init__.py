"""Shopper-facing text in Dutch (default) and English.

Screens never hold text of their own: `.kv` files name a key and the app looks it up for the current
language, so switching language re-renders every label at once. Strings live in one JSON file per
language; a key missing in English falls back to Dutch, and a missing key shows itself as `[key]`
so it is caught on sight and by the tests.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
_HERE = Path(__file__).resolve().parent


@cache
def strings(language: str) -> dict[str, str]:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    return json.loads((_HERE / f"{language}.json").read_text(encoding="utf-8"))


def translate(language: str, key: str, **values: object) -> str:
    text = strings(language).get(key) if language in LANGUAGES else None
    if text is None:
        text = strings(DEFAULT_LANGUAGE).get(key)
    if text is None:
        return f"[{key}]"
    return text.format(**values) if values else text


def other_language(language: str) -> str:
    return "en" if language == "nl" else "nl"


def format_when(moment, language: str) -> str:
    """A date and time as people in that language write it, in the pillar's local time zone."""
    from babel.dates import format_datetime

    return format_datetime(moment.astimezone(), "short", locale="nl_NL" if language == "nl" else "en_GB")
