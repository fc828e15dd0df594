"""A quote: today's prices for a cart, and every way the shopper can get it (see `central.fulfilment`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from central import fulfilment as rules
from central import stock
from central.fulfilment import Source
from central.stock import WAREHOUSE
from kiosk.contract import FulfilmentOption, Quote, QuoteLine, QuoteRequest


def build_quote(conn: sqlite3.Connection, request: QuoteRequest, now: datetime) -> Quote:
    known = rules.require_shops(conn, request.store_id)
    found = rules.articles(conn, [line.sku for line in request.lines])
    lines = []
    for line in request.lines:
        article = found[line.sku]
        rules.check_amount(line.quantity * article.price_cents, f"The line of {line.sku}")
        lines.append(QuoteLine(sku=line.sku, name=article.name, quantity=line.quantity,
                               unit_price_cents=article.price_cents,
                               line_total_cents=line.quantity * article.price_cents))
    subtotal = sum(line.line_total_cents for line in lines)
    rules.check_amount(subtotal, "The subtotal")

    want = stock.wanted((line.sku, line.quantity) for line in request.lines)
    shops = list(known.values())
    # One pass over the stock tables for every shop and the warehouse.
    levels = stock.available(conn, list(want), [s.id for s in shops] + [WAREHOUSE], now)

    def option(kind: str, store_id: str | None, in_stock: bool, hours=()) -> FulfilmentOption | None:
        day = rules.ready_on(kind, hours, in_stock, now)
        if day is None:  # a shop that never opens is no pickup point
            return None
        cost = rules.cost_of(kind, subtotal)
        rules.check_amount(subtotal + cost, "The total")
        return FulfilmentOption(type=kind, store_id=store_id, cost_cents=cost, total_cents=subtotal + cost,
                                ready_on=day, in_stock=in_stock)

    options: list[FulfilmentOption | None] = []
    own = known[request.store_id]
    if isinstance(rules.source_for(levels, want, "take_now", own.id), Source):
        options.append(option("take_now", own.id, True))
    # The kiosk's own shop first, then the others in the order of /v1/stores.
    for shop in [own] + [s for s in shops if s.id != own.id]:
        source = rules.source_for(levels, want, "pickup", shop.id)
        if isinstance(source, Source):
            options.append(option("pickup", shop.id, source.in_stock, shop.hours))
    if isinstance(rules.source_for(levels, want, "delivery", None), Source):
        options.append(option("delivery", None, True))  # offered only when the warehouse has it all

    return Quote(as_of=now, lines=lines, subtotal_cents=subtotal, options=[o for o in options if o is not None],
                 shortages=stock.shortages_in(levels, want, own.id))
