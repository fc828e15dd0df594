"""The public order tracking page behind the receipt's QR code: no credential, so no personal data.

It shows the order number, status, lines, total and how the order reaches the shopper (the pickup
shop and its ready day, or home delivery and the promised day). Never the delivery address, e-mail,
card or payment.
"""

from __future__ import annotations

import html
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from central import fulfilment as rules
from central.deps import Parts
from central.orders import load_order, tracking_url
from kiosk.contract import Order

router = APIRouter()

_STATUS_NL = {"placed": "Geplaatst", "ready": "Klaar om op te halen", "completed": "Afgerond",
              "cancelled": "Geannuleerd"}
_WEEKDAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
              "oktober", "november", "december")


def _money(cents: int) -> str:
    return f"€ {cents // 100},{cents % 100:02d}"


def day_nl(day: date) -> str:
    """'dinsdag 14 mei': promised days are at most a week or so ahead, so no year."""
    return f"{_WEEKDAYS_NL[day.weekday()]} {day.day} {_MONTHS_NL[day.month - 1]}"


def fulfilment_nl(order: Order, shop_name: str | None) -> str:
    when = day_nl(order.ready_on) if order.ready_on else None
    shop = html.escape(shop_name or order.fulfilment_store_id or "de winkel")
    if order.fulfilment_type == "delivery":
        return f"Bezorging, verwacht op {when}" if when else "Bezorging"
    if order.fulfilment_type == "take_now":
        return f"Meegenomen in {shop}"
    return f"Ophalen in {shop}, klaar op {when}" if when else f"Ophalen in {shop}"


@router.get("/track/{order_id}", response_class=HTMLResponse, tags=["orders"],
            summary="Public order tracking page (the receipt's QR code). No personal data")
def track_order(request: Request, parts: Parts, order_id: str) -> HTMLResponse:
    with parts.db.session() as conn:
        order = load_order(conn, order_id, tracking_url(request, order_id))
        shop = rules.shop(conn, order.fulfilment_store_id) if order and order.fulfilment_store_id else None
    if order is None:
        return HTMLResponse("<!doctype html><meta charset=utf-8><title>Bestelling niet gevonden</title>"
                            "<h1>Bestelling niet gevonden</h1>", status_code=404)
    rows = "".join(
        f"<tr><td>{line.quantity} ×</td><td>{html.escape(line.name)}</td>"
        f"<td style='text-align:right'>{_money(line.line_total_cents)}</td></tr>"
        for line in order.lines
    )
    cost = (f"<tr><td></td><td>Bezorgkosten</td><td style='text-align:right'>{_money(order.delivery_cost_cents)}"
            "</td></tr>" if order.fulfilment_type == "delivery" else "")
    page = (
        "<!doctype html><html lang=nl><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>Bestelling {html.escape(order.order_number)}</title>"
        "<body style='font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em'>"
        f"<h1>Bestelling {html.escape(order.order_number)}</h1>"
        f"<p>Status: <strong>{_STATUS_NL.get(order.status.value, order.status.value)}</strong></p>"
        f"<p id=fulfilment>{fulfilment_nl(order, shop.name if shop else None)}</p>"
        f"<table style='width:100%'>{rows}{cost}"
        f"<tr><td></td><th style='text-align:left'>Totaal</th>"
        f"<th style='text-align:right'>{_money(order.total_cents)}</th></tr></table>"
        "</body></html>"
    )
    return HTMLResponse(page)
