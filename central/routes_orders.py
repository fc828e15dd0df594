"""Writing routes: payments (test acquirer) and orders, both idempotent; the public tracking page."""

from __future__ import annotations

import html
import sqlite3
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse

from central import idempotency
from central.deps import Kiosk, Parts
from central.errors import ApiProblem, error_responses
from kiosk.contract import (
    IDEMPOTENCY_HEADER,
    CardSummary,
    Order,
    OrderLine,
    OrderRequest,
    OrderStatus,
    Payment,
    PaymentRequest,
    PaymentStatus,
)

router = APIRouter(prefix="/v1")
tracking_router = APIRouter()

IdempotencyKey = Annotated[
    str | None,
    Header(alias=IDEMPOTENCY_HEADER, description="Required; equal to payment_id / order_id of the body"),
]


def _money(cents: int) -> str:
    return f"€ {cents // 100},{cents % 100:02d}"


# --- payments -----------------------------------------------------------------------------------


def _payment_from_row(row: sqlite3.Row) -> Payment:
    return Payment(
        payment_id=row["payment_id"], order_id=row["order_id"], status=PaymentStatus(row["status"]),
        amount_cents=row["amount_cents"], currency=row["currency"], auth_code=row["auth_code"],
        decline_code=row["decline_code"], decline_message=row["decline_message"],
        card_summary=CardSummary.model_validate_json(row["card_summary"]),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def _load_payment(conn: sqlite3.Connection, payment_id: str) -> Payment | None:
    row = conn.execute("SELECT * FROM payments WHERE payment_id = ?", (payment_id,)).fetchone()
    return _payment_from_row(row) if row else None


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
            conn.execute(
                "INSERT INTO payments (payment_id, order_id, kiosk_id, status, amount_cents, currency, auth_code,"
                " decline_code, decline_message, card_summary, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (payment.payment_id, payment.order_id, kiosk.kiosk_id, payment.status.value, payment.amount_cents,
                 payment.currency, payment.auth_code, payment.decline_code, payment.decline_message,
                 payment.card_summary.model_dump_json(), payment.created_at.isoformat()),
            )
            return idempotency.remember(conn, "payments", body.payment_id, digest, 201, payment)


@router.get("/payments/{payment_id}", response_model=Payment, tags=["payments"],
            responses=error_responses(401, 404),
            summary="Payment status: ask this when the answer to an authorisation was lost")
def payment_status(parts: Parts, _: Kiosk, payment_id: str) -> Payment:
    with parts.db.session() as conn:
        payment = _load_payment(conn, payment_id)
    if payment is None:
        raise ApiProblem(404, "not_found", f"No payment {payment_id!r}.")
    return payment


@router.post("/payments/{payment_id}/void", response_model=Payment, tags=["payments"],
             responses=error_responses(401, 404, 409),
             summary="Void (refund) an approved payment no order was placed with. Idempotent")
def void_payment(parts: Parts, _: Kiosk, payment_id: str) -> Payment:
    with parts.db.write_lock, parts.db.session() as conn:
        payment = _load_payment(conn, payment_id)
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


def _variant_label(name: str, size: str | None, colour: str | None) -> str:
    details = ", ".join(d for d in (size, colour) if d)
    return f"{name} — {details}" if details else name


def _check_order(conn: sqlite3.Connection, kiosk_id: str, body: OrderRequest) -> dict[str, str]:
    """Refuse an order the central API cannot accept; returns the line names per sku."""
    if body.kiosk_id != kiosk_id:
        raise ApiProblem(403, "kiosk_mismatch", f"kiosk_id {body.kiosk_id!r} is not the authenticated kiosk.")
    wanted_stores = {body.store_id} | ({body.fulfilment.store_id} if body.fulfilment.store_id else set())
    known_stores = {r[0] for r in conn.execute(
        f"SELECT id FROM stores WHERE id IN ({','.join('?' * len(wanted_stores))})", list(wanted_stores))}
    if unknown := sorted(wanted_stores - known_stores):
        raise ApiProblem(422, "unknown_store", f"Unknown store {', '.join(unknown)}.")
    if body.fulfilment.type in ("take_now", "pickup") and not body.fulfilment.store_id:
        raise ApiProblem(422, "invalid_fulfilment", f"Fulfilment {body.fulfilment.type!r} needs a store_id.")

    skus = list(dict.fromkeys(line.sku for line in body.lines))
    rows = {r["sku"]: r for r in conn.execute(
        "SELECT v.sku, v.size, v.colour, v.price_cents, p.name FROM variants v"
        f" JOIN products p ON p.row_id = v.product_row WHERE v.sku IN ({','.join('?' * len(skus))})", skus)}
    if unknown := [sku for sku in skus if sku not in rows]:
        raise ApiProblem(422, "unknown_sku", f"Unknown sku {', '.join(unknown)}.")
    for line in body.lines:
        current = rows[line.sku]["price_cents"]
        if line.unit_price_cents != current:
            raise ApiProblem(409, "price_changed",
                             f"The price of sku {line.sku} is now {current} cents, not {line.unit_price_cents}.")
    lines_total = sum(line.quantity * line.unit_price_cents for line in body.lines)
    if body.total_cents != lines_total:
        raise ApiProblem(422, "total_mismatch",
                         f"total_cents is {body.total_cents} but the lines add up to {lines_total}.")

    payment = _load_payment(conn, body.payment_id)
    if payment is None:
        raise ApiProblem(422, "payment_not_found", f"No payment {body.payment_id!r}.")
    if payment.order_id != body.order_id:
        raise ApiProblem(422, "payment_mismatch", f"Payment {body.payment_id!r} belongs to another order.")
    if payment.status is not PaymentStatus.approved:
        raise ApiProblem(409, "payment_not_approved", f"Payment {body.payment_id!r} is {payment.status.value}.")
    if payment.amount_cents != body.total_cents:
        raise ApiProblem(422, "payment_amount_mismatch",
                         f"Payment {body.payment_id!r} is for {payment.amount_cents} cents, "
                         f"the order totals {body.total_cents}.")
    return {sku: _variant_label(r["name"], r["size"], r["colour"]) for sku, r in rows.items()}


def _tracking_url(request: Request, order_id: str) -> str:
    # The server's own base URL as the kiosk reached it, so the QR works wherever the kiosk does.
    return f"{str(request.base_url).rstrip('/')}/track/{order_id}"


def _load_order(conn: sqlite3.Connection, order_id: str, tracking_url: str) -> Order | None:
    row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        return None
    lines = [
        OrderLine(sku=r["sku"], name=r["name"], quantity=r["quantity"], unit_price_cents=r["unit_price_cents"],
                  line_total_cents=r["line_total_cents"])
        for r in conn.execute("SELECT * FROM order_lines WHERE order_id = ? ORDER BY position", (order_id,))
    ]
    return Order(
        order_id=row["order_id"], order_number=row["order_number"], status=OrderStatus(row["status"]),
        kiosk_id=row["kiosk_id"], store_id=row["store_id"], lines=lines, total_cents=row["total_cents"],
        currency=row["currency"], payment_id=row["payment_id"], fulfilment_type=row["fulfilment_type"],
        created_at=datetime.fromisoformat(row["created_at"]), tracking_url=tracking_url,
    )


@router.post("/orders", response_model=Order, status_code=201, tags=["orders"],
             responses=error_responses(400, 401, 403, 409, 422),
             summary="Place a paid order. Idempotency-Key = order_id; prices and total are checked")
def place_order(request: Request, parts: Parts, kiosk: Kiosk, body: OrderRequest,
                idempotency_key: IdempotencyKey = None) -> JSONResponse:
    idempotency.check_key(idempotency_key, body.order_id, "order_id")
    digest = idempotency.body_hash(body)
    with parts.db.write_lock, parts.db.session() as conn:
        recorded = idempotency.lookup(conn, "orders", body.order_id, digest)
        if recorded:
            return recorded.replay()
        names = _check_order(conn, kiosk.kiosk_id, body)
        now = datetime.now(UTC)
        with conn:
            number = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM orders").fetchone()[0]
            conn.execute(
                "INSERT INTO orders (number, order_id, order_number, status, kiosk_id, store_id, total_cents,"
                " currency, payment_id, fulfilment_type, fulfilment_store_id, created_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (number, body.order_id, f"K-{now.year}-{number:06d}", OrderStatus.placed.value, body.kiosk_id,
                 body.store_id, body.total_cents, body.currency, body.payment_id, body.fulfilment.type,
                 body.fulfilment.store_id, now.isoformat()),
            )
            conn.executemany(
                "INSERT INTO order_lines (order_id, position, sku, name, quantity, unit_price_cents,"
                " line_total_cents) VALUES (?,?,?,?,?,?,?)",
                [(body.order_id, pos, line.sku, names[line.sku], line.quantity, line.unit_price_cents,
                  line.quantity * line.unit_price_cents) for pos, line in enumerate(body.lines)],
            )
            order = _load_order(conn, body.order_id, _tracking_url(request, body.order_id))
            assert order is not None
            return idempotency.remember(conn, "orders", body.order_id, digest, 201, order)


@router.get("/orders/{order_id}", response_model=Order, tags=["orders"], responses=error_responses(401, 404),
            summary="An order as the central API knows it")
def get_order(request: Request, parts: Parts, _: Kiosk, order_id: str) -> Order:
    with parts.db.session() as conn:
        order = _load_order(conn, order_id, _tracking_url(request, order_id))
    if order is None:
        raise ApiProblem(404, "not_found", f"No order {order_id!r}.")
    return order


_STATUS_NL = {"placed": "Geplaatst", "ready": "Klaar om op te halen", "completed": "Afgerond",
              "cancelled": "Geannuleerd"}


@tracking_router.get("/track/{order_id}", response_class=HTMLResponse, tags=["orders"],
                     summary="Public order tracking page (the receipt's QR code). No personal data")
def track_order(request: Request, parts: Parts, order_id: str) -> HTMLResponse:
    with parts.db.session() as conn:
        order = _load_order(conn, order_id, _tracking_url(request, order_id))
    if order is None:
        return HTMLResponse("<!doctype html><meta charset=utf-8><title>Bestelling niet gevonden</title>"
                            "<h1>Bestelling niet gevonden</h1>", status_code=404)
    rows = "".join(
        f"<tr><td>{line.quantity} ×</td><td>{html.escape(line.name)}</td>"
        f"<td style='text-align:right'>{_money(line.line_total_cents)}</td></tr>"
        for line in order.lines
    )
    page = (
        "<!doctype html><html lang=nl><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>Bestelling {html.escape(order.order_number)}</title>"
        "<body style='font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em'>"
        f"<h1>Bestelling {html.escape(order.order_number)}</h1>"
        f"<p>Status: <strong>{_STATUS_NL.get(order.status.value, order.status.value)}</strong></p>"
        f"<table style='width:100%'>{rows}"
        f"<tr><td></td><th style='text-align:left'>Totaal</th>"
        f"<th style='text-align:right'>{_money(order.total_cents)}</th></tr></table>"
        "</body></html>"
    )
    return HTMLResponse(page)

