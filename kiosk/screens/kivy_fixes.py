"""Two slow leaks in Kivy 2.3.1 that a pillar running for weeks would feel (found by the soak,
bench/soak.py: Kivy `BoundCallback`s grew by about 40 a shopper session, for ever).

1. Every ScrollView (and RecycleView) binds `_change_bar_color` to its `bar_color` again each time it
   scrolls or is laid out (`update_from_scroll`), and unbinds it once, half a second after the last
   scroll. Between the two, every layout adds one more binding: a long-lived list's ScrollView
   collects them by the hundred. Fixed by unbinding before Kivy binds again, so there is at most one.

2. A NumericProperty given a value with a unit (Label's default `font_size` is "15sp", its
   `padding_x`, ScrollEffect's `drag_threshold` "20sp", ...) registers its widget, weakly, with Kivy's
   pixel-scale observers so a change of screen density re-computes it. Nothing removes that entry
   when the widget dies: only the next pixel-scale dispatch, which on a pillar never comes (the
   screen never changes density). So every Label ever made leaves one behind. `prune_unit_bindings`
   runs that dispatch: Kivy then drops the dead entries itself (the live ones re-compute to the same
   value and change nothing). The app calls it between shoppers (`KioskApp.close_shopper_session`, 2 s after the reset).

Both are checked by tests/test_kivy_fixes.py, which fails again if a Kivy upgrade fixes one (then
remove the workaround) or changes what they rely on.
"""

from __future__ import annotations

from kivy.uix.scrollview import ScrollView

_installed = False


def install() -> None:
    """Patch ScrollView once, before any ScrollView exists (its scroll trigger keeps the method)."""
    global _installed
    if _installed:
        return
    kivy_update_from_scroll = ScrollView.update_from_scroll

    def update_from_scroll(self, *largs):
        # Kivy binds `_change_bar_color` again in here: drop the previous binding first.
        self.funbind("bar_color", self._change_bar_color)
        return kivy_update_from_scroll(self, *largs)

    update_from_scroll.__doc__ = kivy_update_from_scroll.__doc__
    update_from_scroll.kivy_original = kivy_update_from_scroll  # tests show Kivy's own still leaks
    ScrollView.update_from_scroll = update_from_scroll
    _installed = True


def prune_unit_bindings(*_clock_dt) -> None:
    """Let Kivy drop the pixel-scale observers of widgets that died (see 2. above). It re-computes
    every live one too: about 15 ms with a pillar's screens built, so not in the middle of a touch."""
    from kivy._metrics import dispatch_pixel_scale

    dispatch_pixel_scale()
