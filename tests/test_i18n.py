"""One translation mechanism: gettext PO catalogs (kiosk/i18n/locale), read with Babel, looked up
through stdlib gettext; the catalog tool (scripts/i18n.py); and no text written into .kv files."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

import pytest

import kiosk.i18n
from kiosk.i18n import LANGUAGES, catalog_path, format_when, strings, translate

ROOT = Path(__file__).resolve().parent.parent
SCREENS = ROOT / "kiosk" / "screens"


def load_tool():
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("i18n_tool", module)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


# --- the shipped catalogs -----------------------------------------------------------------------

def test_the_catalogs_are_complete_and_consistent():
    """Every key in both languages, the same placeholders, nothing empty or fuzzy, no duplicate, and
    every key a .kv or .py file names exists (what `scripts/i18n.py check` says)."""
    assert tool.check() == []


def test_the_catalogs_are_the_only_place_for_text():
    """The JSON files of before are converted and gone; text added to one of them by mistake is found."""
    left = sorted(path.name for path in (ROOT / "kiosk" / "i18n").glob("*.json"))
    assert left == [], f"convert them: .venv/bin/python scripts/i18n.py json2po ({', '.join(left)})"


def test_every_language_has_the_same_keys():
    keys = {lang: set(strings(lang)) for lang in LANGUAGES}
    assert keys["nl"] == keys["en"]
    assert len(keys["nl"]) > 100


def test_placeholders_match_between_languages():
    for key, dutch in strings("nl").items():
        assert tool.placeholders(dutch) == tool.placeholders(strings("en")[key]), key


def test_messages_with_placeholders_are_flagged_python_brace_format():
    for lang in LANGUAGES:
        text = catalog_path(lang).read_text(encoding="utf-8")
        blocks = [block for block in text.split("\n\n") if "\nmsgid " in f"\n{block}" and 'msgid ""' not in block]
        assert blocks
        for block in blocks:
            has_fields = "{" in block.split("msgstr", 1)[1]
            assert ("python-brace-format" in block) == has_fields, block


def test_every_key_named_in_kv_files_exists():
    used = {key for key, places in tool.used_keys().items() if any(".kv:" in place for place in places)}
    assert used, "the kv files should take their text from the translations"
    assert used <= set(strings("nl")), used - set(strings("nl"))


def test_lookups_go_through_stdlib_gettext():
    import gettext

    assert isinstance(kiosk.i18n.translations("en"), gettext.GNUTranslations)
    assert translate("nl", "common.back") == "Terug" and translate("en", "common.back") == "Back"


def test_missing_key_shows_itself():
    assert translate("en", "no.such.key") == "[no.such.key]"
    assert translate("nl", "no.such.key", count=3) == "[no.such.key]"
    assert translate("nl", "products.from", price="€ 1") == "vanaf € 1"


def test_an_unknown_language_gets_dutch():
    assert translate("de", "common.back") == "Terug"
    with pytest.raises(ValueError):
        strings("de")


def test_counts_are_grouped_the_languages_way():
    assert translate("nl", "categories.count", count=2000) == "2.000 artikelen"
    assert translate("en", "categories.count", count=2000) == "2,000 articles"
    assert translate("nl", "categories.count", count="2000") == "2000 artikelen"  # text stays as given


def test_dates_follow_the_language():
    from datetime import datetime, timezone

    moment = datetime(2025, 5, 13, 12, 5, tzinfo=timezone.utc)
    assert format_when(moment, "nl") != format_when(moment, "en")


# --- the mechanism on a catalog of its own ---------------------------------------------------------

def write_catalogs(locale_dir: Path, nl: dict[str, str], en: dict[str, str]) -> None:
    for lang, texts in (("nl", nl), ("en", en)):
        catalog = tool.new_catalog(lang)
        for key, text in texts.items():
            catalog.add(key, text)
        tool.write_catalog(catalog, lang, locale_dir)


@pytest.fixture
def own_catalogs(tmp_path, monkeypatch):
    """Point kiosk.i18n at catalogs in tmp_path (and back afterwards)."""
    monkeypatch.setattr(kiosk.i18n, "LOCALE_DIR", tmp_path)
    kiosk.i18n.reload()
    yield tmp_path
    monkeypatch.undo()
    kiosk.i18n.reload()


def test_english_falls_back_to_dutch_and_then_to_the_key(own_catalogs):
    write_catalogs(own_catalogs, {"a.b": "Alleen Nederlands", "c.d": "Hallo {name}"}, {"c.d": "Hello {name}"})
    kiosk.i18n.reload()
    assert translate("en", "a.b") == "Alleen Nederlands"
    assert translate("en", "c.d", name="Jan") == "Hello Jan"
    assert translate("nl", "c.d", name="Jan") == "Hallo Jan"
    assert translate("en", "x.y") == "[x.y]"
    assert strings("en") == {"c.d": "Hello {name}"}


def test_fuzzy_and_empty_entries_count_as_untranslated(own_catalogs):
    write_catalogs(own_catalogs, {"a.b": "Goed", "c.d": "Ook goed"}, {"a.b": "Good?", "c.d": ""})
    path = catalog_path("en", own_catalogs)
    path.write_text(path.read_text(encoding="utf-8").replace('msgid "a.b"', '#, fuzzy\nmsgid "a.b"'), encoding="utf-8")
    kiosk.i18n.reload()
    assert translate("en", "a.b") == "Goed" and translate("en", "c.d") == "Ook goed"
    problems = tool.check(own_catalogs, sources=None)
    assert any("a.b" in p and "fuzzy" in p for p in problems) and any("c.d" in p and "empty" in p for p in problems)


def test_an_edited_po_is_what_the_next_process_reads(own_catalogs):
    """No compiled .mo on disk that could lag behind: the .po is the catalog."""
    write_catalogs(own_catalogs, {"a.b": "Eerst"}, {"a.b": "First"})
    kiosk.i18n.reload()
    assert translate("nl", "a.b") == "Eerst"
    path = catalog_path("nl", own_catalogs)
    path.write_text(path.read_text(encoding="utf-8").replace('"Eerst"', '"Daarna"'), encoding="utf-8")
    kiosk.i18n.reload()
    assert translate("nl", "a.b") == "Daarna"
    assert not list(own_catalogs.rglob("*.mo"))


# --- the tool --------------------------------------------------------------------------------------

def test_json2po_keeps_the_order_and_can_run_again(tmp_path):
    json_dir, locale_dir = tmp_path / "json", tmp_path / "locale"
    json_dir.mkdir()
    nl = {"z.first": "Eerst", "a.second": "Hallo {name},\nwelkom", "m.third": "Derde"}
    en = {"z.first": "First", "a.second": "Hello {name},\nwelcome", "m.third": "Third"}
    for lang, texts in (("nl", nl), ("en", en)):
        (json_dir / f"{lang}.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    assert tool.json2po(json_dir, locale_dir) == {"nl": (3, 0), "en": (3, 0)}
    assert not list(json_dir.glob("*.json")), "the JSON files are gone once converted"
    for lang, texts in (("nl", nl), ("en", en)):
        catalog = kiosk.i18n.read_catalog(lang, locale_dir)
        assert [(m.id, m.string) for m in catalog if m.id] == list(texts.items())
    assert "#, python-brace-format\nmsgid \"a.second\"" in catalog_path("nl", locale_dir).read_text(encoding="utf-8")
    assert tool.check(locale_dir, sources=None) == []

    # Someone added a key to the JSON meanwhile (and changed one): a second run appends and updates.
    (json_dir / "nl.json").write_text(json.dumps({"m.third": "Derde!", "b.new": "Nieuw"}), encoding="utf-8")
    (json_dir / "en.json").write_text(json.dumps({"b.new": "New"}), encoding="utf-8")
    before = catalog_path("en", locale_dir).read_text(encoding="utf-8")
    assert tool.json2po(json_dir, locale_dir) == {"nl": (1, 1), "en": (1, 0)}
    nl_catalog = kiosk.i18n.read_catalog("nl", locale_dir)
    assert [m.id for m in nl_catalog if m.id] == ["z.first", "a.second", "m.third", "b.new"]
    assert nl_catalog["m.third"].string == "Derde!"
    assert catalog_path("en", locale_dir).read_text(encoding="utf-8").startswith(before.rstrip("\n"))
    assert tool.check(locale_dir, sources=None) == []


def test_add_appends_to_both_catalogs_and_refuses_mistakes(tmp_path):
    write_catalogs(tmp_path, {"a.b": "Een"}, {"a.b": "One"})
    tool.add("c.d", {"nl": "Nog {count} over", "en": "{count} left"}, tmp_path)
    for lang, text in (("nl", "Nog {count} over"), ("en", "{count} left")):
        catalog = kiosk.i18n.read_catalog(lang, tmp_path)
        assert [m.id for m in catalog if m.id] == ["a.b", "c.d"] and catalog["c.d"].string == text
    assert tool.check(tmp_path, sources=None) == []
    with pytest.raises(tool.I18nError, match="exists"):
        tool.add("c.d", {"nl": "x", "en": "y"}, tmp_path)
    with pytest.raises(tool.I18nError, match="placeholders differ"):
        tool.add("e.f", {"nl": "{count} stuks", "en": "{n} pieces"}, tmp_path)
    with pytest.raises(tool.I18nError, match="empty"):
        tool.add("e.f", {"nl": "Iets", "en": " "}, tmp_path)
    with pytest.raises(tool.I18nError, match="key"):
        tool.add("Not A Key", {"nl": "a", "en": "b"}, tmp_path)
    tool.add("c.d", {"nl": "Nog {count}", "en": "{count} more"}, tmp_path, replace=True)
    assert kiosk.i18n.read_catalog("en", tmp_path)["c.d"].string == "{count} more"


def test_add_from_the_command_line(tmp_path, monkeypatch, capsys):
    write_catalogs(tmp_path, {"a.b": "Een"}, {"a.b": "One"})
    monkeypatch.setattr(tool, "LOCALE_DIR", tmp_path)
    assert tool.main(["add", "c.d", "Twee", "Two"]) == 0
    assert kiosk.i18n.read_catalog("nl", tmp_path)["c.d"].string == "Twee"
    assert tool.main(["add", "c.d", "Twee", "Two"]) == 1
    assert "exists" in capsys.readouterr().err
    assert tool.main(["add", "e.f", r"Regel\nTwee {n}", r"Line\nTwo {n}"]) == 0  # as typed in a shell
    assert kiosk.i18n.read_catalog("en", tmp_path)["e.f"].string == "Line\nTwo {n}"


def test_check_lists_every_problem(tmp_path):
    write_catalogs(tmp_path, {"a.b": "Hallo {name}", "only.dutch": "Ja", "c.d": "Leeg"},
                   {"a.b": "Hello {naam}", "c.d": ""})
    path = catalog_path("en", tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + '\nmsgid "a.b"\nmsgstr "Again"\n', encoding="utf-8")
    problems = "\n".join(tool.check(tmp_path, sources=None))
    assert "en: only.dutch: missing" in problems
    assert "a.b: placeholders differ" in problems
    assert "en: c.d: empty msgstr" in problems
    assert "en: a.b: appears more than once" in problems


def test_check_finds_keys_used_in_source_but_in_no_catalog(tmp_path):
    write_catalogs(tmp_path, {"a.b": "Een"}, {"a.b": "One"})
    source = tmp_path / "src"
    source.mkdir()
    (source / "x.kv").write_text('<X>:\n    text: app.t("a.b", app.lang) + app.t("no.such", app.lang)\n')
    (source / "y.py").write_text('translate(language, "also.missing", count=1)\n')
    problems = tool.check(tmp_path, sources=(source,))
    assert [p.split(":")[0] for p in problems] == ["no.such", "also.missing"]


# --- no text written into .kv files ----------------------------------------------------------------

def _kv_rules(path: Path):
    from kivy.lang.parser import Parser

    parser = Parser(content=path.read_text(encoding="utf-8"), filename=str(path))
    stack = [rule for _, rule in parser.rules] + ([parser.root] if parser.root else [])
    while stack:
        rule = stack.pop()
        yield rule
        stack.extend(rule.children)


def _text_properties() -> set[str]:
    """Properties that carry shopper text: `text`, `hint_text`, `*_text`, and every property some .kv
    fills from the translations (`label: app.t(...)`)."""
    names = {"text", "hint_text"}
    for path in SCREENS.glob("*.kv"):
        for rule in _kv_rules(path):
            names |= {name for name, prop in rule.properties.items() if ".t(" in prop.value}
    return names


def displayed_literals(node: ast.AST) -> list[str]:
    """The string literals whose characters can end up in the value of a text expression: the
    expression itself, either branch of `x if c else y`, operands of `+`/`%`/`or`, f-string parts,
    `.format` / `.join` receivers and arguments, `str(...)`, and the values put into a translation
    (`app.t(key, lang, name="...")`). Not: translation keys, comparisons, subscripts, other calls'
    arguments (field names, states)."""
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) else []
    if isinstance(node, ast.IfExp):
        return displayed_literals(node.body) + displayed_literals(node.orelse)
    if isinstance(node, ast.BinOp):
        return displayed_literals(node.left) + displayed_literals(node.right)
    if isinstance(node, ast.BoolOp):
        return [s for value in node.values for s in displayed_literals(value)]
    if isinstance(node, ast.JoinedStr):
        return [s for value in node.values for s in displayed_literals(value)]
    if isinstance(node, ast.FormattedValue):
        return displayed_literals(node.value)
    if isinstance(node, (ast.List, ast.Tuple)):
        return [s for element in node.elts for s in displayed_literals(element)]
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        keywords = [s for keyword in node.keywords for s in displayed_literals(keyword.value)]
        if name in ("t", "translate"):
            return keywords
        if name in ("format", "join") and isinstance(func, ast.Attribute):
            return displayed_literals(func.value) + [s for arg in node.args for s in displayed_literals(arg)] + keywords
        if name in ("str", "upper", "lower", "capitalize", "title", "strip"):
            receiver = displayed_literals(func.value) if isinstance(func, ast.Attribute) else []
            return receiver + [s for arg in node.args for s in displayed_literals(arg)]
    return []


def hard_coded_texts(paths) -> list[str]:
    """`file:line: property: "literal"` for every text property showing a literal with letters."""
    names = _text_properties()
    found = []
    for path in paths:
        for rule in _kv_rules(path):
            for name, prop in rule.properties.items():
                if name not in names:
                    continue
                literals = displayed_literals(ast.parse(prop.value.strip(), mode="eval").body)
                found += [(path.name, prop.line + 1, f"{path.name}:{prop.line + 1}: {name}: {literal!r}")
                          for literal in literals if any(char.isalpha() for char in literal)]
    return [text for *_, text in sorted(found)]


def test_no_kv_file_writes_text_of_its_own():
    """Text comes from the catalogs (`app.t(key, app.lang)`); symbols such as "-", "+" and "‹ " may
    be written in place."""
    paths = sorted(SCREENS.glob("*.kv"))
    assert paths
    assert hard_coded_texts(paths) == []


def test_the_kv_check_catches_written_text(tmp_path):
    kv = tmp_path / "sample.kv"
    kv.write_text(
        "<Sample@BoxLayout>:\n"
        "    KButton:\n"
        "        text: \"Betalen\"\n"
        "    Label:\n"
        "        text: root.name or 'Geen naam'\n"
        "    Label:\n"
        "        text: \"Totaal: \" + app.money(1, app.lang)\n"
        "    Label:\n"
        "        text: app.t(\"cart.title\", app.lang) if root.ok else f\"{root.n} stuks\"\n"
        "    Label:\n"
        "        label: \"Postcode\"\n"
        "    Label:\n"
        "        text: \"‹ \" + app.t(\"common.back\", app.lang) + (\"  +\" if root.x == \"open\" else \"-\")\n"
        "    Label:\n"
        "        text: root.error_text(app.lang, root.errors, \"postcode\")\n",
        encoding="utf-8")
    assert [line.split(": ", 2)[2] for line in hard_coded_texts([kv])] == [
        "'Betalen'", "'Geen naam'", "'Totaal: '", "' stuks'", "'Postcode'"]
