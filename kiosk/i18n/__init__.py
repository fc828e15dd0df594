"""Shopper-facing text in Dutch (default) and English: one mechanism, gettext catalogs.

Screens never hold text of their own: `.kv` files name a message id and the app looks it up for the
current language (`app.t("cart.title", app.lang)`), so switching language re-renders every label at
once; plain-Python views call `translate(language, key, **values)`.

The text lives in gettext PO catalogs, `locale/<language>/LC_MESSAGES/kiosk.po`; the message ids are
stable keys (`msgid "cart.title"`), placeholders are Python's `{name}` (flagged
`python-brace-format`). At first use each catalog is read with Babel and compiled in memory into a
stdlib `gettext.GNUTranslations`: there is no compiled `.mo` on disk that could fall behind its `.po`,
and no build step. Lookups go through gettext's fallback chain: English -> Dutch -> `[key]`, so a
message missing in English shows the Dutch text, and a missing key shows itself as `[key]` and is
caught on sight and by the tests. Entries marked fuzzy, or with an empty msgstr, count as untranslated
(as `msgfmt` treats them).

Numbers, money and dates are formatted by Babel for the language: integer values passed to
`translate` come out with the language's digit grouping ("2.000" / "2,000"), so pass identifiers
(order numbers, house numbers) as strings; money goes through `kiosk.money.format_eur`, dates through
`format_when`.

Add or change text with `scripts/i18n.py add KEY "Nederlandse tekst" "English text"`; `scripts/i18n.py
check` verifies both catalogs (every key in both languages, the same placeholders, nothing empty).
"""

from __future__ import annotations

import gettext
import io
import string
from functools import cache
from pathlib import Path

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Babel locale per UI language (the same ones kiosk.money uses).
BABEL_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


def catalog_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str, locale_dir: Path = LOCALE_DIR):
    """The Babel `Catalog` of one language, read from its PO file."""
    from babel.messages.pofile import read_po

    path = catalog_path(language, locale_dir)
    with path.open("rb") as handle:
        return read_po(handle, locale=BABEL_LOCALES[language], domain=DOMAIN, abort_invalid=True)


def _usable(message) -> bool:
    return bool(message.id) and isinstance(message.id, str) and bool(message.string) and not message.fuzzy


class _ShowMissing(gettext.NullTranslations):
    """The end of the fallback chain: a key no catalog has shows itself as `[key]`."""

    def gettext(self, message: str) -> str:
        return f"[{message}]"


@cache
def _catalog(language: str):
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    return read_catalog(language, LOCALE_DIR)  # looked up now: tests may point it elsewhere


@cache
def translations(language: str) -> gettext.GNUTranslations:
    """The stdlib gettext translations of `language`, compiled in memory from its PO catalog, with the
    fallback chain (English -> Dutch -> `[key]`) attached."""
    from babel.messages.mofile import write_mo

    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    compiled = io.BytesIO()
    write_mo(compiled, _catalog(language))  # skips fuzzy and untranslated entries, as msgfmt does
    compiled.seek(0)
    result = gettext.GNUTranslations(compiled)
    result.add_fallback(translations(DEFAULT_LANGUAGE) if language != DEFAULT_LANGUAGE else _ShowMissing())
    return result


@cache
def strings(language: str) -> dict[str, str]:
    """Every translated message of `language` (no fallback), key -> text, in catalog order."""
    return {message.id: message.string for message in _catalog(language) if _usable(message)}


def reload() -> None:
    """Forget the loaded catalogs (after a PO file changed in this process: tools and tests)."""
    for cached in (_catalog, translations, strings, _brace_fields):
        cached.cache_clear()


@cache
def _brace_fields(text: str) -> tuple[tuple[str, bool], ...]:
    """(field name, has a format spec or conversion) per placeholder of `text`."""
    return tuple((name, bool(spec) or bool(conversion))
                 for _, name, spec, conversion in string.Formatter().parse(text) if name is not None)


def _localised(language: str, text: str, values: dict[str, object]) -> dict[str, object]:
    """Integers for plain `{field}` placeholders, grouped the language's way by Babel."""
    plain = {name for name, formatted in _brace_fields(text) if not formatted}
    if not any(isinstance(values.get(name), int) and not isinstance(values.get(name), bool) for name in plain):
        return values
    from babel.numbers import format_decimal

    locale = BABEL_LOCALES.get(language, BABEL_LOCALES[DEFAULT_LANGUAGE])
    return {name: format_decimal(value, locale=locale)
            if name in plain and isinstance(value, int) and not isinstance(value, bool) else value
            for name, value in values.items()}


def translate(language: str, key: str, **values: object) -> str:
    """The text of `key` in `language` (Dutch when English has none; `[key]` when no catalog has it),
    with `values` put into its `{placeholders}`."""
    text = translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).gettext(key)
    if not values:
        return text
    return text.format(**_localised(language, text, values))


def other_language(language: str) -> str:
    return "en" if language == "nl" else "nl"


def format_when(moment, language: str) -> str:
    """A date and time as people in that language write it, in the pillar's local time zone."""
    from babel.dates import format_datetime

    return format_datetime(moment.astimezone(), "short", locale="nl_NL" if language == "nl" else "en_GB")
