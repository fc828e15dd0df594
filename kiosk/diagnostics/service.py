"""`Diagnostics`: the staff screen's checks and actions, on the app's services. Plain Python, no Kivy.

Every check is a coroutine returning a `Check`, never raising: a check that raises becomes `failed`
with the error, and every check has its own time limit (`limits.py`), so a hung pcscd or a black-
holed network never hangs the caller. Blocking work (pyscard, statvfs, SQLite) runs on a worker
thread (`blocking.BlockingRunner`). `run_all()` runs the checks concurrently.

- `reader.py`: check_reader, check_pcscd, test_read_card (the doctor flow: masked card data only)
- `system.py`: check_central_api, check_journal, check_catalog, check_config, check_disk
- `actions.py`: sync_catalog_now (with progress), send_now (the outbox tries every unsent order at
  once), request_restart (the app exits with `RESTART_EXIT_CODE`, which the systemd unit restarts)
"""

from __future__ import annotations

import asyncio

from kiosk.diagnostics.actions import RESTART_EXIT_CODE, Actions
from kiosk.diagnostics.base import DEFAULT_TIMEOUTS
from kiosk.diagnostics.models import Check
from kiosk.diagnostics.reader import ReaderChecks
from kiosk.diagnostics.system import SystemChecks

CHECK_NAMES = ("reader", "pcscd", "central_api", "journal", "catalog", "config", "disk")


class Diagnostics(ReaderChecks, SystemChecks, Actions):

    async def run_all(self) -> list[Check]:
        """Every check at once, in `CHECK_NAMES` order."""
        return list(await asyncio.gather(*(self.run(name) for name in CHECK_NAMES)))

    async def run(self, name: str) -> Check:
        """One check by its name (see `CHECK_NAMES`)."""
        if name not in CHECK_NAMES:
            raise ValueError(f"unknown check {name!r}; one of {', '.join(CHECK_NAMES)}")
        return await getattr(self, f"check_{name}")()


__all__ = ["CHECK_NAMES", "DEFAULT_TIMEOUTS", "RESTART_EXIT_CODE", "Diagnostics"]
