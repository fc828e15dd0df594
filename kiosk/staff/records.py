"""What the staff store holds: pydantic models, checked when written and again when read back.

The store is a boundary (the pillar's own disk, read after a crash or an upgrade), so every record
is validated both ways, like the order journal's entries. None of them has a place for a PIN.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, StringConstraints

StaffId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
SettingKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=100)]

AuditEvent = Literal[
    "login",            # detail: "pin" or "badge"
    "logout",           # detail: why: "logout", "idle", "replaced"
    "pin_wrong",        # detail: attempts left before lockout
    "lockout",          # detail: until when (UTC)
    "pin_ambiguous",    # the PIN matched more than one member: refused, nobody logged in
    "badge_unknown",    # detail: the first characters of the badge id
    "setting_changed",  # key, old, new
    "setting_reset",    # key, old (the override), new (the value beneath it)
]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuditRecord(_Record):
    """One thing that happened at the staff door or in the settings: who, what, old and new, when."""

    at: AwareDatetime
    event: AuditEvent
    staff_id: StaffId | None = None    # None: nobody known (a wrong PIN, an unknown badge)
    staff_name: Annotated[str, StringConstraints(max_length=100)] | None = None
    key: SettingKey | None = None
    old: JsonValue = None
    new: JsonValue = None
    detail: Annotated[str, StringConstraints(max_length=200)] | None = None


class OverrideRecord(_Record):
    """A setting staff changed on this pillar: the value (already validated) and who set it when."""

    key: SettingKey
    value: JsonValue
    set_at: AwareDatetime
    staff_id: StaffId
    staff_name: Annotated[str, StringConstraints(max_length=100)]


class LockoutState(_Record):
    """Wrong PINs in a row, and the end of a running lockout (wall-clock UTC, so it outlives a restart)."""

    failures: int = Field(default=0, ge=0)
    last_failure_at: AwareDatetime | None = None
    locked_until: AwareDatetime | None = None
