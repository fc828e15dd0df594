"""Starting the kiosk app: Kivy settings first, then the app on asyncio.

Kivy reads its settings when `kivy.core.window` is first imported, and many `kivy.uix` modules
import it: so this module sets the environment and `Config` before importing anything of Kivy's
window, and only then imports `kiosk.app`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.config import Settings

log = logging.getLogger("kiosk.launch")


@dataclass(frozen=True)
class WindowOptions:
    fullscreen: bool
    width: int
    height: int
    lockdown: bool
    animate: bool = True

    @property
    def density(self) -> float:
        # Layouts are designed for a 1080-wide portrait screen; a smaller window shows the same
        # layout scaled down (a demo on a laptop), a bigger one scaled up.
        return round(self.width / 1080, 4)


def prepare_kivy(window: WindowOptions) -> None:
    if "kivy.core.window" in sys.modules:
        # Too late: the window exists with whatever settings it found. Fail loudly, not with a
        # silently 800x600 kiosk.
        raise RuntimeError("prepare_kivy() must run before anything imports kivy.core.window")
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # else Kivy eats our command-line options
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")  # else Kivy echoes every httpx DEBUG line
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_HOME", os.path.join(tempfile.gettempdir(), "kiosk-kivy-home"))
    os.environ.setdefault("KIVY_METRICS_DENSITY", str(window.density))
    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0" if window.lockdown else "1")
    Config.set("kivy", "log_level", "warning")
    Config.set("graphics", "fullscreen", "auto" if window.fullscreen else "0")
    Config.set("graphics", "width", str(window.width))
    Config.set("graphics", "height", str(window.height))
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "borderless", "1" if window.lockdown else "0")
    Config.set("graphics", "position", "custom")
    Config.set("graphics", "left", "0")
    Config.set("graphics", "top", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")  # no red multitouch dots on right-click


async def run_kiosk(settings: Settings, window: WindowOptions,
                    after_start: Callable[[object], Awaitable[object]] | None = None) -> None:
    """Build services from settings and run the app until it stops."""
    prepare_kivy(window)
    from kiosk.api import CentralApi
    from kiosk.app import KioskApp
    from kiosk.services import KioskServices

    api = CentralApi(settings.api.base_url, settings.api.token.get_secret_value(),
                     connect_timeout=settings.api.connect_timeout_s, read_timeout=settings.api.read_timeout_s,
                     retries=settings.api.retries)
    terminal = open_terminal_for(settings)
    log.info("payment terminal: %s", terminal.name)
    services = KioskServices(settings, api, terminal)
    app = KioskApp(services, animate=window.animate, lockdown=window.lockdown)
    if after_start is not None:
        app.run_after_start(lambda: after_start(app))
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        await services.aclose()


def open_terminal_for(settings: Settings):
    """The payment terminal the settings ask for, knowing the staff badges."""
    from kiosk.hardware import open_terminal
    from kiosk.hardware.badges import BadgeMatcher

    staff = settings.staff
    matcher = BadgeMatcher(staff.badge_atr_patterns, staff.badge_uids) if (
        staff.badge_atr_patterns or staff.badge_uids) else None
    return open_terminal(settings.payment.terminal, reader=settings.payment.reader,
                         public_key_path=settings.payment_public_key_path,
                         simulated_profile=settings.payment.simulated_profile,
                         simulated_delay_s=settings.payment.simulated_delay_s, badge_matcher=matcher)


def run(settings: Settings, window: WindowOptions,
        after_start: Callable[[object], Awaitable[object]] | None = None) -> None:
    asyncio.run(run_kiosk(settings, window, after_start))


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def demo_paths(root: Path | None = None) -> tuple[Path, Path]:
    """Where the demo keeps its central database and screenshots (ignored by git)."""
    base = root or Path.cwd() / "var" / "demo"
    return base / "central.sqlite", base / "screenshots"
