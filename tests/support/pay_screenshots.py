"""Screenshots of the real pay screen in every state, in Dutch and English, for a review by eye.

    xvfb-run -a -s "-screen 0 1080x1920x24" .venv/bin/python -m tests.support.pay_screenshots OUTDIR

Runs the real kiosk app in the 1080x1920 portrait window (the pillar), opens the pay screen and puts
it into each state the payment state machine and the checkout report (`PaymentProgress`, exactly what
`KioskServices` hands the screen), one PNG per state and language: `OUTDIR/en-07-declined.png` ...
It also writes `OUTDIR/review.txt`: per shot the title and detail text, the buttons a shopper can
touch with their size in pixels, and problems found by rule (an untranslated "[key]", a text that
does not fit its box, a final state without a way on, a touch target under 120 px, i.e. 2 cm at the
160 dpi assumed). Exit status 1 when a rule is broken.

No central API and no card reader are needed: the app points at a closed port and the terminal never
taps a card; the pay screen is put into each state directly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from kiosk.launch import WindowOptions, prepare_kivy

WINDOW = WindowOptions(fullscreen=False, width=1080, height=1920, lockdown=False, animate=False)
MIN_TARGET_PX = 120  # 2 cm at ~160 dpi
ROOT = Path(__file__).resolve().parents[2]
AMOUNT_CENTS = 2495


@dataclass(frozen=True)
class Shot:
    name: str
    state: str  # PaymentState value
    reason: str | None = None
    cancel_requested: bool = False
    choices: tuple[str, ...] = ()
    final: bool = False  # the shopper needs a way on from here


SHOTS = (
    Shot("01-waiting_for_card", "waiting_for_card"),
    Shot("02-reading", "reading"),
    Shot("03-choosing_application", "choosing_application", choices=("MASTERCARD", "MAESTRO")),
    Shot("04-authorising", "authorising"),
    Shot("05-cancelling", "authorising", cancel_requested=True),
    Shot("06-approved_placing", "approved"),
    Shot("07-declined_insufficient_funds", "declined", "insufficient_funds", final=True),
    Shot("08-declined_do_not_honour", "declined", "do_not_honour", final=True),
    Shot("09-declined_expired_card", "declined", "expired_card", final=True),
    Shot("10-card_removed", "failed", "card_removed", final=True),
    Shot("11-card_unreadable", "failed", "card_unreadable", final=True),
    Shot("12-card_not_supported", "failed", "card_not_supported", final=True),
    Shot("13-reader_unavailable", "failed", "reader_unavailable", final=True),
    Shot("14-timeout", "failed", "timeout", final=True),
    Shot("15-pin_required", "failed", "pin_required", final=True),
    Shot("16-staff_badge", "failed", "staff_badge", final=True),
    Shot("17-cancelled", "cancelled", "cancelled", final=True),
    Shot("18-cancelled_after_approval_voided", "cancelled", "voided", cancel_requested=True, final=True),
    Shot("19-cancelled_after_approval_void_pending", "cancelled", "void_pending", cancel_requested=True, final=True),
    Shot("20-api_unavailable", "failed", "api_unavailable", final=True),
    Shot("21-payment_unknown", "failed", "payment_unknown", final=True),
    Shot("22-order_refused", "failed", "order_refused", final=True),
)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _settings(data_dir: Path):
    from kiosk.config import parse_settings

    return parse_settings({
        "api": {"base_url": f"http://127.0.0.1:{_closed_port()}", "token": "demo-kiosk-token"},
        "payment": {"public_key": str(ROOT / "config" / "payment_service_public.pem"), "terminal": "simulated"},
        "catalog": {"directory": str(data_dir / "catalog"), "image_cache": str(data_dir / "images")},
        "journal": {"path": str(data_dir / "journal" / "journal.json")},
        "display": {"fullscreen": False, "lockdown": False},
    })


def _real(widget):
    """The widget itself behind a Kivy `ids` weak proxy (so `is` works)."""
    ref = getattr(widget, "__ref__", None)
    return ref() if callable(ref) else widget


def _inside(widget, ancestor) -> bool:
    ancestor = _real(ancestor)
    while widget is not None:
        if widget is ancestor:
            return True
        parent = widget.parent
        if parent is widget:
            return False
        widget = parent
    return False


def _visible(widget) -> bool:
    while widget is not None:
        if getattr(widget, "opacity", 1) == 0 or getattr(widget, "shown", True) is False:
            return False
        if widget.width <= 1 or widget.height <= 1:
            return False
        parent = widget.parent
        if parent is widget:
            break
        widget = parent
    return True


def review(pay, shot: Shot, lang: str) -> tuple[list[str], list[str]]:
    """(lines describing the screen, problems found) for the pay screen as it stands."""
    from kivy.uix.label import Label

    from kiosk.screens.widgets import KButton

    lines, problems = [], []
    title, detail = pay.ids.state.text, pay.ids.reason.text
    lines.append(f"  title:  {title!r}")
    lines.append(f"  detail: {detail!r}")
    buttons = [w for w in pay.walk(restrict=True) if isinstance(w, KButton) and _visible(w) and not w.disabled]
    top_bar = pay.ids.top_bar
    for button in buttons:
        where = "shared top bar" if _inside(button, top_bar) else "pay screen"
        small = button.height < MIN_TARGET_PX or button.width < MIN_TARGET_PX
        lines.append(f"  button: {button.text!r} ({where}, {button.width:.0f} x {button.height:.0f} px)"
                     + (f"  [under {MIN_TARGET_PX} px]" if small else ""))
        if small and where == "pay screen":
            problems.append(f"button {button.text!r} is {button.width:.0f} x {button.height:.0f} px (< {MIN_TARGET_PX})")
    for label in pay.walk(restrict=True):
        if not isinstance(label, Label) or not _visible(label) or not label.text:
            continue
        if "[" in label.text and "]" in label.text:
            problems.append(f"untranslated text {label.text!r}")
        tw, th = label.texture_size
        if tw > label.width + 1 or th > label.height + 1:
            problems.append(f"text {label.text[:40]!r} does not fit: {tw:.0f}x{th:.0f} in {label.width:.0f}x{label.height:.0f}")
    if lang == "en" and title and any(word in title.lower().split() for word in ("betaling", "pas", "uw", "niets")):
        problems.append(f"Dutch title in English: {title!r}")
    screen_buttons = [b for b in buttons if not _inside(b, top_bar)]
    cancel = _real(pay.ids.cancel_button)
    if shot.final and not screen_buttons:
        problems.append("final state without a way on (no button)")
    if not shot.final and shot.state not in ("approved",) and not shot.cancel_requested:
        if not any(b is cancel for b in screen_buttons):
            problems.append("no cancel button while the payment runs")
    if (shot.state == "approved" or shot.cancel_requested) and any(b is cancel for b in screen_buttons):
        problems.append("cancel offered while the order is being placed or already cancelling")
    if not title:
        problems.append("no title")
    return lines, problems


async def take_all(app, out: Path) -> int:
    from kiosk.contract import CardSummary
    from kiosk.payments import PaymentProgress, PaymentState
    from kiosk.screens.autopilot import UiDriver

    driver = UiDriver(app, out)
    await driver.wait_for_screen("attract")
    pay = app.screen("pay")
    # An empty reference: the screen shows states, it starts no payment of its own.
    pay.begin("", SimpleNamespace(total_cents=AMOUNT_CENTS))
    app.go("pay")
    await driver.wait_for_screen("pay")
    pay.amount_cents = AMOUNT_CENTS
    card = CardSummary(scheme="Visa", masked_pan="476173******0010", expiry_month="2030-12")
    report, broken = [], 0
    for lang in ("nl", "en"):
        app.lang = lang
        for shot in SHOTS:
            progress = PaymentProgress(PaymentState(shot.state), reason=shot.reason, choices=shot.choices,
                                       cancel_requested=shot.cancel_requested,
                                       card=None if shot.state in ("waiting_for_card", "reading") else card)
            pay.on_progress(progress)
            await driver.frames(6)
            name = f"{lang}-{shot.name}"
            await driver.screenshot(name)
            lines, problems = review(pay, shot, lang)
            report.append(f"{name}.png  (screen state {pay.state!r}, reason {pay.reason!r})")
            report.extend(lines)
            report.extend(f"  PROBLEM: {p}" for p in problems)
            broken += len(problems)
    (out / "review.txt").write_text("\n".join(report) + "\n", encoding="utf-8")
    return broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY"):
        print("pay_screenshots needs a display: run it under xvfb-run", file=sys.stderr)
        return 2
    out: Path = args.outdir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    prepare_kivy(WINDOW)
    outcome: dict[str, object] = {}

    async def run() -> None:
        from kiosk.api import CentralApi
        from kiosk.app import KioskApp
        from kiosk.hardware.simulator import SimulatedTerminal
        from kiosk.services import KioskServices

        with tempfile.TemporaryDirectory(prefix="pay-shots-") as data:
            settings = _settings(Path(data))
            api = CentralApi(settings.api.base_url, "demo-kiosk-token", connect_timeout=0.5, read_timeout=1.0)
            terminal = SimulatedTerminal(settings.payment_public_key_path, delay_s=None)  # never taps
            services = KioskServices(settings, api, terminal)
            app = KioskApp(services, animate=False)

            async def shoot() -> None:
                try:
                    outcome["broken"] = await take_all(app, out)
                except Exception as exc:  # reported below; the app must still stop
                    outcome["error"] = exc
                finally:
                    app.stop()

            app.run_after_start(shoot)
            try:
                await app.async_run(async_lib="asyncio")
            finally:
                await services.aclose()

    asyncio.run(run())
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    shots = sorted(out.glob("*.png"))
    print(f"{len(shots)} screenshots and review.txt in {out}; {outcome['broken']} problem(s) found by rule")
    return 1 if outcome["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
