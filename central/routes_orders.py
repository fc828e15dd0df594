"""Writing routes: payments (test acquirer) and orders, both idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from central import fulfilment as rules
from central import idempotency
from central.deps import Kiosk, Parts
from central.errors import ApiProblem, error_responses
from central.orders import check_order, insert_order, load_order, take_stock, tracking_url
from central.payments import insert_payment, load_payment
from kiosk.contract import Order, OrderRequest, Payment, PaymentRequest, PaymentStatus

router = APIRouter(prefix="/v1")

IdempotencyKey = idempotency.IdempotencyKey


@router.post("/payments", response_model=Payment, status_code=201, tags=["payments"],
             responses=error_responses(400, 401, 409, 422),
             summary="Authorise a card payment (test acquirer). A decline is a 201 with status 'declined'")
def authorise_payment(parts: Parts, kiosk: Kiosk, body: PaymentRequest,
                      idempotency_key: IdempotencyKey = None) -> JSONResponse:
    idempotency.check_key(idempotency_key, body.payment_id, "payment_id")
    digest = idempotency.body_hash(body)
    with parts.db.write_lock, parts.db.session() as conn:
        recorded = idempotency.lookup(conn, "payments", body.payment_id, digest)
        if recorded:
            return recorded.replay()
        decision = parts.acquirer.authorise(body.card, body.amount_cents, payment_id=body.payment_id)
        payment = Payment(
            payment_id=body.payment_id, order_id=body.order_id,
            status=PaymentStatus.approved if decision.approved else PaymentStatus.declined,
            amount_cents=body.amount_cents, currency=body.currency, auth_code=decision.auth_code,
            decline_code=decision.decline_code, decline_message=decision.decline_message,
            card_summary=body.card_summary, created_at=datetime.now(UTC),
        )
        with conn:
            insert_payment(conn, payment, kiosk.kiosk_id)
            return idempotency.remember(conn, "payments", body.payment_id, digest, 201, payment)


@router.get("/payments/{payment_id}", response_model=Payment, tags=["payments"],
            responses=error_responses(401, 404),
            summary="Payment status: ask this when the answer to an authorisation was lost")
def payment_status(parts: Parts, _: Kiosk, payment_id: str) -> Payment:
    with parts.db.session() as conn:
        payment = load_payment(conn, payment_id)
    if payment is None:
        raise ApiProblem(404, "not_found", f"No payment {payment_id!r}.")
    return payment


@router.post("/payments/{payment_id}/void", response_model=Payment, tags=["payments"],
             responses=error_responses(401, 404, 409),
             summary="Void (refund) an approved payment no order was placed with. Idempotent")
def void_payment(parts: Parts, _: Kiosk, payment_id: str) -> Payment:
    with parts.db.write_lock, parts.db.session() as conn:
        payment = load_payment(conn, payment_id)
        if payment is None:
            raise ApiProblem(404, "not_found", f"No payment {payment_id!r}.")
        if payment.status is PaymentStatus.voided:
            return payment
        if payment.status is PaymentStatus.declined:
            raise ApiProblem(409, "payment_not_voidable", f"Payment {payment_id!r} was declined; nothing to void.")
        if conn.execute("SELECT 1 FROM orders WHERE payment_id = ?", (payment_id,)).fetchone():
            raise ApiProblem(409, "payment_in_use", f"An order was placed with payment {payment_id!r}.")
        with conn:
            conn.execute("UPDATE payments SET status = ? WHERE payment_id = ?",
                         (PaymentStatus.voided.value, payment_id))
        return payment.model_copy(update={"status": PaymentStatus.voided})


# --- orders -------------------------------------------------------------------------------------


@router.post("/orders", response_model=Order, status_code=201, tags=["orders"],
             responses=error_responses(400, 401, 403, 409, 422),
             summary="Place a paid order. Idempotency-Key = order_id; prices, fulfilment cost, total and stock "
                     "are checked, and the stock is taken (from the reservation, if one is given)",
             description="Without `reservation_id` the stock is checked and taken at once, from the place the "
                         "fulfilment says (take_now: the kiosk's shop; pickup: that shop, else the warehouse; "
                         "delivery: the warehouse). With one, it must be this kiosk's, for the same lines and "
                         "fulfilment (422 `reservation_mismatch`); it is committed, also after it lapsed, as "
                         "long as the stock is still there (else 409 `stock_unavailable` with `shortages`). "
                         "`total_cents` = lines + `fulfilment.cost_cents`, which must be what a quote gives "
                         "now (409 `delivery_cost_changed`). Delivery needs `fulfilment.delivery`.")
def place_order(request: Request, parts: Parts, kiosk: Kiosk, body: OrderRequest,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    idempotency.check_key(idempotency_key, body.order_id, "order_id")
    digest = idempotency.body_hash(body)
    with parts.db.write_lock, parts.db.session() as conn:
        recorded = idempotency.lookup(conn, "orders", body.order_id, digest)
        if recorded:
            return recorded.replay()
        checked = check_order(conn, kiosk.kiosk_id, body)
        now = parts.clock()
        with conn:  # the stock, the order and its idempotency record: all or nothing
            source = take_stock(conn, kiosk.kiosk_id, body, now)
            fulfilment = body.fulfilment
            hours = checked.shops[fulfilment.store_id].hours if fulfilment.store_id else ()
            insert_order(conn, body, checked, rules.ready_on(fulfilment.type, hours, source.in_stock, now), now)
            order = load_order(conn, body.order_id, tracking_url(request, body.order_id))
            assert order is not None
            return idempotency.remember(conn, "orders", body.order_id, digest, 201, order)


@router.get("/orders/{order_id}", response_model=Order, tags=["orders"], responses=error_responses(401, 404),
            summary="An order as the central API knows it")
def get_order(request: Request, parts: Parts, _: Kiosk, order_id: str) -> Order:
    with parts.db.session() as conn:
        order = load_order(conn, order_id, tracking_url(request, order_id))
    if order is None:
        raise ApiProblem(404, "not_found", f"No order {order_id!r}.")
    return order
