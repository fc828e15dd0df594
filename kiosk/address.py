"""Checking a Dutch delivery address and an email address as the shopper types them.

Each field gets its own message code (`address.<field>.<problem>`, translated on screen), so the
shopper learns exactly which box to fix. Only the form is checked here; whether the address exists
is the central API's business (it has the postcode table), not the pillar's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kiosk.journal import Customer

# 1000-9999 and two letters; PostNL never issues the letter pairs SA, SD and SS.
_POSTCODE = re.compile(r"^[1-9][0-9]{3}[A-Z]{2}$")
_UNUSED_LETTERS = {"SA", "SD", "SS"}
_ADDITION = re.compile(r"^[A-Za-z0-9 -]{0,8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]{2,}$")


def normalise_postcode(text: str) -> str:
    """'1234 ab' -> '1234AB': people type spaces and lower case; the API wants neither."""
    return re.sub(r"\s+", "", text).upper()


@dataclass(frozen=True)
class AddressCheck:
    customer: Customer | None  # the cleaned address when every field is fine
    errors: dict[str, str] = field(default_factory=dict)  # field -> message key

    @property
    def ok(self) -> bool:
        return not self.errors


def check_postcode(text: str) -> str | None:
    postcode = normalise_postcode(text)
    if not postcode:
        return "address.postcode.required"
    if not _POSTCODE.match(postcode):
        return "address.postcode.format"
    if postcode[4:] in _UNUSED_LETTERS:
        return "address.postcode.unknown"
    return None


def check_house_number(text: str) -> str | None:
    text = text.strip()
    if not text:
        return "address.house_number.required"
    if not text.isdigit():
        return "address.house_number.digits"
    if not 1 <= int(text) <= 99_999:
        return "address.house_number.range"
    return None


def check_addition(text: str) -> str | None:
    return None if _ADDITION.match(text.strip()) else "address.addition.format"


def check_email(text: str) -> str | None:
    text = text.strip()
    if not text:
        return "address.email.required"
    if len(text) > 254 or not _EMAIL.match(text):
        return "address.email.format"
    return None


def check_address(postcode: str, house_number: str, addition: str, email: str) -> AddressCheck:
    errors = {name: problem for name, problem in (
        ("postcode", check_postcode(postcode)), ("house_number", check_house_number(house_number)),
        ("addition", check_addition(addition)), ("email", check_email(email)),
    ) if problem}
    if errors:
        return AddressCheck(None, errors)
    return AddressCheck(Customer(postcode=normalise_postcode(postcode), house_number=int(house_number.strip()),
                                 house_number_addition=addition.strip().upper(), email=email.strip()))
