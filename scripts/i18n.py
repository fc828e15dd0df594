#!/usr/bin/env python3
"""The kiosk's translation catalogs (kiosk/i18n/locale/<language>/LC_MESSAGES/kiosk.po).

    .venv/bin/python scripts/i18n.py add KEY "Nederlandse tekst" "English text"
    .venv/bin/python scripts/i18n.py check
    .venv/bin/python scripts/i18n.py json2po [--keep-json]

add      appends one message to both catalogs (fails when the key exists; --replace changes it).
         Placeholders are Python's `{name}`, the same ones in both texts; a typed `\\n` is a line
         break.
check    every key in both languages, the same placeholders in both, no empty or fuzzy msgstr, no
         duplicate msgid, valid placeholders, and every key a .kv or .py file names literally
         (`app.t("key"`, `translate(lang, "key"`) exists. Exits 1 with the list of problems.
json2po  converts kiosk/i18n/<language>.json (key -> text, the old format) into the catalogs, in
         the JSON order: keys not yet in a catalog are appended, existing ones get the JSON text.
         Safe to run again. The JSON files are deleted afterwards unless --keep-json.

Every command rewrites the catalogs in one canonical form (Babel's PO writer, unwrapped lines,
`python-brace-format` on messages with placeholders), under a lock, each file replaced atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import string
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

try:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po
except ModuleNotFoundError:  # run with the system python
    sys.exit("i18n: Babel is missing here; run it as .venv/bin/python scripts/i18n.py ...")

from kiosk.i18n import BABEL_LOCALES, DEFAULT_LANGUAGE, DOMAIN, LANGUAGES, LOCALE_DIR, catalog_path  # noqa: E402
from kiosk.i18n import read_catalog as _read_catalog  # noqa: E402

JSON_DIR = LOCALE_DIR.parent
SOURCES = (ROOT / "kiosk",)
HEADER = ("Shopper-facing text of the kiosk ({language}).\n"
          "Message ids are stable keys; placeholders are Python's {{name}}.\n"
          "Add text with: .venv/bin/python scripts/i18n.py add KEY \"Nederlands\" \"English\"")
# Fixed header dates: a rewrite changes only the messages, never the header.
EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
KEY = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*\Z")
# Keys named literally in source: app.t("key", ...), self.app.t("key", ...), translate(lang, "key", ...).
USED_KEY = re.compile(r"""(?:\.t\(\s*|\btranslate\(\s*[\w.]+\s*,\s*)["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")


class I18nError(Exception):
    pass


# --- reading and writing catalogs -----------------------------------------------------------------

def new_catalog(language: str) -> Catalog:
    return Catalog(locale=BABEL_LOCALES[language], domain=DOMAIN, project="kiosk", version="1",
                   header_comment="\n".join(f"# {line}".rstrip() for line in HEADER.format(language=language).splitlines()),
                   creation_date=EPOCH, revision_date=EPOCH, fuzzy=False,
                   language_team=f"kiosk {language}", last_translator="kiosk")


def read_catalog(language: str, locale_dir: Path) -> Catalog:
    if not catalog_path(language, locale_dir).exists():
        return new_catalog(language)
    return _read_catalog(language, locale_dir)


def placeholders(text: str) -> set[str]:
    """The `{field}` names of a text; raises ValueError on a broken one ("{name", "{}")."""
    fields = set()
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None:
            if not name or not name.isidentifier():
                raise ValueError(f"placeholder {{{name}}} must be a name")
            fields.add(name)
    return fields


def _normalise_flags(catalog: Catalog) -> None:
    """`python-brace-format` exactly on messages whose text has placeholders (Babel derives the flag
    from the msgid, which is a key here, so it is set after reading)."""
    for message in catalog:
        if not message.id:
            continue
        try:
            has_fields = bool(message.string) and bool(placeholders(message.string))
        except ValueError:
            has_fields = False
        if has_fields:
            message.flags.add("python-brace-format")
        else:
            message.flags.discard("python-brace-format")


def write_catalog(catalog: Catalog, language: str, locale_dir: Path) -> None:
    _normalise_flags(catalog)
    catalog.revision_date = EPOCH
    path = catalog_path(language, locale_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            write_po(handle, catalog, width=0, sort_output=False, include_previous=False)
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(locale_dir: Path) -> Iterator[None]:
    """One writer at a time (several engineers may run `add` at once): a lock on the locale folder."""
    locale_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(locale_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _reload_runtime(locale_dir: Path) -> None:
    """A catalog changed: this process reads it again at its next lookup."""
    import kiosk.i18n

    kiosk.i18n.reload()


# --- add ------------------------------------------------------------------------------------------

def add(key: str, texts: dict[str, str], locale_dir: Path = LOCALE_DIR, *, replace: bool = False) -> None:
    if not KEY.match(key):
        raise I18nError(f"key {key!r}: use lowercase words joined by dots, e.g. cart.title")
    for language in LANGUAGES:
        if not texts.get(language, "").strip():
            raise I18nError(f"key {key}: the {language} text is empty")
    try:
        fields = {language: placeholders(texts[language]) for language in LANGUAGES}
    except ValueError as exc:
        raise I18nError(f"key {key}: {exc}") from None
    if len({frozenset(f) for f in fields.values()}) > 1:
        raise I18nError(f"key {key}: the placeholders differ: "
                        + ", ".join(f"{language} {sorted(f)}" for language, f in fields.items()))
    with locked(locale_dir):
        catalogs = {language: read_catalog(language, locale_dir) for language in LANGUAGES}
        existing = [language for language, catalog in catalogs.items() if key in catalog]
        if existing and not replace:
            raise I18nError(f"key {key} exists already ({', '.join(existing)}); pass --replace to change it")
        for language, catalog in catalogs.items():
            if key in catalog:
                catalog[key].string = texts[language]
                catalog[key].flags.discard("fuzzy")
            else:
                catalog.add(key, texts[language])
        for language, catalog in catalogs.items():
            write_catalog(catalog, language, locale_dir)
    _reload_runtime(locale_dir)


# --- json2po --------------------------------------------------------------------------------------

def json2po(json_dir: Path = JSON_DIR, locale_dir: Path = LOCALE_DIR, *, keep_json: bool = False) -> dict[str, tuple[int, int]]:
    """Returns (added, updated) per language. Reads every JSON file before writing any catalog, and
    deletes the JSON files only after both catalogs were written."""
    sources = {}
    for language in LANGUAGES:
        path = json_dir / f"{language}.json"
        if path.exists():
            try:
                sources[language] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise I18nError(f"{path}: not valid JSON: {exc}") from None
            bad = [k for k, v in sources[language].items() if not isinstance(v, str)]
            if bad:
                raise I18nError(f"{path}: values must be text: {', '.join(bad)}")
    if not sources:
        raise I18nError(f"no {'/'.join(f'{language}.json' for language in LANGUAGES)} in {json_dir}")
    counts = {}
    with locked(locale_dir):
        for language in LANGUAGES:
            catalog = read_catalog(language, locale_dir)
            added = updated = 0
            for key, text in sources.get(language, {}).items():
                if key in catalog:
                    if catalog[key].string != text:
                        catalog[key].string = text
                        catalog[key].flags.discard("fuzzy")
                        updated += 1
                else:
                    catalog.add(key, text)
                    added += 1
            write_catalog(catalog, language, locale_dir)
            counts[language] = (added, updated)
    if not keep_json:
        for language in sources:
            (json_dir / f"{language}.json").unlink()
    _reload_runtime(locale_dir)
    return counts


# --- check ----------------------------------------------------------------------------------------

def _raw_msgids(path: Path) -> list[str]:
    """The msgids as written in the file (Babel's reader merges duplicates silently)."""
    ids = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r'msgid "(.*)"\s*$', line)
        if match and match.group(1):
            ids.append(match.group(1))
    return ids


def used_keys(sources: tuple[Path, ...] = SOURCES) -> dict[str, list[str]]:
    """Keys named literally in .kv and .py files -> where."""
    used: dict[str, list[str]] = {}
    for source in sources:
        for path in sorted([*source.rglob("*.kv"), *source.rglob("*.py")]):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for key in USED_KEY.findall(line):
                    used.setdefault(key, []).append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}")
    return used


def check(locale_dir: Path = LOCALE_DIR, sources: tuple[Path, ...] | None = SOURCES) -> list[str]:
    """Every problem found, one line each; [] when the catalogs are complete and consistent."""
    problems: list[str] = []
    catalogs: dict[str, dict[str, object]] = {}
    for language in LANGUAGES:
        path = catalog_path(language, locale_dir)
        if not path.exists():
            problems.append(f"{language}: no catalog at {path}")
            continue
        try:
            catalog = _read_catalog(language, locale_dir)
        except Exception as exc:  # a PO syntax error: say where
            problems.append(f"{language}: {path} cannot be read: {exc}")
            continue
        seen: set[str] = set()
        for msgid in _raw_msgids(path):
            if msgid in seen:
                problems.append(f"{language}: {msgid}: appears more than once")
            seen.add(msgid)
        catalogs[language] = {message.id: message for message in catalog if message.id}
    if len(catalogs) < len(LANGUAGES):
        return problems
    all_keys = list(dict.fromkeys(key for messages in catalogs.values() for key in messages))
    for key in all_keys:
        if not isinstance(key, str) or not KEY.match(key):
            problems.append(f"{key!r}: not a key (lowercase words joined by dots)")
            continue
        fields = {}
        for language, messages in catalogs.items():
            message = messages.get(key)
            if message is None:
                problems.append(f"{language}: {key}: missing")
                continue
            if not isinstance(message.string, str):
                problems.append(f"{language}: {key}: plural forms are not used here; put the count in the text")
                continue
            if not message.string.strip():
                problems.append(f"{language}: {key}: empty msgstr")
                continue
            if message.fuzzy:
                problems.append(f"{language}: {key}: marked fuzzy (unchecked translation): review it and drop the flag")
            try:
                fields[language] = placeholders(message.string)
            except ValueError as exc:
                problems.append(f"{language}: {key}: {exc} in {message.string!r}")
        if len(fields) == len(LANGUAGES) and len({frozenset(f) for f in fields.values()}) > 1:
            problems.append(f"{key}: placeholders differ: "
                            + ", ".join(f"{language} {sorted(f)}" for language, f in fields.items()))
    if sources:
        known = set(catalogs[DEFAULT_LANGUAGE])
        for key, places in used_keys(sources).items():
            if key not in known:
                problems.append(f"{key}: used in {', '.join(places)} but in no catalog")
    return problems


# --- command line ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/i18n.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="append a message to both catalogs")
    adding.add_argument("key")
    adding.add_argument("nl", help="the Dutch text")
    adding.add_argument("en", help="the English text")
    adding.add_argument("--replace", action="store_true", help="change the texts of an existing key")
    commands.add_parser("check", help="verify both catalogs")
    converting = commands.add_parser("json2po", help="convert kiosk/i18n/*.json into the catalogs")
    converting.add_argument("--keep-json", action="store_true", help="leave the JSON files in place")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            texts = {"nl": args.nl.replace("\\n", "\n"), "en": args.en.replace("\\n", "\n")}
            add(args.key, texts, LOCALE_DIR, replace=args.replace)
            print(f"added {args.key}" if not args.replace else f"set {args.key}")
        elif args.command == "json2po":
            for language, (added, updated) in json2po(JSON_DIR, LOCALE_DIR, keep_json=args.keep_json).items():
                print(f"{language}: {added} added, {updated} updated -> {catalog_path(language, LOCALE_DIR)}")
            if not args.keep_json:
                print("JSON files deleted; add text with: scripts/i18n.py add KEY \"nl\" \"en\"")
        if args.command in ("check", "json2po"):
            problems = check(LOCALE_DIR)
            if problems:
                print(f"{len(problems)} problem(s) in the translation catalogs:", file=sys.stderr)
                for problem in problems:
                    print(f"  {problem}", file=sys.stderr)
                return 1
            count = sum(1 for message in _read_catalog(DEFAULT_LANGUAGE, LOCALE_DIR) if message.id)
            print(f"ok: {count} messages, complete in {', '.join(LANGUAGES)}")
    except I18nError as exc:
        print(f"i18n: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
