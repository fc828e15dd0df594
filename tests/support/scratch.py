"""Folders a test module needs before any fixture can give it one (made at import or collection),
removed when the test run ends.

`atexit` alone would not do: tests/conftest.py ends the run with `os._exit` (skipping the minutes of
a final garbage collection), which skips atexit too; it calls `remove_all()` first.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_made: list[Path] = []


def scratch_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    _made.append(path)
    return path


def remove_all() -> None:
    while _made:
        shutil.rmtree(_made.pop(), ignore_errors=True)


atexit.register(remove_all)  # when the run ends normally (KIOSK_TESTS_NORMAL_EXIT)
