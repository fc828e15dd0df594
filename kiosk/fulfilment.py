"""How the shopper gets the cart: take it here, pick it up in a shop, or have it delivered.

Before paying, the central API quotes the cart (today's prices, and every way to get it with its
cost, date and total) and then holds the stock of the chosen way (a reservation). Stock that vanished
since the article page shows up here, BEFORE the card, with the other ways that still work. The
kiosk adds no price of its own: the amount charged is the quote's total for the chosen option.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kiosk.api import ApiConflict, ApiError
from kiosk.cart import Cart
from kiosk.checkout import CheckoutPlan
from kiosk.contract import (
    Fulfilment,
    FulfilmentOption,
    ItemIn,
    Quote,
    QuoteRequest,
    ReservationRequest,
    Shortage,
    Store,
)
from kiosk.journal import Customer
from kiosk.stores import StoreDirectory

log = logging.getLogger("kiosk.fulfilment")


@dataclass(frozen=True)
class PriceChange:
    sku: str
    name: str
    was_cents: int
    now_cents: int


@dataclass(frozen=True)
class Choice:
    """One way to get the cart, ready to show: the option plus the shop and its distance."""

    option: FulfilmentOption
    store: Store | None = None
    distance_km: float | None = None

    @property
    def key(self) -> str:
        return f"{self.option.type}:{self.option.store_id or ''}"

    @property
    def type(self) -> str:
        return self.option.type


@dataclass(frozen=True)
class Offer:
    quote: Quote
    price_changes: tuple[PriceChange, ...]
    choices: tuple[Choice, ...]  # take it here first, then home delivery, then pickup shops nearest first

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)

    @property
    def take_now(self) -> Choice | None:
        return next((c for c in self.choices if c.type == "take_now"), None)

    @property
    def delivery(self) -> Choice | None:
        return next((c for c in self.choices if c.type == "delivery"), None)

    @property
    def pickups(self) -> list[Choice]:
        return [c for c in self.choices if c.type == "pickup"]


class StockVanished(Exception):
    """The chosen way cannot be held any more; `offer` is a fresh one with what still works."""

    def __init__(self, shortages: Sequence[Shortage], offer: Offer | None) -> None:
        super().__init__(f"stock vanished for {', '.join(s.sku for s in shortages) or 'the cart'}")
        self.shortages = tuple(shortages)
        self.offer = offer


def _items(cart: Cart) -> list[ItemIn]:
    return [ItemIn(sku=line.sku, quantity=line.quantity) for line in cart.lines]


def new_reservation_id() -> str:
    return f"res-{secrets.token_hex(10)}"


class FulfilmentService:
    def __init__(self, api, stores: StoreDirectory, *, promise_ttl_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._stores = stores
        self._promise_ttl_s = promise_ttl_s
        self._clock = clock
        self._promises: dict[str, tuple[float, FulfilmentOption | None]] = {}

    async def offer(self, cart: Cart) -> Offer:
        """Quote the cart; raises ApiError when the central API cannot be asked (nothing to offer)."""
        await self._stores.load()
        quote = await self._api.quote(QuoteRequest(store_id=self._stores.own_store_id, lines=_items(cart)))
        in_cart = {line.sku: line for line in cart.lines}
        changes = tuple(
            PriceChange(q.sku, q.name, in_cart[q.sku].unit_price_cents, q.unit_price_cents)
            for q in quote.lines if q.sku in in_cart and in_cart[q.sku].unit_price_cents != q.unit_price_cents)
        return Offer(quote, changes, self._choices(quote))

    def _choices(self, quote: Quote) -> tuple[Choice, ...]:
        take_now = [Choice(o, self._stores.get(o.store_id)) for o in quote.options if o.type == "take_now"]
        delivery = [Choice(o) for o in quote.options if o.type == "delivery"]
        by_store = {o.store_id: o for o in quote.options if o.type == "pickup" and o.store_id}
        if take_now:
            # "Pick it up here" next to "take it with you now" would only puzzle the shopper.
            by_store.pop(self._stores.own_store_id, None)
        pickups = [Choice(by_store[n.id], n.store, n.distance_km)
                   for n in self._stores.by_distance(list(by_store))]
        return tuple(take_now + delivery + pickups)

    async def delivery_option(self, sku: str) -> FulfilmentOption | None:
        """The home-delivery promise for one of `sku` (for the article page); None when not deliverable.

        Kept for a few minutes: a promise is a day, and paging back and forth through articles must
        not cost a quote request per page."""
        now = self._clock()
        cached = self._promises.get(sku)
        if cached is not None and now - cached[0] < self._promise_ttl_s:
            return cached[1]
        quote = await self._api.quote(QuoteRequest(store_id=self._stores.own_store_id,
                                                   lines=[ItemIn(sku=sku, quantity=1)]))
        option = next((o for o in quote.options if o.type == "delivery"), None)
        if len(self._promises) > 1000:
            self._promises.clear()  # a bound, not an LRU: these are cheap to ask again
        self._promises[sku] = (now, option)
        return option

    @staticmethod
    def accept_prices(cart: Cart, offer: Offer) -> None:
        """The shopper saw and confirmed the new prices: the cart carries them from now on."""
        for change in offer.price_changes:
            cart.reprice(change.sku, change.now_cents)

    async def reserve(self, cart: Cart, choice: Choice, customer: Customer | None = None) -> CheckoutPlan:
        """Hold the stock of the chosen way; raises StockVanished (with a fresh offer) when it is gone.

        Other ApiErrors propagate: the shopper may try again, nothing was held or charged."""
        if choice.type == "delivery" and customer is None:
            raise ValueError("home delivery needs the delivery address")
        fulfilment = Fulfilment(type=choice.type, store_id=choice.option.store_id, cost_cents=choice.option.cost_cents)
        request = ReservationRequest(reservation_id=new_reservation_id(), store_id=self._stores.own_store_id,
                                     lines=_items(cart), fulfilment=fulfilment)
        try:
            reservation = await self._api.reserve(request)
        except ApiConflict as exc:
            if exc.code not in ("stock_unavailable", "delivery_cost_changed", "price_changed"):
                raise
            log.info("%s for %s: offering the other ways", exc.code, choice.key)
            try:
                fresh = await self.offer(cart)
            except ApiError:
                fresh = None
            raise StockVanished(exc.shortages, fresh) from exc
        return CheckoutPlan(fulfilment=fulfilment, total_cents=choice.option.total_cents,
                            reservation_id=reservation.reservation_id,
                            customer=customer if choice.type == "delivery" else None,
                            ready_on=choice.option.ready_on)

    async def release(self, reservation_id: str | None) -> None:
        """The shopper went back or away: let others have the stock now (it would lapse anyway)."""
        if not reservation_id:
            return
        try:
            await self._api.release_reservation(reservation_id)
        except ApiError as exc:
            log.info("reservation %s not released (%s); it lapses by itself", reservation_id, exc)
