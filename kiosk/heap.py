"""The cyclic garbage collector in a UI that runs for weeks (issue 10: the UI bench's 0.3-0.9 s pauses).

A built pillar holds about half a million long-lived objects: the widgets, properties and bindings of
sixteen screens, the kv rules, Kivy's and the catalog's caches. Python's full (oldest generation)
collection walks every one of them, 0.2-0.5 s of CPU on a pillar's two cores, each time enough new
objects have survived, which is whenever a shopper's screens were busy: in the middle of a touch.
`gc.freeze()` moves what is alive at that moment into a permanent generation that no collection walks
again; what the screens make afterwards is collected as before, and quickly. Reference counting still
frees a frozen object the moment its last reference goes; only a frozen *cycle* that becomes garbage
stays until `thaw`, which is why the app freezes only twice: after it has settled, and once more after
its first shopper's reset (screens build most of their widgets on first use), each time on the
attract screen with nobody there (not per shopper: that would keep each shopper's cyclic leftovers
for ever). No Kivy here.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("kiosk.heap")


def freeze_long_lived() -> None:
    """Collect once (so no garbage is frozen), then freeze everything alive."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info("froze %d long-lived objects out of the collector's way (%.0f ms)", gc.get_freeze_count(),
             (time.perf_counter() - started) * 1000)


def thaw() -> None:
    """Give the frozen objects back to the collector (the app stops: tests and an in-place restart
    run apps one after another in one process, and a stopped app must be collectable)."""
    gc.unfreeze()
