"""Finding what keeps objects alive, and counting what a long-running kiosk must not accumulate.

Used by the soak (bench/soak.py, tests/test_soak.py) and the garbage-collection test
(tests/test_app_gc.py). Plain `gc` and /proc: no extra dependency.

- `snapshot()`: RSS, open descriptors, threads, asyncio tasks, Kivy screens/widgets/textures alive,
  Clock events scheduled, and a count of Python objects by type.
- `holder_chain(obj)`: one chain of references from a root (a module, or an object nothing tracked
  refers to: a C static, a running frame) down to `obj`, i.e. *why* it is still alive. Unlike
  `objgraph.find_backref_chain`, which calls `gc.get_referrers` (a walk of the whole heap) once per
  step, this builds the reverse reference graph once: seconds on a heap of millions of objects
  rather than hours.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import os
import sys
import threading
import types
import weakref
from collections import deque
from dataclasses import dataclass, field


def rss_kib() -> int:
    """Resident set size of this process, from /proc (kB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _live(cls) -> list:
    """Instances of `cls` the collector knows, skipping Kivy's weak proxies (a proxy answers
    isinstance for its referent, or raises once that is gone)."""
    from kivy.weakproxy import WeakProxy

    found = []
    for obj in gc.get_objects():
        if type(obj) is WeakProxy or isinstance(obj, weakref.ProxyTypes):
            continue
        try:
            if isinstance(obj, cls):
                found.append(obj)
        except ReferenceError:
            continue
    return found


def count_alive(cls) -> int:
    return len(_live(cls))


@dataclass
class Snapshot:
    rss_kib: int
    fds: int
    threads: int
    tasks: int
    screens: int
    widgets: int
    textures: int
    clock_events: int
    bindings: int  # Kivy's BoundCallbacks: every bind() of a property or event (two Kivy leaks were these)
    types: collections.Counter = field(repr=False)

    COUNTS = ("fds", "threads", "tasks", "screens", "widgets", "textures", "clock_events", "bindings")

    def line(self) -> str:
        return (f"RSS {self.rss_kib / 1024:.1f} MiB, fds {self.fds}, threads {self.threads}, tasks {self.tasks}, "
                f"screens {self.screens}, widgets {self.widgets}, textures {self.textures}, "
                f"clock events {self.clock_events}, bindings {self.bindings}")


def type_counts() -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for obj in gc.get_objects():
        counts[type(obj).__qualname__ if type(obj).__module__ == "builtins"
               else f"{type(obj).__module__}.{type(obj).__qualname__}"] += 1
    return counts


def snapshot() -> Snapshot:
    """Collect garbage, then count. Call it from the loop thread (asyncio tasks are the running loop's)."""
    from kivy.clock import Clock
    from kivy.graphics.texture import Texture
    from kivy.uix.screenmanager import Screen
    from kivy.uix.widget import Widget

    with thawed():
        gc.collect()
        try:
            tasks = len(asyncio.all_tasks())
        except RuntimeError:  # no running loop
            tasks = 0
        types = type_counts()
        return Snapshot(rss_kib=rss_kib(), fds=open_fds(), threads=threading.active_count(), tasks=tasks,
                        screens=count_alive(Screen), widgets=count_alive(Widget), textures=count_alive(Texture),
                        clock_events=len(Clock.get_events()), bindings=types.get("kivy._event.BoundCallback", 0),
                        types=types)


@contextlib.contextmanager
def thawed():
    """The app freezes its long-lived heap (kiosk/heap.py), and `gc.get_objects()` does not list
    frozen objects: count them by giving them back to the collector for the count, and freeze what is
    alive again after (as the app did; frozen garbage of before is collected by this count)."""
    frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    try:
        yield
    finally:
        if frozen:
            gc.freeze()


def growth(before: Snapshot, after: Snapshot, top: int = 20) -> list[tuple[str, int, int, int]]:
    """The `top` types whose instance count grew most: (type, before, after, delta)."""
    rows = [(name, before.types.get(name, 0), count, count - before.types.get(name, 0))
            for name, count in after.types.items() if count > before.types.get(name, 0)]
    rows.sort(key=lambda row: -row[3])
    return rows[:top]


def describe(obj: object, width: int = 140) -> str:
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, types.FrameType):
        return f"frame {obj.f_code.co_name} ({obj.f_code.co_filename}:{obj.f_lineno})"
    if isinstance(obj, types.FunctionType):
        return f"function {obj.__qualname__} ({obj.__code__.co_filename}:{obj.__code__.co_firstlineno})"
    if isinstance(obj, types.MethodType):
        return f"bound method {obj.__func__.__qualname__} of {type(obj.__self__).__name__}"
    if isinstance(obj, types.CellType):
        return "cell"
    if isinstance(obj, dict):
        keys = ", ".join(repr(k)[:30] for k in list(obj)[:6])
        return f"dict ({len(obj)} keys: {keys})"
    if isinstance(obj, (list, tuple, set)):
        return f"{type(obj).__name__} of {len(obj)}"
    try:
        text = repr(obj)
    except Exception:  # a dead weak proxy, a half-built object
        text = "?"
    return f"{type(obj).__module__}.{type(obj).__qualname__}: {text[:width]}"


def holder_chain(target: object, ignore: tuple = ()) -> list[object]:
    """References from a root down to `target` (root first), shortest first found; [] if none.

    A root is a module, or an object no gc-tracked object refers to (held from C: a static, the
    interpreter's stack, an extension's own global)."""
    gc.collect()
    objects = gc.get_objects()
    skip = {id(objects), *map(id, ignore)}
    frame = sys._getframe()
    while frame is not None:  # the running stack (ours, the caller's) is not a holder worth naming
        skip.add(id(frame))
        frame = frame.f_back
    referrers: dict[int, list[object]] = collections.defaultdict(list)
    for obj in objects:
        if id(obj) in skip:
            continue
        for ref in gc.get_referents(obj):
            referrers[id(ref)].append(obj)
    del objects
    parent: dict[int, object | None] = {id(target): None}
    keep = {id(target): target}
    queue = deque([target])
    while queue:
        obj = queue.popleft()
        holders = [h for h in referrers.get(id(obj), ()) if id(h) not in skip]
        if isinstance(obj, types.ModuleType) or (not holders and obj is not target):
            chain = [obj]
            while parent[id(chain[-1])] is not None:
                chain.append(parent[id(chain[-1])])
            return chain  # root first, target last
        for holder in holders:
            if id(holder) not in parent:
                parent[id(holder)] = obj
                keep[id(holder)] = holder
                queue.append(holder)
    return []


def explain(target: object, ignore: tuple = ()) -> str:
    chain = holder_chain(target, ignore)
    if not chain:
        return f"{describe(target)}: no holder found (only frames or gc-untracked objects)"
    return "\n".join(("  " * depth) + ("<- " if depth else "") + describe(obj) for depth, obj in enumerate(chain))


def unexplained_references(root: object, limit: int = 20) -> list[tuple[object, int]]:
    """Objects kept alive by `root`'s cluster that something the collector cannot see refers to.

    `holder_chain` only follows references between gc-tracked objects. A reference from C (an
    extension's static, a running frame of another thread, a Cython module global) is invisible to
    it. Here: take everything reachable from `root`, count for each the references that tracked
    objects hold, and compare with its reference count: an object with more references than that is
    where the invisible holder reaches in. Returns (object, unexplained count), most first."""
    gc.collect()
    skip_types = (type, types.ModuleType, types.FunctionType, types.CodeType, types.BuiltinFunctionType)
    cluster: dict[int, object] = {id(root): root}
    queue = deque([root])
    while queue:
        for ref in gc.get_referents(queue.popleft()):
            if id(ref) not in cluster and gc.is_tracked(ref) and not issubclass(type(ref), skip_types):
                cluster[id(ref)] = ref
                queue.append(ref)
    counts: collections.Counter = collections.Counter()
    objects = gc.get_objects()
    for obj in objects:
        if obj is cluster:
            continue
        for ref in gc.get_referents(obj):
            if id(ref) in cluster:
                counts[id(ref)] += 1
    del objects, obj, ref
    found = []
    for key, obj in cluster.items():
        # getrefcount's argument, `obj` here and the cluster dict are ours; the rest must be explained.
        extra = sys.getrefcount(obj) - 3 - counts[key]
        if extra > 0 and obj is not root:
            found.append((obj, extra))
    found.sort(key=lambda item: -item[1])
    return found[:limit]


def explain_ref(ref: weakref.ref) -> str:
    """`explain` for what a weak reference points to, taken here so no caller's frame (a coroutine's
    above all: a suspended one is not on the stack) shows up as the holder."""
    target = ref()
    if target is None:
        return "(collected meanwhile)"
    return explain(target)
