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
from kiosk.leaks import scan
from support.orders import audit
from support.vpcd_card import VpcdCard
from support.checkout import KEY, Kiosk, server  # noqa: F401 (fixture)
from support.logs import debug_log  # noqa: F401 (fixture)

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

    assert debug_log.stat().st_size > 10_000, "the run logged at DEBUG"
    assert re.search(rb"\d{6}\*+\d{4}", debug_log.read_bytes()), "masked numbers do show up in the log"
    assert [str(leak) for leak in scan([tmp_path, server.db_path.parent], pans=PANS)] == []
    assert audit(server.db_path).orders >= 5
