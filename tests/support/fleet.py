"""Fleet bundles for tests: signed with the demo key (central/keys/), published as an operator would,
on the reference server's fleet folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from central.embedded import start_server
from kiosk.fleet.keys import TrustedKeys, load_private_key, sign_bundle

ROOT = Path(__file__).resolve().parent.parent.parent
PRIVATE_KEY = load_private_key(ROOT / "central" / "keys" / "demo_fleet_private.pem")
TRUSTED = TrustedKeys.load(ROOT / "config" / "fleet_keys")


def signed(version: int, level: str = "fleet", ids: tuple[str, ...] = (), *, settings: dict[str, Any] | None = None,
           rollout: dict[str, Any] | None = None, locked: list[str] | None = None, key=PRIVATE_KEY) -> bytes:
    """A signed bundle file. Without `settings`: the idle time, 120 s."""
    document: dict[str, Any] = {"schema_version": 1, "version": version, "scope": {"kind": level, "ids": list(ids)},
                                "settings": settings if settings is not None else {"session": {"idle_s": 120}},
                                "created_at": "2025-03-01T09:00:00Z"}
    if rollout is not None:
        document["rollout"] = rollout
    if locked is not None:
        document["locked"] = locked
    return json.dumps(sign_bundle(document, key).model_dump()).encode()


def publish(folder: Path, relative: str, content: bytes) -> None:
    """As an operator would: write beside it, then rename over (a reader never sees half a file)."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def bundle(version: int, level: str = "fleet", ids: tuple[str, ...] = (), idle_s: int = 120) -> bytes:
    return signed(version, level, ids, settings={"session": {"idle_s": idle_s}})


class Site:
    """The reference server with its own fleet folder."""

    def __init__(self, tmp_path: Path, seed_articles: int = 5) -> None:
        self.folder = tmp_path / "fleet"
        self.server = start_server(tmp_path / "central.sqlite", seed_articles=seed_articles, fleet_dir=self.folder)
        self.sent: list[httpx.Request] = []  # what a recording client sent (tests/test_fleet_fetch.py)

    @property
    def fleet_url(self) -> str:
        return self.server.base_url + "/fleet"

    def put(self, relative: str, content: bytes) -> None:
        publish(self.folder, relative, content)

    def remove(self, relative: str) -> None:
        (self.folder / relative).unlink()
