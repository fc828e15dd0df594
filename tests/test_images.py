"""The on-disk picture cache (kiosk/images.py) against the real reference server's pictures."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from central.seed import DEMO_KIOSK_TOKEN
from kiosk.api import CentralApi
from kiosk.images import ImageCache, url_key


class CountingFetch:
    """The real client's fetch_bytes, counting calls per URL and how many run at once."""

    def __init__(self, api: CentralApi, delay: float = 0.0) -> None:
        self.api = api
        self.delay = delay
        self.calls: list[str] = []
        self.active = 0
        self.max_active = 0

    async def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await self.api.fetch_bytes(url)
        finally:
            self.active -= 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def picture_url(base_url: str, product: int, number: int = 1) -> str:
    return f"{base_url}/v1/images/P{product:06d}/{number}.png"


def png_bytes(width: int, height: int, mode: str = "RGB", fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 120, 40) if mode == "RGB" else None).save(out, format=fmt)
    return out.getvalue()


async def settled(cache: ImageCache) -> None:
    """Let the cache's background deletions and touches finish."""
    for _ in range(200):
        if not cache._background or all(t is cache._touch_task for t in cache._background):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the cache's housekeeping did not finish")


def cache_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.fixture
async def fetch(api: CentralApi) -> CountingFetch:
    return CountingFetch(api)


async def test_a_miss_downloads_and_stores_the_picture(central_server, fetch, tmp_path):
    cache = ImageCache(tmp_path, fetch=fetch)
    url = picture_url(central_server.base_url, 1)

    path = await cache.get(url)

    assert path is not None and path.parent == tmp_path
    assert path.name == f"{url_key(url)}.png"
    assert path.read_bytes() == await fetch.api.fetch_bytes(url)  # a PNG is kept as it came
    with Image.open(path) as image:
        assert image.size == (600, 600)
    assert fetch.calls == [url]
    stats = cache.stats()
    assert (stats.entries, stats.bytes, stats.misses, stats.downloads, stats.hits) == (1, path.stat().st_size, 1, 1, 0)
    assert cache_files(tmp_path) == [path.name], "no temp file left behind"
    await cache.aclose()


async def test_a_hit_does_not_fetch_again(central_server, fetch, tmp_path):
    cache = ImageCache(tmp_path, fetch=fetch)
    url = picture_url(central_server.base_url, 2)
    first = await cache.get(url)
    again = await cache.get(url)
    assert again == first == cache.lookup(url)
    assert len(fetch.calls) == 1
    assert cache.stats().hits == 2 and cache.stats().misses == 1
    assert cache.lookup(picture_url(central_server.base_url, 3)) is None, "lookup never downloads"
    assert len(fetch.calls) == 1
    await cache.aclose()


async def test_concurrent_gets_of_one_url_share_one_download(central_server, api, tmp_path):
    fetch = CountingFetch(api, delay=0.05)
    cache = ImageCache(tmp_path, fetch=fetch)
    url = picture_url(central_server.base_url, 4)
    paths = await asyncio.gather(*(cache.get(url) for _ in range(10)))
    assert len(set(paths)) == 1 and paths[0] is not None
    assert fetch.calls == [url]
    await cache.aclose()


async def test_downloads_are_bounded(central_server, api, tmp_path):
    fetch = CountingFetch(api, delay=0.03)
    cache = ImageCache(tmp_path, fetch=fetch, max_concurrent=2)
    urls = [picture_url(central_server.base_url, n) for n in range(10, 18)]
    paths = await asyncio.gather(*(cache.get(u) for u in urls))
    assert all(paths) and len(fetch.calls) == 8
    assert fetch.max_active == 2
    await cache.aclose()


async def test_the_size_cap_evicts_the_least_recently_used_first(central_server, fetch, tmp_path):
    a, b, c, d = (picture_url(central_server.base_url, n) for n in (20, 21, 22, 23))
    size = {u: len(await fetch.api.fetch_bytes(u)) for u in (a, b, c, d)}
    # Exactly a, b and c fit; d only fits once b (and nothing else) is out.
    cap = size[a] + size[b] + size[c] + max(0, size[d] - size[b])
    cache = ImageCache(tmp_path, fetch=fetch, max_bytes=cap)
    paths = {u: await cache.get(u) for u in (a, b, c)}
    await cache.get(a)  # a is used again: b is now the least recently used
    assert cache.stats().evictions == 0

    paths[d] = await cache.get(d)
    await settled(cache)

    assert not paths[b].exists(), "the least recently used picture goes first"
    assert paths[a].exists() and paths[c].exists() and paths[d].exists()
    stats = cache.stats()
    assert stats.evictions == 1 and stats.entries == 3 and stats.bytes <= cap
    assert stats.bytes == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert cache.lookup(b) is None
    calls = len(fetch.calls)
    assert await cache.get(b) is not None and len(fetch.calls) == calls + 1, "an evicted picture is fetched again"
    await cache.aclose()


async def test_a_picture_the_server_does_not_have_is_none_and_not_fetched_again_at_once(central_server, fetch,
                                                                                        tmp_path):
    clock = FakeClock()
    cache = ImageCache(tmp_path, fetch=fetch, clock=clock, failure_ttl=60)
    unknown = picture_url(central_server.base_url, 999_999)
    out_of_range = picture_url(central_server.base_url, 1, 9)

    assert await cache.get(unknown) is None
    assert await cache.get(out_of_range) is None
    assert await cache.get(unknown) is None
    assert fetch.calls == [unknown, out_of_range], "a broken picture is remembered"
    stats = cache.stats()
    assert (stats.failures, stats.negative_hits, stats.entries) == (2, 1, 0)

    clock.now += 61
    assert await cache.get(unknown) is None
    assert fetch.calls == [unknown, out_of_range, unknown], "and tried again once the memory expires"
    assert cache_files(tmp_path) == []
    await cache.aclose()


@pytest.mark.parametrize("answer", [
    pytest.param(b"<html>Service temporarily unavailable</html>", id="html"),
    pytest.param(b"", id="empty"),
    pytest.param(png_bytes(300, 300)[:400], id="truncated-png"),
    pytest.param(png_bytes(300, 300)[:-30] + b"\0" * 30, id="damaged-png"),
])
async def test_bytes_that_are_not_a_picture_give_none(answer, tmp_path):
    calls = []

    async def garbage(url: str) -> bytes:
        calls.append(url)
        return answer

    cache = ImageCache(tmp_path, fetch=garbage)
    assert await cache.get("http://pictures.example/x.png") is None
    assert await cache.get("http://pictures.example/x.png") is None
    assert len(calls) == 1 and cache.stats().failures == 1
    assert cache_files(tmp_path) == [], "nothing kept, no temp file left"
    await cache.aclose()


async def test_a_picture_over_the_size_limit_gives_none(central_server, fetch, tmp_path):
    cache = ImageCache(tmp_path, fetch=fetch, max_picture_bytes=1000)
    assert await cache.get(picture_url(central_server.base_url, 30)) is None
    assert cache.stats().failures == 1 and cache_files(tmp_path) == []
    await cache.aclose()


async def test_a_network_failure_gives_none(tmp_path):
    async with CentralApi("http://127.0.0.1:9", DEMO_KIOSK_TOKEN, retries=0, connect_timeout=1) as down:
        cache = ImageCache(tmp_path, fetch=down.fetch_bytes)
        assert await cache.get("v1/images/P000001/1.png") is None
        assert cache.stats().failures == 1
        await cache.aclose()


async def test_pictures_kivy_may_choke_on_are_re_encoded(tmp_path):
    answers = {
        "http://x/huge.png": png_bytes(4000, 300),
        "http://x/anim.gif": png_bytes(64, 64, fmt="GIF"),
        "http://x/photo.jpg": png_bytes(640, 480, fmt="JPEG"),
        "http://x/cmyk.jpg": png_bytes(64, 64, mode="CMYK", fmt="JPEG"),
    }

    async def fetch(url: str) -> bytes:
        return answers[url]

    cache = ImageCache(tmp_path, fetch=fetch, max_side=1600)
    huge, gif, jpg, cmyk = [await cache.get(u) for u in answers]
    with Image.open(huge) as image:
        assert huge.suffix == ".png" and image.size == (1600, 120)
    with Image.open(gif) as image:
        assert gif.suffix == ".png" and image.format == "PNG"
    assert jpg.suffix == ".jpg" and jpg.read_bytes() == answers["http://x/photo.jpg"]
    with Image.open(cmyk) as image:
        assert cmyk.suffix == ".jpg" and image.mode == "RGB"
    await cache.aclose()


async def test_a_restart_finds_the_cached_pictures_and_their_order(central_server, fetch, tmp_path):
    a, b = picture_url(central_server.base_url, 40), picture_url(central_server.base_url, 41)
    first = ImageCache(tmp_path, fetch=fetch)
    path_a, path_b = await first.get(a), await first.get(b)
    await first.get(a)  # a used last
    await first.aclose()  # writes the last-use times
    assert path_a.stat().st_mtime > path_b.stat().st_mtime
    calls = len(fetch.calls)

    second = ImageCache(tmp_path, fetch=fetch)
    assert await second.get(b) == path_b and await second.get(a) == path_a  # a used last again
    assert len(fetch.calls) == calls, "a restart does not download again"
    assert second.stats().entries == 2 and second.stats().bytes == path_a.stat().st_size + path_b.stat().st_size
    await second.aclose()

    # A smaller cap at start-up keeps the most recently used: a.
    third = ImageCache(tmp_path, fetch=fetch, max_bytes=path_a.stat().st_size)
    await third.open()
    await settled(third)
    assert path_a.exists() and not path_b.exists()
    await third.aclose()


async def test_leftovers_of_a_crash_are_removed_and_never_shown(central_server, fetch, tmp_path):
    url = picture_url(central_server.base_url, 50)
    whole = await fetch.api.fetch_bytes(url)
    key = url_key(url)
    (tmp_path / f".tmp-{key}-k3j2h1").write_bytes(whole[: len(whole) // 2])  # killed mid-write
    (tmp_path / f"{url_key('http://x/empty.png')}.png").write_bytes(b"")  # a file that never got its data
    (tmp_path / "README.txt").write_text("not ours")

    cache = ImageCache(tmp_path, fetch=fetch)
    await cache.open()
    assert cache_files(tmp_path) == ["README.txt"]
    assert cache.stats().entries == 0

    path = await cache.get(url)
    assert path.read_bytes() == whole
    await cache.aclose()


async def test_a_failure_while_writing_leaves_no_torn_picture(central_server, fetch, tmp_path, monkeypatch):
    cache = ImageCache(tmp_path, fetch=fetch)

    def power_cut(*_args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", power_cut)
    assert await cache.get(picture_url(central_server.base_url, 51)) is None
    assert cache_files(tmp_path) == []
    await cache.aclose()


async def test_a_download_nobody_waits_for_is_dropped_before_it_starts(tmp_path):
    release = asyncio.Event()
    started: list[str] = []

    async def slow(url: str) -> bytes:
        started.append(url)
        await release.wait()
        return png_bytes(10, 10)

    cache = ImageCache(tmp_path, fetch=slow, max_concurrent=1)
    busy = asyncio.ensure_future(cache.get("http://x/busy.png"))
    await asyncio.sleep(0.01)
    scrolled_away = asyncio.ensure_future(cache.get("http://x/gone.png"))
    shared_1 = asyncio.ensure_future(cache.get("http://x/shared.png"))
    shared_2 = asyncio.ensure_future(cache.get("http://x/shared.png"))
    await asyncio.sleep(0.01)
    scrolled_away.cancel()
    shared_1.cancel()  # one of two waiters goes: the other still gets the picture
    release.set()

    assert await busy is not None
    assert await shared_2 is not None
    assert started == ["http://x/busy.png", "http://x/shared.png"]
    with pytest.raises(asyncio.CancelledError):
        await scrolled_away
    # Asked again later, the dropped picture is downloaded normally.
    assert await cache.get("http://x/gone.png") is not None
    assert cache.stats().in_flight == 0
    await cache.aclose()
