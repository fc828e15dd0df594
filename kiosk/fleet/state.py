"""What a pillar keeps of the fleet configuration between runs: `fleet.json` next to the order journal.

One crash-safe file (the journal's SafeJSONStorage: write beside, fsync, rename; a damaged file is set
aside and the copy before it used) holding one `FleetState`:

- `applied`: per level, the bundle the pillar runs (its raw bytes, as received and verified), so the
  pillar starts with it without asking anyone, and re-verifies it at every start;
- `pending`: verified bundles waiting for an idle moment (a shopper, a staff member or a payment
  is busy), kept so a restart does not lose them behind a 304;
- `high_water`: the highest version ever taken at each level, the applied one or one rolled back
  from, so neither an old bundle nor the bundle that just failed its health check comes back;
- `etags`: the ETag of the file last received per level, for If-None-Match;
- `rejected`, `not_in_rollout`, `rolled_back_from`: what the report says until it changes;
- `trial`: after an apply, until the health check has passed: what to roll back to, the health
  before, and how many times the app has started since (a bundle after which the app keeps failing
  to come up is rolled back by the next start, before anything is built from it).

Bundles are kept as received; nothing else of them is believed without verifying them again.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kiosk.contract.fleet import BundleRef, FleetLevel, KioskHealth, RejectReason
from kiosk.journal.models import StaffAlert
from kiosk.journal.storage import Data, SafeJSONStorage

if TYPE_CHECKING:
    from kiosk.config import Settings
    from kiosk.fleet.verify import VerifiedBundle

log = logging.getLogger("kiosk.fleet.state")

FILE_NAME = "fleet.json"
_TABLE, _DOC = "fleet", "state"


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoredBundle(_Record):
    level: FleetLevel
    version: int = Field(ge=0)
    key_id: str
    digest: str
    raw: str = Field(description="The file as received (verified bundles are UTF-8 JSON)")
    received_at: AwareDatetime

    @classmethod
    def of(cls, verified: VerifiedBundle, received_at: datetime) -> StoredBundle:
        return cls(level=verified.level, version=verified.version, key_id=verified.key_id, digest=verified.digest,
                   raw=verified.raw.decode("utf-8"), received_at=received_at)

    @property
    def ref(self) -> BundleRef:
        return BundleRef(level=self.level, version=self.version)


class Rejection(_Record):
    version: int | None = None
    reason: RejectReason
    message: str = ""
    digest: str | None = Field(default=None, description="Of the signed bytes, when it could be read that far")
    at: AwareDatetime


class Trial(_Record):
    """An apply whose health check has not passed yet."""

    applied: dict[FleetLevel, StoredBundle] = Field(description="The bundles under trial")
    previous: dict[FleetLevel, StoredBundle] = Field(description="What ran before: the roll-back target")
    baseline: KioskHealth = Field(description="The health before the apply: a check fails only on what got worse")
    started_at: AwareDatetime
    restart: bool = Field(default=False, description="It changes keys that take effect only after a restart")
    boots: int = Field(default=0, ge=0, description="App starts since the apply that did not reach the check")


class FleetState(_Record):
    schema_version: int = 1
    applied: dict[FleetLevel, StoredBundle] = Field(default_factory=dict)
    pending: dict[FleetLevel, StoredBundle] = Field(default_factory=dict)
    high_water: dict[FleetLevel, int] = Field(default_factory=dict)
    etags: dict[FleetLevel, str] = Field(default_factory=dict)
    rejected: dict[FleetLevel, Rejection] = Field(default_factory=dict)
    not_in_rollout: dict[FleetLevel, int] = Field(default_factory=dict, description="version per level")
    rolled_back_from: BundleRef | None = None
    rolled_back_digests: dict[FleetLevel, str] = Field(default_factory=dict)
    trial: Trial | None = None

    def replay_floor(self, level: FleetLevel) -> int | None:
        """The version a new bundle at `level` must be above (None: nothing taken at that level yet)."""
        versions = [v for v in (self.high_water.get(level), self.applied.get(level) and self.applied[level].version,
                                self.pending.get(level) and self.pending[level].version) if v is not None]
        return max(versions) if versions else None

    def known_digest(self, level: FleetLevel, digest: str) -> bool:
        """The same bundle again (a host without ETags, a lost ETag): nothing new, nothing to report."""
        return digest in {self.applied[level].digest if level in self.applied else None,
                          self.pending[level].digest if level in self.pending else None,
                          self.rolled_back_digests.get(level),
                          self.rejected[level].digest if level in self.rejected else None}


def state_path(settings: Settings) -> Path:
    """Where a pillar keeps its fleet state: next to its order journal (and `staff.json`)."""
    return settings.journal_path.parent / FILE_NAME


def _validate(data: Data) -> None:
    doc = data.get(_TABLE, {}).get(_DOC)
    if doc is not None:
        FleetState.model_validate(doc)  # a ValidationError marks the file as damaged


class FleetStateStore:
    """The state, read once and rewritten whole (a few kB) on every change. Thread-safe."""

    def __init__(self, path: Path, *, clock=utc_now) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._storage = SafeJSONStorage(self.path, validate=_validate, clock=clock)
        self._storage.load()
        self.alerts: list[StaffAlert] = list(self._storage.alerts)
        for alert in self.alerts:
            log.error("fleet state %s: %s", self.path, alert.message)
        doc = (self._storage.read() or {}).get(_TABLE, {}).get(_DOC)
        self._state = FleetState.model_validate(doc) if doc else FleetState()

    @classmethod
    def for_settings(cls, settings: Settings) -> FleetStateStore:
        return cls(state_path(settings))

    @property
    def state(self) -> FleetState:
        return self._state

    def save(self, state: FleetState) -> None:
        """Write `state` (crash-safe; OSError when the disk refuses, and then nothing changed)."""
        with self._lock:
            self._storage.write({_TABLE: {_DOC: state.model_dump(mode="json")}})
            self._state = state

    def close(self) -> None:
        with self._lock:
            self._storage.close()
