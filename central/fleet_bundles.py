"""Signed fleet configuration bundles served from a folder, the way any static web server or CDN would.

The folder (`kiosk central --fleet-dir`, by default `fleet/` beside the database) holds

    fleet.json                 every pillar
    shops/<store_id>.json      the pillars of one shop
    kiosks/<kiosk_id>.json     one pillar

as made by `kiosk fleet sign`. To the server they are opaque bytes: it neither parses nor verifies
them (the kiosk does both), so whatever an operator copies in is served as it is.

Every request reads the file again (a bundle is a few kB; read and SHA-256 cost microseconds), so a
file replaced while the server runs is served at once, and there is no cache to go stale. Write a new
bundle next to the old one and rename it over (what `kiosk fleet sign -o` and `rsync` do): a reader
then sees the old bytes or the new ones, never half a file.

Names: an id is 1..64 of [A-Za-z0-9._:-], not starting with a dot (no hidden files, no `..`); with no
slash possible, a name always stays inside its level's folder. Anything else never reaches the disk.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

ID_PATTERN = r"^[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,63}$"
_ID = re.compile(ID_PATTERN)

FLEET_FILE = "fleet.json"
LEVEL_FOLDERS = {"shop": "shops", "kiosk": "kiosks"}


@dataclass(frozen=True)
class BundleFile:
    content: bytes
    etag: str  # strong: the quoted SHA-256 of the bytes


def etag_of(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()}"'


def bundle_path(folder: Path, level: str, ident: str | None = None) -> Path:
    """Where a level's bundle lives; ValueError for an id that is not a plain, safe name."""
    if level == "fleet":
        return folder / FLEET_FILE
    if level not in LEVEL_FOLDERS:
        raise ValueError(f"unknown level {level!r}")
    if ident is None or not _ID.fullmatch(ident):
        raise ValueError(f"not a valid {level} id: {ident!r}")
    path = folder / LEVEL_FOLDERS[level] / f"{ident}.json"
    if path.parent != folder / LEVEL_FOLDERS[level]:  # belt and braces: the pattern already rules it out
        raise ValueError(f"not a valid {level} id: {ident!r}")
    return path


def read_bundle(folder: Path, level: str, ident: str | None = None) -> BundleFile | None:
    """The bundle's bytes and ETag, or None when there is none at this level (no file, or not a file)."""
    path = bundle_path(folder, level, ident)
    try:
        content = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return BundleFile(content, etag_of(content))


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: If-None-Match uses the weak comparison (W/"x" matches "x"); `*` matches any file."""
    if not if_none_match:
        return False
    for tag in _tags(if_none_match):
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
