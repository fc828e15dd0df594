"""Every pay screen state in Dutch and English, in the real window, checked by rule: no untranslated
text, every text fits its box, every final state has a way on, a cancel button while the payment
runs and none once it is being placed or cancelled, touch targets of at least 2 cm (120 px).
The same run as `tests/support/pay_screenshots.py` (which keeps the PNGs for a review by eye)."""

import pytest

from kiosk.hardware import open_terminal
from support.pay_screenshots import SHOTS, take_all
from support.ui import kiosk_settings, running_app

pytestmark = pytest.mark.ui


async def test_every_pay_state_reads_well_in_both_languages(central_server, needs_display, tmp_path):
    settings = kiosk_settings(central_server.base_url, tmp_path, terminal="simulated")
    settings = settings.model_copy(update={"journal": settings.journal.model_copy(
        update={"path": tmp_path / "journal" / "journal.json"})})
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=60)
    async with running_app(settings, terminal) as app:
        problems = await take_all(app, tmp_path / "shots")
    review = (tmp_path / "shots" / "review.txt").read_text(encoding="utf-8")
    assert problems == 0, review
    assert len(list((tmp_path / "shots").glob("*.png"))) == 2 * len(SHOTS)
    assert "Cancelled — nothing was charged" in review and "Geannuleerd — er is niets afgeschreven" in review
