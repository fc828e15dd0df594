"""kiosk.heap: freezing the long-lived heap out of the collector's way, without keeping dead cycles."""

import gc
import weakref

from kiosk import heap


class Node:
    """A tracked object that can refer to itself (a cycle only the collector frees)."""


def test_a_freeze_thaws_first_so_a_frozen_cycle_that_died_since_is_collected():
    try:
        node = Node()
        node.me = node
        ref = weakref.ref(node)
        heap.freeze_long_lived()
        del node
        gc.collect()
        assert ref() is not None  # frozen: no collection sees it (why the app freezes rarely)
        took_ms = heap.freeze_long_lived()
        assert ref() is None and took_ms >= 0
    finally:
        heap.thaw()


def test_grown_says_when_a_full_collection_walks_more_than_the_limit():
    try:
        heap.freeze_long_lived()
        assert not heap.grown() and heap.walked() < heap.REFREEZE_ABOVE
        kept = [[] for _ in range(heap.REFREEZE_ABOVE + 1)]  # tracked, long-lived, made after the freeze
        assert heap.grown() and heap.walked() > heap.REFREEZE_ABOVE
        heap.freeze_long_lived()
        assert not heap.grown() and len(kept) > heap.REFREEZE_ABOVE
    finally:
        heap.thaw()
    assert gc.get_freeze_count() == 0


def test_after_a_freeze_full_collections_come_less_often_until_the_thaw():
    default = gc.get_threshold()
    try:
        heap.freeze_long_lived()
        assert gc.get_threshold() == (default[0], default[1], heap.FULL_COLLECTION_EVERY)
        node = Node()
        node.me = node
        ref = weakref.ref(node)
        del node
        assert heap.collect_unfrozen() >= 0 and ref() is None  # what the app runs between shoppers
    finally:
        heap.thaw()
    assert gc.get_threshold() == default
