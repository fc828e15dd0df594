"""The full card number is never logged and never written to disk (issue 5 point 3).

Payments run end to end — card read (simulated, and through real pcscd + vpcd), sealing,
authorisation and order at the real reference server, the journal — with every logger at DEBUG
into a file; then every file the run wrote (logs, journal and its generations, central database
with its WAL, catalog, pictures) is searched for each test card's full number, plain or spaced.
"""

import asyncio
import logging
import re

import pytest

from kiosk.cart import Cart, CartLine
from kiosk.checkout import new_order_reference
from kiosk.hardware.pcsc_terminal import PcscTerminal
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.hardware.virtual_card import PROFILES
from support.orders import audit
from support.vpcd_card import VpcdCard
from support.checkout import KEY, Kiosk, server  # noqa: F401 (fixture)

PANS = {p.pan for p in PROFILES.values() if getattr(p, "pan", None)}


async def cheap_cart(api) -> Cart:
    """One article under the contactless no-CVM limit (EUR 50): above it the card needs a PIN."""
    page = await api.catalog_page(limit=50)
    product = min(page.items, key=lambda p: p.variants[0].price_cents)
    v = product.variants[0]
    assert v.price_cents <= 5000, "the test catalog has an article under EUR 50"
    cart = Cart()
    cart.add(CartLine(sku=v.sku, product_id=product.id, name=product.name, variant_label="",
                      unit_price_cents=v.price_cents, quantity=1))
    return cart


def forms(pan: str) -> list[bytes]:
    spaced = " ".join(pan[i:i + 4] for i in range(0, len(pan), 4))
    return [pan.encode(), spaced.encode(), pan.encode("utf-16-le")]


@pytest.fixture
def debug_log(tmp_path):
    path = tmp_path / "all.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def leaks_in(paths) -> list[str]:
    found = []
    for path in paths:
        if not path.is_file():
            continue
        data = path.read_bytes()
        for pan in PANS:
            if any(form in data for form in forms(pan)):
                found.append(f"{path.name}: {pan[:6]}…{pan[-4:]}")
    return found


@pytest.mark.hardware
async def test_no_full_card_number_in_any_log_or_file(server, tmp_path, debug_log, vpcd_reader):
    kiosk = await Kiosk(server.base_url, tmp_path / "journal" / "journal.json").open()
    for profile in ("visa", "mastercard", "maestro", "vpay", "declined", "expired"):
        kiosk.checkout._payments._terminal = SimulatedTerminal(KEY, profile=profile, delay_s=0)
        await kiosk.checkout.pay_and_order(await cheap_cart(kiosk.api), new_order_reference())
    # And once through the real card stack: pyscard -> pcscd -> vpcd -> emulated card.
    kiosk.checkout._payments._terminal = PcscTerminal(vpcd_reader, KEY)
    card = VpcdCard("visa")
    reference = new_order_reference()
    paying = asyncio.create_task(kiosk.checkout.pay_and_order(await cheap_cart(kiosk.api), reference))
    await asyncio.sleep(0.3)
    await asyncio.to_thread(card.insert)
    result = await paying
    card.remove()
    assert result.receipt is not None and result.receipt.confirmed
    await kiosk.close()
    logging.getLogger().handlers[-1].flush()

    written = [p for p in tmp_path.rglob("*")] + [p for p in server.db_path.parent.rglob("*")]
    assert debug_log.stat().st_size > 10_000, "the run logged at DEBUG"
    assert re.search(rb"\d{6}\*+\d{4}", debug_log.read_bytes()), "masked numbers do show up in the log"
    assert leaks_in(written) == []
    assert audit(server.db_path).orders >= 5
