"""The `kiosk` command: `kiosk run`, `kiosk demo`, `kiosk central`, `kiosk staff hash-pin`, `kiosk fleet` ...

Only `central` and `demo` import the reference server (lazily), so a pillar never loads it.
Configuration problems end with a one-line message naming the file and key, and exit code 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kiosk.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings

EXIT_CONFIG = 2


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 540x960, got {text!r}") from None
    if width < 320 or height < 320:
        raise argparse.ArgumentTypeError("window must be at least 320x320")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="In-store ordering kiosk")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the kiosk app against the configured central API and reader")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="kiosk.toml (default: %(default)s)")
    run.add_argument("--window", type=_size, help="windowed WIDTHxHEIGHT instead of the configured display")

    demo = commands.add_parser("demo", help="everything on embedded defaults: reference server, seeded catalog, app")
    demo.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="base settings (default: %(default)s)")
    demo.add_argument("--autopilot", action="store_true", help="play a complete shopper journey, then exit")
    demo.add_argument("--screenshots", type=Path, help="write one PNG per screen into this folder")
    demo.add_argument("--tour", action="store_true",
                      help="with --autopilot: also search, and choose home delivery (a screenshot of every screen)")
    demo.add_argument("--seed-articles", type=int, default=2000, help="demo catalog size (default: %(default)s)")
    demo.add_argument("--db", type=Path, help="central database (default: var/demo/central.sqlite)")
    demo.add_argument("--window", type=_size, default=None,
                      help="window size (default 1080x1920 with --autopilot, else 540x960)")
    demo.add_argument("--terminal", choices=("auto", "pcsc", "simulated"), default=None,
                      help="card terminal (default: simulated unless a real PC/SC reader is attached)")

    catalog = commands.add_parser("catalog", help="the local copy of the catalog")
    catalog_commands = catalog.add_subparsers(dest="catalog_command", required=True)
    from kiosk.catalog.cli import add_arguments

    add_arguments(catalog_commands.add_parser("sync", help="sync the catalog from the central API (with progress)"))

    doctor = commands.add_parser("doctor", help="check the pillar's hardware")
    doctor_commands = doctor.add_subparsers(dest="doctor_command", required=True)
    card = doctor_commands.add_parser("card", help="read a card as a payment would, without authorising")
    card.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="kiosk.toml (default: %(default)s)")
    card.add_argument("--amount", type=int, default=1000, help="amount in cents for the CVM decision (default 1000)")
    card.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a card (default 30)")
    card.add_argument("--json", action="store_true", help="print JSON")

    staff = commands.add_parser("staff", help="staff accounts on the pillar")
    from kiosk.staff.cli import add_arguments as add_staff_arguments

    add_staff_arguments(staff.add_subparsers(dest="staff_command", required=True))

    fleet = commands.add_parser("fleet", help="fleet configuration bundles: keys, signing, checking (central team)")
    from kiosk.fleet.cli import add_arguments as add_fleet_arguments

    fleet_commands = fleet.add_subparsers(dest="fleet_command", required=True)
    add_fleet_arguments(fleet_commands)
    from kiosk.fleet.status_cli import add_status_command

    add_status_command(fleet_commands)

    central = commands.add_parser("central", help="serve the reference central order API")
    central.add_argument("--host", default="127.0.0.1")
    central.add_argument("--port", type=int, default=8700)
    central.add_argument("--db", type=Path, default=Path("var/central.sqlite"))
    central.add_argument("--seed-articles", type=int, default=2000)
    central.add_argument("--fleet-dir", type=Path, default=None,
                         help="signed fleet bundles to serve under /fleet/ (default: fleet/ beside --db)")
    return parser


def _settings(path: Path) -> Settings:
    return load_settings(path)


def cmd_run(args: argparse.Namespace) -> int:
    from kiosk.launch import WindowOptions, run

    settings = _settings(args.config)
    display = settings.display
    if args.window:
        window = WindowOptions(fullscreen=False, width=args.window[0], height=args.window[1], lockdown=False)
    else:
        window = WindowOptions(display.fullscreen, display.width, display.height, display.lockdown)
    return run(settings, window)


def cmd_central(args: argparse.Namespace) -> int:
    from central.cli import serve

    return serve(args.host, args.port, args.db, args.seed_articles, args.fleet_dir)


def cmd_demo(args: argparse.Namespace) -> int:
    from kiosk.demo import run_demo

    return run_demo(args, _settings(args.config))


def cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from kiosk.hardware.doctor import check_card
    from kiosk.hardware.terminal import CardError

    settings = _settings(args.config)
    try:
        result = check_card(settings.payment.reader, args.amount, timeout_s=args.timeout,
                            no_cvm_limit_cents=settings.payment.no_cvm_limit_cents)
    except CardError as exc:
        if args.json:
            print(json.dumps({"error": exc.reason, "message": str(exc)}))
        else:
            print(f"kiosk doctor card: {exc.reason}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        for key, value in result.as_dict().items():
            print(f"{key:>18}: {value}")
    return 0 if result.cvm == "no_cvm" else 3


def cmd_catalog(args: argparse.Namespace) -> int:
    from kiosk.catalog.cli import main as catalog_main

    return catalog_main(args)


def cmd_staff(args: argparse.Namespace) -> int:
    from kiosk.staff.cli import main as staff_main

    return staff_main(args)


def cmd_fleet(args: argparse.Namespace) -> int:
    if args.fleet_command == "status":
        from kiosk.fleet.status_cli import cmd_status

        return cmd_status(args)
    from kiosk.fleet.cli import main as fleet_main

    return fleet_main(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    handlers = {"run": cmd_run, "demo": cmd_demo, "central": cmd_central, "catalog": cmd_catalog,
                "doctor": cmd_doctor, "staff": cmd_staff, "fleet": cmd_fleet}
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"kiosk: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
