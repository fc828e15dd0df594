"""Who counts as staff on this pillar: the config's `[[staff.members]]`, merged with the central list.

    directory = StaffDirectory.from_config(settings.staff)
    directory = directory.with_central(entries)   # later: GET /v1/staff (staff_id, name, role, badge_uids)
    directory.by_badge("04A1B2C3D4E5F6")          # -> StaffMember | None
    directory.with_pins()                         # members who can log in by PIN

Merging (by staff id): the central list is the staff register, so for someone on both lists its
name, role and badges win (a badge revoked centrally stops working everywhere); the PIN hash only
ever comes from the pillar's config (the central API sends none). Someone only in the config stays
(a pillar-local account, e.g. a service engineer); someone only on the central list logs in by
badge. `with_central` always starts from the config members, so a newer list replaces the older.

A badge UID that two members claim after the merge logs in nobody (it is listed in `conflicts`).
An entry of the central list that does not validate is left out and listed in `rejected`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from kiosk.staff.records import StaffId

if TYPE_CHECKING:
    from kiosk.config import StaffMemberConfig, StaffSection
    from kiosk.hardware.badges import BadgeMatcher

log = logging.getLogger("kiosk.staff.directory")

Role = Literal["staff", "manager"]


def normal_uid(value: str) -> str:
    """A badge id as `kiosk.hardware.badges.identify_badge` reports it: upper-case hex, no separators."""
    return re.sub(r"[\s:.-]", "", value).upper()


def _uids(values: object) -> object:
    if isinstance(values, (list, tuple, set, frozenset)):
        return tuple(normal_uid(v) if isinstance(v, str) else v for v in values)
    return values


BadgeUids = Annotated[tuple[Annotated[str, Field(pattern=r"^(?:[0-9A-F]{2})+$")], ...], BeforeValidator(_uids)]


class StaffMember(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StaffId
    name: str = Field(min_length=1, max_length=100)
    role: Role = "staff"
    pin_hash: str | None = Field(default=None, repr=False)  # from the config only
    badge_uids: BadgeUids = ()
    source: Literal["config", "central", "both"] = "config"

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


class CentralStaff(BaseModel):
    """One entry of the central staff list; takes the contract's model (by attribute) or a dict."""

    model_config = ConfigDict(extra="ignore", from_attributes=True, frozen=True)

    staff_id: StaffId
    name: str = Field(min_length=1, max_length=100)
    role: Role = "staff"
    badge_uids: BadgeUids = ()


class StaffDirectory:
    def __init__(self, config_members: Iterable[StaffMember] = (), central: Iterable[CentralStaff] = ()) -> None:
        self._config = tuple(config_members)
        self._central = tuple(central)
        self.rejected: list[str] = []
        members: dict[str, StaffMember] = {m.id: m for m in self._config}
        for entry in self._central:
            own = members.get(entry.staff_id)
            members[entry.staff_id] = StaffMember(
                id=entry.staff_id, name=entry.name, role=entry.role, badge_uids=entry.badge_uids,
                pin_hash=own.pin_hash if own and own.source != "central" else None,
                source="both" if own and own.source != "central" else "central")
        self._members = members
        self._by_badge: dict[str, StaffMember] = {}
        self.conflicts: set[str] = set()
        for member in members.values():
            for uid in member.badge_uids:
                other = self._by_badge.get(uid)
                if other is not None and other.id != member.id:
                    self.conflicts.add(uid)
                self._by_badge[uid] = member
        for uid in self.conflicts:
            del self._by_badge[uid]
            log.error("badge %s… belongs to more than one staff member: it logs in nobody", uid[:4])

    @classmethod
    def from_config(cls, staff: StaffSection) -> StaffDirectory:
        return cls([_from_config(m) for m in staff.members])

    def with_central(self, entries: Iterable[object]) -> StaffDirectory:
        """A directory of the config members merged with `entries` (CentralStaff, the contract's
        model, or dicts with staff_id, name, role, badge_uids); invalid entries are left out."""
        good: list[CentralStaff] = []
        rejected: list[str] = []
        for entry in entries:
            try:
                good.append(CentralStaff.model_validate(entry))
            except ValidationError as exc:
                where = getattr(entry, "staff_id", None) or (entry.get("staff_id") if isinstance(entry, dict) else None)
                rejected.append(f"{where or '?'}: {exc.errors()[0]['msg']}")
        for problem in rejected:
            log.warning("central staff entry left out: %s", problem)
        merged = StaffDirectory(self._config, good)
        merged.rejected = rejected
        return merged

    def __iter__(self) -> Iterator[StaffMember]:
        return iter(self._members.values())

    def __len__(self) -> int:
        return len(self._members)

    def get(self, staff_id: str) -> StaffMember | None:
        return self._members.get(staff_id)

    def by_badge(self, badge_id: str) -> StaffMember | None:
        return self._by_badge.get(normal_uid(badge_id))

    def with_pins(self) -> list[StaffMember]:
        return [m for m in self._members.values() if m.pin_hash is not None]

    def badge_uids(self) -> frozenset[str]:
        return frozenset(self._by_badge) | self.conflicts

    def badge_matcher(self, staff: StaffSection) -> BadgeMatcher:
        """The reader's badge matcher: the config's ATR patterns and UIDs plus every member's badge
        (the central ones too), so no staff badge is ever taken for a payment card."""
        from kiosk.hardware.badges import BadgeMatcher

        return BadgeMatcher(staff.badge_atr_patterns, {*map(normal_uid, staff.badge_uids), *self.badge_uids()})


def _from_config(member: StaffMemberConfig) -> StaffMember:
    return StaffMember(id=member.id, name=member.name, role=member.role, pin_hash=member.pin_hash,
                       badge_uids=tuple(member.badge_uids), source="config")
