"""The suite on two pytest-xdist workers (scripts/test.sh), with the card reader kept to one of them.

pcscd's vpcd virtual reader takes one emulated card at a time, on one TCP port: two tests with a card
at once would take each other's reader. Every test that touches pcscd runs on the same worker, one
after the other; the rest are spread as xdist's "load" spreads them.

xdist's own `--dist loadgroup` cannot do it with pytest 9: it marks a group by appending "@group" to
`item._nodeid`, which pytest 9 no longer reads (the test ids stay plain, and the groups are spread).
So the grouping is done where it can be: in the scheduler, on the controller, which sees only test
ids; `PCSC_MODULES` and `PCSC_TEST_NAMES` name them, and each worker checks at collection that every test using the
`pcscd` fixture is named there (a new hardware test cannot silently run beside another).
"""

from __future__ import annotations

from collections import Counter

import pytest
from xdist.scheduler import LoadScopeScheduling

# Test ids (prefixes from tests/, and test names) that use pcscd and its virtual reader.
PCSC_MODULES = ("tests/test_pcsc_", "tests/test_diagnostics_pcsc.py", "tests/test_badge_watch_pcsc.py",
                "tests/test_card_data_never_leaks.py", "tests/test_services_alerts.py")
PCSC_TEST_NAMES = ("through_pcscd",)
GROUP = "pcscd"


# The longest tests (minutes, and a minute each) start first, so that no worker is left with one of
# them at the end while the other has finished (`--durations` shows which they are).
LONGEST_FIRST = ("tests/test_soak.py", "tests/test_ui_languages.py", "tests/test_ui_landscape.py",
                 "tests/test_ui_accessibility.py::test_every_screen_in_each_mode")


def uses_pcscd(nodeid: str) -> bool:
    return nodeid.startswith(PCSC_MODULES) or any(name in nodeid for name in PCSC_TEST_NAMES)


class PcscdTogether(LoadScopeScheduling):
    """Each test is its own unit of work, except the pcscd ones: one unit, so one worker."""

    def _split_scope(self, nodeid: str) -> str:
        return GROUP if uses_pcscd(nodeid) else nodeid


def pytest_xdist_make_scheduler(config, log):
    return PcscdTogether(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    # xdist schedules by test id: of tests sharing one id, one runs and the others are dropped without
    # a word (schemathesis's `schema.parametrize()` did that to 30 of 31 operations).
    twice = sorted(nodeid for nodeid, n in Counter(item.nodeid for item in items).items() if n > 1)
    if twice:
        raise pytest.UsageError("tests sharing one id (pytest-xdist would run only one of each): " + ", ".join(twice))
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable: the rest keep their order
    strays = [item.nodeid for item in items if "pcscd" in item.fixturenames and not uses_pcscd(item.nodeid)]
    if strays:
        raise pytest.UsageError("tests using pcscd that tests/support/parallel.py does not keep on one "
                                "worker (add them to PCSC_MODULES or PCSC_TEST_NAMES): " + ", ".join(strays))
