"""`kiosk fleet status [--url URL] [--token T] [--config PATH] [--json]`

The fleet as the central API last heard from it (`GET /v1/fleet/kiosks`): one line per kiosk with its
shop, the bundle versions it runs (fleet/shop/kiosk), app version, health, and when it was last seen;
under the table, what needs a look (rejected bundles, pending ones, roll-backs, a pillar configured
for another shop, a backlog) and which signing keys the applied bundles use (to follow a key
rotation). "Last seen" is reckoned on the server's clock, so a laptop with a wrong
clock still prints the truth.

URL and token default to `[api]` of the config (`--config`, default config/kiosk.toml); the token also
from the environment variable KIOSK_FLEET_TOKEN, which keeps it out of the process list. Exit 0 with
the table, 1 with a one-line reason when the API cannot be reached or refuses, 2 on a configuration
error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from kiosk.config import DEFAULT_CONFIG, ConfigError, load_settings

if TYPE_CHECKING:  # httpx and the contract are imported when the command runs: the parser is built on every start
    from kiosk.contract import FleetKiosk, FleetOverview

EXIT_FAILED = 1
EXIT_CONFIG = 2
TOKEN_ENV = "KIOSK_FLEET_TOKEN"
OVERVIEW_PATH = "/v1/fleet/kiosks"


def add_status_command(subparsers) -> argparse.ArgumentParser:
    """`kiosk fleet status`, for the `fleet` subparsers of kiosk/__main__.py (dispatch to `cmd_status`)."""
    parser = subparsers.add_parser("status", help="list the kiosks: shop, bundle versions, health, last seen")
    parser.add_argument("--url", help="the central API (default: [api] base_url of the config)")
    parser.add_argument("--token", help=f"bearer token (default: ${TOKEN_ENV}, else [api] token of the config)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="kiosk.toml (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the overview as JSON")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default: %(default)s)")
    parser.set_defaults(fleet_handler=cmd_status)
    return parser


def _connection(args: argparse.Namespace) -> tuple[str, str]:
    url, token = args.url, args.token or os.environ.get(TOKEN_ENV)
    if url is None or token is None:
        api = load_settings(args.config).api
        url = url or api.base_url
        token = token or api.token.get_secret_value()
    return url.rstrip("/"), token


def fetch_overview(url: str, token: str, timeout: float = 10.0) -> FleetOverview:
    """The overview; RuntimeError with a one-line reason when it cannot be had."""
    import httpx
    from pydantic import ValidationError

    from kiosk.contract import ErrorResponse, FleetOverview
    try:
        response = httpx.get(url + OVERVIEW_PATH, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RuntimeError(f"cannot reach {url}: {exc.__class__.__name__}: {exc}") from None
    if response.status_code != 200:
        try:
            error = ErrorResponse.model_validate_json(response.content).error
            reason = f"{error.code}: {error.message}"
        except ValidationError:
            reason = response.reason_phrase
        raise RuntimeError(f"{url}{OVERVIEW_PATH} answered {response.status_code} ({reason})")
    try:
        return FleetOverview.model_validate_json(response.content)
    except ValidationError as exc:
        raise RuntimeError(f"{url}{OVERVIEW_PATH} answered something that is not a fleet overview "
                           f"({exc.error_count()} errors)") from None


def ago(then: datetime | None, now: datetime) -> str:
    """'never', 'just now', '3 min ago', '2 h ago', '4 d ago' (a clock behind: 'just now')."""
    if then is None:
        return "never"
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def _version(value: int | None) -> str:
    return "-" if value is None else str(value)


def health_text(kiosk: FleetKiosk) -> str:
    if kiosk.health is None:
        return "-"
    problems = [text for bad, text in ((not kiosk.health.app_up, "app down"),
                                       (not kiosk.health.central_api_ok, "api down"),
                                       (kiosk.health.reader_present is False, "no reader")) if bad]
    return ", ".join(problems) or "ok"


def notes(kiosk: FleetKiosk) -> list[str]:
    """What an operator should look at for this kiosk, one short line each."""
    lines = []
    if kiosk.reported_store_id:
        lines.append(f"configured for shop {kiosk.reported_store_id}, registered in {kiosk.store_id}")
    if kiosk.rolled_back_from:
        lines.append(f"rolled back from {kiosk.rolled_back_from.level} v{kiosk.rolled_back_from.version}")
    for rejected in kiosk.rejected:
        version = "" if rejected.version is None else f" v{rejected.version}"
        lines.append(f"rejected {rejected.level}{version}: {rejected.reason}"
                     + (f" ({rejected.message})" if rejected.message else ""))
    for pending in kiosk.pending:
        lines.append(f"pending {pending.level} v{pending.version}: {pending.reason}")
    if kiosk.journal_depth:
        lines.append(f"{kiosk.journal_depth} order(s) not final in the journal")
    if kiosk.pending_adjustments:
        lines.append(f"{kiosk.pending_adjustments} stock adjustment(s) not delivered")
    return lines


HEADERS = ("KIOSK", "SHOP", "FLEET/SHOP/KIOSK", "APP", "HEALTH", "LAST SEEN")


def table(overview: FleetOverview) -> str:
    rows = [(k.kiosk_id, k.store_id,
             "/".join(_version(v) for v in (k.versions.fleet, k.versions.shop, k.versions.kiosk)),
             k.app_version or "-", health_text(k), ago(k.last_seen, overview.as_of))
            for k in overview.kiosks]
    widths = [max(len(cell) for cell in column) for column in zip(HEADERS, *rows)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in (HEADERS, *rows)]
    attention = [(k.kiosk_id, line) for k in overview.kiosks for line in notes(k)]
    if attention:
        lines.append("")
        lines.extend(f"{kiosk_id}: {line}" for kiosk_id, line in attention)
    seen = sum(k.last_seen is not None for k in overview.kiosks)
    lines.append("")
    keys = Counter(key for k in overview.kiosks for key in {a.key_id for a in k.applied})
    if keys:  # during a key rotation: how many pillars still run bundles signed with the old key
        lines.append("keys in use: " + ", ".join(f"{key} ({n} kiosk{'s' if n > 1 else ''})"
                                                 for key, n in sorted(keys.items())))
    lines.append(f"{len(overview.kiosks)} kiosk(s), {seen} reported; "
                 f"as of {overview.as_of.isoformat(timespec='seconds')} (server clock)")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        url, token = _connection(args)
    except ConfigError as exc:
        print(f"kiosk fleet status: configuration error: {exc}", file=err)
        return EXIT_CONFIG
    try:
        overview = fetch_overview(url, token, args.timeout)
    except RuntimeError as exc:
        print(f"kiosk fleet status: {exc}", file=err)
        return EXIT_FAILED
    print(overview.model_dump_json(indent=2) if args.json else table(overview), file=out)
    return 0
