"""Lockdown for an unattended pillar: Esc and the window's close request do not quit the real app (also
with a text field or our keyboard up); without lockdown Esc still quits as Kivy does; exactly one input
provider reads the touchscreen.

Kivy quits on Esc by calling `stopTouchApp()` and `Window.close()`; the tests replace both with
recorders, so a failure records the attempt instead of closing the one window every UI test shares.
The test window itself has `exit_on_escape = 1` (no lockdown): the app's own refusal is what is tested.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kivy.config import ConfigParser
from kivy.core.window import Window

import kivy.core.window as window_module
from kiosk.hardware import open_terminal
from kiosk.launch import configure_input
from kiosk.screens.autopilot import UiDriver
from support.ui import kiosk_settings, running_app

ESC = 27


@pytest.fixture
def quit_attempts(monkeypatch):
    attempts: list[str] = []
    monkeypatch.setattr(window_module, "stopTouchApp", lambda: attempts.append("stopTouchApp"))
    monkeypatch.setattr(Window, "close", lambda *args: attempts.append("Window.close"))
    return attempts


def lockdown_settings(central_server, tmp_path, lockdown: bool):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    return settings.model_copy(update={"display": settings.display.model_copy(update={"lockdown": lockdown})})


def press_escape() -> None:
    """As the SDL2 window does: `on_key_down` first; `on_keyboard` only when nobody took the key."""
    if not Window.dispatch("on_key_down", ESC, 41, None, []):
        Window.dispatch("on_keyboard", ESC, 41, None, [])


def spy_on_stop(app) -> list:
    calls = []
    original = app.stop

    def stop(*args):
        calls.append(args)
        return original(*args)

    app.stop = stop
    return calls


@pytest.mark.ui
async def test_in_lockdown_esc_and_the_close_request_do_not_quit(central_server, needs_display, tmp_path,
                                                                 quit_attempts):
    from kivy.uix.textinput import TextInput

    settings = lockdown_settings(central_server, tmp_path, lockdown=True)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal) as app:
        driver = UiDriver(app)
        stops = spy_on_stop(app)
        assert Window.show_cursor is False

        # On the attract screen, straight at on_keyboard and along the real key path.
        assert Window.dispatch("on_keyboard", ESC, 41, None, []) is True
        press_escape()
        assert Window.dispatch("on_request_close") is True
        assert Window.dispatch("on_request_close", source="keyboard") is True
        await driver.frames(3)

        # With our on-screen keyboard up (the search screen) ...
        app.open_search()
        await driver.wait_for_screen("search")
        press_escape()
        await driver.frames(3)
        assert app.root.current == "search"

        # ... and with a Kivy text field that has the keyboard focus (a staff PIN field, one day).
        field = TextInput()
        Window.add_widget(field)
        try:
            field.focus = True
            await driver.frames(2)
            press_escape()
            Window.dispatch("on_keyboard", ESC, 41, None, [])
            await driver.frames(3)
        finally:
            field.focus = False
            Window.remove_widget(field)

        assert quit_attempts == [] and stops == []
        assert app.root is not None and app.root.current == "search"  # still running, still where it was
        # The app keeps working after all that.
        app.go_back()
        await driver.wait_for_screen("attract")
    assert Window.show_cursor is True  # given back when the app stops (the next app in this process)


@pytest.mark.ui
async def test_without_lockdown_esc_quits_as_kivy_does(central_server, needs_display, tmp_path, quit_attempts):
    settings = lockdown_settings(central_server, tmp_path, lockdown=False)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
    async with running_app(settings, terminal):
        assert not Window.dispatch("on_request_close")  # nobody refuses
        press_escape()
        assert quit_attempts == ["stopTouchApp", "Window.close"]  # (recorded, not done)


def fresh_config(stale: dict[str, str]) -> ConfigParser:
    config = ConfigParser(name="")
    config.add_section("input")
    for key, value in stale.items():
        config.set("input", key, value)
    return config


KIVY_LINUX_DEFAULTS = {"mouse": "mouse", "%(name)s": "probesysfs"}  # both see the same touchscreen


def test_window_touch_leaves_only_the_pointer():
    config = fresh_config({**KIVY_LINUX_DEFAULTS, "tuio": "tuio,0.0.0.0:3333"})  # a stale config.ini too
    configure_input(config, "window", lockdown=True)
    assert config.items("input") == [("mouse", "mouse,disable_multitouch")]


@pytest.mark.parametrize("provider", ["mtdev", "hidinput"])
def test_kernel_touch_in_lockdown_has_no_mouse_at_all(provider):
    config = fresh_config(KIVY_LINUX_DEFAULTS)
    configure_input(config, provider, lockdown=True)
    assert config.items("input") == [("%(name)s", f"probesysfs,provider={provider}")]


def test_kernel_touch_without_lockdown_keeps_a_mouse_that_steps_aside():
    config = fresh_config(KIVY_LINUX_DEFAULTS)
    configure_input(config, "mtdev", lockdown=False)
    assert dict(config.items("input")) == {"%(name)s": "probesysfs,provider=mtdev",
                                           "mouse": "mouse,disable_on_activity,disable_multitouch"}


def test_an_unknown_touch_input_is_refused():
    with pytest.raises(ValueError):
        configure_input(fresh_config({}), "tuio", lockdown=True)


def test_lockdown_settings_reach_kivy_config(monkeypatch):
    """prepare_kivy's choices, checked on Kivy's Config without making a window."""
    import sys

    from kivy.config import Config

    from kiosk.launch import WindowOptions, prepare_kivy

    saved = {(s, o): Config.get(s, o) for s, o in [("kivy", "exit_on_escape"), ("graphics", "show_cursor"),
                                                 ("graphics", "borderless"), ("graphics", "fullscreen"),
                                                 ("graphics", "allow_screensaver")]}
    saved_input = Config.items("input")
    monkeypatch.delitem(sys.modules, "kivy.core.window")  # prepare_kivy refuses once a window exists
    try:
        prepare_kivy(WindowOptions(fullscreen=True, width=1080, height=1920, lockdown=True, touch="window"))
        assert Config.get("kivy", "exit_on_escape") == "0"
        assert Config.get("graphics", "show_cursor") == "0"
        assert Config.get("graphics", "borderless") == "1"
        assert Config.get("graphics", "fullscreen") == "auto"
        assert Config.get("graphics", "allow_screensaver") == "0"
        assert Config.items("input") == [("mouse", "mouse,disable_multitouch")]
    finally:
        for (section, option), value in saved.items():
            Config.set(section, option, value)
        for option in Config.options("input"):
            Config.remove_option("input", option)
        for option, value in saved_input:
            Config.set("input", option, value)


# --- the real thing: `kiosk run` in lockdown, a close request from the X server, then systemd's stop ------

class _ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _ClientMessage), ("pad", ctypes.c_long * 24)]


class X11:
    """Just enough of libX11 to find a process's top-level window (_NET_WM_PID) and ask it to close, as
    a window manager's close button does (WM_DELETE_WINDOW)."""

    def __init__(self) -> None:
        lib = self.lib = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
        lib.XOpenDisplay.restype = ctypes.c_void_p
        lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        lib.XDefaultRootWindow.restype = ctypes.c_ulong
        lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        lib.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                   ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                                   ctypes.POINTER(ctypes.c_uint)]
        lib.XGetWindowProperty.argtypes = [
            ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int,
            ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p)]
        lib.XInternAtom.restype = ctypes.c_ulong
        lib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                                   ctypes.POINTER(_XEvent)]
        lib.XFlush.argtypes = lib.XCloseDisplay.argtypes = lib.XFree.argtypes = [ctypes.c_void_p]
        self.display = lib.XOpenDisplay(None)
        assert self.display, "cannot open the X display"

    def _pid_of(self, window: int) -> int | None:
        lib = self.lib
        kind, fmt, count, after, data = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong(), \
            ctypes.c_void_p()
        atom = lib.XInternAtom(self.display, b"_NET_WM_PID", 0)
        status = lib.XGetWindowProperty(self.display, window, atom, 0, 1, 0, 6,  # XA_CARDINAL
                                        ctypes.byref(kind), ctypes.byref(fmt), ctypes.byref(count),
                                        ctypes.byref(after), ctypes.byref(data))
        if status != 0 or not data.value:
            return None
        try:
            return ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))[0] if count.value else None
        finally:
            lib.XFree(data)

    def windows_of(self, pid: int) -> set[int]:
        lib, found = self.lib, set()
        root_ret, parent, children, count = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.POINTER(ctypes.c_ulong)(), \
            ctypes.c_uint()
        if not lib.XQueryTree(self.display, lib.XDefaultRootWindow(self.display), ctypes.byref(root_ret),
                              ctypes.byref(parent), ctypes.byref(children), ctypes.byref(count)):
            return found
        for i in range(count.value):
            if self._pid_of(children[i]) == pid:
                found.add(children[i])
        if children:
            lib.XFree(ctypes.cast(children, ctypes.c_void_p))
        return found

    def request_close(self, window: int) -> None:
        event = _XEvent()
        event.xclient.type = 33  # ClientMessage
        event.xclient.window = window
        event.xclient.message_type = self.lib.XInternAtom(self.display, b"WM_PROTOCOLS", 0)
        event.xclient.format = 32
        event.xclient.data[0] = self.lib.XInternAtom(self.display, b"WM_DELETE_WINDOW", 0)
        event.xclient.data[1] = 0  # CurrentTime
        assert self.lib.XSendEvent(self.display, window, 0, 0, ctypes.byref(event))
        self.lib.XFlush(self.display)

    def close(self) -> None:
        self.lib.XCloseDisplay(self.display)


@pytest.mark.ui
def test_kiosk_run_in_lockdown_ignores_the_close_request_and_stops_on_sigterm(needs_display, tmp_path):
    root = Path(__file__).resolve().parents[1]
    config = tmp_path / "kiosk.toml"
    config.write_text(f"""
[api]
base_url = "http://127.0.0.1:9"   # nobody there: the kiosk starts anyway and keeps trying
[payment]
terminal = "simulated"
public_key = "{root / 'config' / 'payment_service_public.pem'}"
[catalog]
directory = "{tmp_path / 'catalog'}"
image_cache = "{tmp_path / 'images'}"
[journal]
path = "{tmp_path / 'journal' / 'journal.json'}"
[display]
fullscreen = false
width = 540
height = 960
lockdown = true
""")
    x11 = X11()
    process = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not (windows := x11.windows_of(process.pid)):
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "no kiosk window"
            time.sleep(0.2)
        time.sleep(2)  # the app's first frames: its handlers are bound
        window = windows.pop()
        x11.request_close(window)  # what a window manager's close button (or Alt+F4) sends
        time.sleep(3)
        assert process.poll() is None, "the close request quit the kiosk:\n" + process.communicate()[0]
        assert window in x11.windows_of(process.pid)

        process.send_signal(signal.SIGTERM)  # systemctl stop
        output = process.communicate(timeout=30)[0]
        assert process.returncode == 0, output
        assert "close request refused (lockdown)" in output
        assert "SIGTERM: stopping" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        x11.close()


# --- the deployment files say what docs/deploy.md says ------------------------------------------------

def test_the_pillar_config_template_is_valid_and_writes_only_under_var():
    import tomllib

    from kiosk.config import parse_settings

    root = Path(__file__).resolve().parents[1]
    settings = parse_settings(tomllib.loads((root / "deploy" / "kiosk.toml").read_text()),
                              source=Path("/etc/kiosk/kiosk.toml"))
    assert settings.display.lockdown and settings.display.fullscreen and settings.display.touch == "window"
    assert settings.payment.terminal == "pcsc"
    for path in (settings.catalog_dir, settings.image_cache_dir, settings.journal_path):
        assert path.is_absolute() and path.parts[1] == "var", path
    assert settings.payment_public_key_path == Path("/etc/kiosk/payment_service_public.pem")
    assert (settings.session.idle_s, settings.session.countdown_s, settings.session.receipt_s) == (90, 10, 60)


def test_the_unit_restarts_always_after_pcscd_and_runs_the_xsession():
    root = Path(__file__).resolve().parents[1]
    unit = {}
    for line in (root / "deploy" / "kiosk.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            unit.setdefault(key, []).append(value)
    assert unit["Restart"] == ["always"] and unit["User"] == ["kiosk"]
    assert any("pcscd" in value for value in unit["After"])
    assert "KIOSK_CONFIG=/etc/kiosk/kiosk.toml" in unit["Environment"]
    exec_start = unit["ExecStart"][0]
    assert "/opt/kiosk/deploy/xsession" in exec_start and "-nocursor" in exec_start
    xsession = root / "deploy" / "xsession"
    assert xsession.stat().st_mode & 0o111  # executable
    assert 'exec /opt/kiosk/.venv/bin/kiosk run --config "${KIOSK_CONFIG' in xsession.read_text()
