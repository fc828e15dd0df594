"""Product pictures on disk: a bounded cache (size cap, least recently used out) with one download per URL.

Plain Python and asyncio, no Kivy: the screens' `CachedImage` asks `ImageCache.get(url)` for a local
file and shows it (or the placeholder when the answer is None).

- A file per picture, named by a hash of its URL (`<32 hex>.png` or `.jpg`: Kivy picks its image
  loader by the extension, so pictures are kept in one of the two formats every loader reads).
- Concurrent `get`s of one URL share one download; at most `max_concurrent` downloads run at once.
  A download nobody waits for any more (the row scrolled away) is dropped if it has not started.
- A picture is written to a temp file, fsynced and `os.replace`d into place: a crash leaves either
  the whole picture or a `.tmp-*` file that the next start removes.
- Before it is kept a picture is checked in a worker thread: it must decode (Pillow `verify()` and
  a full `load()`), be at most `max_picture_bytes`, and is re-encoded when Kivy could choke on it
  (another format, an unusual mode, or larger than `max_side` pixels: the decode of a huge picture
  would otherwise stall the UI thread).
- Least recently used out: the index is an in-memory OrderedDict (LRU order) rebuilt from the
  files' mtimes at start. A hit only moves the entry to the end of the dict; the new last-use time is
  written to the file's mtime later, in a batch, in a worker thread (so a restart keeps the order).
  Evicted files are deleted in a worker thread too.
- A picture that cannot be had (network error, 404, not an image, too big) gives None and is
  remembered for `failure_ttl` seconds, so a broken picture is not fetched again on every scroll.

All bookkeeping happens on the event loop; worker threads only touch files and return results.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import re
import tempfile
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("kiosk.images")

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_PICTURE_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_SIDE = 1600          # px; the biggest picture on screen (article page) is ~730 px wide
DEFAULT_FAILURE_TTL = 60.0       # s
TOUCH_FLUSH_DELAY = 5.0          # s between a hit and writing its last-use time to the file's mtime
MAX_REMEMBERED_FAILURES = 4096

_TMP_PREFIX = ".tmp-"
_NAME = re.compile(r"^([0-9a-f]{32})\.(png|jpg)$")
_KEPT_FORMATS = {"PNG": "png", "JPEG": "jpg"}
_KIVY_SAFE_MODES = {"PNG": {"RGB", "RGBA", "L", "LA", "P"}, "JPEG": {"RGB", "L"}}


class PictureRejected(Exception):
    """The bytes are not a picture we keep (not an image, too big, undecodable)."""


def url_key(url: str) -> str:
    return hashlib.blake2b(url.encode("utf-8"), digest_size=16).hexdigest()


@dataclass
class _Entry:
    path: Path
    size: int


@dataclass
class _Download:
    task: asyncio.Task | None = None
    waiters: int = 0
    started: bool = False


@dataclass
class CacheStats:
    entries: int
    bytes: int
    max_bytes: int
    hits: int
    misses: int
    downloads: int
    failures: int
    negative_hits: int
    evictions: int
    in_flight: int
    remembered_failures: int = field(default=0)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class ImageCache:
    def __init__(
        self,
        directory: Path | str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fetch: Callable[[str], Awaitable[bytes]],
        max_concurrent: int = 4,
        max_picture_bytes: int = DEFAULT_MAX_PICTURE_BYTES,
        max_side: int = DEFAULT_MAX_SIDE,
        failure_ttl: float = DEFAULT_FAILURE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_picture_bytes = max_picture_bytes
        self.max_side = max_side
        self.failure_ttl = failure_ttl
        self._fetch = fetch
        self._clock = clock
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._index: OrderedDict[str, _Entry] = OrderedDict()  # LRU order: first = least recently used
        self._bytes = 0
        self._failures: OrderedDict[str, float] = OrderedDict()  # key -> time (clock) it may be tried again
        self._downloads: dict[str, _Download] = {}
        self._deleting: dict[str, asyncio.Task] = {}  # key -> the task deleting its old file
        self._touched: dict[str, float] = {}  # key -> wall time of its last hit, not yet on disk
        self._touch_task: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self._opened = False
        self._open_lock: asyncio.Lock | None = None
        self._hits = self._misses = self._downloaded = self._failed = self._negative_hits = self._evictions = 0

    # --- public -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Scan the directory (in a worker thread): rebuild the index, remove crash leftovers.

        `get` does it on first use; calling it at start-up keeps that first `get` quick.
        """
        if self._opened:
            return
        if self._open_lock is None:
            self._open_lock = asyncio.Lock()
        async with self._open_lock:
            if self._opened:
                return
            entries, leftovers = await asyncio.to_thread(_scan, self.directory)
            for key, entry in entries:
                self._index[key] = entry
                self._bytes += entry.size
            self._opened = True
            log.info("picture cache %s: %d pictures, %.1f MB (cap %.1f MB); %d crash leftovers removed",
                     self.directory, len(self._index), self._bytes / 1e6, self.max_bytes / 1e6, leftovers)
            self._evict()

    def lookup(self, url: str) -> Path | None:
        """The cached file for `url` if it is already on disk, without waiting: for a widget that
        wants to show a known picture in the same frame. Counts as a hit; None is not a miss."""
        key = url_key(url)
        entry = self._index.get(key)
        if entry is None:
            return None
        self._hit(key)
        return entry.path

    async def get(self, url: str) -> Path | None:
        """A local file with the picture at `url`, or None when it cannot be had."""
        if not self._opened:
            await self.open()
        key = url_key(url)
        entry = self._index.get(key)
        if entry is not None:
            self._hit(key)
            return entry.path
        retry_at = self._failures.get(key)
        if retry_at is not None:
            if self._clock() < retry_at:
                self._negative_hits += 1
                return None
            del self._failures[key]
        self._misses += 1
        download = self._downloads.get(key)
        if download is None:
            download = self._downloads[key] = _Download()
            download.task = asyncio.ensure_future(self._download(key, url, download))
        download.waiters += 1
        try:
            return await asyncio.shield(download.task)
        except asyncio.CancelledError:
            if download.waiters == 1 and not download.started:
                # The picture scrolled away before its download began: drop the download, and let a
                # later `get` of the same URL start a new one rather than join a cancelled one.
                download.task.cancel()
                if self._downloads.get(key) is download:
                    del self._downloads[key]
            raise
        finally:
            download.waiters -= 1

    def forget(self, url: str) -> None:
        """Drop a picture (e.g. Kivy could not load the file after all): the next `get` fetches it again."""
        key = url_key(url)
        entry = self._index.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size
            self._touched.pop(key, None)
            self._delete_files([(key, entry.path)])

    def stats(self) -> CacheStats:
        return CacheStats(
            entries=len(self._index), bytes=self._bytes, max_bytes=self.max_bytes, hits=self._hits,
            misses=self._misses, downloads=self._downloaded, failures=self._failed,
            negative_hits=self._negative_hits, evictions=self._evictions, in_flight=len(self._downloads),
            remembered_failures=len(self._failures),
        )

    async def aclose(self) -> None:
        """Stop downloads, finish deletions and write pending last-use times (call on app stop)."""
        for download in list(self._downloads.values()):
            if download.task is not None:
                download.task.cancel()
        if self._touch_task is not None:
            self._touch_task.cancel()
            self._touch_task = None
        pending = [d.task for d in self._downloads.values() if d.task is not None] + list(self._background)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        if self._touched:
            touched, self._touched = self._touched, {}
            await asyncio.to_thread(_touch_files, [(self._index[k].path, t) for k, t in touched.items()
                                                   if k in self._index])

    # --- internals ------------------------------------------------------------------------------

    def _hit(self, key: str) -> None:
        self._hits += 1
        self._index.move_to_end(key)
        self._touched[key] = time.time()
        if self._touch_task is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop (a synchronous caller): written at the next flush or at aclose()
            self._touch_task = self._spawn(self._flush_touches_later())

    async def _flush_touches_later(self) -> None:
        try:
            await asyncio.sleep(TOUCH_FLUSH_DELAY)
        finally:
            self._touch_task = None
        touched, self._touched = self._touched, {}
        paths = [(self._index[k].path, t) for k, t in touched.items() if k in self._index]
        if paths:
            await asyncio.to_thread(_touch_files, paths)

    async def _download(self, key: str, url: str, download: _Download) -> Path | None:
        try:
            async with self._semaphore:
                download.started = True
                try:
                    data = await self._fetch(url)
                    if len(data) > self.max_picture_bytes:
                        raise PictureRejected(f"{len(data)} bytes, more than {self.max_picture_bytes}")
                    if key in self._deleting:  # an eviction of this very file is still running
                        await asyncio.shield(self._deleting[key])
                    path, size = await asyncio.to_thread(
                        _store, self.directory, key, data, self.max_side)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a picture must never take the kiosk down
                    self._failed += 1
                    self._remember_failure(key)
                    log.info("picture %s not available: %s", url, _describe(exc))
                    return None
            self._downloaded += 1
            old = self._index.pop(key, None)
            if old is not None:  # forgotten and fetched again meanwhile: same file name
                self._bytes -= old.size
            self._index[key] = _Entry(path, size)
            self._bytes += size
            log.debug("picture %s stored as %s (%d bytes)", url, path.name, size)
            self._evict(keep=key)
            return path
        finally:
            if self._downloads.get(key) is download:
                del self._downloads[key]

    def _remember_failure(self, key: str) -> None:
        self._failures[key] = self._clock() + self.failure_ttl
        self._failures.move_to_end(key)
        while len(self._failures) > MAX_REMEMBERED_FAILURES:
            self._failures.popitem(last=False)

    def _evict(self, keep: str | None = None) -> None:
        """Drop least recently used pictures until the cache is under its cap (never `keep`, the
        picture just stored). Choosing is in memory; deleting the files is in a worker thread."""
        victims: list[tuple[str, Path]] = []
        while self._bytes > self.max_bytes and self._index:
            key = next(iter(self._index))
            if key == keep:  # `keep` was stored last, so it is first only when it is alone
                break
            entry = self._index.pop(key)
            self._bytes -= entry.size
            self._touched.pop(key, None)
            victims.append((key, entry.path))
        if victims:
            self._evictions += len(victims)
            log.info("picture cache over its cap: %d least recently used pictures out (%.1f MB kept)",
                     len(victims), self._bytes / 1e6)
            self._delete_files(victims)

    def _delete_files(self, victims: list[tuple[str, Path]]) -> None:
        task = self._spawn(asyncio.to_thread(_unlink_files, [p for _, p in victims]))
        for key, _ in victims:
            self._deleting[key] = task

        def done(_task: asyncio.Task, keys=[k for k, _ in victims]) -> None:
            for key in keys:
                if self._deleting.get(key) is _task:
                    del self._deleting[key]

        task.add_done_callback(done)

    def _spawn(self, coroutine: Awaitable[object]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background_done)
        return task

    def _background_done(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("picture cache housekeeping failed: %s", _describe(task.exception()))


# --- worker-thread functions: files only, no shared state -------------------------------------


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _scan(directory: Path) -> tuple[list[tuple[str, _Entry]], int]:
    """Cached pictures, least recently used first (by mtime); removes temp files left by a crash."""
    directory.mkdir(parents=True, exist_ok=True)
    found: list[tuple[float, str, _Entry]] = []
    leftovers = 0
    with os.scandir(directory) as it:
        for item in it:
            if not item.is_file(follow_symlinks=False):
                continue
            if item.name.startswith(_TMP_PREFIX):
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                    leftovers += 1
                continue
            match = _NAME.match(item.name)
            if match is None:
                continue  # not ours: leave it alone
            stat = item.stat(follow_symlinks=False)
            if stat.st_size == 0:  # cannot be a picture (a crash before fsync on an odd filesystem)
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                continue
            found.append((stat.st_mtime, match.group(1), _Entry(Path(item.path), stat.st_size)))
    found.sort(key=lambda f: f[0])
    # A key stored twice (.png and .jpg, after a format change): keep the newer file.
    entries: dict[str, _Entry] = {}
    for _, key, entry in found:
        previous = entries.pop(key, None)
        if previous is not None:
            with contextlib.suppress(OSError):
                previous.path.unlink()
        entries[key] = entry
    return list(entries.items()), leftovers


def _checked(data: bytes, max_side: int) -> tuple[bytes, str]:
    """The bytes to keep and their extension; raises PictureRejected when they are not a picture."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a full decode: catches truncated pictures that verify() lets through
            width, height = image.size
            needs_recode = (fmt not in _KEPT_FORMATS or image.mode not in _KIVY_SAFE_MODES[fmt]
                            or max(width, height) > max_side or getattr(image, "n_frames", 1) > 1)
            if not needs_recode:
                return data, _KEPT_FORMATS[fmt]
            if max(width, height) > max_side:
                image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            if fmt == "JPEG" and image.mode != "RGBA":
                image.convert("RGB").save(out, format="JPEG", quality=90)
                return out.getvalue(), "jpg"
            has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            image.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG", compress_level=6)
            return out.getvalue(), "png"
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PictureRejected(f"not a picture we can show ({_describe(exc)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PictureRejected(f"broken picture ({_describe(exc)})") from None


def _store(directory: Path, key: str, data: bytes, max_side: int) -> tuple[Path, int]:
    """Check the picture, then write it whole or not at all: temp file, fsync, rename."""
    keep, ext = _checked(data, max_side)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{key}.{ext}"
    fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{key}-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(keep)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    other = directory / f"{key}.{'jpg' if ext == 'png' else 'png'}"
    with contextlib.suppress(FileNotFoundError):
        other.unlink()  # the same URL once answered in the other format
    return final, len(keep)


def _unlink_files(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _touch_files(paths: Iterable[tuple[Path, float]]) -> None:
    for path, when in paths:
        with contextlib.suppress(FileNotFoundError):
            os.utime(path, (when, when))
