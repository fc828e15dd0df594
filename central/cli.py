"""`kiosk central`: the reference server in the foreground (Ctrl-C stops it)."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from central.app import create_app, default_fleet_dir
from central.embedded import base_url_of, bind_socket, prepare_database
from central.seed import DEMO_KIOSK_TOKEN


def serve(host: str, port: int, db: Path, seed_articles: int, fleet_dir: Path | None = None) -> int:
    """`fleet_dir`: the signed fleet bundles to serve under /fleet/ (default: `fleet/` beside the database)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    prepare_database(Path(db), seed_articles)
    fleet = Path(fleet_dir) if fleet_dir is not None else default_fleet_dir(Path(db))
    sock = bind_socket(host, port)  # bound first, so port 0 works and the printed URL is the real one
    base_url = base_url_of(sock)
    print(f"central order API on {base_url}  (OpenAPI: {base_url}/docs, demo token: {DEMO_KIOSK_TOKEN})",
          flush=True)
    print(f"fleet bundles from {fleet.resolve()}{'' if fleet.is_dir() else ' (no such folder yet: every bundle 404)'}"
          f" at {base_url}/fleet/", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(Path(db), fleet_dir=fleet), log_level="info", lifespan="off"))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0
