"""`kiosk catalog sync [--config PATH] [--full] [--dir PATH] [--page-size N] [--quiet]`

Brings the local catalog copy up to date from the configured central API (a delta sync, or a full
one when there is no copy yet, when an interrupted full sync waits, or with --full), with a one-line
progress bar on stderr and a summary on stdout. Exit 0 when done, 1 with a one-line reason when the
API is down or answers garbage (the previous catalog stays), 2 on a configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kiosk.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings

EXIT_FAILED = 1
EXIT_CONFIG = 2
DEFAULT_DIR = Path("var/catalog")
SHOWN_SKIPS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `kiosk catalog sync` (for the subcommand in kiosk/__main__.py)."""
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="kiosk.toml (default: %(default)s)")
    parser.add_argument("--full", action="store_true", help="a full sync even when a delta would do")
    parser.add_argument("--dir", type=Path, default=None,
                        help="catalog folder (default: [catalog] directory of the config, else var/catalog)")
    parser.add_argument("--page-size", type=int, default=500, help="products per page, 1..500 (default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk catalog sync", description="Sync the local catalog copy")
    add_arguments(parser)
    return parser


class _ProgressLine:
    """`full  [#########.........]  45,000 / 100,000` on one line of stderr, at most 10 times a second."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, progress) -> None:
        now = time.monotonic()
        final = progress.total is not None and progress.done >= progress.total
        if not final and now - self._last < (0.1 if self.tty else 2.0):
            return
        self._last = now
        if progress.total:
            filled = int(30 * min(1.0, progress.done / progress.total))
            line = f"{progress.kind:5}  [{'#' * filled}{'.' * (30 - filled)}]  {progress.done:,} / {progress.total:,}"
        else:
            line = f"{progress.kind:5}  {progress.done:,} products"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        self.stream.flush()
        self._shown = True

    def end(self) -> None:
        if self._shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()


def catalog_dir(settings: Settings, explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    resolved = getattr(settings, "catalog_dir", None)
    return Path(resolved) if resolved is not None else DEFAULT_DIR


async def _run(settings: Settings, directory: Path, full: bool, page_size: int, progress) -> object:
    from kiosk.api import CentralApi
    from kiosk.catalog.sync import CatalogSync

    api_settings = settings.api
    async with CentralApi(api_settings.base_url, api_settings.token.get_secret_value(),
                          connect_timeout=api_settings.connect_timeout_s, read_timeout=api_settings.read_timeout_s,
                          retries=api_settings.retries) as api:
        sync = CatalogSync(api, directory, page_size=page_size, on_progress=progress)
        return await sync.sync(full=full)


def main(args: argparse.Namespace | Sequence[str] | None = None) -> int:
    if not isinstance(args, argparse.Namespace):
        args = build_parser().parse_args(args)
    from kiosk.api import ApiError
    from kiosk.catalog.sync import SyncError

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"kiosk: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not 1 <= args.page_size <= 500:
        print("kiosk catalog sync: --page-size must be 1..500", file=sys.stderr)
        return EXIT_CONFIG
    directory = catalog_dir(settings, args.dir)
    progress = None if args.quiet else _ProgressLine()
    try:
        report = asyncio.run(_run(settings, directory, args.full, args.page_size, progress))
    except (ApiError, SyncError, OSError) as exc:
        if progress is not None:
            progress.end()
        print(f"kiosk catalog sync: failed, the previous catalog stays: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        if progress is not None:
            progress.end()
        print("kiosk catalog sync: interrupted; the next sync resumes where this one stopped", file=sys.stderr)
        return 130
    if progress is not None:
        progress.end()
    print(f"catalog sync ({report.kind}{', resumed' if report.resumed else ''}) done in {report.duration_s:.1f} s: "
          f"{report.written:,} products written, {report.removed:,} removed, {len(report.skipped):,} skipped "
          f"-> {directory / 'catalog.sqlite'}")
    for label, reason in report.skipped[:SHOWN_SKIPS]:
        print(f"  skipped {label}: {reason}")
    if len(report.skipped) > SHOWN_SKIPS:
        print(f"  ... and {len(report.skipped) - SHOWN_SKIPS:,} more skipped (see the log)")
    for label, what in report.adjusted[:SHOWN_SKIPS]:
        print(f"  kept {label}, truncated: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
