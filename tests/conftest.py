"""Test-wide set-up. Kivy reads its settings at first import: set them before anything imports it."""

import os
import tempfile

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))

from support.window import UI_WINDOW  # noqa: E402
from kiosk.launch import prepare_kivy  # noqa: E402

prepare_kivy(UI_WINDOW)  # before any test module imports a Kivy widget (and so the window)

# Fixtures live in tests/support/, one module per part of the system they bring up.
pytest_plugins = [
    "support.central_server",
    "support.pcsc",
    "support.ui",
]
