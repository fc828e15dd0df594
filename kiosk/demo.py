"""`kiosk demo`: the reference central server, a seeded catalog, a card terminal and the app, in one
process, with no configuration needed. With `--autopilot` it plays a shopper journey and exits."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kiosk.config import Settings
from kiosk.launch import WindowOptions, demo_paths, has_display, run

log = logging.getLogger("kiosk.demo")


def choose_terminal(requested: str | None) -> str:
    """The simulated card unless a physical reader is attached."""
    if requested:
        return requested
    from kiosk.hardware import physical_readers

    return "pcsc" if physical_readers() else "simulated"


def run_demo(args: argparse.Namespace, base: Settings) -> int:
    from central.embedded import start_server

    if args.autopilot and not has_display():
        print("kiosk demo --autopilot needs a display; run it under xvfb-run (make demo does)", file=sys.stderr)
        return 2
    db_default, shots_default = demo_paths()
    db_path: Path = args.db or db_default
    db_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"demo: starting the reference central API ({args.seed_articles} articles, {db_path})", flush=True)
    server = start_server(db_path, seed_articles=args.seed_articles)
    try:
        terminal = choose_terminal(args.terminal)
        settings = base.model_copy(update={
            "api": base.api.model_copy(update={"base_url": server.base_url}),
            "payment": base.payment.model_copy(update={"terminal": terminal}),
            # The demo's catalog copy and pictures sit beside its central database.
            "catalog": base.catalog.model_copy(update={"directory": db_path.parent.resolve() / "catalog",
                                                       "image_cache": db_path.parent.resolve() / "images"}),
            "source": base.source,
        })
        print(f"demo: central API at {server.base_url}; card terminal: {terminal}", flush=True)
        width, height = args.window or ((1080, 1920) if args.autopilot else (540, 960))
        window = WindowOptions(fullscreen=False, width=width, height=height, lockdown=False)
        if not args.autopilot:
            return run(settings, window)
        return _autopilot(settings, window, args.screenshots or shots_default, tour=args.tour)
    finally:
        server.stop()


def _autopilot(settings: Settings, window: WindowOptions, screenshots: Path, *, tour: bool = False) -> int:
    outcome: dict[str, object] = {}

    async def journey(app) -> None:
        from kiosk.screens.autopilot import UiDriver, play_journey

        driver = UiDriver(app, screenshots)
        try:
            receipt = await play_journey(driver, tour=tour)
            outcome["receipt"] = receipt
            outcome["shots"] = driver.screenshots
        except Exception as exc:  # reported below; the app must still stop
            log.exception("autopilot failed")
            outcome["error"] = exc
        finally:
            app.stop()

    run(settings, window, after_start=journey)
    if "error" in outcome:
        print(f"demo: autopilot failed: {outcome['error']}", file=sys.stderr)
        return 1
    receipt = outcome.get("receipt")
    print(f"demo: order {receipt.reference} paid, {len(outcome['shots'])} screenshots in {screenshots}/")
    for shot in outcome["shots"]:
        print(f"  {shot}")
    return 0
