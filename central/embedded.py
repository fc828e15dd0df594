"""The reference server inside another process: uvicorn on a daemon thread (demo and tests).

The socket is bound here, before uvicorn starts, so port 0 gives a free port with no race between
"find a free port" and "listen on it", and the base URL is known before the first request.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import uvicorn

from central.app import create_app
from central.db import Database
from central.seed import seed_database

log = logging.getLogger("central")

_START_TIMEOUT_S = 10.0


def prepare_database(db_path: Path, seed_articles: int) -> Database:
    """Create the schema and seed it; only the missing articles are added, so a rerun is fast."""
    db = Database(db_path)
    added = seed_database(db, seed_articles)
    if added:
        log.info("seeded %d articles into %s", added, db_path)
    return db


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; with proto 0 every keep-alive answer waits ~40 ms (Nagle
    # against delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@dataclass
class RunningServer:
    base_url: str
    db_path: Path
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _socket: socket.socket = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()


def start_server(db_path: Path, *, seed_articles: int = 2000, host: str = "127.0.0.1", port: int = 0,
                 acquirer_key_path: Path | None = None, log_level: str = "warning",
                 clock: Callable[[], datetime] | None = None, fleet_dir: Path | None = None) -> RunningServer:
    """Seed (if needed) and serve on a daemon thread; returns once the server accepts connections.
    `clock`, `fleet_dir`: see `create_app` (tests move time with the clock)."""
    db_path = Path(db_path)
    prepare_database(db_path, seed_articles)
    app = create_app(db_path, acquirer_key_path=acquirer_key_path, clock=clock, fleet_dir=fleet_dir)
    sock = bind_socket(host, port)
    config = uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="central-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the central server did not start")
        time.sleep(0.002)
    return RunningServer(base_url=base_url_of(sock), db_path=db_path, _server=server, _thread=thread, _socket=sock)
