"""Every logger at DEBUG into one file for the length of a test, for the tests that then search
everything the run wrote (card numbers, PINs, personal data)."""

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def logging_to(path: Path, level: int = logging.INFO) -> Iterator[Path]:
    """Every logger at `level` or above into `path` (with each record's arguments) while inside."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


@pytest.fixture
def debug_log(tmp_path):
    with logging_to(tmp_path / "all.log", logging.DEBUG) as path:
        yield path
