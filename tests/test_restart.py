"""'App herstarten' (staff diagnostics): once the app has stopped, the process replaces itself with a
fresh one with the same arguments; if that cannot be done, it exits with the restart code the
systemd unit restarts on."""

import sys

import pytest

from kiosk import launch
from kiosk.diagnostics.actions import RESTART_EXIT_CODE


@pytest.fixture
def stopped_app(monkeypatch):
    def with_code(code):
        async def run_kiosk(settings, window, after_start=None):
            return code
        monkeypatch.setattr(launch, "run_kiosk", run_kiosk)
    return with_code


def test_a_restart_request_re_executes_the_same_command(stopped_app, monkeypatch):
    stopped_app(RESTART_EXIT_CODE)
    calls = []
    monkeypatch.setattr(launch.os, "execv", lambda path, argv: calls.append((path, argv)))
    monkeypatch.setattr(sys, "orig_argv", ["/usr/bin/python3", "/opt/kiosk/bin/kiosk", "run", "--config", "x.toml"])
    launch.run(settings=None, window=None)
    assert calls == [(sys.executable, [sys.executable, "/opt/kiosk/bin/kiosk", "run", "--config", "x.toml"])]


def test_a_failed_re_execution_exits_with_the_restart_code(stopped_app, monkeypatch, capsys):
    stopped_app(RESTART_EXIT_CODE)

    def refuse(path, argv):
        raise OSError("exec format error")
    monkeypatch.setattr(launch.os, "execv", refuse)
    assert launch.run(settings=None, window=None) == RESTART_EXIT_CODE
    assert "restart failed" in capsys.readouterr().err


def test_an_ordinary_stop_does_not_restart(stopped_app, monkeypatch):
    stopped_app(0)
    monkeypatch.setattr(launch.os, "execv", lambda *a: pytest.fail("restarted"))
    assert launch.run(settings=None, window=None) == 0
