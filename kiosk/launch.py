"""Starting the kiosk app: Kivy settings first, then the app on asyncio.

Kivy reads its settings when `kivy.core.window` is first imported, and many `kivy.uix` modules
import it: so this module sets the environment and `Config` before importing anything of Kivy's
window, and only then imports `kiosk.app`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from kiosk.config import Settings
from kiosk.diagnostics.actions import RESTART_EXIT_CODE

log = logging.getLogger("kiosk.launch")


@dataclass(frozen=True)
class WindowOptions:
    fullscreen: bool
    width: int
    height: int
    lockdown: bool
    animate: bool = True
    touch: str = "window"  # [display] touch: which one input provider reads the touchscreen

    @property
    def density(self) -> float:
        # Layouts are designed for a 1080x1920 portrait panel; a smaller window shows the same
        # layout scaled down (a demo on a laptop), a bigger one scaled up. The short side decides,
        # so a 1920x1080 landscape panel keeps the portrait's physical sizes (same panel, turned).
        return round(min(self.width, self.height) / 1080, 4)


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
    if window.lockdown:
        # An unattended pillar: nothing to point with, nothing that blanks the attract screen. Quitting
        # is refused by the app itself too (Esc and the close request), whatever this setting says.
        Config.set("graphics", "show_cursor", "0")
        Config.set("graphics", "allow_screensaver", "0")
    Config.set("kivy", "keyboard_mode", "system")  # never Kivy's own virtual keyboard: we dock ours
    configure_input(Config, window.touch, lockdown=window.lockdown)


def configure_input(config, touch: str, *, lockdown: bool) -> None:
    """Exactly one input provider per touch device.

    Kivy's defaults on Linux add `mouse` AND `probesysfs` (which attaches an `mtdev` or `hidinput`
    provider to every multitouch device in /dev/input). Under X11 (or SDL on KMS) the same touchscreen
    also moves the pointer, so the mouse provider sees every tap too: each tap arrives twice. So the
    [input] section is replaced as a whole (a stale config.ini in KIVY_HOME cannot add a provider):

    - "window" (default): only the mouse provider; the window system turns the touchscreen into one
      pointer (calibration and rotation are done there). One touch at a time, which is all the kiosk
      uses; needs no access to /dev/input.
    - "mtdev" / "hidinput": Kivy reads the touchscreen itself through probesysfs. Under lockdown there is
      no mouse provider at all; without it (a developer with a mouse) the mouse stays, but steps aside
      while the touchscreen is active (`disable_on_activity`).
    """
    for option in list(config.options("input")):
        config.remove_option("input", option)
    if touch == "window":
        config.set("input", "mouse", "mouse,disable_multitouch")  # no red multitouch dots on right-click
    elif touch in ("mtdev", "hidinput"):
        config.set("input", "%(name)s", f"probesysfs,provider={touch}")
        if not lockdown:
            config.set("input", "mouse", "mouse,disable_on_activity,disable_multitouch")
    else:
        raise ValueError(f"unknown touch input {touch!r}")


async def run_kiosk(settings: Settings, window: WindowOptions,
                    after_start: Callable[[object], Awaitable[object]] | None = None) -> int:
    """Build services from settings and run the app until it stops; the exit code it asks for
    (RESTART_EXIT_CODE after staff asked for a restart, else 0)."""
    prepare_kivy(replace(window, touch=settings.display.touch))
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
    stop_on_sigterm(app)
    try:
        await app.async_run(async_lib="asyncio")
    finally:
        await services.aclose()
    return services.diagnostics.exit_code or 0


def stop_on_sigterm(app) -> None:
    """`systemctl stop` (SIGTERM) ends the app cleanly, lockdown or not: lockdown only refuses Esc and
    the window's close request. (Killed outright, the journal still keeps every order.)"""
    def stop() -> None:
        log.info("SIGTERM: stopping")
        app.stop()

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop)
    except (NotImplementedError, RuntimeError):  # not on this platform, or not the main thread
        pass


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
        after_start: Callable[[object], Awaitable[object]] | None = None) -> int:
    """Run the kiosk; when staff asked for a restart (Diagnose, "App herstarten") the process
    replaces itself with a fresh one, same arguments, same PID: under systemd, from a terminal
    and in the demo alike. Should that fail, the restart exit code is returned (the unit restarts
    on it: deploy/kiosk.service)."""
    code = asyncio.run(run_kiosk(settings, window, after_start))
    if code == RESTART_EXIT_CODE:
        log.warning("restarting the app as staff asked")
        for handler in logging.getLogger().handlers:  # exec keeps no Python buffer: write them out
            handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
        except OSError as exc:
            print(f"kiosk: restart failed ({exc}); exiting with {RESTART_EXIT_CODE}", file=sys.stderr)
    return code


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def demo_paths(root: Path | None = None) -> tuple[Path, Path]:
    """Where the demo keeps its central database and screenshots (ignored by git)."""
    base = root or Path.cwd() / "var" / "demo"
    return base / "central.sqlite", base / "screenshots"
