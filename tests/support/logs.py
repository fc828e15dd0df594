"""Every logger at DEBUG into one file for the length of a test, for the tests that then search
everything the run wrote (card numbers, PINs, personal data)."""

import logging

import pytest


@pytest.fixture
def debug_log(tmp_path):
    path = tmp_path / "all.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()
