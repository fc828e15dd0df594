"""Staff badges tapped at any time the pillar is not taking a payment (issue 8: staff entry).

    watcher = BadgeWatcher(terminal, on_badge=log_in_by_badge)   # on_badge(badge_id) runs on the loop
    watcher.start()                       # an asyncio task, on the running loop
    async with watcher.paused():          # the pay screen owns the reader inside the block
        result = await asyncio.to_thread(terminal.read_card, ...)
    await watcher.stop()

The task loops `terminal.wait_for_badge(poll_s, cancel)` on a worker thread (like
`asyncio.to_thread`, but a daemon thread of its own per call: a hung pcscd then holds one daemon
thread, never a slot of the loop's default executor, and never keeps the kiosk from exiting). A badge
id is handed to `on_badge` on the loop. The reader has one owner at a time: at most one worker thread
is ever inside the terminal, `pause()` returns only once it has left (the cancel event makes that
quick, about 0.1 s), and the next wait starts only after `resume()`. Pauses nest (a counter): the
watcher polls again when every `pause()` got its `resume()`. A worker that does not leave within
`pause(timeout_s)` (pcscd hangs) makes `pause()` raise `ReaderUnavailable`, its pause undone.

A failing reader (pcscd down, reader unplugged) never ends the task: the error is logged when it
changes (not every retry), the wait is retried after a growing delay (`backoff_s`), and the return
of the reader is logged once. `last_error` says what is wrong now (None when all is well).

No Kivy here: the app starts the watcher and wires `on_badge` to its staff login.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from kiosk.hardware.terminal import CardError, ReaderUnavailable

log = logging.getLogger("kiosk.hardware.badge_watch")

DEFAULT_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
MIN_ROUND_S = 0.05  # a terminal answering at once must not make the loop spin
PAUSE_TIMEOUT_S = 5.0  # a worker still in the terminal after this: the reader (pcscd) hangs


class BadgeWatcher:
    def __init__(
        self,
        terminal: Any,
        on_badge: Callable[[str], object],
        *,
        poll_s: float = 0.5,
        backoff_s: Sequence[float] = DEFAULT_BACKOFF_S,
    ):
        if poll_s <= 0:
            raise ValueError("poll_s must be positive")
        if not backoff_s or any(delay < 0 for delay in backoff_s):
            raise ValueError("backoff_s needs at least one delay, none negative")
        self.terminal = terminal
        self.on_badge = on_badge
        self.poll_s = poll_s
        self.backoff_s = tuple(backoff_s)
        self.last_error: str | None = None  # what is wrong with the reader now, for diagnostics
        self.failures = 0  # consecutive failed waits
        self._wait = getattr(terminal, "wait_for_badge", None)
        self._takes_cancel = self._wait is not None and _accepts_cancel(self._wait)
        self._pauses = 0
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._stopping = False
        self._stopped = asyncio.Event()  # set by stop(): ends a backoff wait at once
        self._cancel = threading.Event()  # tells the worker thread in the terminal to return soon
        self._worker: asyncio.Future[str | None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._callbacks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        state = "stopped" if self._task is None or self._task.done() else "paused" if self._pauses else "watching"
        return f"BadgeWatcher({self.terminal!r}, {state})"

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Start watching (call on the running loop). Starting a running watcher changes nothing."""
        if self._task is not None and not self._task.done():
            return self._task
        self._stopping = False
        self._stopped.clear()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="badge-watcher")
        self._task.add_done_callback(_report_end)
        return self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def is_paused(self) -> bool:
        return self._pauses > 0

    @property
    def busy(self) -> bool:
        """True while a worker thread is inside the terminal."""
        return self._worker is not None and not self._worker.done()

    async def pause(self, timeout_s: float | None = PAUSE_TIMEOUT_S) -> None:
        """Stop polling; returns once no worker thread is inside the terminal any more, so the
        caller may then use the reader (read_card). Every pause() that returned needs a resume().

        Raises `ReaderUnavailable` when the worker is still inside after `timeout_s` (pcscd hangs);
        then, as when the caller is cancelled meanwhile, this pause is undone (no resume() due)."""
        self._pauses += 1
        self._resumed.clear()
        try:
            left = await self._drain(timeout_s)
        except BaseException:
            self.resume()
            raise
        if not left:
            self.resume()
            raise ReaderUnavailable(f"the card reader did not answer within {timeout_s:g} s (is pcscd hanging?)")

    def resume(self) -> None:
        """Undo one pause(); polling restarts when none is left."""
        if self._pauses == 0:
            log.warning("BadgeWatcher.resume() without a pause()")
            return
        self._pauses -= 1
        if self._pauses == 0:
            self._resumed.set()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """`async with watcher.paused():` the reader belongs to the block."""
        await self.pause()
        try:
            yield
        finally:
            self.resume()

    async def stop(self, timeout_s: float = PAUSE_TIMEOUT_S) -> None:
        """Stop for good; returns once the worker thread has left the terminal (or after
        `timeout_s`, leaving a hung one behind: it is a daemon thread)."""
        self._stopping = True
        self._stopped.set()
        self._resumed.set()  # wake a loop waiting for resume(), so it can end
        if not await self._drain(timeout_s):
            log.warning("badge watcher stopped with its reader call still hanging")
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for callback in list(self._callbacks):
            callback.cancel()

    async def _drain(self, timeout_s: float | None) -> bool:
        """Ask the worker to return and wait for it (at most `timeout_s`); True once none is inside."""
        worker = self._worker
        if worker is None or worker.done():
            return True
        self._cancel.set()
        done, _ = await asyncio.wait([worker], timeout=timeout_s)  # asyncio.wait never cancels it
        return bool(done)

    # --- the loop -------------------------------------------------------------------------------

    async def _run(self) -> None:
        if self._wait is None:
            log.warning("terminal %r cannot watch for badges (no wait_for_badge): badge taps are not seen", self.terminal)
            return
        while not self._stopping:
            if self._pauses:
                await self._resumed.wait()
                continue  # look again: a pause() may have come between the resume() and now
            # No await between the check above and starting the worker: a pause() cannot slip in.
            self._cancel.clear()
            started = time.monotonic()
            self._worker = _in_daemon_thread(self._call_terminal)
            await asyncio.wait([self._worker])  # a cancelled loop leaves the worker to stop()
            worker, self._worker = self._worker, None
            try:
                badge_id = worker.result()
            except Exception as exc:  # noqa: BLE001 - the watcher must outlive any reader failure
                await self._failed(exc)
                continue
            self._recovered()
            if badge_id is not None:
                self._deliver(badge_id)
            elif time.monotonic() - started < MIN_ROUND_S:
                await asyncio.sleep(MIN_ROUND_S)

    def _call_terminal(self) -> str | None:
        if self._takes_cancel:
            return self._wait(self.poll_s, cancel=self._cancel)
        return self._wait(self.poll_s)

    def _deliver(self, badge_id: str) -> None:
        if self._stopping or self._pauses:
            # Tapped as the reader was being handed to a payment: the pay screen's own read sees a
            # badge still on the reader (BadgePresented); logging in now would cut a payment short.
            log.info("badge tap while pausing not passed on (%s…)", badge_id[:4])
            return
        try:
            result = self.on_badge(badge_id)
        except Exception:
            log.exception("on_badge failed")
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._callbacks.add(task)
            task.add_done_callback(self._callback_done)

    def _callback_done(self, task: asyncio.Task[Any]) -> None:
        self._callbacks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("on_badge failed", exc_info=task.exception())

    async def _failed(self, exc: Exception) -> None:
        description = f"{type(exc).__name__}: {exc}"
        if description != self.last_error:
            if isinstance(exc, CardError):
                log.warning("badge reader unavailable, retrying: %s", description)
            else:
                log.error("badge watch failed, retrying: %s", description, exc_info=exc)
        else:
            log.debug("badge reader still unavailable: %s", description)
        self.last_error = description
        delay = self.backoff_s[min(self.failures, len(self.backoff_s) - 1)]
        self.failures += 1
        with contextlib.suppress(asyncio.TimeoutError):
            # A stop() ends the wait early; a pause() during it just finds no worker to wait for.
            await asyncio.wait_for(self._stopped.wait(), delay)

    def _recovered(self) -> None:
        if self.last_error is not None:
            log.info("badge reader back after %d failed attempt(s)", self.failures)
        self.last_error = None
        self.failures = 0


def _in_daemon_thread(function: Callable[[], Any]) -> asyncio.Future[Any]:
    """`function()` on a new daemon thread; its result or exception settles the returned future on
    the running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def target() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (function(), None)
        except BaseException as exc:  # noqa: BLE001 - handed to the loop
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop closed meanwhile: nobody waits any more
            pass

    threading.Thread(target=target, name="badge-watch", daemon=True).start()
    return future


def _accepts_cancel(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return "cancel" in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("badge watcher ended by an error", exc_info=task.exception())
