"""The days a shopper is promised: pickup ready, transfer arrived, delivery at home.

Everything is decided in Dutch local time (Europe/Amsterdam), the shops' own clock: "today" is the
day on the shop floor, not in UTC, and opening hours are local. The rules (also in the quotes
endpoint's OpenAPI summary):

- take it now: today;
- pickup of stock the shop has: today when the shop is still to close today, else its next
  opening day;
- pickup by transfer from the warehouse: the first opening day of the shop on or after the day
  after tomorrow (TRANSFER_DAYS);
- home delivery: the second working day (Monday to Friday) after today, so an order on Friday
  arrives on Tuesday. Public holidays are not known to this reference server.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.contract import OpeningHours

ZONE = ZoneInfo("Europe/Amsterdam")
TRANSFER_DAYS = 2
DELIVERY_WORKING_DAYS = 2


def local_today(now: datetime) -> date:
    return now.astimezone(ZONE).date()


def next_opening_day(hours: Sequence[OpeningHours], start: date) -> date | None:
    """The first day on or after `start` the shop opens; None for a shop with no opening hours."""
    open_weekdays = {h.weekday for h in hours}
    for offset in range(7):
        day = start + timedelta(days=offset)
        if day.weekday() in open_weekdays:
            return day
    return None


def pickup_ready_on(hours: Sequence[OpeningHours], now: datetime) -> date | None:
    """Stock the shop has: ready today if the shop has yet to close today, else on its next opening day."""
    local = now.astimezone(ZONE)
    today = local.date()
    clock = local.strftime("%H:%M")
    if any(h.weekday == today.weekday() and clock < h.closes for h in hours):
        return today
    return next_opening_day(hours, today + timedelta(days=1))


def transfer_ready_on(hours: Sequence[OpeningHours], now: datetime) -> date | None:
    """Sent from the warehouse: TRANSFER_DAYS later, on a day the shop is open."""
    return next_opening_day(hours, local_today(now) + timedelta(days=TRANSFER_DAYS))


def delivery_promised_on(now: datetime) -> date:
    """Home delivery: the DELIVERY_WORKING_DAYS-th working day (Mon-Fri) after today."""
    day = local_today(now)
    left = DELIVERY_WORKING_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day
