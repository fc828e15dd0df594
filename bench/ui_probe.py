"""Instrumentation for bench/ui.py: what the UI thread does, and when a tap's result is drawn.

Everything here patches the running process from the outside (instance attributes on Kivy's `Clock`,
`EventLoop` and `Window`, and asyncio's `Handle._run`), so the app itself carries no bench code.
Install it after `kiosk.launch.prepare_kivy` and before the app is built: widgets create their Clock
triggers when they are made, and only triggers made after `install_clock` are timed.

What is measured (all `time.perf_counter()`, on the one thread that runs asyncio and Kivy):

- Clock callbacks: every callback handed to `Clock.schedule_once`, `schedule_interval`,
  `create_trigger` (and their lifecycle-aware forms) runs inside a timing wrapper, named by the
  callback's module and `__qualname__` (plus file:line for lambdas and local functions, which share
  one qualname per definition site).
- Touch dispatch: `EventLoop.post_dispatch_input` as a whole (Window `on_touch_down`/`on_touch_up`
  and every handler they reach: `on_press`, `on_release`, the screen change they cause), named by the
  widget tapped and the screen it was on (given by `arm()` just before the tap).
- Drawing: Window `on_draw` (canvas walk and GL calls) and `flip` (buffer swap; with llvmpipe the
  rasterising happens mostly here) separately.
- asyncio steps: every callback the event loop runs (`asyncio.events.Handle._run`), named by the
  task's coroutine and the lines the step began and ended at: a coroutine step of ours that holds
  the thread blocks Kivy's frame exactly as a slow Clock callback does. Kivy's own main-loop task
  (whose steps contain the Clock callbacks, the input and the drawing above) and the autopilot's task
  (whose steps contain the synthetic touches) are kept apart, so nothing is counted twice. asyncio's
  debug mode would name the same slow steps, but it also records a traceback for every future and
  handle made, which would slow the very thing measured.
- Frames: the time of every flip, and for each armed tap the first flip after its touch-up ("drawn")
  and the first flip at which each of its expected results (predicates) holds: what is on screen at
  `on_flip` is exactly what the frame drew, since nothing runs between `on_draw` and the flip.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

perf = time.perf_counter
cpu = time.thread_time  # this thread's CPU time: what a callback costs, without the time others took the CPU


# --- naming ------------------------------------------------------------------------------------------------


def _short_file(path: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def callable_name(callback: object) -> str:
    """module:qualname of a callback; lambdas and local functions get file:line too."""
    target = callback
    for _ in range(5):  # unwrap functools.partial and friends
        inner = getattr(target, "func", None)
        if inner is None or not callable(inner):
            break
        target = inner
    func = getattr(target, "__func__", target)
    qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
    module = getattr(func, "__module__", None) or type(func).__module__
    code = getattr(func, "__code__", None)
    if code is not None and ("<lambda>" in qualname or "<locals>" in qualname):
        return f"{module}:{qualname} ({_short_file(code.co_filename)}:{code.co_firstlineno})"
    if qualname == type(func).__qualname__ and hasattr(target, "__self__"):  # a Cython-bound method
        qualname = f"{type(target.__self__).__qualname__}.{getattr(target, '__name__', '?')}"
    return f"{module}:{qualname}"


def widget_name(widget) -> str:
    """What was tapped, as a reader of the report would look for it: class, kv id, text."""
    ids = {}
    node = widget.parent
    for _ in range(12):  # the nearest rule whose ids name this widget
        if node is None:
            break
        found = next((key for key, value in getattr(node, "ids", {}).items() if value is widget), None)
        if found:
            ids["id"] = found
            break
        node = node.parent
    label = type(widget).__name__
    if "id" in ids:
        label += f"#{ids['id']}"
    text = getattr(widget, "text", "")
    if isinstance(text, str) and text and "id" not in ids:
        label += f" {text[:24]!r}"
    return label


# --- records -------------------------------------------------------------------------------------------------


@dataclass
class Stat:
    """Durations of one named callback."""
    kind: str
    name: str
    durations: list[float] = field(default_factory=list)  # wall clock
    cpu: list[float] = field(default_factory=list)  # this thread's CPU time of the same runs
    worst_where: str = ""
    worst_cpu: float = 0.0  # the CPU time of the run with the longest wall time

    def add(self, seconds: float, cpu_s: float, where: str) -> None:
        if not self.durations or seconds > max(self.durations):
            self.worst_where, self.worst_cpu = where, cpu_s
        self.durations.append(seconds)
        self.cpu.append(cpu_s)


@dataclass
class Effect:
    label: str
    predicate: Callable[[], bool] | None  # dropped once decided: it may hold what the screen showed
    at: float | None = None  # the flip at which it first held


@dataclass
class Tap:
    journey: int
    screen: str
    target: str
    effects: list[Effect]
    up_at: float = 0.0  # touch-up entered dispatch
    up_dispatch_s: float = 0.0  # all handlers of the touch-up
    down_dispatch_s: float = 0.0
    drawn_at: float | None = None  # first flip after the touch-up
    frame_draw_s: float = 0.0  # that frame's on_draw (canvas walk, GL calls)
    frame_flip_s: float = 0.0  # and its buffer swap (where llvmpipe does most of its rasterising)


class Probe:
    def __init__(self, effect_timeout_s: float = 30.0) -> None:
        self.stats: dict[tuple[str, str], Stat] = {}
        self.taps: list[Tap] = []
        self.flips: list[float] = []
        self.draw_s: list[float] = []
        self.flip_s: list[float] = []
        self.effect_timeout_s = effect_timeout_s
        self.journey = 0
        self._armed: Tap | None = None
        self._last_draw_s = 0.0
        self._open: list[Tap] = []
        self._where: Callable[[], str] = lambda: "?"
        self._names: dict[int, str] = {}
        self._main_task_names = ("async_runTouchApp", "async_mainloop", "async_run", "async_idle")
        self.bench_tasks: set[asyncio.Task] = set()
        self.active = False  # record only while the journeys run, not during start-up

    def where(self, fn: Callable[[], str]) -> None:
        """How to say where the UI is (the current screen), for the worst occurrence of each callback."""
        self._where = fn

    def _record(self, kind: str, name: str, seconds: float, cpu_s: float) -> None:
        if not self.active:
            return
        stat = self.stats.get((kind, name))
        if stat is None:
            stat = self.stats[(kind, name)] = Stat(kind, name)
        try:
            where = self._where()
        except Exception:  # the app is stopping; the name matters more
            where = "?"
        stat.add(seconds, cpu_s, where)

    # --- Clock ----------------------------------------------------------------------------------------

    def install_clock(self, clock) -> None:
        probe = self

        def timed(callback):
            if callback is None or isinstance(callback, _Timed):
                return callback
            return _Timed(callback, probe)

        originals = {}
        for method in ("schedule_once", "schedule_interval", "create_trigger", "create_lifecycle_aware_trigger",
                       "schedule_del_safe", "schedule_lifecycle_aware_del_safe"):
            originals[method] = getattr(clock, method)

        def schedule_once(callback, timeout=0):
            return originals["schedule_once"](timed(callback), timeout)

        def schedule_interval(callback, timeout):
            return originals["schedule_interval"](timed(callback), timeout)

        def create_trigger(callback, timeout=0, interval=False, release_ref=True):
            return originals["create_trigger"](timed(callback), timeout, interval, release_ref)

        def create_lifecycle_aware_trigger(callback, clock_ended_callback, timeout=0, interval=False,
                                           release_ref=True):
            return originals["create_lifecycle_aware_trigger"](timed(callback), clock_ended_callback, timeout,
                                                               interval, release_ref)

        def schedule_del_safe(callback):
            return originals["schedule_del_safe"](timed(callback))

        def schedule_lifecycle_aware_del_safe(callback, clock_ended_callback):
            return originals["schedule_lifecycle_aware_del_safe"](timed(callback), clock_ended_callback)

        # Instance attributes win over the Cython methods, also for the Clock's own internal calls
        # (cpdef methods look for a Python override on subclass instances): `timed` skips what it
        # already wrapped, so nothing is timed twice.
        for name, fn in (("schedule_once", schedule_once), ("schedule_interval", schedule_interval),
                         ("create_trigger", create_trigger),
                         ("create_lifecycle_aware_trigger", create_lifecycle_aware_trigger),
                         ("schedule_del_safe", schedule_del_safe),
                         ("schedule_lifecycle_aware_del_safe", schedule_lifecycle_aware_del_safe)):
            setattr(clock, name, fn)

    # --- input, drawing, frames -----------------------------------------------------------------------

    def install_window(self, window, event_loop) -> None:
        probe = self
        post_dispatch_input = event_loop.post_dispatch_input

        def timed_dispatch(etype, me):
            start, start_cpu = perf(), cpu()
            try:
                return post_dispatch_input(etype, me)
            finally:
                seconds, cpu_s = perf() - start, cpu() - start_cpu
                tap = probe._armed
                if etype == "begin":
                    if tap is not None:
                        tap.down_dispatch_s = seconds
                    probe._record("touch", f"touch down on {tap.target if tap else '?'} ({tap.screen if tap else '?'})",
                                  seconds, cpu_s)
                elif etype == "end":
                    if tap is not None:
                        tap.up_at, tap.up_dispatch_s = start, seconds
                        probe._armed = None
                        probe._open.append(tap)
                    probe._record("touch", f"touch up on {tap.target if tap else '?'} ({tap.screen if tap else '?'})",
                                  seconds, cpu_s)

        event_loop.post_dispatch_input = timed_dispatch

        on_draw = window.on_draw

        def timed_draw(*args):
            start = perf()
            try:
                return on_draw(*args)
            finally:
                probe._last_draw_s = perf() - start
                if probe.active:
                    probe.draw_s.append(probe._last_draw_s)

        window.on_draw = timed_draw  # dispatch('on_draw') looks the default handler up on the instance

        flip = window.flip

        def timed_flip():
            start = perf()
            try:
                return flip()
            finally:
                now = perf()
                if probe.active:
                    probe.flip_s.append(now - start)
                    probe.flips.append(now)
                probe._frame_drawn(now, probe._last_draw_s, now - start)

        window.flip = timed_flip  # WindowBase.on_flip calls self.flip()

    def arm(self, journey: int, screen: str, target: str, effects: list[tuple[str, Callable[[], bool]]]) -> None:
        """The next touch-up is this tap; `effects`: (label, predicate) results to wait for."""
        self._armed = Tap(journey, screen, target, [Effect(label, predicate) for label, predicate in effects])
        if self.active:
            self.taps.append(self._armed)

    def _frame_drawn(self, now: float, draw_s: float, flip_s: float) -> None:
        still_open = []
        for tap in self._open:
            if tap.drawn_at is None:
                tap.drawn_at, tap.frame_draw_s, tap.frame_flip_s = now, draw_s, flip_s
            for effect in tap.effects:
                if effect.at is None and effect.predicate is not None:
                    try:
                        if effect.predicate():
                            effect.at, effect.predicate = now, None
                    except Exception:  # a predicate on a screen that is going away: not yet
                        pass
            if any(e.at is None for e in tap.effects) and now - tap.up_at < self.effect_timeout_s:
                still_open.append(tap)
            else:
                # Decided (or timed out): let go of the predicates, which hold what they compare with
                # (a search's 10,000 results each). Kept, they made the bench's own heap walk 100-280 ms
                # at every full collection: 160 keyboard taps kept 160,000 articles alive.
                for effect in tap.effects:
                    effect.predicate = None
        self._open = still_open

    # --- asyncio ----------------------------------------------------------------------------------------

    def install_asyncio(self) -> None:
        probe = self
        run = asyncio.events.Handle._run

        def timed_run(handle):
            callback = handle._callback
            task = getattr(callback, "__self__", None)
            coro = task.get_coro() if isinstance(task, asyncio.Task) else None
            begin = _coro_line(coro) if coro is not None else None
            start, start_cpu = perf(), cpu()
            try:
                return run(handle)
            finally:
                seconds, cpu_s = perf() - start, cpu() - start_cpu
                if probe.active:
                    if coro is not None:
                        kind, name = probe._name_task_step(task, coro, begin)
                    else:
                        kind, name = "asyncio", callable_name(callback)
                    probe._record(kind, name, seconds, cpu_s)

        asyncio.events.Handle._run = timed_run

    # --- the garbage collector --------------------------------------------------------------------------

    def install_gc(self) -> None:
        """Every collection, by generation and by the thread that paid for it: a collection runs inside
        whatever callback allocated past the threshold, so a long callback may be the collector's
        (kind "gc"; the callback's own figure includes it)."""
        probe = self
        started: dict[int, tuple[float, float]] = {}

        def on_gc(phase: str, info: dict) -> None:
            ident = threading.get_ident()
            if phase == "start":
                started[ident] = (perf(), cpu())
            elif ident in started and probe.active:
                start, start_cpu = started.pop(ident)
                thread = "UI thread" if threading.current_thread() is threading.main_thread() else "a worker thread"
                probe._record("gc", f"generation {info['generation']} collection on {thread}",
                              perf() - start, cpu() - start_cpu)

        gc.callbacks.append(on_gc)

    def _name_task_step(self, task: asyncio.Task, coro, begin: str | None) -> tuple[str, str]:
        if task in self.bench_tasks:
            return "bench", "the autopilot (bench code; its touches are timed as touch)"
        qualname = getattr(coro, "__qualname__", type(coro).__qualname__)
        if any(part in qualname for part in self._main_task_names):
            return "kivy-frame", "Kivy's frame (Clock callbacks + input + draw + flip, each also timed alone)"
        code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
        module = _short_file(code.co_filename) if code is not None else type(coro).__module__
        end = _coro_line(coro) or "done"
        return "asyncio", f"{module}:{qualname} (step {begin or 'start'} -> {end})"


def _coro_line(coro) -> str | None:
    """Where the coroutine is suspended, innermost first: the step starts/ends there."""
    parts = []
    node = coro
    for _ in range(8):
        frame = getattr(node, "cr_frame", None) or getattr(node, "gi_frame", None)
        if frame is None:
            break
        parts.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        node = getattr(node, "cr_await", None) or getattr(node, "gi_yieldfrom", None)
        if node is None or not (inspect.iscoroutine(node) or inspect.isgenerator(node)):
            break
    return " > ".join(parts) if parts else None


class _Timed:
    """A Clock callback in a timing wrapper.

    Keeps Kivy's reference semantics: a bound method is held weakly (Kivy's own ClockEvent does so
    between runs), so a widget that goes away is not kept alive by the bench; and it compares equal
    to the callback it wraps, so `Clock.unschedule(callback)` still finds it."""

    __slots__ = ("_strong", "_weak", "_name", "_probe", "__weakref__")

    def __init__(self, callback, probe: Probe) -> None:
        self._probe = probe
        self._name = callable_name(callback)
        if getattr(callback, "__self__", None) is not None and hasattr(callback, "__func__"):
            self._strong, self._weak = None, weakref.WeakMethod(callback)
        else:
            self._strong, self._weak = callback, None

    def _target(self):
        return self._strong if self._weak is None else self._weak()

    def __call__(self, *args):
        callback = self._target()
        if callback is None:
            return False  # the object is gone: an interval stops, as Kivy's own dead weak callback does
        start, start_cpu = perf(), cpu()
        try:
            return callback(*args)
        finally:
            self._probe._record("clock", self._name, perf() - start, cpu() - start_cpu)

    def __eq__(self, other):
        if isinstance(other, _Timed):
            return self is other
        target = self._target()
        return target is not None and target == other

    def __hash__(self):
        return hash(self._name)
