"""Before paying: quote a cart (prices and ways to get it), then hold its stock (a reservation)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse

from central import fulfilment as rules
from central import examples, idempotency, stock
from central.deps import Kiosk, KioskIdentity, Parts
from central.errors import ApiProblem, error_responses
from central.quotes import build_quote
from kiosk.contract import IDEMPOTENCY_HEADER, Quote, QuoteRequest, Reservation, ReservationRequest, ReservationStatus

router = APIRouter(prefix="/v1")

_QUOTE_RULES = f"""
Options: `take_now` in the kiosk's own shop when it has every line now (today); `pickup` in every shop
that has every line now (`in_stock` true: ready today if the shop is still to close today, else on its
next opening day) or can get it from the warehouse (`in_stock` false: ready on its first opening day
from the day after tomorrow); `delivery` from the warehouse when it has every line, promised on the
second working day (Mon-Fri) after today. Days are Dutch local time (Europe/Amsterdam).
Shops that can neither supply nor get the cart are left out. Costs: take_now and pickup are free;
delivery costs {rules.DELIVERY_COST_CENTS} cents, free when the lines add up to
{rules.FREE_DELIVERY_FROM_CENTS} cents or more. `shortages` lists the kiosk's own shop's short lines.
"""

_RESERVATION_RULES = f"""
Checks the stock again for the chosen fulfilment and holds it for {stock.HOLD_MINUTES} minutes
(`expires_at`): take_now in the kiosk's shop; pickup in that shop when it has every line, else in the
warehouse (sent to the shop); delivery in the warehouse. Short: 409 `stock_unavailable` with
`error.shortages`. `fulfilment.cost_cents` must be what a quote gives now (409 `delivery_cost_changed`);
the delivery address may be left out until the order. The same Idempotency-Key and body answer with
the reservation as it is now (header Idempotent-Replayed). Placing the order commits it; release it
when the shopper goes back or away.
"""


def _answer(held: stock.HeldStock) -> Reservation:
    return Reservation(reservation_id=held.reservation_id, status=ReservationStatus(held.status),
                       expires_at=held.expires_at, fulfilment_type=held.fulfilment_type, store_id=held.place)


def _own(held: stock.HeldStock | None, kiosk: KioskIdentity, reservation_id: str) -> stock.HeldStock:
    # Another kiosk's reservation is "not found": ids of others are none of this kiosk's business.
    if held is None or held.kiosk_id != kiosk.kiosk_id:
        raise ApiProblem(404, "not_found", f"No reservation {reservation_id!r}.")
    return held


@router.post("/quotes", response_model=Quote, tags=["fulfilment"], responses=error_responses(401, 422),
             summary=f"Price a cart and list the ways to get it. Delivery costs {rules.DELIVERY_COST_CENTS} cents, "
                     f"free from {rules.FREE_DELIVERY_FROM_CENTS} cents of lines; pickup and take_now are free",
             description=_QUOTE_RULES)
def quote(parts: Parts, _: Kiosk, body: Annotated[QuoteRequest, Body(openapi_examples=examples.QUOTE)]) -> Quote:
    with parts.db.session() as conn:
        return build_quote(conn, body, parts.clock())


@router.post("/reservations", response_model=Reservation, status_code=201, tags=["fulfilment"],
             responses=error_responses(400, 401, 409, 422),
             summary=f"Hold the stock of a cart for the chosen fulfilment ({stock.HOLD_MINUTES} minutes). "
                     "Idempotency-Key = reservation_id",
             description=_RESERVATION_RULES)
def reserve(parts: Parts, kiosk: Kiosk,
            body: Annotated[ReservationRequest, Body(openapi_examples=examples.RESERVATION)],
            idempotency_key: Annotated[str | None, Header(
                alias=IDEMPOTENCY_HEADER, description="Required; equal to reservation_id of the body",
                openapi_examples=examples.RESERVATION_KEY)] = None) -> JSONResponse:
    idempotency.check_key(idempotency_key, body.reservation_id, "reservation_id")
    digest = idempotency.body_hash(body)
    now = parts.clock()
    with parts.db.write_lock, parts.db.session() as conn:
        recorded = idempotency.lookup(conn, "reservations", body.reservation_id, digest)
        if recorded:
            held = stock.load(conn, body.reservation_id)
            if held is None or held.kiosk_id != kiosk.kiosk_id:
                raise ApiProblem(409, "idempotency_conflict",
                                 f"Reservation id {body.reservation_id!r} is already in use.")
            return recorded.replay(_answer(held))
        fulfilment = body.fulfilment
        known = rules.require_shops(conn, body.store_id, fulfilment.store_id)
        rules.check_fulfilment(fulfilment, body.store_id, known, needs_address=False)
        found = rules.articles(conn, [line.sku for line in body.lines])
        subtotal = sum(line.quantity * found[line.sku].price_cents for line in body.lines)
        rules.check_amount(subtotal, "The subtotal")
        rules.check_cost(fulfilment, subtotal)
        want = stock.wanted((line.sku, line.quantity) for line in body.lines)
        source = rules.find_source(conn, want, fulfilment.type, fulfilment.store_id, now)
        if not isinstance(source, rules.Source):
            raise rules.stock_unavailable(source)
        with conn:
            stock.hold(conn, body.reservation_id, kiosk.kiosk_id, want, source.place, fulfilment.type,
                       fulfilment.store_id, now)
            held = stock.load(conn, body.reservation_id)
            assert held is not None
            return idempotency.remember(conn, "reservations", body.reservation_id, digest, 201, _answer(held))


@router.get("/reservations/{reservation_id}", response_model=Reservation, tags=["fulfilment"],
            responses=error_responses(401, 404),
            summary="A reservation as it is now (a held one past expires_at no longer holds anything)")
def get_reservation(parts: Parts, kiosk: Kiosk, reservation_id: str) -> Reservation:
    with parts.db.session() as conn:
        return _answer(_own(stock.load(conn, reservation_id), kiosk, reservation_id))


@router.post("/reservations/{reservation_id}/release", response_model=Reservation, tags=["fulfilment"],
             responses=error_responses(401, 404, 409),
             summary="Let the held stock go (the shopper went back or away). Idempotent; "
                     "409 reservation_committed once an order was placed with it")
def release_reservation(parts: Parts, kiosk: Kiosk, reservation_id: str) -> Reservation:
    with parts.db.write_lock, parts.db.session() as conn:
        held = _own(stock.load(conn, reservation_id), kiosk, reservation_id)
        if held.status == ReservationStatus.committed.value:
            raise ApiProblem(409, "reservation_committed",
                             f"An order was placed with reservation {reservation_id!r}; it cannot be released.")
        with conn:
            stock.release(conn, reservation_id)
        return _answer(_own(stock.load(conn, reservation_id), kiosk, reservation_id))
