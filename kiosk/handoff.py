"""Cart hand-off: the QR on the cart screen opens the same cart on the shopper's phone.

`HandoffService.link(cart)` asks the central API for a short-lived link to the cart's content
(`POST /v1/carts`: skus and quantities; the server reads names and today's prices when the phone opens
it) and returns its URL. The link is kept for the same content until `refresh_before` ahead of its
expiry, so going back and forth to the cart screen asks nothing; a changed cart (another line, another
quantity) gets a new token, and going back to an earlier content reuses its still fresh link. Two
callers asking for the same content at once share one request. No Kivy, no personal data: a link
knows the shop and the lines, nothing of the shopper.

Errors are the API client's (`kiosk.api.ApiError`): the screen says quietly that the phone link is not
available now, and the cart works on without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kiosk.api import CentralApi
from kiosk.cart import Cart
from kiosk.contract import CartLink, CartLinkRequest, ItemIn

Content = tuple[tuple[str, int], ...]  # (sku, quantity) per line, in the cart's order


def cart_content(cart: Cart) -> Content:
    return tuple((line.sku, line.quantity) for line in cart.lines)


@dataclass(frozen=True)
class _Link:
    url: str
    expires_at: datetime


class HandoffService:
    MAX_KEPT = 8  # links of recent contents of this cart (the shopper taps + and - and + again)

    def __init__(self, api: CentralApi, store_id: str, *, refresh_before: timedelta = timedelta(minutes=5),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._api = api
        self._store_id = store_id
        self._refresh_before = refresh_before
        self._clock = clock
        self._links: dict[Content, _Link] = {}
        self._pending: dict[Content, asyncio.Future[_Link]] = {}
        self.requests = 0  # links asked of the central API (tests and logs)

    def cached(self, cart: Cart) -> str | None:
        """The link for this cart's content when one is known and not near its expiry; asks nothing."""
        link = self._links.get(cart_content(cart))
        if link is None or link.expires_at - self._refresh_before <= self._clock():
            return None
        return link.url

    async def link(self, cart: Cart) -> str:
        """The URL that opens this cart on a phone. ValueError for an empty cart; ApiError when the
        central API cannot make one now."""
        content = cart_content(cart)
        if not content:
            raise ValueError("an empty cart has no link")
        if (url := self.cached(cart)) is not None:
            return url
        pending = self._pending.get(content)
        if pending is None:
            pending = asyncio.ensure_future(self._ask(content))
            self._pending[content] = pending
            pending.add_done_callback(lambda _: self._pending.pop(content, None))
        # Shielded: a caller that gives up (the shopper left the screen) does not cancel the request
        # another caller may be waiting for.
        return (await asyncio.shield(pending)).url

    async def _ask(self, content: Content) -> _Link:
        request = CartLinkRequest(store_id=self._store_id,
                                  lines=[ItemIn(sku=sku, quantity=quantity) for sku, quantity in content])
        self.requests += 1
        answer: CartLink = await self._api.create_cart_link(request)
        link = _Link(answer.url, answer.expires_at)
        self._keep(content, link)
        return link

    def _keep(self, content: Content, link: _Link) -> None:
        now = self._clock()
        self._links = {c: l for c, l in self._links.items() if l.expires_at > now and c != content}
        self._links[content] = link
        while len(self._links) > self.MAX_KEPT:
            self._links.pop(next(iter(self._links)))  # the oldest first

    def forget(self) -> None:
        """A new shopper: nothing of the previous cart's links is kept."""
        self._links.clear()
