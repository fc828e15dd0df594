"""Diagnostics for the staff screen (issue 8): card reader, pcscd, central API, journal, catalog,
configuration, disk; and the actions test-read a card, sync the catalog now, send unsent orders now,
restart the app. Plain Python (no Kivy); see `service.py`.

    diagnostics = Diagnostics(services)
    checks = await diagnostics.run_all()          # list[Check], never raises
    await diagnostics.test_read_card(timeout_s=20)
    await diagnostics.sync_catalog_now(progress_callback)
    await diagnostics.send_now()
    diagnostics.request_restart()                 # the app exits with RESTART_EXIT_CODE
"""

from kiosk.diagnostics.models import Check, CheckStatus, ConfigOrigin
from kiosk.diagnostics.service import CHECK_NAMES, DEFAULT_TIMEOUTS, RESTART_EXIT_CODE, Diagnostics

__all__ = ["CHECK_NAMES", "DEFAULT_TIMEOUTS", "RESTART_EXIT_CODE", "Check", "CheckStatus", "ConfigOrigin",
           "Diagnostics"]
