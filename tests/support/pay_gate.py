"""An httpx transport in front of the real reference server that holds payment answers and fails voids.

- Authorisations (`POST /v1/payments`) are forwarded to the server at once (it decides and commits),
  but while the gate is closed their answer is held back: the kiosk sits in "authorising" with an
  outcome already decided, as when a bank is slow. `held` is set when one is waiting; `release()`
  lets it (and every later one) through.
- Voids (`POST /v1/payments/{id}/void`): the first `fail_voids` HTTP requests fail as a dropped
  connection before reaching the server (the client's own retries count as requests too).

Everything else passes untouched.
"""

from __future__ import annotations

import asyncio

import httpx


class PaymentGate(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport | None = None, *, hold: bool = True, fail_voids: int = 0) -> None:
        self.inner = inner or httpx.AsyncHTTPTransport()
        self._open = asyncio.Event()
        if not hold:
            self._open.set()
        self.held = asyncio.Event()
        self.fail_voids = fail_voids
        self.voids_failed = 0
        self.voids_sent = 0

    def release(self) -> None:
        self._open.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path.startswith("/v1/payments/") and path.endswith("/void"):
            if self.voids_failed < self.fail_voids:
                self.voids_failed += 1
                raise httpx.ConnectError("payment gate: void dropped", request=request)
            self.voids_sent += 1
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and path == "/v1/payments" and not self._open.is_set():
            content = await response.aread()  # the server has decided; the kiosk does not know yet
            await response.aclose()
            self.held.set()
            await self._open.wait()
            headers = [(k, v) for k, v in response.headers.items()
                       if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
            return httpx.Response(response.status_code, headers=headers, content=content, request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
