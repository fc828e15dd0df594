"""Blocking calls (pyscard, statvfs, SQLite) off the asyncio loop, with a time limit that always holds.

Each call runs on a daemon thread of its own, not on the loop's default executor: a pcscd that
hangs forever keeps one daemon thread, never a slot of the pool the journal writes through, and it
cannot keep the process from exiting. One call per key at a time: while an earlier call of the same
kind still hangs, a new one fails at once (`StillRunning`) instead of piling up threads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class StillRunning(Exception):
    """An earlier call of this kind has not returned yet (it hangs, or is still waiting)."""


class BlockingRunner:
    def __init__(self, name: str = "diagnostics") -> None:
        self._name = name
        self._running: dict[str, asyncio.Future] = {}

    def busy(self, key: str) -> bool:
        future = self._running.get(key)
        return future is not None and not future.done()

    async def run(self, key: str, timeout_s: float, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a daemon thread; raises TimeoutError after `timeout_s` (the thread is left
        to finish on its own) or StillRunning while the previous call for `key` has not returned."""
        if self.busy(key):
            raise StillRunning(f"the previous {key} check has not returned yet")
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        # Retrieve a late outcome nobody waits for any more (no "exception was never retrieved").
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._running[key] = future

        def settle(ok: bool, value: Any) -> None:
            if future.done():
                return
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

        def target() -> None:
            try:
                outcome = (True, fn(*args))
            except BaseException as exc:  # handed to the loop, raised there
                outcome = (False, exc)
            try:
                loop.call_soon_threadsafe(settle, *outcome)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

        threading.Thread(target=target, name=f"{self._name}-{key}", daemon=True).start()
        return await asyncio.wait_for(asyncio.shield(future), timeout_s)
