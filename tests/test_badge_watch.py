"""The badge watcher (issue 8 point 1: a staff badge tapped at any time the pillar is not paying),
with the simulated terminal and with scripted terminals: taps reach `on_badge` on the loop, a pause
stops polling and returns only once the worker thread has left the terminal, one thread at a time in
the terminal, reader failures retried with backoff and logged once per change."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import pytest

from kiosk.hardware.badge_watch import BadgeWatcher
from kiosk.hardware.simulator import SimulatedTerminal
from kiosk.hardware.terminal import ReaderUnavailable

KEY = Path(__file__).resolve().parents[1] / "config" / "payment_service_public.pem"


async def until(condition, timeout_s: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Recorder:
    """on_badge: records the badge ids and the thread it was called on."""

    def __init__(self):
        self.badges: list[str] = []
        self.threads: set[int] = set()

    def __call__(self, badge_id: str) -> None:
        self.badges.append(badge_id)
        self.threads.add(threading.get_ident())


class SlowTerminal:
    """A terminal whose wait ignores any cancel (no `cancel` parameter) and takes `block_s`, like a
    reader call that cannot be interrupted. Counts the threads inside it at once."""

    def __init__(self, block_s: float = 0.3):
        self.block_s = block_s
        self.lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.calls = 0
        self.taps: list[str] = []

    def wait_for_badge(self, timeout_s: float) -> str | None:
        with self.lock:
            self.inside += 1
            self.calls += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            time.sleep(self.block_s)
            with self.lock:
                return self.taps.pop(0) if self.taps else None
        finally:
            with self.lock:
                self.inside -= 1


class FailingTerminal:
    """Raises the scripted errors in turn, then returns `badge` once; records when it was called."""

    def __init__(self, errors: list[Exception], badge: str = "04A1B2C3"):
        self.errors = list(errors)
        self.badge: str | None = badge
        self.call_times: list[float] = []

    def wait_for_badge(self, timeout_s: float, cancel: threading.Event | None = None) -> str | None:
        self.call_times.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)
        badge, self.badge = self.badge, None
        if badge is None and cancel is not None:
            cancel.wait(timeout_s)
        return badge


@pytest.fixture
def simulated():
    return SimulatedTerminal(KEY, delay_s=None)


async def test_a_presented_badge_reaches_on_badge_on_the_loop(simulated):
    recorder = Recorder()
    watcher = BadgeWatcher(simulated, recorder, poll_s=0.2)
    watcher.start()
    try:
        await asyncio.sleep(0.1)
        simulated.present_badge("04:a1:b2:c3")  # from the loop's thread: the demo's "tap a badge" button
        threading.Thread(target=simulated.present_badge, args=("0455667788",)).start()  # from another thread
        await until(lambda: len(recorder.badges) == 2, what="two badges")
        assert sorted(recorder.badges) == ["0455667788", "04A1B2C3"]
        assert recorder.threads == {threading.get_ident()}, "on_badge runs on the loop's thread"
        assert watcher.running and watcher.last_error is None
    finally:
        await watcher.stop()
    assert not watcher.running and not watcher.busy


async def test_pause_returns_only_when_the_worker_left_and_stops_polling():
    terminal = SlowTerminal(block_s=0.3)
    recorder = Recorder()
    watcher = BadgeWatcher(terminal, recorder, poll_s=0.3)
    watcher.start()
    try:
        await until(lambda: terminal.inside == 1, what="a worker in the terminal")
        await watcher.pause()
        assert terminal.inside == 0 and not watcher.busy, "pause() returned while a thread was in the terminal"
        calls = terminal.calls
        terminal.taps.append("04A1B2C3")  # tapped while a payment owns the reader
        await asyncio.sleep(0.8)
        assert terminal.calls == calls and terminal.inside == 0, "the terminal was polled while paused"
        assert recorder.badges == []
        watcher.resume()
        await watcher.pause()  # at once again, before the watcher's task could run: still no polling
        await asyncio.sleep(0.5)
        assert terminal.calls == calls and terminal.inside == 0, "polled after resume() + pause()"
        watcher.resume()
        await until(lambda: recorder.badges == ["04A1B2C3"], what="the badge after resume")
        assert terminal.most_inside == 1
    finally:
        await watcher.stop()
    assert terminal.inside == 0


async def test_a_badge_found_while_pausing_is_left_to_the_payment():
    terminal = SlowTerminal(block_s=0.3)
    recorder = Recorder()
    watcher = BadgeWatcher(terminal, recorder, poll_s=0.3)
    watcher.start()
    try:
        await until(lambda: terminal.inside == 1, what="a worker in the terminal")
        terminal.taps.append("04A1B2C3")  # the worker comes back with it, but the reader is being handed over
        await watcher.pause()
        await asyncio.sleep(0.1)
        assert recorder.badges == [], "a login in the middle of starting a payment"
        watcher.resume()
    finally:
        await watcher.stop()


async def test_pause_is_quick_when_the_terminal_honours_cancel(simulated):
    watcher = BadgeWatcher(simulated, Recorder(), poll_s=30)
    watcher.start()
    try:
        await until(lambda: watcher.busy, what="a worker")
        started = time.monotonic()
        await watcher.pause()
        assert not watcher.busy and time.monotonic() - started < 2, "the cancel event ends the 30 s wait"
        async with watcher.paused():  # pauses nest: still paused after this block
            pass
        assert watcher.is_paused
        watcher.resume()
        assert not watcher.is_paused
        await until(lambda: watcher.busy, what="polling again")
    finally:
        await watcher.stop()


async def test_a_hanging_reader_call_makes_pause_fail_typed_and_undone():
    terminal = SlowTerminal(block_s=1.5)  # pcscd not answering
    watcher = BadgeWatcher(terminal, Recorder(), poll_s=0.1)
    watcher.start()
    try:
        await until(lambda: terminal.inside == 1, what="a worker in the terminal")
        with pytest.raises(ReaderUnavailable) as caught:
            await watcher.pause(timeout_s=0.2)
        assert caught.value.reason == "reader_unavailable" and terminal.inside == 1
        assert not watcher.is_paused, "a failed pause needs no resume()"
        task = asyncio.ensure_future(watcher.pause(timeout_s=None))  # a pause whose caller is cancelled
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert not watcher.is_paused
        await watcher.pause()  # the call returns at last: the pause goes through
        assert terminal.inside == 0 and watcher.is_paused
        watcher.resume()
    finally:
        await watcher.stop()


async def test_exactly_one_thread_in_the_terminal_under_pause_resume_churn():
    terminal = SlowTerminal(block_s=0.02)
    watcher = BadgeWatcher(terminal, Recorder(), poll_s=0.02)
    watcher.start()

    async def payment(delay: float) -> None:
        await asyncio.sleep(delay)
        async with watcher.paused():
            assert terminal.inside == 0, "a payment and the watcher in the reader at once"
            await asyncio.sleep(0.01)
            assert terminal.inside == 0

    try:
        for _ in range(5):
            await asyncio.gather(*(payment(i * 0.007) for i in range(6)))
        await until(lambda: terminal.calls > 10, what="polling between the payments")
    finally:
        await watcher.stop()
    assert terminal.most_inside == 1 and terminal.inside == 0


async def test_reader_errors_back_off_are_logged_once_and_never_end_the_watcher(caplog):
    errors = [ReaderUnavailable("pcscd is not running")] * 4 + [RuntimeError("pyscard hiccup")]
    terminal = FailingTerminal(errors)
    recorder = Recorder()
    watcher = BadgeWatcher(terminal, recorder, poll_s=0.1, backoff_s=(0.05, 0.1, 0.2))
    caplog.set_level(logging.DEBUG, logger="kiosk.hardware.badge_watch")
    watcher.start()
    try:
        await until(lambda: len(terminal.call_times) >= 3, what="retries")
        assert watcher.last_error == "ReaderUnavailable: pcscd is not running" and watcher.running
        await until(lambda: recorder.badges == ["04A1B2C3"], what="the badge once the reader is back")
        assert watcher.last_error is None and watcher.failures == 0
    finally:
        await watcher.stop()
    gaps = [b - a for a, b in zip(terminal.call_times, terminal.call_times[1:])]
    assert all(gap >= 0.9 * delay for gap, delay in zip(gaps, (0.05, 0.1, 0.2, 0.2))), gaps
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    errors_logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(warnings) == 1 and "pcscd is not running" in warnings[0].getMessage()  # once, not 4 times
    assert len(errors_logged) == 1 and "pyscard hiccup" in errors_logged[0].getMessage()
    assert any("back after 5 failed" in r.getMessage() for r in caplog.records)


async def test_stop_during_a_long_backoff_is_prompt():
    terminal = FailingTerminal([ReaderUnavailable("no card reader is connected")] * 100)
    watcher = BadgeWatcher(terminal, Recorder(), backoff_s=(60,))
    watcher.start()
    await until(lambda: watcher.last_error is not None, what="the first failure")
    started = time.monotonic()
    await watcher.stop()
    assert time.monotonic() - started < 2 and not watcher.running and len(terminal.call_times) == 1


async def test_on_badge_failing_or_async_does_not_end_the_watcher(simulated, caplog):
    seen = []

    async def log_in(badge_id: str) -> None:
        seen.append(badge_id)
        if len(seen) == 1:
            raise RuntimeError("login service down")

    watcher = BadgeWatcher(simulated, log_in, poll_s=0.1)
    watcher.start()
    try:
        simulated.present_badge("01020304")
        await until(lambda: seen == ["01020304"], what="the first badge")
        simulated.present_badge("0A0B0C0D")
        await until(lambda: seen == ["01020304", "0A0B0C0D"], what="the second badge")
    finally:
        await watcher.stop()
    assert any("on_badge failed" in r.getMessage() for r in caplog.records)


async def test_a_terminal_without_badge_support_ends_the_watcher_quietly(caplog):
    watcher = BadgeWatcher(object(), Recorder())
    task = watcher.start()
    await asyncio.wait_for(task, 1)
    assert task.exception() is None and not watcher.running
    assert any("cannot watch for badges" in r.getMessage() for r in caplog.records)
    await watcher.stop()


def test_simulated_wait_for_badge_timeout_cancel_and_ids(simulated):
    started = time.monotonic()
    assert simulated.wait_for_badge(0.2) is None and time.monotonic() - started >= 0.2
    cancel = threading.Event()
    cancel.set()
    simulated.present_badge("04 a1 b2 c3")
    assert simulated.wait_for_badge(5, cancel) is None  # cancelled: the tap stays queued
    assert simulated.wait_for_badge(0) == "04A1B2C3"
    with pytest.raises(ValueError):
        simulated.present_badge("not hex")
