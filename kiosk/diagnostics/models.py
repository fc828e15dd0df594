"""What a diagnostic reports: a `Check`, plain data the staff screen translates and the log keeps.

- `name`: a stable key per item ("reader", "pcscd", "central_api", "journal", "catalog", "config",
  "disk"; the actions: "card_read", "catalog_sync", "send_now").
- `status`: ok | warning | failed.
- `summary_key` + `params`: a translation key (e.g. "diag.pcscd.down") and the values to fill into
  its text: numbers, ages in seconds, sizes in bytes, paths, names. Never a full card number.
- `detail`: English technical text for the log and for support, not for the screen.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from kiosk.contract.sealing import luhn_valid


class CheckStatus(str, Enum):
    ok = "ok"
    warning = "warning"
    failed = "failed"


ParamValue = str | int | float | bool | None


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    status: CheckStatus
    summary_key: str
    params: dict[str, ParamValue] = Field(default_factory=dict)
    detail: str = ""
    measured_at: datetime
    duration_ms: float = 0.0  # how long the check took (a slow answer is a finding too)

    @property
    def ok(self) -> bool:
        return self.status is CheckStatus.ok


class ConfigOrigin(BaseModel):
    """Which configuration the pillar runs and where it came from.

    Without fleet bundles: `version` "local" and `source` the config file's path (None: built-in
    defaults). With them (kiosk/fleet/service.py `config_origin`): `version` the applied version per
    level as "fleet/shop/kiosk" ("12/3/-"), `fleet_version` that of the most specific bundle and
    `fleet_source` the base URL the bundles come from.
    """

    model_config = ConfigDict(frozen=True)

    version: str = "local"
    source: str | None = None
    fleet_version: int | None = None
    fleet_source: str | None = None

    @classmethod
    def local(cls, source: Path | None) -> ConfigOrigin:
        return cls(version="local", source=None if source is None else str(source))


# A full card number is 12-19 digits (maybe grouped with spaces or dashes) passing the Luhn check.
_DIGIT_RUN = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")
REMOVED = "[card number removed]"


def scrub(text: str) -> str:
    """`text` with anything that looks like a full card number replaced: a safety net for error
    texts from lower layers, so a diagnostic can never show or log one."""

    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return REMOVED if 12 <= len(digits) <= 19 and luhn_valid(digits) else match.group()

    return _DIGIT_RUN.sub(replace, text)
