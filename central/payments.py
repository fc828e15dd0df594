"""Payments as stored: only what the contract lets a kiosk know of a card (the card summary)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from kiosk.contract import CardSummary, Payment, PaymentStatus


def payment_from_row(row: sqlite3.Row) -> Payment:
    return Payment(
        payment_id=row["payment_id"], order_id=row["order_id"], status=PaymentStatus(row["status"]),
        amount_cents=row["amount_cents"], currency=row["currency"], auth_code=row["auth_code"],
        decline_code=row["decline_code"], decline_message=row["decline_message"],
        card_summary=CardSummary.model_validate_json(row["card_summary"]),
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def load_payment(conn: sqlite3.Connection, payment_id: str) -> Payment | None:
    row = conn.execute("SELECT * FROM payments WHERE payment_id = ?", (payment_id,)).fetchone()
    return payment_from_row(row) if row else None


def insert_payment(conn: sqlite3.Connection, payment: Payment, kiosk_id: str) -> None:
    conn.execute(
        "INSERT INTO payments (payment_id, order_id, kiosk_id, status, amount_cents, currency, auth_code,"
        " decline_code, decline_message, card_summary, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (payment.payment_id, payment.order_id, kiosk_id, payment.status.value, payment.amount_cents,
         payment.currency, payment.auth_code, payment.decline_code, payment.decline_message,
         payment.card_summary.model_dump_json(), payment.created_at.isoformat()),
    )
