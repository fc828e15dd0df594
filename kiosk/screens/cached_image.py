"""CachedImage: a picture by URL, through the app's on-disk `ImageCache` (kiosk/images.py).

    CachedImage:
        url: root.image

The app provides `image_cache` (an `ImageCache`), `spawn(coroutine)` and `resolve_url(url)`.

- A picture already on disk is shown at once, in the same frame (`ImageCache.lookup`).
- Otherwise the widget shows a quiet loading colour, asks the cache in a task, and shows the file,
  or the placeholder when the picture cannot be had.
- RecycleView rows change `url` quickly: a change cancels the pending request (so a download that
  has not begun is dropped) and a late answer for an old URL is ignored.
- The only work on the UI thread is Kivy loading the file into a texture (~5 ms for a 600x600 PNG;
  Kivy keeps textures in its own cache, so scrolling back costs nothing).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kivy.app import App
from kivy.properties import ColorProperty, OptionProperty, StringProperty
from kivy.uix.image import Image

from kiosk import theme

log = logging.getLogger("kiosk.images")

PLACEHOLDER = str(Path(__file__).resolve().parents[2] / "assets" / "placeholder.png")
_SHOWN = (1, 1, 1, 1)


class CachedImage(Image):
    url = StringProperty("")
    """The picture's URL (relative to the API base, or absolute); "" shows nothing."""

    placeholder = StringProperty(PLACEHOLDER)
    """Shown when the picture cannot be had."""

    loading_color = ColorProperty(theme.BACKGROUND)
    """The widget's area is filled with this while the picture loads."""

    status = OptionProperty("empty", options=["empty", "loading", "ready", "failed"])
    """What the widget shows: nothing, the loading colour, the picture, or the placeholder."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("fit_mode", "contain")
        self._request: asyncio.Task | None = None
        super().__init__(**kwargs)
        if not self.url:
            self.color = (0, 0, 0, 0)

    def on_url(self, _instance, url: str) -> None:
        self._cancel_request()
        if not url:
            self._show("empty", "")
            return
        app = App.get_running_app()
        cache = getattr(app, "image_cache", None)
        if cache is None:  # no cache (a screen built outside the app): no picture rather than a crash
            self._show("failed", self.placeholder)
            return
        full_url = app.resolve_url(url)
        path = cache.lookup(full_url)
        if path is not None:
            self._show_file(cache, full_url, path)
            return
        self._show("loading", "")
        self._request = app.spawn(self._load(cache, url, full_url))

    async def _load(self, cache, url: str, full_url: str) -> None:
        try:
            path = await cache.get(full_url)
        finally:
            if self._request is asyncio.current_task():
                self._request = None
        if url != self.url:
            return  # a late answer for a picture this widget no longer shows
        if path is None:
            self._show("failed", self.placeholder)
        else:
            self._show_file(cache, full_url, path)

    def _show_file(self, cache, full_url: str, path: Path) -> None:
        self._show("ready", str(path))
        if self.texture is None:
            # Kivy could not read the file (deleted or damaged behind the cache's back): fetch it
            # again next time, and show the placeholder now.
            log.warning("picture file %s could not be loaded; dropped from the cache", path)
            cache.forget(full_url)
            self._show("failed", self.placeholder)

    def _show(self, status: str, source: str) -> None:
        self.source = source  # Kivy loads the texture right here, synchronously
        self.status = status
        if status == "loading":
            self.color = self.loading_color
        elif status == "empty":
            self.color = (0, 0, 0, 0)
        else:
            self.color = _SHOWN

    def _cancel_request(self) -> None:
        if self._request is not None:
            self._request.cancel()
            self._request = None
