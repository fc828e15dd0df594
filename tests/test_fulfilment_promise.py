"""The article page's delivery promise is asked once per article for a few minutes, not per visit."""

from datetime import UTC, date, datetime

from kiosk.contract import FulfilmentOption, Quote
from kiosk.fulfilment import FulfilmentService
from kiosk.stores import StoreDirectory


class Api:
    def __init__(self):
        self.quotes = 0

    async def stores(self):
        return []

    async def quote(self, request):
        self.quotes += 1
        option = FulfilmentOption(type="delivery", cost_cents=495, total_cents=2990,
                                  ready_on=date(2026, 11, 25), in_stock=True)
        return Quote(as_of=datetime.now(UTC), lines=[], subtotal_cents=2495, options=[option])


async def test_the_delivery_promise_is_cached_per_sku_for_its_ttl():
    api, clock = Api(), [0.0]
    service = FulfilmentService(api, StoreDirectory(api, "here"), promise_ttl_s=300, clock=lambda: clock[0])
    first = await service.delivery_option("s1")
    assert first.ready_on == date(2026, 11, 25) and api.quotes == 1
    clock[0] = 299
    assert await service.delivery_option("s1") == first and api.quotes == 1
    await service.delivery_option("s2")
    assert api.quotes == 2
    clock[0] = 301
    await service.delivery_option("s1")
    assert api.quotes == 3
