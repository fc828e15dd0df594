"""A kiosk process without a window, made to be killed: the crash harness SIGKILLs it at random points.

    python -m tests.crash.worker --url URL --journal PATH [--seed N] [--recover-only]

It opens the journal, drives whatever the last (killed) run left unfinished to a final state
(`outbox.drain_until_settled`, the start-up recovery), then takes checkouts in a loop for ever: a
random cart, paid with a simulated card (sometimes a declined card first, then another card or a
shopper who walks away), each followed by `checkout.leave(reference)`, with the outbox running in
the background as in the app. A fault injector sits between it and the reference server (dropped
connections, delays, 500/503/429, answers lost after the server committed), so the outbox has a
backlog to drain when a kill lands.

One line on stdout per event, flushed at once, so the line is proof the event happened:

    <who> <event> <reference> [detail]

`who` is `recovery` (start-up drain), `checkout` (the shopper's flow) or `outbox` (the background
drain); events are `journal <state>` (that state is durable on disk), `send <call>` (request about
to go out), `recv <call> <outcome>` (its answer came in), `checkout`, `result`, `left`, `alert`.
Some runs begin with the orders endpoint down for a few
checkouts, so paid orders pile up and the outbox is delivering them in the background when the
kill comes. Small random pauses after each event spread the kills over every gap: before authorisation, between
the approval and the paid write, between paid and submission, during submission, during draining.

`--recover-only`: recovery and nothing else; exit 0 once the journal holds nothing unfinished.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import logging
import random
import sys
from pathlib import Path

import httpx

from kiosk.api import ApiError, CentralApi
from kiosk.cart import Cart, CartLine
from kiosk.checkout import Checkout, new_order_reference
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.journal.journal import Journal
from kiosk.outbox import Outbox
from kiosk.payments import PaymentService, PaymentState
from tests.support.faults import FaultInjectingTransport, FaultPlan

ROOT = Path(__file__).resolve().parents[2]
KEY = ROOT / "config" / "payment_service_public.pem"
KIOSK_ID = "demo-kiosk-01"
STORE_ID = "utrecht-centrum"
TOKEN = "demo-kiosk-token"

who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="main")


class Events:
    def __init__(self, rng: random.Random, pause_s: float) -> None:
        self.rng = rng
        self.pause_s = pause_s

    def emit(self, event: str, order_id: str = "-", detail: str = "") -> None:
        reference = order_id.rsplit(".", 1)[-1]
        print(f"{who.get()} {event} {reference} {detail}".rstrip(), flush=True)

    async def pause(self) -> None:
        if self.pause_s > 0:
            await asyncio.sleep(self.rng.uniform(0, self.pause_s))


class EventJournal(Journal):
    """The journal, saying (and then dawdling) after each durable write."""

    events: Events

    async def create(self, entry, **kwargs):
        new = await super().create(entry, **kwargs)
        self.events.emit("journal created", new.order_id)
        await self.events.pause()
        return new

    async def advance(self, order_id, new_state, /, **kwargs):
        new = await super().advance(order_id, new_state, **kwargs)
        self.events.emit(f"journal {new.state.value}", order_id, new.failure_reason or "")
        await self.events.pause()
        return new


class EventApi:
    """The calls checkout and outbox make, announced before they go out and when they come back."""

    def __init__(self, api: CentralApi, events: Events) -> None:
        self._api = api
        self._events = events

    async def _call(self, name: str, order_id: str, outcome, call):
        self._events.emit(f"send {name}", order_id)
        try:
            answer = await call
        except ApiError as exc:
            self._events.emit(f"recv {name}", order_id, type(exc).__name__)
            raise
        self._events.emit(f"recv {name}", order_id, outcome(answer))
        await self._events.pause()
        return answer

    async def authorise_payment(self, request):
        return await self._call("authorise", request.order_id, lambda p: p.status.value,
                                self._api.authorise_payment(request))

    async def payment_status(self, payment_id):
        return await self._call("status", "-", lambda p: p.status.value, self._api.payment_status(payment_id))

    async def void_payment(self, payment_id):
        return await self._call("void", "-", lambda p: p.status.value, self._api.void_payment(payment_id))

    async def place_order(self, request):
        return await self._call("order", request.order_id, lambda o: o.order_number,
                                self._api.place_order(request))

    def __getattr__(self, name):
        return getattr(self._api, name)


class Outage(httpx.AsyncBaseTransport):
    """The orders endpoint down for a while (connections refused), so the outbox gets a backlog."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.path.startswith("/v1/orders"):
            raise httpx.ConnectError("outage: orders endpoint down", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ChoosableTerminal:
    """The shopper picks which card to tap: a declined one or a good one."""

    name = "simulated"

    def __init__(self) -> None:
        self.cards = {p: SimulatedTerminal(KEY, profile=p, delay_s=0) for p in ("visa", "declined")}
        self.profile = "visa"

    def is_available(self) -> bool:
        return True

    def read_card(self, request, cancel, **options):
        return self.cards[self.profile].read_card(request, cancel, **options)


async def settle(outbox: Outbox, journal: Journal, events: Events, *, timeout_s: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while journal.unfinished() and loop.time() < deadline:
        await outbox.drain_until_settled(timeout_s=max(0.1, deadline - loop.time()))
    events.emit("settled", detail=str(journal.depth()))
    return not journal.unfinished()


async def main(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    events = Events(rng, args.pause_ms / 1000)
    who.set("main")
    events.emit("start")
    faults = FaultInjectingTransport(FaultPlan(rate=args.fault_rate, seed=rng.randrange(2**32)))
    outage = Outage(faults)
    api = CentralApi(args.url, TOKEN, transport=outage, read_timeout=2.0, backoff_base=0.001, backoff_max=0.01)
    journal = EventJournal(Path(args.journal), on_alert=lambda a: events.emit("alert", a.order_id or "-", a.kind))
    journal.events = events
    await journal.open()
    events.emit("open", detail=str(journal.depth()))
    tapi = EventApi(api, events)
    outbox = Outbox(tapi, journal, kiosk_id=KIOSK_ID, base_delay_s=0.005, max_delay_s=0.2, rng=rng)
    terminal = ChoosableTerminal()
    # The crash test is about the journal, not the PIN limit: any amount may be paid contactless here.
    payments = PaymentService(tapi, terminal, card_timeout_s=5, no_cvm_limit_cents=100_000_000)
    payments.STATUS_FIRST_DELAY_S = 0.005
    checkout = Checkout(journal, payments, outbox, kiosk_id=KIOSK_ID, store_id=STORE_ID,
                        tracking_base_url=args.url)

    who.set("recovery")  # what the killed run left unfinished
    settled = await settle(outbox, journal, events, timeout_s=120 if args.recover_only else 30)
    if args.recover_only:
        journal.close()
        await api.aclose()
        for entry in journal.unfinished():
            print(f"unfinished {entry.order_id} {entry.state.value}", file=sys.stderr)
        return 0 if settled else 1

    products = (await api.catalog_page(limit=60)).items  # catalog traffic is not faulted
    who.set("outbox")  # the background drain inherits this in its context
    background = asyncio.create_task(outbox.run(idle_s=0.05))
    who.set("checkout")
    # Some runs start with the orders endpoint down for a few checkouts: paid orders pile up in the
    # journal, and the background outbox is delivering them when the next kill lands.
    outage_for = rng.randint(1, 3) if rng.random() < 0.3 else 0
    n = 0
    while True:
        outage.down = n < outage_for
        n += 1
        cart = Cart()
        for product in rng.sample(products, rng.randint(1, 3)):
            v = product.variants[0]
            cart.add(CartLine(sku=v.sku, product_id=product.id, name=product.name, variant_label="",
                              unit_price_cents=v.price_cents, quantity=rng.randint(1, 2)))
        reference = new_order_reference()
        order_id = checkout.order_id_for(reference)
        events.emit("checkout", order_id)
        terminal.profile = "declined" if rng.random() < 0.1 else "visa"
        try:
            result = await checkout.pay_and_order(cart, reference)
            events.emit("result", order_id, result.progress.reason or result.progress.state.value)
            if result.progress.state is PaymentState.declined and rng.random() < 0.5:
                terminal.profile = "visa"  # another card
                result = await checkout.pay_and_order(cart, reference)
                events.emit("result", order_id, result.progress.reason or result.progress.state.value)
        except Exception as exc:  # the app would show an error; the crash test counts these
            events.emit("error", order_id, type(exc).__name__)
            logging.getLogger("crash.worker").exception("checkout %s", order_id)
        checkout.leave(reference)
        entry = journal.get(order_id)
        events.emit("left", order_id, entry.state.value if entry else "not-journaled")
        if background.done():
            background.result()  # raises what stopped it
        await events.pause()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--pause-ms", type=float, default=8.0)
    parser.add_argument("--recover-only", action="store_true")
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    sys.exit(asyncio.run(main(parse())))
