"""Kivy's two slow leaks and our workarounds (kiosk/screens/kivy_fixes.py; found by the soak, issue 10).

Each test shows the leak in Kivy's own code first: when a Kivy upgrade fixes it, that half fails and
says to remove the workaround.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from kiosk.screens import kivy_fixes

pytestmark = pytest.mark.ui


def _bar_color_bindings(view) -> int:
    return sum(1 for callback in view.get_property_observers("bar_color")
               if getattr(callback, "__name__", "") == "_change_bar_color")


def _unit_bindings(of=None) -> int:
    """Kivy's pixel-scale observers: one per NumericProperty that was given a value with a unit (the
    observer holds a weak reference to its widget); `of`: only those of that widget."""
    count = 0
    for obj in gc.get_objects():
        if type(obj).__name__ != "BoundCallback":
            continue
        parts = gc.get_referents(obj)
        if not any(getattr(r, "__qualname__", "") == "NumericProperty._dpi_callback" for r in parts):
            continue
        if of is None or any(isinstance(r, tuple) and r and isinstance(r[0], weakref.ref) and r[0]() is of
                             for r in parts):
            count += 1
    return count


def _tall_scroll_view():
    from kivy.core.window import Window
    from kivy.uix.label import Label
    from kivy.uix.scrollview import ScrollView

    view = ScrollView(size=(400, 400), size_hint=(None, None))
    view.add_widget(Label(size_hint=(None, None), size=(400, 4000)))
    Window.add_widget(view)
    return view


def test_a_scroll_view_keeps_one_bar_colour_binding_however_often_it_scrolls(needs_display):
    from kivy.core.window import Window
    from kivy.uix.scrollview import ScrollView

    view = _tall_scroll_view()
    try:
        kivy_update = ScrollView.update_from_scroll.kivy_original  # Kivy's own, unpatched
        for _ in range(30):
            kivy_update(view)
        assert _bar_color_bindings(view) >= 30, "Kivy no longer leaks bar_color bindings: drop the workaround"

        view.funbind("bar_color", view._change_bar_color)
        while _bar_color_bindings(view):
            view.funbind("bar_color", view._change_bar_color)
        for step in range(30):
            view.scroll_y = 1 - step / 30
            view.update_from_scroll()  # what Kivy's scroll trigger calls: the patched method
        assert _bar_color_bindings(view) == 1
    finally:
        Window.remove_widget(view)


def test_dead_widgets_unit_bindings_go_at_the_prune(needs_display):
    from kivy.uix.label import Label

    gc.collect()
    kivy_fixes.prune_unit_bindings()
    before = _unit_bindings()
    labels = [Label(text=str(n)) for n in range(50)]  # Label's font_size default is "15sp"
    del labels
    gc.collect()
    assert _unit_bindings() >= before + 50, "Kivy no longer leaks unit bindings of dead widgets: drop the prune"

    kivy_fixes.prune_unit_bindings()
    gc.collect()
    assert _unit_bindings() <= before

    from kivy.metrics import sp

    alive = Label(text="still here", font_size="20sp")
    kivy_fixes.prune_unit_bindings()  # a live widget keeps its bindings and its size
    assert _unit_bindings(of=alive) > 0
    assert alive.font_size == pytest.approx(sp(20))
