"""Shared by the fuzz tests: walking a JSON-like value to pick the place a mutation changes."""

from collections.abc import Iterator
from typing import Any


def places(value: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """(path, value) of `value` itself and of everything nested in it (dict keys, list indexes)."""
    yield prefix, value
    if isinstance(value, dict):
        for name, child in value.items():
            yield from places(child, (*prefix, name))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from places(child, (*prefix, index))
