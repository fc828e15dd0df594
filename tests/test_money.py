import pytest

from kiosk.money import format_eur, multiply


def test_dutch_euros_use_dot_thousands_and_comma_decimals():
    assert format_eur(123450, "nl") == "€\xa01.234,50"
    assert format_eur(5, "nl") == "€\xa00,05"


def test_english_euros():
    assert format_eur(123450, "en") == "€1,234.50"


def test_float_money_is_refused():
    with pytest.raises(TypeError):
        format_eur(12.5)  # type: ignore[arg-type]


def test_multiply_rejects_negative_quantity():
    assert multiply(1995, 3) == 5985
    with pytest.raises(ValueError):
        multiply(1995, -1)
