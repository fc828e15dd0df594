from kiosk.barcode import WedgeDetector, is_valid_ean
from kiosk.contract import Product, Variant
from kiosk import variants


def test_ean_check_digits():
    assert is_valid_ean("8712345678906")
    assert not is_valid_ean("8712345678907")
    assert is_valid_ean("96385074")  # EAN-8
    assert not is_valid_ean("87123456789")
    assert not is_valid_ean("871234567890A")


def feed(detector, text, start=0.0, gap=0.01):
    t = start
    for ch in text:
        detector.key(ch, t)
        t += gap
    return detector.enter(t)


def test_fast_keystrokes_ending_in_enter_are_a_scan():
    assert feed(WedgeDetector(), "8712345678906") == "8712345678906"


def test_a_person_typing_is_not_a_scan():
    assert feed(WedgeDetector(), "8712345678906", gap=0.25) is None


def test_short_bursts_are_not_a_scan_and_a_pause_starts_over():
    detector = WedgeDetector()
    assert feed(detector, "1234") is None
    for ch in "999":
        detector.key(ch, 0.0)
    assert feed(detector, "8712345678906", start=5.0) == "8712345678906"


def product():
    return Product(id="P1", name="Regenjas", category_id="c", variants=[
        Variant(sku="S-zwart", size="S", colour="zwart", price_cents=5000),
        Variant(sku="M-zwart", size="M", colour="zwart", price_cents=5000),
        Variant(sku="M-rood", size="M", colour="rood", price_cents=5500),
    ])


def test_choosing_a_colour_keeps_the_size_when_that_combination_exists():
    assert variants.choose(product(), "M-zwart", colour="rood").sku == "M-rood"


def test_choosing_a_colour_that_needs_another_size_moves_the_size():
    assert variants.choose(product(), "S-zwart", colour="rood").sku == "M-rood"


def test_options_mark_impossible_combinations():
    sizes, colours = variants.options(product(), "S-zwart")
    assert [(o.value, o.enabled, o.selected) for o in sizes] == [("S", True, True), ("M", True, False)]
    assert [(o.value, o.enabled, o.selected) for o in colours] == [("zwart", True, True), ("rood", False, False)]
