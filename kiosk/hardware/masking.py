"""What of a card number may be shown or logged: the BIN (first 6) and the last 4, no more.

PCI DSS 3.4 allows at most "first six and last four"; `CardSummary.masked_pan` enforces that shape.
Everything in `kiosk/hardware/` that logs or raises about a card goes through `mask_pan`.
"""

from __future__ import annotations

import calendar


def mask_pan(pan: str) -> str:
    """'4761739001010010' -> '476173******0010': first 6, one '*' per hidden digit, last 4.

    Short or odd input still gives a safe answer (never more than the last 4 digits shown).
    """
    digits = "".join(ch for ch in str(pan) if ch.isdigit())
    if len(digits) < 11:  # too short to show the BIN without revealing most of the number
        return "*" * max(1, len(digits) - 4) + digits[-4:].rjust(4, "0")
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def expiry_month(expiry: str) -> str:
    """EMV expiry 'YYMMDD' (5F24) or 'YYMM' (track 2) -> 'YYYY-MM'. EMV dates are 20YY for YY < 50."""
    yy, mm = int(expiry[0:2]), int(expiry[2:4])
    if not 1 <= mm <= 12:
        raise ValueError("expiry month out of range")
    # EMV Book 4 section 6.7.3: years 00-49 are 2000-2049, 50-99 are 1950-1999.
    year = 2000 + yy if yy < 50 else 1900 + yy
    return f"{year:04d}-{mm:02d}"


def last_day_of_month(yymm: str) -> str:
    """Track 2 gives only 'YYMM'; 5F24 wants 'YYMMDD': a card is valid to the end of its month."""
    yy, mm = int(yymm[0:2]), int(yymm[2:4])
    year = 2000 + yy if yy < 50 else 1900 + yy
    return f"{yymm[:4]}{calendar.monthrange(year, mm)[1]:02d}"
