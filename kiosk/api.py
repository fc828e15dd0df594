"""Typed async client for the central order API (the wire contract is `kiosk.contract`).

Every call returns a contract model or raises a subclass of `ApiError`:

- `ApiConnectionError`  could not connect: the request surely did not arrive; safe to try again.
- `ApiTimeoutError`     the request went out but no (complete) answer came back: the outcome is
                        unknown (read timeout, or the connection dropped mid-answer).
- `ApiStatusError`      the server answered with an error (`status`, `code`, `message` from its
                        ErrorResponse); `ApiUnauthorized` 401, `ApiNotFound` 404, `ApiConflict` 409.
- `ApiResponseError`    the answer is garbled: not JSON, or not the shape of the contract model.

Every attempt has a deadline for the whole answer (`answer_timeout`, by default the connect plus the
read timeout): httpx's read timeout is per read, so a server dripping a byte now and then would
otherwise hold a call forever. An answer body larger than `max_answer_bytes` is not read past that
size and is an `ApiResponseError`.

Retries use jittered exponential backoff and honour Retry-After (capped). Connection errors are
always retried; timeouts, 408, 429 and 5xx are retried for reads and for idempotent writes, which
resend the SAME Idempotency-Key. `authorise_payment` is the exception (DESIGN.md: a lost answer is
never retried blind): it retries only when the request surely did not arrive, and a timeout is
raised at once so the payment flow asks `payment_status` instead.

Staff calls (stock adjustments, pick lists) carry the logged-in staff member's id in the header
`STAFF_HEADER` next to the kiosk's token; the server checks that person works in the kiosk's shop.

Request bodies are never logged (payment bodies carry sealed card data).
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import functools
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote as url_quote, urlsplit

import httpx
from pydantic import TypeAdapter, ValidationError

from kiosk.contract import (
    IDEMPOTENCY_HEADER,
    CartLink,
    CartLinkRequest,
    CatalogPage,
    Category,
    ErrorResponse,
    FleetReport,
    FleetReportReceipt,
    Health,
    Order,
    OrderRequest,
    Payment,
    PaymentRequest,
    Promotion,
    Quote,
    QuoteRequest,
    Reservation,
    ReservationRequest,
    STAFF_HEADER,
    PickList,
    PickOrder,
    SharedCart,
    Shortage,
    StaffMember,
    StockAdjustment,
    StockAdjustmentRequest,
    StockAnswer,
    StockQuery,
    Store,
)
from kiosk.fleet.bundle import MAX_BUNDLE_BYTES

log = logging.getLogger("kiosk.api")

T = TypeVar("T")

MAX_SKUS_PER_STOCK_QUERY = 500
# The largest answer body read into memory: a catalog page of 500 articles is about 1 MB and a
# picture at most 5 MB (kiosk.images); a runaway or hostile body must not exhaust the pillar's memory.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# An idle pooled connection is dropped after this. Servers close idle keep-alive connections too
# (uvicorn, the reference server, after 5 s; nginx after 75 s); httpx's default is also 5 s, so a
# request sent after about 5 s of quiet could go out on a connection the server was closing: "connection
# lost, outcome unknown" and a retry (seen by the UI bench and the soak). Ours expire first.
KEEPALIVE_EXPIRY_S = 4.0


# --- errors -----------------------------------------------------------------------------------


class ApiError(Exception):
    """Anything that went wrong talking to the central API."""


class ApiConnectionError(ApiError):
    """Could not connect: the request surely did not reach the server."""


class ApiTimeoutError(ApiError):
    """The request was sent but no complete answer came: whether it took effect is unknown."""


class ApiStatusError(ApiError):
    """The server answered with an error status and an ErrorResponse (or something in its place)."""

    def __init__(self, status: int, code: str, message: str, *, endpoint: str = "",
                 shortages: Sequence[Shortage] = ()) -> None:
        super().__init__(f"{endpoint}: HTTP {status} {code}: {message}" if endpoint else f"HTTP {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.endpoint = endpoint
        self.shortages = tuple(shortages)  # with code "stock_unavailable": which lines are short, where


class ApiUnauthorized(ApiStatusError):
    """401: the kiosk's token is missing or not known to the server."""


class ApiNotFound(ApiStatusError):
    """404: no such resource (payment, order, picture)."""


class ApiConflict(ApiStatusError):
    """409: e.g. price_changed, idempotency_conflict, payment_not_approved."""


class ApiResponseError(ApiError):
    """The answer could not be understood: not JSON, or not what the contract says."""


@dataclass(frozen=True)
class BundleFetch:
    """The answer to one conditional GET of a fleet bundle file (`CentralApi.fleet_bundle`).

    - `changed`: 200; `body` is the file as received, `etag` the response's ETag (None if it sent
      none). A file larger than MAX_BUNDLE_BYTES is not read to its end: `body` is then its first
      MAX_BUNDLE_BYTES + 1 bytes, so `parse_and_verify` refuses it as `oversized`, a reason the
      pillar can report, and never parses it.
    - `unchanged`: 304 for the If-None-Match sent; `body` None, `etag` the one still current.
    - `absent`: 404, no bundle at this level; `body` and `etag` None.
    """

    status: Literal["changed", "unchanged", "absent"]
    body: bytes | None = None
    etag: str | None = None


_STATUS_ERRORS: dict[int, type[ApiStatusError]] = {401: ApiUnauthorized, 404: ApiNotFound, 409: ApiConflict}


class _Retry(enum.Enum):
    ALWAYS = "always"  # reads and idempotent writes: any transient failure
    CONNECT_ONLY = "connect_only"  # only when the request surely did not arrive


def _is_transient_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() also says yes to '²', which float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):  # the stdlib parser is not total
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _aware(moment: datetime) -> datetime:
    """A naive datetime from the server read as UTC, so naive and aware ones compare."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@functools.lru_cache(maxsize=32)
def _adapter(answer_type: Any) -> TypeAdapter:
    return TypeAdapter(answer_type)


def _describe_validation(exc: ValidationError) -> str:
    # Location and reason only, never the input values.
    errors = exc.errors()
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors[:3]]
    more = len(errors) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


class CentralApi:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_base: float = 0.2,
        backoff_max: float = 3.0,
        retry_after_cap: float = 10.0,
        answer_timeout: float | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._retries = max(0, retries)
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._retry_after_cap = retry_after_cap
        # One attempt, connect to last byte: a slow drip ends here (the module docstring).
        self._answer_timeout = answer_timeout if answer_timeout is not None else connect_timeout + read_timeout
        self._max_answer_bytes = max_answer_bytes
        self._sleep = asyncio.sleep  # replaceable, so tests can see the backoff without waiting
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout),
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S),
            headers={"Accept": "application/json", "User-Agent": "kiosk-api/1"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> CentralApi:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the contract ---------------------------------------------------------------------------

    async def health(self) -> Health:
        return await self._call("GET", "/v1/health", Health, auth=False)

    async def catalog_page(self, cursor: str | None = None, limit: int = 200) -> CatalogPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return await self._call("GET", "/v1/catalog", CatalogPage, params=params)

    async def catalog_page_raw(self, cursor: str | None = None, limit: int = 500) -> bytes:
        """The same call as `catalog_page`, with the same retries and errors, but the body comes back as
        bytes, unparsed: the catalog sync parses and validates it in a worker thread, item by item."""
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await self._send("GET", self.base_url + "/v1/catalog", endpoint="GET /v1/catalog", params=params)
        return response.content

    async def categories_raw(self) -> bytes:
        """`categories` with the body unparsed (the catalog sync validates category by category)."""
        response = await self._send("GET", self.base_url + "/v1/categories", endpoint="GET /v1/categories")
        return response.content

    async def categories(self) -> list[Category]:
        return await self._call("GET", "/v1/categories", list[Category])

    async def promotions(self) -> list[Promotion]:
        return await self._call("GET", "/v1/promotions", list[Promotion])

    async def stores(self) -> list[Store]:
        return await self._call("GET", "/v1/stores", list[Store])

    async def stock(self, skus: Sequence[str], store_ids: Sequence[str]) -> StockAnswer:
        """Stock of every sku at every shop; more SKUs than one query allows are asked in chunks."""
        skus = list(dict.fromkeys(skus))
        if not skus:
            return StockAnswer(as_of=datetime.now(UTC), levels=[])
        answers = []
        for start in range(0, len(skus), MAX_SKUS_PER_STOCK_QUERY):
            query = StockQuery(skus=skus[start : start + MAX_SKUS_PER_STOCK_QUERY], store_ids=list(store_ids))
            answers.append(await self._call("POST", "/v1/stock:query", StockAnswer, body=query))
        if len(answers) == 1:
            return answers[0]
        # `as_of` may come naive or aware (the contract allows both); comparing the two raises TypeError.
        oldest = min(answers, key=lambda a: _aware(a.as_of)).as_of
        return StockAnswer(as_of=oldest, levels=[lv for a in answers for lv in a.levels])

    async def quote(self, request: QuoteRequest) -> Quote:
        return await self._call("POST", "/v1/quotes", Quote, body=request)

    async def reserve(self, request: ReservationRequest) -> Reservation:
        """Hold stock before paying; 409 `stock_unavailable` (ApiConflict with `shortages`) when gone."""
        return await self._call("POST", "/v1/reservations", Reservation, body=request,
                                idempotency_key=request.reservation_id)

    async def release_reservation(self, reservation_id: str) -> Reservation:
        return await self._call("POST", f"/v1/reservations/{reservation_id}/release", Reservation)

    async def authorise_payment(self, request: PaymentRequest) -> Payment:
        return await self._call(
            "POST", "/v1/payments", Payment, body=request, idempotency_key=request.payment_id,
            retry=_Retry.CONNECT_ONLY,
        )

    async def payment_status(self, payment_id: str) -> Payment:
        return await self._call("GET", f"/v1/payments/{payment_id}", Payment)

    async def void_payment(self, payment_id: str) -> Payment:
        # Voiding is idempotent on the server, so a lost answer may be retried.
        return await self._call("POST", f"/v1/payments/{payment_id}/void", Payment)

    async def place_order(self, request: OrderRequest) -> Order:
        return await self._call("POST", "/v1/orders", Order, body=request, idempotency_key=request.order_id)

    async def get_order(self, order_id: str) -> Order:
        return await self._call("GET", f"/v1/orders/{order_id}", Order)

    async def create_cart_link(self, request: CartLinkRequest) -> CartLink:
        """A short-lived link that opens this cart on the shopper's phone (the cart screen's QR).
        Retried like a read: a lost answer only leaves an unused link behind, which expires."""
        return await self._call("POST", "/v1/carts", CartLink, body=request)

    async def shared_cart(self, token: str) -> SharedCart:
        """The cart behind a hand-off link, at today's prices (no credential: the token is the key)."""
        return await self._call("GET", f"/v1/carts/{url_quote(token, safe='')}", SharedCart, auth=False)

    # --- staff calls: the kiosk's token plus the header naming the staff member (STAFF_HEADER) ---

    async def staff_members(self) -> list[StaffMember]:
        """The active staff of the kiosk's own shop, with their badge UIDs (no staff header needed)."""
        return await self._call("GET", "/v1/staff", list[StaffMember])

    async def adjust_stock(self, request: StockAdjustmentRequest, staff_id: str) -> StockAdjustment:
        """Goods received or counted in the kiosk's shop. Retried like `place_order`: the server
        answers a repeat of the same adjustment id, body and staff member with the first answer."""
        return await self._call("POST", "/v1/stock-adjustments", StockAdjustment, body=request,
                                idempotency_key=request.adjustment_id, staff_id=staff_id)

    async def stock_adjustment(self, adjustment_id: str, staff_id: str) -> StockAdjustment:
        """An adjustment as it was recorded; ApiNotFound when the central API never got it."""
        return await self._call("GET", f"/v1/stock-adjustments/{url_quote(adjustment_id, safe='')}",
                                StockAdjustment, staff_id=staff_id)

    async def pick_list(self, staff_id: str) -> PickList:
        """The pickup orders of the kiosk's shop (the server takes the shop from the kiosk's token)."""
        return await self._call("GET", "/v1/pick-lists", PickList, staff_id=staff_id)

    async def mark_picked(self, order_id: str, staff_id: str) -> PickOrder:
        # Idempotent on the server (an order already picked is answered as it is): safe to retry.
        return await self._call("POST", f"/v1/pick-lists/{url_quote(order_id, safe='')}/picked", PickOrder,
                                staff_id=staff_id)

    async def mark_handed_over(self, order_id: str, staff_id: str) -> PickOrder:
        """Idempotent like `mark_picked`; ApiConflict `not_picked` when it was not picked yet."""
        return await self._call("POST", f"/v1/pick-lists/{url_quote(order_id, safe='')}/handed-over", PickOrder,
                                staff_id=staff_id)

    def absolute_url(self, url: str) -> str:
        """A picture URL from the catalog as a full URL: relative ones are relative to the API base."""
        if urlsplit(url).scheme:
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    async def fetch_bytes(self, url: str) -> bytes:
        try:
            full = self.absolute_url(url)
            endpoint = f"GET {urlsplit(full).path}"
        except ValueError:  # e.g. "http://[::1": the URL came from a catalog answer
            raise ApiResponseError("GET: the picture URL is not a URL") from None
        # The token goes only to our own API, never to a CDN or another host named in the catalog.
        own = full.startswith(self.base_url + "/")
        response = await self._send("GET", full, endpoint=endpoint, auth=own)
        return response.content

    # --- fleet configuration (docs/fleet.md) -----------------------------------------------------

    async def fleet_report(self, report: FleetReport) -> FleetReportReceipt:
        """The pillar's configuration and health now (202). A snapshot: the server keeps the latest
        per kiosk, so a retried report after a lost answer does no harm (retried like a read)."""
        return await self._call("POST", "/v1/fleet/report", FleetReportReceipt, body=report)

    async def fleet_bundle(self, url: str, etag: str | None = None) -> BundleFetch:
        """GET one bundle file with `If-None-Match: etag` (opaque, as the host gave it): 200 changed,
        304 unchanged, 404 absent (BundleFetch). Other answers raise like every call (ApiStatusError,
        ApiConnectionError, ApiTimeoutError), retried like a read.

        The body is streamed and cut after MAX_BUNDLE_BYTES + 1 bytes (decoded bytes, so a compressed
        answer cannot inflate past it either): an oversized file comes back as `changed` with those
        bytes, and `parse_and_verify` rejects it as `oversized` before parsing anything.

        Never with the kiosk's token, not even when `url` is on the API's own host: bundle files are
        public on purpose and may be served by any web server, bucket or CDN, and a bearer token sent
        there would hand the pillar's credential to a third party (and to its logs). A bundle proves
        itself by its signature, so nothing is gained by a credential; and shared caches do not serve
        requests carrying Authorization from cache, which would defeat the CDN.
        """
        try:
            full = self.absolute_url(url)
            endpoint = f"GET {urlsplit(full).path}"
        except ValueError:
            raise ApiResponseError("GET: the bundle URL is not a URL") from None
        headers = {"If-None-Match": etag} if etag else {}
        attempt = 0
        while True:
            started = time.monotonic()
            retry_after: float | None = None
            try:
                async with asyncio.timeout(self._answer_timeout), \
                        self._client.stream("GET", full, headers=headers) as response:
                    status = response.status_code
                    log.info("%s -> %d (%.0f ms)", endpoint, status, (time.monotonic() - started) * 1000)
                    if status == 304:
                        return BundleFetch("unchanged", None, response.headers.get("ETag") or etag)
                    if status == 404:
                        return BundleFetch("absent")
                    body = await self._read_limited(response, MAX_BUNDLE_BYTES + 1)
                    if response.is_success:
                        if len(body) > MAX_BUNDLE_BYTES:
                            log.warning("%s: more than %d bytes, not read further", endpoint, MAX_BUNDLE_BYTES)
                        return BundleFetch("changed", body, response.headers.get("ETag"))
                    error_answer = httpx.Response(status, content=body, request=response.request,
                                                  headers={"Content-Type": response.headers.get("Content-Type", "")})
                    error: ApiError = self._status_error(endpoint, error_answer)
                    retryable = _is_transient_status(status)
                    retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                error = ApiConnectionError(f"{endpoint}: could not connect to {urlsplit(full).netloc} ({exc!r})")
                retryable = True
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise ApiResponseError(f"{endpoint}: the bundle URL cannot be fetched ({type(exc).__name__})") from None
            except httpx.DecodingError:
                raise ApiResponseError(f"{endpoint}: the answer's Content-Encoding does not decode") from None
            except httpx.TimeoutException as exc:
                error = ApiTimeoutError(f"{endpoint}: no answer in time ({type(exc).__name__})")
                retryable = True
            except TimeoutError:
                error = ApiTimeoutError(f"{endpoint}: no complete answer in {self._answer_timeout:g} s")
                retryable = True
            except httpx.TransportError as exc:
                error = ApiTimeoutError(f"{endpoint}: connection lost mid-answer ({exc!r})")
                retryable = True

            attempt = await self._retry_or_raise(endpoint, error, retryable, attempt, retry_after)

    @staticmethod
    async def _read_limited(response: httpx.Response, limit: int) -> bytes:
        """At most `limit` bytes of the (decoded) body; the rest is never read."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
        return b"".join(chunks)[:limit]

    # --- plumbing -------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        answer_type: type[T] | Any,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        retry: _Retry = _Retry.ALWAYS,
        auth: bool = True,
        staff_id: str | None = None,
    ) -> T:
        endpoint = f"{method} {path}"
        response = await self._send(
            method, self.base_url + path, endpoint=endpoint, params=params,
            json=body.model_dump(mode="json") if body is not None else None,
            idempotency_key=idempotency_key, retry=retry, auth=auth, staff_id=staff_id,
        )
        return self._parse(endpoint, response, answer_type)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        endpoint: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        retry: _Retry = _Retry.ALWAYS,
        auth: bool = True,
        staff_id: str | None = None,
    ) -> httpx.Response:
        # Built once: every retry carries the very same Idempotency-Key.
        headers = {}
        if auth:
            headers["Authorization"] = f"Bearer {self._token}"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        if staff_id is not None:
            headers[STAFF_HEADER] = staff_id

        attempt = 0
        while True:
            started = time.monotonic()
            retry_after: float | None = None
            try:
                async with asyncio.timeout(self._answer_timeout):
                    response = await self._request(method, url, params=params, json=json, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                error: ApiError = ApiConnectionError(f"{endpoint}: could not connect to {self.base_url} ({exc!r})")
                retryable = True
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                # A picture URL from the catalog that httpx cannot fetch: no retry will change that.
                raise ApiResponseError(f"{endpoint}: the URL cannot be fetched ({type(exc).__name__})") from None
            except httpx.DecodingError:
                # Says gzip (or br, deflate), is not: garbled like invalid JSON, and not retried either.
                raise ApiResponseError(f"{endpoint}: the answer's Content-Encoding does not decode") from None
            except httpx.TimeoutException as exc:
                error = ApiTimeoutError(f"{endpoint}: no answer in time, outcome unknown ({type(exc).__name__})")
                retryable = retry is _Retry.ALWAYS
            except TimeoutError:  # asyncio.timeout: the answer came too slowly as a whole (slow drip)
                error = ApiTimeoutError(f"{endpoint}: no complete answer in {self._answer_timeout:g} s, "
                                        "outcome unknown")
                retryable = retry is _Retry.ALWAYS
            except httpx.TransportError as exc:
                # Sent, then the connection failed mid-way: as unknown as a timeout.
                error = ApiTimeoutError(f"{endpoint}: connection lost, outcome unknown ({exc!r})")
                retryable = retry is _Retry.ALWAYS
            else:
                elapsed_ms = (time.monotonic() - started) * 1000
                log.info("%s -> %d (%.0f ms)", endpoint, response.status_code, elapsed_ms)
                if response.is_success:
                    return response
                error = self._status_error(endpoint, response)
                retryable = retry is _Retry.ALWAYS and _is_transient_status(response.status_code)
                retry_after = _parse_retry_after(response.headers.get("Retry-After"))

            attempt = await self._retry_or_raise(endpoint, error, retryable, attempt, retry_after)

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, its body read up to `max_answer_bytes`: a successful answer that is larger is an
        ApiResponseError (never retried: the next would be as large); an error answer keeps the start."""
        request = self._client.build_request(method, url, **kwargs)
        streamed = await self._client.send(request, stream=True)
        try:
            body = await self._read_limited(streamed, self._max_answer_bytes + 1)
        finally:
            await streamed.aclose()
        if len(body) > self._max_answer_bytes:
            if streamed.is_success:
                raise ApiResponseError(f"{method} {urlsplit(url).path}: the answer is larger than "
                                       f"{self._max_answer_bytes} bytes, not read further")
            body = body[: self._max_answer_bytes]
        # `body` is decoded already: without these headers the new Response does not decode it again.
        # Raw bytes: a value with a non-ASCII byte (obs-text, RFC 9110 5.5) would not encode back from str.
        headers = [(k, v) for k, v in streamed.headers.raw
                   if k.lower() not in (b"content-encoding", b"content-length", b"transfer-encoding")]
        return httpx.Response(streamed.status_code, headers=headers, content=body, request=request,
                              extensions=streamed.extensions)

    async def _retry_or_raise(self, endpoint: str, error: ApiError, retryable: bool, attempt: int,
                              retry_after: float | None) -> int:
        """After a failed attempt: raise `error` when it is final, else wait the backoff; the next
        attempt's number (the one retry policy of every call, bundle fetches included)."""
        if not retryable or attempt >= self._retries:
            log.info("%s failed: %s", endpoint, error)
            raise error
        delay = self._backoff(attempt, retry_after)
        attempt += 1
        log.warning("%s: %s; retry %d of %d in %.2f s", endpoint, error, attempt, self._retries, delay)
        await self._sleep(delay)
        return attempt

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._retry_after_cap)
        ceiling = min(self._backoff_max, self._backoff_base * (2**attempt))
        # "Equal jitter": at least half the step, so retries never bunch up at zero delay.
        return random.uniform(ceiling / 2, ceiling)

    @staticmethod
    def _status_error(endpoint: str, response: httpx.Response) -> ApiStatusError:
        status = response.status_code
        try:
            body = ErrorResponse.model_validate_json(response.content)
            code, message, shortages = body.error.code, body.error.message, body.error.shortages
        except ValidationError:
            # Not our server's error shape (a proxy's HTML page, say): keep it short and readable.
            code, message, shortages = f"http_{status}", response.reason_phrase or "error", []
        return _STATUS_ERRORS.get(status, ApiStatusError)(status, code, message, endpoint=endpoint,
                                                          shortages=shortages)

    @staticmethod
    def _parse(endpoint: str, response: httpx.Response, answer_type: Any) -> Any:
        try:
            data = response.json()
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the stack
            content_type = response.headers.get("content-type", "none")
            raise ApiResponseError(
                f"{endpoint}: the answer is not JSON (HTTP {response.status_code}, content-type {content_type}, "
                f"{len(response.content)} bytes)"
            ) from None
        try:
            return _adapter(answer_type).validate_python(data)
        except ValidationError as exc:
            name = getattr(answer_type, "__name__", str(answer_type))
            raise ApiResponseError(
                f"{endpoint}: the answer does not match {name}: {_describe_validation(exc)}"
            ) from None
