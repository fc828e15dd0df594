"""A fault injector between the kiosk and the real reference server, as an httpx transport.

Every request is forwarded to the real server over loopback, unless the dice say otherwise:

- `drop`: the connection fails before the request is sent (the server sees nothing);
- `delay`: the answer comes late (but within the client's timeout);
- `500` / `503` / `429`: an error answer without forwarding (503 and 429 with Retry-After);
- `lost`: the request IS forwarded and committed by the server, then the answer is lost
  (the connection drops mid-answer) — the failure that makes kiosks charge twice.

Deterministic per seed, and it counts what it did so tests can show the faults happened.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field

import httpx

FAULTS = ("drop", "delay", "500", "503", "429", "lost")


@dataclass
class FaultPlan:
    rate: float = 0.3  # share of requests that meet a fault
    weights: dict[str, float] = field(default_factory=lambda: {f: 1.0 for f in FAULTS})
    max_delay_s: float = 0.05
    only_paths: tuple[str, ...] = ("/v1/payments", "/v1/orders")  # leave catalog traffic alone
    seed: int = 0


class FaultInjectingTransport(httpx.AsyncBaseTransport):
    def __init__(self, plan: FaultPlan, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.plan = plan
        self.inner = inner or httpx.AsyncHTTPTransport()
        self.random = random.Random(plan.seed)
        self.counts: Counter[str] = Counter()
        self.enabled = True

    def _pick(self, request: httpx.Request) -> str | None:
        if not self.enabled or not request.url.path.startswith(self.plan.only_paths):
            return None
        if self.random.random() >= self.plan.rate:
            return None
        names = list(self.plan.weights)
        return self.random.choices(names, weights=[self.plan.weights[n] for n in names])[0]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._pick(request)
        self.counts[fault or "ok"] += 1
        if fault == "drop":
            raise httpx.ConnectError("fault injector: connection refused", request=request)
        if fault in ("500", "503", "429"):
            headers = {"Retry-After": "0"} if fault in ("503", "429") else {}
            body = b'{"error": {"code": "injected", "message": "fault injector"}}'
            return httpx.Response(int(fault), headers={"content-type": "application/json", **headers},
                                  content=body, request=request)
        if fault == "delay":
            await asyncio.sleep(self.random.uniform(0, self.plan.max_delay_s))
        response = await self.inner.handle_async_request(request)
        if fault == "lost":
            await response.aread()  # the server has answered: whatever it did is committed
            await response.aclose()
            raise httpx.RemoteProtocolError("fault injector: connection lost mid-answer", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
