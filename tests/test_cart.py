import pytest

from kiosk.cart import MAX_QUANTITY, Cart, CartError, CartLine


def line(sku="SKU-1", price=1995, quantity=1):
    return CartLine(sku=sku, product_id="P1", name="Fietsbel", variant_label="zwart",
                    unit_price_cents=price, quantity=quantity)


def test_total_is_sum_of_price_times_quantity():
    cart = Cart()
    cart.add(line("A", 1995, 2))
    cart.add(line("B", 24999, 1))
    assert cart.total_cents == 2 * 1995 + 24999
    assert cart.item_count == 3


def test_adding_the_same_sku_raises_quantity_and_takes_the_newest_price():
    cart = Cart()
    cart.add(line("A", 1995, 1))
    cart.add(line("A", 1895, 2))
    assert len(cart.lines) == 1
    assert cart.lines[0].quantity == 3
    assert cart.lines[0].unit_price_cents == 1895


def test_quantity_is_clamped_and_zero_removes():
    cart = Cart()
    cart.add(line("A", quantity=1))
    cart.set_quantity("A", 500)
    assert cart.lines[0].quantity == MAX_QUANTITY
    cart.set_quantity("A", 0)
    assert cart.is_empty()


def test_bad_lines_are_refused():
    cart = Cart()
    with pytest.raises(CartError):
        cart.add(line(quantity=0))
    with pytest.raises(CartError):
        cart.add(line(price=-1))
    with pytest.raises(CartError):
        cart.set_quantity("missing", 1)


def test_clear_empties_the_cart():
    cart = Cart()
    cart.add(line())
    cart.clear()
    assert cart.is_empty() and cart.total_cents == 0
