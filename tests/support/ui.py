"""Running the real kiosk app in the real (Xvfb) window from an async test.

Kivy creates one Window per process; apps run one after another on it (see shared/PLATFORM.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from kiosk.config import Settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]


def kiosk_settings(base_url: str, data_dir: Path, **payment: object) -> Settings:
    """Settings for a kiosk whose catalog copy and picture cache live in `data_dir`."""
    return parse_settings({
        "api": {"base_url": base_url, "token": "demo-kiosk-token", "read_timeout_s": 5.0},
        "payment": {"public_key": str(ROOT / "config" / "payment_service_public.pem"), **payment},
        "catalog": {"directory": str(data_dir / "catalog"), "image_cache": str(data_dir / "images")},
        "journal": {"path": str(data_dir / "journal" / "journal.json")},
        "display": {"fullscreen": False, "lockdown": False},
    })


@pytest.fixture
def needs_display():
    if not os.environ.get("DISPLAY"):
        pytest.fail("UI tests need an X display: run them through `make test` (Xvfb)")


@contextlib.asynccontextmanager
async def running_app(settings: Settings, terminal, transport=None, *, freeze_heap: bool = False):
    """Start KioskApp on the running loop; yield it once its first frames are drawn; stop it.

    Without `freeze_heap` the app never freezes its heap (kiosk/heap.py, 20 s after a start): here the
    heap is the whole test run's, and a freeze costs a full collection of it. The soak and the GC
    test, which are about what a pillar's heap does, keep it."""
    from kiosk.api import CentralApi
    from kiosk.app import KioskApp
    from kiosk.services import KioskServices

    api = CentralApi(settings.api.base_url, settings.api.token.get_secret_value(),
                     read_timeout=settings.api.read_timeout_s, transport=transport)
    services = KioskServices(settings, api, terminal)
    app = KioskApp(services, animate=False)
    if not freeze_heap:
        app.HEAP_FREEZE_AFTER_S = None
    task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
    try:
        for _ in range(600):
            if app.root is not None and app.root.current == "attract":
                break
            if task.done():
                task.result()
            await asyncio.sleep(1 / 60)
        else:
            raise AssertionError("the app did not show its first screen")
        yield app
    finally:
        app.stop()
        await asyncio.wait_for(task, 10)
        await services.aclose()


@contextlib.asynccontextmanager
async def simulated_kiosk(central_server, tmp_path: Path, *, transport=None, card_delay_s: float = 0.2,
                          shots: bool = True):
    """The app on the simulated card terminal (its card comes `card_delay_s` after the prompt) against
    `central_server`, optionally through `transport`; yields (app, driver), the driver keeping its
    screenshots in tmp_path/shots (none without `shots`)."""
    from kiosk.hardware import open_terminal
    from kiosk.screens.autopilot import UiDriver

    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated", simulated_delay_s=card_delay_s)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=card_delay_s)
    async with running_app(settings, terminal, transport=transport) as app:
        yield app, UiDriver(app, tmp_path / "shots" if shots else None)
