"""Test-wide set-up. Kivy reads its settings at first import: set them before anything imports it."""

import os

import pytest

from support import scratch

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
if "KIVY_HOME" not in os.environ:
    os.environ["KIVY_HOME"] = str(scratch.scratch_dir("kivy-home-"))

from support.window import UI_WINDOW  # noqa: E402
from kiosk.launch import prepare_kivy  # noqa: E402

prepare_kivy(UI_WINDOW)  # before any test module imports a Kivy widget (and so the window)

# Fixtures live in tests/support/, one module per part of the system they bring up.
pytest_plugins = [
    "support.central_server",
    "support.pcsc",
    "support.ui",
    "support.parallel",  # the two workers of scripts/test.sh (pytest-xdist, a test extra)
]


# The UI tests leave a large heap of Kivy objects behind (one app per test; making the kiosk give
# them all back is issue 10's soak work). Python's final garbage collection walks all of it at exit,
# a minute or more on 2 cores, and nothing of value happens after the run: once pytest has written
# its summary, leave at once with its exit status.
_exit_status: list[int] = []


def pytest_sessionfinish(session, exitstatus):
    _exit_status.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    scratch.remove_all()
    if hasattr(config, "workerinput"):
        # A pytest-xdist worker ends as Python ends: the controller waits at most 10 s for it, then
        # ends it (xdist's own limit), and the run's exit below does not wait for it.
        return
    # Only after a run whose summary is written (tests passed, failed, or none collected): a usage
    # or internal error is printed by pytest after this hook, and an os._exit would swallow it.
    if _exit_status and _exit_status[-1] in (0, 1, 5) and not os.environ.get("KIOSK_TESTS_NORMAL_EXIT"):
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status[-1])
