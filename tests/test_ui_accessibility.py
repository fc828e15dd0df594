"""Accessibility on every screen, in the real app against the reference server (issue 7, items 3 and 9).

A walk visits every screen with an article in the cart (attract, the accessibility panel, categories,
search while typing and its results, an article list, an article, the cart, how to get it, the
address with its keyboard and keypad, pay, a refused payment, the receipt, "Still there?") and at
each stop checks what a shopper can see and touch:

- touch targets (every ButtonBehavior: buttons, chips, tiles, rows, keys) are at least 2 cm both ways
  (81 px at the 102.5 px per inch assumed in kiosk/theme.py);
- in low-reach mode, every visible, enabled touch target's top edge is within the lower part of the
  screen (kiosk/accessibility.py: below LOW_REACH_TOP of the height);
- no text is cut off or runs out of its box (large text above all); no button's icon lies outside
  its button or over its words;
- every visible text has at least 4.5:1 contrast on the background actually drawn behind it, and that
  pair is one of the theme's declared text roles (so the static table in kiosk/theme.py, which
  tests/test_theme_contrast.py checks for every palette, covers what the screens really draw).

A11Y_SHOTS=dir keeps a screenshot of every stop (to look at them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk import theme
from kiosk.accessibility import LOW_REACH_TOP, PANEL_HEIGHT_CM, PANEL_TOP_CM, REACH_HIGH_CM, REACH_LOW_CM, \
    AccessibilityModes, reach_line_height_cm

MIN_TOUCH_PX = theme.MIN_TOUCH_DP  # the UI tests' window has 1 dp = 1 px (1080x1920)
TOLERANCE_PX = 1.5


# --- the plain-Python part ------------------------------------------------------------------------

def test_modes_toggle_and_derive_the_look():
    modes = AccessibilityModes()
    assert (modes.text_scale, modes.palette, modes.reach_gap(1920)) == (1.0, theme.STANDARD, 0)
    modes = modes.toggled("large_text").toggled("high_contrast").toggled("low_reach")
    assert modes.any_on and modes.text_scale >= 1.3
    assert modes.palette is theme.HIGH_CONTRAST
    assert modes.reach_top(1920) == 1920 * LOW_REACH_TOP and modes.reach_gap(1920) == 1920 - 1920 * LOW_REACH_TOP
    assert modes.toggled("low_reach").reach_gap(1920) == 0
    with pytest.raises(ValueError):
        modes.toggled("sparkles")


def test_the_reach_line_is_within_the_reach_range_on_the_reference_pillar():
    # EN 301 549 8.3.3.1: essential controls between 38 cm and 122 cm above the floor.
    assert reach_line_height_cm() <= REACH_HIGH_CM
    assert PANEL_TOP_CM - PANEL_HEIGHT_CM >= REACH_LOW_CM  # the screen's bottom edge is not too low either
    assert reach_line_height_cm(fraction=0.6) > REACH_HIGH_CM  # and the threshold is not loose by much


# --- what the screens show ------------------------------------------------------------------------

def _chain(widget):
    while widget is not None:
        yield widget
        parent = widget.parent
        widget = parent if parent is not widget else None


def _window_rect(widget) -> tuple[float, float, float, float]:
    x0, y0 = widget.to_window(widget.x, widget.y)
    x1, y1 = widget.to_window(widget.right, widget.top)
    return x0, y0, x1, y1


def visible_rect(widget):
    """The part of `widget` a shopper can see, in window coordinates, or None: clipped by every
    scrolling view it is in and by the window; nothing when it or a parent is transparent."""
    from kivy.core.window import Window
    from kivy.uix.stencilview import StencilView

    if widget.width <= 0 or widget.height <= 0:
        return None
    x0, y0, x1, y1 = _window_rect(widget)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, Window.width), min(y1, Window.height)
    for ancestor in list(_chain(widget)):
        if getattr(ancestor, "opacity", 1) <= 0.01:
            return None
        if ancestor is not widget and isinstance(ancestor, StencilView):
            a0, b0, a1, b1 = _window_rect(ancestor)
            x0, y0, x1, y1 = max(x0, a0), max(y0, b0), min(x1, a1), min(y1, b1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return x0, y0, x1, y1


def shown_roots(app) -> list:
    """What is on screen: the current screen and any open overlay (the accessibility panel, "Still
    there?"), top-most last."""
    from kivy.core.window import Window
    from kivy.uix.modalview import ModalView

    overlays = [w for w in reversed(Window.children) if isinstance(w, ModalView)]
    return [app.root.current_screen, *overlays]


def _widgets(app):
    roots = shown_roots(app)
    if len(roots) > 1:
        roots = roots[-1:]  # a modal view takes every touch: only it counts
    for root in roots:
        yield from root.walk(restrict=True)


def touch_targets(app) -> list:
    """Every visible, enabled thing a finger can press."""
    from kivy.uix.behaviors import ButtonBehavior

    found = []
    for widget in _widgets(app):
        if not isinstance(widget, ButtonBehavior) or widget.disabled or not getattr(widget, "shown", True):
            continue
        if visible_rect(widget) is not None:
            found.append(widget)
    return found


def _describe(widget) -> str:
    text = getattr(widget, "text", "") or getattr(widget, "title", "") or getattr(widget, "key", "")
    return f"{type(widget).__name__} {str(text)[:40]!r}"


def small_targets(app) -> list[str]:
    return [f"{_describe(w)} is {w.width:.0f}x{w.height:.0f} px" for w in touch_targets(app)
            if w.width < MIN_TOUCH_PX - 0.01 or w.height < MIN_TOUCH_PX - 0.01]


def out_of_reach(app, reach_top: float) -> list[str]:
    problems = []
    for widget in touch_targets(app):
        top = visible_rect(widget)[3]
        if top > reach_top + TOLERANCE_PX:
            problems.append(f"{_describe(widget)}: top edge at {top:.0f} px (reach line {reach_top:.0f})")
    return problems


def _visible_labels(app):
    from kivy.uix.label import Label

    for widget in _widgets(app):
        if isinstance(widget, Label) and widget.text.strip() and visible_rect(widget) is not None:
            yield widget


def stray_icons(app) -> list[str]:
    """Button icons drawn outside their button, or over its text (kiosk/screens/widgets.py KButton)."""
    from kiosk.screens.widgets import KButton

    problems = []
    for button in _widgets(app):
        if not (isinstance(button, KButton) and button.icon_texture and button.icon_shown) or visible_rect(button) is None:
            continue
        drawn = [i for i in button.canvas.after.children if hasattr(i, "pos") and getattr(i, "texture", None) is button.icon_texture]
        (x, y), (w, h) = drawn[0].pos, button.icon_texture.size
        if x < button.x or y < button.y or x + w > button.right or y + h > button.top:
            problems.append(f"{_describe(button)}: its icon at ({x:.0f}, {y:.0f}) is outside the button "
                            f"({button.x:.0f}, {button.y:.0f}, {button.width:.0f}x{button.height:.0f})")
        text_left = button.center_x - button.texture_size[0] / 2 + button.padding[0] + button.icon_offset
        if button.text and x + w > text_left + 1:
            problems.append(f"{_describe(button)}: its icon runs into the text")
    return problems


def cut_text(app) -> list[str]:
    """Labels whose text does not fit their box: lines dropped, or text drawn outside its box.
    (Names in list rows that are made to shorten, `shorten: True`, may end in "…" in any mode: the
    article page shows the whole name.)"""
    from kivy.core.text import Label as CoreLabel

    problems = []
    for label in _visible_labels(app):
        label.texture_update()
        tw, th = label.texture_size
        width, height = label.text_size
        what = f"{_describe(label)} ({label.width:.0f}x{label.height:.0f}, text {tw:.0f}x{th:.0f})"
        if height is not None and width is not None:
            options = dict(label._label.options)
            options.update(text=label.text, text_size=(width, None))
            options.pop("shorten", None)
            full = CoreLabel(**options)
            full.refresh()
            if not label.shorten and label.max_lines <= 0 and full.texture.height > height + TOLERANCE_PX:
                problems.append(f"{what}: lines cut off ({full.texture.height:.0f} px of text in {height:.0f})")
        elif th > label.height + TOLERANCE_PX:
            problems.append(f"{what}: runs out of its box vertically")
        if tw > label.width + TOLERANCE_PX:
            problems.append(f"{what}: runs out of its box sideways")
    return problems


def _background_behind(label):
    """The colour of the last filled shape drawn under the label's centre (its own button face, a
    card, a tile, the screen), from the canvases of the label and its parents."""
    from kivy.graphics import Color, Rectangle, RoundedRectangle

    cx, cy = label.to_window(*label.center)
    for widget in _chain(label):
        canvas = getattr(widget, "canvas", None)
        if canvas is None:
            continue
        # canvas.before, then (for a parent) its own canvas: the children are drawn after both.
        layers = [canvas.before] + ([canvas] if widget is not label else [])
        colour, found = None, None
        for instruction in (i for layer in layers if layer is not None for i in layer.children):
            if isinstance(instruction, Color):
                colour = tuple(instruction.rgba)
            elif isinstance(instruction, (Rectangle, RoundedRectangle)):
                if colour is None or colour[3] < 0.99 or instruction.source:  # a picture is no ground
                    continue
                x, y = instruction.pos
                w, h = instruction.size
                (x0, y0), (x1, y1) = widget.to_window(x, y), widget.to_window(x + w, y + h)
                if x0 <= cx <= x1 and y0 <= cy <= y1:
                    found = colour
        if found is not None:
            return found
    return None


def _effective_opacity(widget) -> float:
    opacity = 1.0
    for ancestor in _chain(widget):
        opacity *= getattr(ancestor, "opacity", 1)
    return opacity


def _rounded(colour) -> tuple:
    return tuple(round(c, 3) for c in colour)


def weak_contrast(app, palette: theme.Palette) -> list[str]:
    """Texts with less than 4.5:1 on what is behind them, or a pair the theme does not declare.
    Dimmed (disabled) controls are exempt, as WCAG 1.4.3 allows."""
    declared = {(_rounded(fg), _rounded(bg)) for fg, bg in theme.text_pairs(palette).values()}
    problems = []
    for label in _visible_labels(app):
        if label.disabled or _effective_opacity(label) < 0.99:
            continue
        background = _background_behind(label)
        if background is None:
            problems.append(f"{_describe(label)}: no background found")
            continue
        foreground = tuple(label.color)
        ratio = theme.contrast_ratio(foreground, background)
        if ratio < 4.5:
            problems.append(f"{_describe(label)}: {ratio:.2f}:1 ({foreground} on {background})")
        elif (_rounded(foreground), _rounded(background)) not in declared:
            problems.append(f"{_describe(label)}: {ratio:.2f}:1, a pair the theme does not list "
                            f"({foreground} on {background})")
    return problems


# --- the walk -------------------------------------------------------------------------------------

@dataclass
class Audit:
    app: object
    driver: object
    modes: AccessibilityModes
    shots: Path | None
    english: bool = False  # the walk in English (its texts are longer here and there)
    problems: list[str] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)
    targets: int = 0

    async def stop(self, name: str) -> None:
        from kivy.core.window import Window
        from kiosk.screens.widgets import AccessButton

        await self.driver.frames(4)
        self.stops.append(name)
        self.targets += len(touch_targets(self.app))
        found = (small_targets(self.app) + cut_text(self.app) + stray_icons(self.app)
                 + weak_contrast(self.app, self.modes.palette))
        if len(shown_roots(self.app)) == 1 and not any(isinstance(w, AccessButton) for w in touch_targets(self.app)):
            found.append("no accessibility button to touch")
        if self.modes.low_reach:
            found += out_of_reach(self.app, self.modes.reach_top(Window.height))
        self.problems += [f"[{name}] {problem}" for problem in found]
        if self.shots is not None:
            mode = "-".join(m for m in AccessibilityModes.MODES if getattr(self.modes, m)) or "standard"
            self.driver.screenshot_dir = self.shots / mode
            await self.driver.screenshot(f"{len(self.stops):02d}-{name}")


async def switch_modes_on_the_panel(driver, app, modes: AccessibilityModes, audit: Audit | None = None) -> None:
    """As a shopper does: the accessibility button on the attract screen, the panel's switches."""
    from kiosk.screens.access_panel import current_panel

    await driver.tap(driver.screen("attract").ids.access_button)
    await driver.wait_until(lambda: current_panel(app) is not None, "the accessibility panel")
    panel = current_panel(app)
    for mode in AccessibilityModes.MODES:
        if getattr(modes, mode):
            await driver.tap(panel.ids[mode])
    assert app.access == modes
    if audit is not None:
        await audit.stop("access-panel")
    await driver.tap(panel.ids.done_button)
    await driver.wait_until(lambda: current_panel(app) is None, "the panel to close")


async def walk_every_screen(audit: Audit) -> None:
    from kiosk.screens.autopilot import type_text

    app, driver = audit.app, audit.driver
    await driver.wait_for_screen("attract")
    await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
    await switch_modes_on_the_panel(driver, app, audit.modes, audit)
    if audit.english:
        await driver.tap(driver.screen("attract").ids.language_button)
        await driver.wait_until(lambda: app.lang == "en", "English")
    await audit.stop("attract")
    await driver.tap(driver.screen("attract").ids.touch_prompt)

    await driver.wait_for_screen("categories")
    categories = driver.screen("categories")
    await driver.wait_until(lambda: len(categories.ids.grid.data) > 0, "categories")
    await audit.stop("categories")

    await driver.tap(categories.ids.search_field)
    await driver.wait_for_screen("search")
    search = driver.screen("search")
    await type_text(driver, search.keyboard, "fiets")
    await driver.wait_until(lambda: len(search.ids.results.data) > 0, "search results")
    await audit.stop("search-typing")
    await driver.tap(search.keyboard.keys["\n"])
    await driver.wait_until(lambda: not search.typing, "the keyboard to go")
    await audit.stop("search-results")
    await driver.tap(search.ids.top_bar.ids.back_button)

    await driver.wait_for_screen("categories")
    await driver.tap(driver.visible_tile(categories.ids.grid, 0))
    await driver.wait_for_screen("products")
    products = driver.screen("products")
    await driver.wait_until(lambda: len(products.ids.grid.data) > 0, "products")
    await audit.stop("products")
    limit = app.services.settings.payment.no_cvm_limit_cents
    rows = products.ids.grid.data[:6]
    articles = [app.services.catalog.product(row["key"]) for row in rows]
    affordable = [i for i, p in enumerate(articles) if max(v.price_cents for v in p.variants) <= limit] or [0]
    await driver.tap(driver.visible_tile(products.ids.grid, affordable[0]))

    await driver.wait_for_screen("article")
    article = driver.screen("article")
    await driver.wait_until(lambda: article.stock_state != "loading", "stock figures")
    await audit.stop("article")
    await driver.tap(article.ids.add_button)
    await driver.wait_until(lambda: app.cart_count == 1, "the cart to hold the article")
    await audit.stop("article-added")
    await driver.tap(article.ids.to_cart_button)

    await driver.wait_for_screen("cart")
    cart = driver.screen("cart")
    await driver.wait_until(lambda: len(cart.ids.lines.data) == 1, "the cart line")
    await driver.wait_until(lambda: getattr(cart, "handoff_state", "ready") not in ("loading",), "the hand-off QR")
    await audit.stop("cart")
    await driver.tap(cart.ids.pay_button)

    await driver.wait_for_screen("fulfil")
    fulfil = driver.screen("fulfil")
    await driver.wait_until(lambda: fulfil.phase == "ready", "the ways to get it")
    if not fulfil.prices_accepted:
        await driver.tap(fulfil.ids.accept_prices_button)
    row = fulfil.row_for(fulfil.offer.delivery.key)
    await driver.tap(row)
    await audit.stop("fulfil")
    await driver.tap(fulfil.ids.continue_button)

    await driver.wait_for_screen("address")
    address = driver.screen("address")

    async def tap_field(name: str) -> None:
        # As a finger does: scroll the field into view first (the list is short in low reach).
        fields = address.ids.fields
        if fields.children[0].height > fields.height:
            fields.scroll_to(address.ids[name], padding=0, animate=False)
        await driver.frames(3)
        await driver.tap(address.ids[name])
        await driver.wait_until(lambda: address.active == name, f"the {name} field")

    await audit.stop("address-postcode")
    await tap_field("house_number")
    await audit.stop("address-house-number")
    await tap_field("email")
    await audit.stop("address-email")
    for name, text in (("postcode", "3511BK"), ("house_number", "12"), ("email", "jan@example.nl")):
        await tap_field(name)
        keys = getattr(address, "shown_keys", None) or (address.keypad if name == "house_number" else address.keyboard)
        for char in text:
            keys = getattr(address, "shown_keys", None) or keys
            await driver.tap(keys.keys[char.lower()])
    await driver.tap(address.ids.continue_button)

    await driver.wait_for_screen("pay")
    pay = driver.screen("pay")
    await driver.wait_until(lambda: pay.state == "waiting_for_card", "the card prompt")
    await audit.stop("pay")
    await driver.wait_for_screen("receipt", timeout_s=60)
    await audit.stop("receipt")

    # A refused card: the pay screen's way on (try again, back to the cart), shown as it would be.
    app._move("pay", "left")
    await driver.wait_for_screen("pay")
    pay.state, pay.reason = "declined", "declined"
    await audit.stop("pay-declined")

    # "Still there?" over a screen: the idle clock made short, as if the shopper had walked away.
    from kivy.uix.modalview import ModalView

    app._move("cart", "left")
    await driver.wait_for_screen("cart")
    app.session.release("receipt")
    idle_s, app.session.idle_s, app.session.countdown_s = app.session.idle_s, 0.2, 60
    app.session.touch()
    await driver.wait_until(lambda: isinstance(shown_roots(app)[-1], ModalView), '"Still there?"')
    await audit.stop("still-there")
    app.session.idle_s = idle_s
    app.still_here()


def simulated_kiosk(central_server, tmp_path):
    # The card comes 3 s after the prompt: time to look at the pay screen first.
    from support.ui import simulated_kiosk as kiosk

    return kiosk(central_server, tmp_path, card_delay_s=3.0, shots=False)


def _shots_dir() -> Path | None:
    value = os.environ.get("A11Y_SHOTS")
    return Path(value) if value else None


WALKS = {  # name: (modes, in English)
    "standard": (AccessibilityModes(), False),
    "low_reach": (AccessibilityModes(low_reach=True), False),
    "large_text+high_contrast": (AccessibilityModes(large_text=True, high_contrast=True), True),
    "all_three": (AccessibilityModes(large_text=True, high_contrast=True, low_reach=True), False),
}


@pytest.mark.ui
@pytest.mark.parametrize("walk", list(WALKS))
async def test_every_screen_in_each_mode(walk, central_server, needs_display, tmp_path):
    """Standard: 2 cm targets, no cut text, contrast. Low reach: also every control below the reach
    line. Large text with high contrast: nothing cut off, every text readable on black."""
    modes, english = WALKS[walk]
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        audit = Audit(app, driver, modes, _shots_dir(), english)
        await walk_every_screen(audit)
        assert audit.targets > 100  # the walk really saw the screens' controls
        assert not audit.problems, "\n".join(audit.problems)


@pytest.mark.ui
async def test_modes_last_the_session_and_the_idle_reset_clears_them(central_server, needs_display, tmp_path):
    from kivy.core.window import Window
    from kiosk.screens.access_panel import current_panel

    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        await driver.wait_for_screen("attract")
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        everything = AccessibilityModes(large_text=True, high_contrast=True, low_reach=True)
        await switch_modes_on_the_panel(driver, app, everything)
        await driver.tap(driver.screen("attract").ids.touch_prompt)
        await driver.wait_for_screen("categories")
        categories = driver.screen("categories")
        # The look follows at once: the palette, the text size, the controls below the reach line.
        assert tuple(categories.ids.page_title.color) == theme.HIGH_CONTRAST.TEXT
        assert categories.ids.top_bar.ids.cart_button.font_size == pytest.approx(
            categories.ids.top_bar.ids.language_button.font_size)
        assert visible_rect(categories.ids.top_bar)[3] <= Window.height * LOW_REACH_TOP + TOLERANCE_PX
        # The panel on another screen shows the modes as they are; switching one off there works.
        await driver.tap(categories.ids.top_bar.ids.access_button)
        await driver.wait_until(lambda: current_panel(app) is not None, "the panel")
        panel = current_panel(app)
        assert panel.ids.large_text.on and panel.ids.high_contrast.on and panel.ids.low_reach.on
        big = categories.ids.page_title.font_size
        await driver.tap(panel.ids.large_text)
        assert not app.access.large_text and app.access.low_reach and not panel.ids.large_text.on
        assert categories.ids.page_title.font_size == pytest.approx(big / app.access.toggled("large_text").text_scale)
        # The shopper walks away with the panel open: the idle reset closes it and clears every mode.
        app.start_over()
        await driver.wait_for_screen("attract")
        assert current_panel(app) is None
        assert app.access == AccessibilityModes()
        assert tuple(driver.screen("attract").ids.touch_prompt.color) == theme.STANDARD.TEXT
        assert driver.screen("categories").ids.top_bar.height <= 200
        # Modes switched on the attract screen by someone who then walked away go back too.
        await switch_modes_on_the_panel(driver, app, AccessibilityModes(high_contrast=True))
        await driver.tap(driver.screen("attract").ids.access_button)
        idle_s, app.session.idle_s = app.session.idle_s, 0.3
        try:
            await driver.wait_until(lambda: app.access == AccessibilityModes() and current_panel(app) is None,
                                    "the modes to go back on the attract screen", timeout_s=5)
        finally:
            app.session.idle_s = idle_s


@pytest.mark.ui
async def test_the_quantity_keypad_in_every_mode(central_server, needs_display, tmp_path):
    everything = AccessibilityModes(large_text=True, high_contrast=True, low_reach=True)
    async with simulated_kiosk(central_server, tmp_path) as (app, driver):
        await driver.wait_for_screen("attract")
        await driver.wait_until(lambda: app.catalog_ready, "the catalog", timeout_s=60)
        app.set_access(everything)
        app.start_shopping()
        await driver.wait_for_screen("categories")
        await driver.tap(driver.visible_tile(driver.screen("categories").ids.grid, 0))
        await driver.wait_for_screen("products")
        products = driver.screen("products")
        await driver.wait_until(lambda: len(products.ids.grid.data) > 0, "products")
        await driver.tap(driver.visible_tile(products.ids.grid, 0))
        await driver.wait_for_screen("article")
        article = driver.screen("article")
        await driver.tap(article.ids.add_button)
        await driver.wait_until(lambda: app.cart_count == 1, "the cart to hold the article")
        await driver.tap(article.ids.to_cart_button)
        await driver.wait_for_screen("cart")
        cart = driver.screen("cart")
        await driver.wait_until(lambda: len(cart.ids.lines.data) == 1, "the cart line")
        await driver.frames(3)
        await driver.tap(driver.visible_tile(cart.ids.lines, 0).ids.quantity_button)
        await driver.wait_until(lambda: getattr(cart, "quantity_pad", None) is not None, "the quantity keypad")
        audit = Audit(app, driver, everything, _shots_dir())
        await audit.stop("cart-quantity")
        assert not audit.problems, "\n".join(audit.problems)
