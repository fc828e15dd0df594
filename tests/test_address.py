"""Dutch postcode, house number and email: one clear message per field, a clean address when right."""

import pytest

from kiosk.address import check_address, normalise_postcode
from kiosk.i18n import translate


@pytest.mark.parametrize("typed, problem", [
    ("", "address.postcode.required"),
    ("3511", "address.postcode.format"),
    ("0511BK", "address.postcode.format"),   # no postcode starts with 0
    ("35111BK", "address.postcode.format"),
    ("3511B1", "address.postcode.format"),
    ("3511 SS", "address.postcode.unknown"),  # SA, SD and SS are never issued
    ("3511SA", "address.postcode.unknown"),
    ("3511 bk", None),
    (" 3511bk ", None),
])
def test_postcode(typed, problem):
    assert check_address(typed, "1", "", "a@b.nl").errors.get("postcode") == problem


@pytest.mark.parametrize("typed, problem", [
    ("", "address.house_number.required"),
    ("12a", "address.house_number.digits"),
    ("-3", "address.house_number.digits"),
    ("0", "address.house_number.range"),
    ("100000", "address.house_number.range"),
    ("1", None),
    ("99999", None),
])
def test_house_number(typed, problem):
    assert check_address("3511BK", typed, "", "a@b.nl").errors.get("house_number") == problem


@pytest.mark.parametrize("typed, problem", [
    ("", "address.email.required"),
    ("jan", "address.email.format"),
    ("jan@", "address.email.format"),
    ("jan@example", "address.email.format"),
    ("jan de vries@example.nl", "address.email.format"),
    ("jan@example.nl", None),
])
def test_email(typed, problem):
    assert check_address("3511BK", "1", "", typed).errors.get("email") == problem


def test_every_wrong_field_gets_its_own_message_in_both_languages():
    check = check_address("35", "x", "A/B!", "nope")
    assert set(check.errors) == {"postcode", "house_number", "addition", "email"} and check.customer is None
    for key in check.errors.values():
        for lang in ("nl", "en"):
            assert not translate(lang, key).startswith("[")
    assert translate("nl", check.errors["postcode"]) != translate("en", check.errors["postcode"])


def test_a_right_address_comes_out_clean():
    check = check_address("3511 bk", " 12 ", "a", " jan@example.nl ")
    assert check.ok
    assert check.customer.postcode == "3511BK" and check.customer.house_number == 12
    assert check.customer.house_number_addition == "A" and check.customer.email == "jan@example.nl"
    assert normalise_postcode("1234 ab") == "1234AB"
