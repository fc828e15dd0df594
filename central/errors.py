"""Every non-2xx answer is an `ErrorResponse`: {"error": {"code": ..., "message": ...}}.

FastAPI's own answers (404 for an unknown path, 422 for a malformed request, 500 for a bug) are
rewritten into the same shape, so a client needs one error parser.

Error codes of this API (stable; messages are English and may change):
  400 invalid_cursor, idempotency_key_missing
  401 unauthorized
      staff_required                 a staff route without the X-Staff-Id header
  403 kiosk_mismatch                 the body's kiosk_id is not the authenticated kiosk (orders, fleet reports)
      staff_unknown                  X-Staff-Id is not an active staff member of the kiosk's shop
      store_mismatch                 a pick list of another shop than the kiosk's
  404 not_found                      also: no fleet bundle at that level
  405 method_not_allowed
  409 idempotency_conflict           same Idempotency-Key, different body
      price_changed                  a line's unit_price_cents is not the current central price
      payment_not_approved           the order's payment was declined or voided
      payment_not_voidable           void of a declined payment
      payment_in_use                 void of a payment an order was placed with
      stock_unavailable              the shop (or the warehouse) cannot supply a line now;
                                     `error.shortages` says which lines, where, and how many there are
      delivery_cost_changed          fulfilment.cost_cents is not what a quote gives now
      reservation_committed          release of a reservation an order was placed with
      not_picked                     hand-over of a pickup order that was not picked yet
  422 validation_error               the request does not match the contract
      idempotency_key_mismatch       Idempotency-Key differs from payment_id / order_id / reservation_id /
                                     adjustment_id
      made_at_in_future              a stock adjustment made_at well ahead of the server's clock
      unknown_sku, unknown_store, invalid_fulfilment, total_mismatch, amount_too_large,
      payment_not_found, payment_mismatch, payment_amount_mismatch,
      reservation_mismatch           the order's reservation is unknown, another kiosk's, already
                                     used by another order, or holds other lines or another fulfilment
  500 internal_error
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from kiosk.contract import ErrorBody, ErrorResponse, Shortage

log = logging.getLogger("central")

_CODES_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                    405: "method_not_allowed", 409: "conflict", 422: "validation_error"}


class ApiProblem(Exception):
    """Raise from a handler to answer with an ErrorResponse."""

    def __init__(self, status_code: int, code: str, message: str, *, shortages: Sequence[Shortage] = ()) -> None:
        super().__init__(f"{status_code} {code}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.shortages = list(shortages)


def error_response(status_code: int, code: str, message: str, headers: dict | None = None,
                   shortages: Sequence[Shortage] = ()) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, shortages=list(shortages)))
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


# For the OpenAPI document: which error answers a route may give.
def error_responses(*statuses: int) -> dict:
    return {status: {"model": ErrorResponse, "description": "Error"} for status in statuses}


def _describe_validation(exc: RequestValidationError) -> str:
    # Location and reason only: the input values may hold things that do not belong in a log.
    parts = []
    for err in exc.errors()[:5]:
        location = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{location}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _problem(_: Request, exc: ApiProblem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return error_response(exc.status_code, exc.code, exc.message, headers, exc.shortages)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "validation_error", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES_BY_STATUS.get(exc.status_code, f"http_{exc.status_code}")
        message = exc.detail if isinstance(exc.detail, str) else code
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", "The server failed to handle this request.")
