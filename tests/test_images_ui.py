"""CachedImage in the real (Xvfb) window, fed by the real picture cache and the reference server."""

from __future__ import annotations

import asyncio

import pytest
from kivy.app import App
from kivy.uix.boxlayout import BoxLayout

from central.seed import DEMO_KIOSK_TOKEN
from kiosk.api import CentralApi
from kiosk.images import ImageCache
from kiosk.screens.cached_image import PLACEHOLDER, CachedImage

pytestmark = pytest.mark.ui


class PictureApp(App):
    """Just what CachedImage asks of the kiosk app: image_cache, spawn and resolve_url."""

    def __init__(self, api: CentralApi, cache: ImageCache, **kwargs) -> None:
        super().__init__(**kwargs)
        self.api = api
        self.image_cache = cache
        self.tasks: set[asyncio.Task] = set()
        self.failures: list[BaseException] = []

    def build(self):
        root = BoxLayout(orientation="vertical")
        root.add_widget(CachedImage())
        root.add_widget(CachedImage())
        return root

    @property
    def pictures(self) -> list[CachedImage]:
        return list(reversed(self.root.children))

    def spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.failures.append(task.exception())

    def resolve_url(self, url: str) -> str:
        return self.api.absolute_url(url)


class SlowFetch:
    """The real fetch, held back for the URLs in `held` until released."""

    def __init__(self, api: CentralApi) -> None:
        self.api = api
        self.held: dict[str, asyncio.Event] = {}
        self.calls: list[str] = []

    async def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if url in self.held:
            await self.held[url].wait()
        return await self.api.fetch_bytes(url)


async def wait_until(condition, what: str, frames: int = 600) -> None:
    for _ in range(frames):
        if condition():
            return
        await asyncio.sleep(1 / 60)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def picture_app(central_server, needs_display, tmp_path):
    async with CentralApi(central_server.base_url, DEMO_KIOSK_TOKEN) as api:
        fetch = SlowFetch(api)
        cache = ImageCache(tmp_path / "pictures", fetch=fetch)
        app = PictureApp(api, cache)
        app.fetch = fetch
        task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
        try:
            await wait_until(lambda: app.root is not None or task.done(), "the app's root")
            if task.done():
                task.result()
            await asyncio.sleep(2 / 60)
            yield app
            assert app.failures == []
        finally:
            app.stop()
            await asyncio.wait_for(task, 10)
            await cache.aclose()


async def test_a_picture_is_shown_from_the_cache_file(picture_app, central_server, tmp_path):
    picture, _ = picture_app.pictures
    assert picture.fit_mode == "contain" and picture.status == "empty"

    picture.url = "v1/images/P000001/1.png"
    assert picture.status == "loading" and picture.source == ""
    await wait_until(lambda: picture.status == "ready", "the picture")

    cached = picture_app.image_cache.lookup(f"{central_server.base_url}/v1/images/P000001/1.png")
    assert cached is not None and cached.parent == tmp_path / "pictures"
    assert picture.source == str(cached)
    assert picture.texture is not None and tuple(picture.texture.size) == (600, 600)

    # A second widget with the same picture gets it at once, from disk, without a download.
    other = picture_app.pictures[1]
    other.url = "v1/images/P000001/1.png"
    assert other.status == "ready" and other.source == str(cached)
    assert len(picture_app.fetch.calls) == 1

    picture.url = ""
    assert picture.status == "empty" and picture.texture is None


async def test_a_broken_picture_shows_the_placeholder(picture_app, tmp_path):
    picture, _ = picture_app.pictures
    picture.url = "v1/images/P999999/1.png"  # the server answers 404
    await wait_until(lambda: picture.status == "failed", "the placeholder")
    assert picture.source == PLACEHOLDER
    assert picture.texture is not None and tuple(picture.texture.size) == (512, 512)
    picture.export_to_png(str(tmp_path / "placeholder-shown.png"))


async def test_a_late_answer_for_an_old_url_is_ignored(picture_app, central_server):
    picture, _ = picture_app.pictures
    slow_url = f"{central_server.base_url}/v1/images/P000002/1.png"
    picture_app.fetch.held[slow_url] = asyncio.Event()

    picture.url = "v1/images/P000002/1.png"  # a recycled row: the answer is slow to come ...
    await wait_until(lambda: slow_url in picture_app.fetch.calls, "the slow download to start")
    picture.url = "v1/images/P000003/1.png"  # ... and the row already shows another article
    await wait_until(lambda: picture.status == "ready", "the new picture")
    shown = picture.source

    picture_app.fetch.held[slow_url].set()
    await wait_until(lambda: picture_app.image_cache.lookup(slow_url) is not None, "the old download to finish")
    await asyncio.sleep(3 / 60)
    assert picture.source == shown and "P000003" not in shown  # file names are hashes
    assert picture.source == str(picture_app.image_cache.lookup(
        f"{central_server.base_url}/v1/images/P000003/1.png"))


async def test_a_damaged_cache_file_gives_the_placeholder_and_is_fetched_again(picture_app, central_server):
    picture, _ = picture_app.pictures
    url = f"{central_server.base_url}/v1/images/P000004/1.png"
    path = await picture_app.image_cache.get(url)
    path.write_bytes(b"scribbled over behind the cache's back")

    picture.url = "v1/images/P000004/1.png"  # on disk: shown at once, but Kivy cannot read it
    assert picture.status == "failed" and picture.source == PLACEHOLDER
    assert picture_app.image_cache.lookup(url) is None, "the damaged file is dropped"

    picture.url = ""
    picture.url = "v1/images/P000004/1.png"
    await wait_until(lambda: picture.status == "ready", "the picture fetched again")
    assert picture.texture is not None and tuple(picture.texture.size) == (600, 600)
    assert len(picture_app.fetch.calls) == 2
