"""Text for stock, shops and ways to get an order, in the shopper's language. Pure functions.

The article page's stock block and the checkout's choices are built here from the services' plain
data, so what the shopper reads is testable without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_date, format_time

from kiosk.fulfilment import Choice
from kiosk.i18n import translate
from kiosk.money import format_eur
from kiosk.stock import Availability, StockSnapshot, availability
from kiosk.stores import SHOP_ZONE, NearbyStore, OpeningState, StoreDirectory, opening_state

_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


def _locale(language: str) -> str:
    return _LOCALES.get(language, "nl_NL")


def day_text(day: date, today: date, language: str) -> str:
    """'vandaag' / 'morgen' / 'wo 25 nov' — people plan by weekday, not by date alone."""
    if day == today:
        return translate(language, "day.today")
    if day == today + timedelta(days=1):
        return translate(language, "day.tomorrow")
    return format_date(day, "EEE d MMM", locale=_locale(language))


def opening_text(state: OpeningState, now: datetime, language: str) -> str:
    if state.open_now and state.closes_at is not None:
        return translate(language, "shop.open_until", time=format_time(state.closes_at, "HH:mm", locale=_locale(language)))
    if state.opens_at is None:
        return translate(language, "shop.closed")
    local_now = now.astimezone(SHOP_ZONE)
    when = format_time(state.opens_at, "HH:mm", locale=_locale(language))
    if state.opens_at.date() == local_now.date():
        return translate(language, "shop.opens_today", time=when)
    return translate(language, "shop.opens_on", day=day_text(state.opens_at.date(), local_now.date(), language),
                     time=when)


def distance_text(km: float, language: str) -> str:
    if km < 1:
        return f"{max(100, round(km * 1000, -2)):.0f} m"
    if km >= 10:
        return f"{km:.0f} km"
    return f"{km:.1f} km".replace(".", ",") if language == "nl" else f"{km:.1f} km"


def availability_text(state: Availability, language: str) -> str:
    return translate(language, f"stock.{state.value}")


@dataclass(frozen=True)
class StockBlock:
    """The article page's stock block for one variant."""

    here: str  # stock in this shop, with its shelf when known
    here_state: str  # an Availability value, or "unknown"
    nearby: tuple[dict, ...]  # rows: name, detail, stock, state
    as_of: str  # "" when fresh; else "Voorraad van 14:05 (niet actueel)"
    nearby_title: str


def stock_block(snapshot: StockSnapshot, sku: str, stores: StoreDirectory, *, nearby_count: int,
                few_left_max: int, now: datetime, language: str) -> StockBlock:
    own_id = stores.own_store_id
    figure = snapshot.figure(sku, own_id)
    if figure is None:
        here, here_state = translate(language, "article.stock.unknown"), "unknown"
    else:
        state = availability(figure.quantity, few_left_max)
        here_state = state.value
        here = translate(language, "article.stock.here_state", state=availability_text(state, language))
        if figure.location and state is not Availability.out_of_stock:
            here += " · " + figure.location
    # The nearest shops that have it; when none nearby has it, say so rather than list empty shops.
    having: list[tuple[NearbyStore, int]] = []
    for shop in stores.by_distance(include_own=False):
        quantity = snapshot.quantity(sku, shop.id)
        if quantity:
            having.append((shop, quantity))
        if len(having) >= nearby_count:
            break
    rows = tuple(
        {"name": shop.store.name,
         "detail": f"{distance_text(shop.distance_km, language)} · "
                   f"{opening_text(opening_state(shop.store, now), now, language)}",
         "stock": availability_text(availability(quantity, few_left_max), language),
         "state": availability(quantity, few_left_max).value}
        for shop, quantity in having)
    title = translate(language, "article.nearby" if rows else "article.nearby.none")
    as_of = ""
    if snapshot.stale and snapshot.as_of is not None:
        as_of = translate(language, "stock.stale",
                          time=format_time(snapshot.as_of.astimezone(SHOP_ZONE), "HH:mm", locale=_locale(language)))
    elif snapshot.stale:
        as_of = translate(language, "stock.unreachable")
    return StockBlock(here, here_state, rows, as_of, title)


def choice_title(choice: Choice, language: str) -> str:
    if choice.type == "delivery":
        return translate(language, "fulfil.delivery")
    name = choice.store.name if choice.store else (choice.option.store_id or "")
    return translate(language, "fulfil.take_now") if choice.type == "take_now" else name


def choice_detail(choice: Choice, today: date, language: str) -> str:
    option = choice.option
    day = day_text(option.ready_on, today, language)
    cost = translate(language, "fulfil.free") if option.cost_cents == 0 else format_eur(option.cost_cents, language)
    if choice.type == "take_now":
        return translate(language, "fulfil.take_now.detail")
    if choice.type == "delivery":
        return translate(language, "fulfil.delivery.detail", day=day, cost=cost)
    key = "fulfil.pickup.detail" if option.in_stock else "fulfil.pickup.transfer"
    if choice.distance_km is None:
        distance = ""
    elif choice.distance_km < 0.05:
        distance = translate(language, "fulfil.this_shop")
    else:
        distance = distance_text(choice.distance_km, language)
    return translate(language, key, day=day, distance=distance, cost=cost)


def receipt_way_text(fulfilment, ready_on: date | None, stores: StoreDirectory, today: date, language: str) -> str:
    """What the shopper does next, on the receipt: take it, fetch it there from that day, or wait for it."""
    if fulfilment is None or fulfilment.type == "take_now":
        return translate(language, "receipt.take_now")
    day = day_text(ready_on, today, language) if ready_on else ""
    if fulfilment.type == "delivery":
        return translate(language, "receipt.delivery", day=day).replace("  ", " ")
    store = stores.get(fulfilment.store_id or "")
    return translate(language, "receipt.pickup", shop=store.name if store else fulfilment.store_id, day=day)
