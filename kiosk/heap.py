"""The cyclic garbage collector in a UI that runs for weeks (issue 10: the UI bench's 0.3-0.9 s pauses).

A built pillar holds about half a million long-lived objects: the widgets, properties and bindings of
sixteen screens, the kv rules, Kivy's and the catalog's caches. Python's full (oldest generation)
collection walks every one of them, 0.2-0.5 s of CPU on a pillar's two cores, each time enough new
objects have survived, which is whenever a shopper's screens were busy: in the middle of a touch.
`gc.freeze()` moves what is alive at that moment into a permanent generation that no collection walks
again; what the screens make afterwards is collected as before, and quickly. Reference counting still
frees a frozen object the moment its last reference goes; only a frozen *cycle* that becomes garbage
stays until the next thaw. So every freeze thaws first and collects everything (0.2-0.5 s), and the
app freezes only on the attract screen with nobody there: after it has settled, after its first
shopper's reset (screens build most of their widgets on first use), and after a later shopper only
if the objects that outlive shoppers (tile and chip pools, caches) have grown past `REFREEZE_ABOVE`.

What each shopper leaves behind (screens' cycles, search results) is not left to Python's automatic
full collections, which would walk it in the middle of someone's touch (the UI bench: 27-34 ms, five
times in 50 journeys): after a freeze they come ten times less often (`FULL_COLLECTION_EVERY`), and
the app collects between shoppers instead, on the attract screen (`collect_unfrozen`, 7 ms p50 and
15 ms at most in the UI bench). A
shopper who stays for hours still gets the automatic ones. No Kivy here.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("kiosk.heap")


REFREEZE_ABOVE = 10_000  # objects a full collection walks (about 10 ms on a pillar): above it, freeze again
FULL_COLLECTION_EVERY = 100  # younger collections between two automatic full ones (Python's default: 10)
_DEFAULT_THRESHOLD = gc.get_threshold()


def freeze_long_lived() -> float:
    """Thaw (a frozen cycle that died since is garbage now), collect everything once (so no garbage
    is frozen), then freeze everything alive. Returns the milliseconds it took."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    young, middle, _ = _DEFAULT_THRESHOLD
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
    took_ms = (time.perf_counter() - started) * 1000
    log.info("froze %d long-lived objects out of the collector's way (%.0f ms)", gc.get_freeze_count(), took_ms)
    return took_ms


def collect_unfrozen() -> float:
    """A full collection of what is not frozen: a shopper's cyclic leftovers. Returns milliseconds."""
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


def walked() -> int:
    """How many objects a full collection walks now (the tracked ones that are not frozen)."""
    return len(gc.get_objects())


def grown() -> bool:
    """Whether a full collection walks so much that freezing again is worth its 0.2-0.5 s."""
    return walked() > REFREEZE_ABOVE


def thaw() -> None:
    """Give the frozen objects back to the collector (the app stops: tests and an in-place restart
    run apps one after another in one process, and a stopped app must be collectable), and Python's
    own pace of full collections."""
    gc.unfreeze()
    gc.set_threshold(*_DEFAULT_THRESHOLD)
