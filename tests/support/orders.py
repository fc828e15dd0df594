"""Checking the central database the way an auditor would: every approved payment has exactly one
order, every order exactly one approved payment, no approved payment without an order or a void."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Audit:
    payments_approved: int
    payments_voided: int
    payments_declined: int
    orders: int
    lost: int  # approved payments with no order (money taken, nothing ordered)
    doubled: int  # payments or kiosk orders with more than one order

    def __str__(self) -> str:
        return (f"approved {self.payments_approved}, voided {self.payments_voided}, declined {self.payments_declined}, "
                f"orders {self.orders}, lost {self.lost}, doubled {self.doubled}")


def audit(db_path: Path) -> Audit:
    with sqlite3.connect(db_path) as db:
        count = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
        return Audit(
            payments_approved=count("SELECT COUNT(*) FROM payments WHERE status = 'approved'"),
            payments_voided=count("SELECT COUNT(*) FROM payments WHERE status = 'voided'"),
            payments_declined=count("SELECT COUNT(*) FROM payments WHERE status = 'declined'"),
            orders=count("SELECT COUNT(*) FROM orders"),
            lost=count("SELECT COUNT(*) FROM payments p WHERE p.status = 'approved' "
                       "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.payment_id = p.payment_id)"),
            doubled=count("SELECT COUNT(*) FROM (SELECT payment_id FROM orders GROUP BY payment_id HAVING COUNT(*) > 1)")
            + count("SELECT COUNT(*) FROM (SELECT order_id FROM payments WHERE status = 'approved' "
                    "GROUP BY order_id HAVING COUNT(*) > 1)"),
        )
