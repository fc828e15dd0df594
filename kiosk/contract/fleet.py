"""The fleet part of the wire contract: what a pillar reports about its configuration, and the
operator's overview of the fleet.

Configuration itself travels as signed bundles, static files outside this API (see docs/fleet.md):
`GET /fleet/fleet.json`, `/fleet/shops/{store_id}.json`, `/fleet/kiosks/{kiosk_id}.json`, with an
ETag and If-None-Match, servable by any web server, object store or CDN. To this contract a bundle
is opaque bytes; only the kiosk verifies and reads it. What comes back into the central API is the
report: `POST /v1/fleet/report` (the kiosk's bearer token), the latest per kiosk kept by the server,
and `GET /v1/fleet/kiosks`, the overview `kiosk fleet status` prints.

Re-exported by `kiosk.contract`; the rules of that module (answers tolerant, requests strict) hold here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from kiosk.contract import Ident, RequestModel, WireModel

FLEET_LEVELS = ("fleet", "shop", "kiosk")
FleetLevel = Literal["fleet", "shop", "kiosk"]
BundleVersion = Annotated[int, Field(ge=0, le=2**53 - 1, description="The bundle's version: monotonic per level")]
KeyId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

PendingReason = Literal[
    "waiting_for_idle",      # a shopper or staff session is going on: applied when the pillar is idle
    "payment_in_progress",   # never mid-payment
    "restart_pending",       # applied; takes effect at the next restart of the app
    "not_in_rollout",        # good, but its rollout percentage does not reach this pillar (yet)
]
RejectReason = Literal[
    "oversized",             # larger than the kiosk accepts
    "not_json",              # not a JSON document
    "schema",                # JSON, but not a bundle (or settings the kiosk does not know)
    "unknown_key",           # signed with a key the kiosk does not trust
    "bad_signature",         # the signature does not match the bytes
    "replay",                # a version not higher than the one applied
    "wrong_scope",           # another level, shop or kiosk than the URL it came from
    "health_check_failed",   # applied, the pillar was unhealthy after it, rolled back
]


class AppliedBundle(RequestModel):
    level: FleetLevel
    version: BundleVersion
    key_id: KeyId = Field(description="The trusted key it was signed with")


class PendingBundle(RequestModel):
    """Good and verified, waiting for the right moment."""

    level: FleetLevel
    version: BundleVersion
    reason: PendingReason


class RejectedBundle(RequestModel):
    """Refused; the pillar keeps its last good configuration."""

    level: FleetLevel
    version: BundleVersion | None = Field(default=None, description="None when it could not be read at all")
    reason: RejectReason
    message: str = Field(default="", max_length=500, description="For the operator (English), e.g. which field")


class BundleRef(RequestModel):
    level: FleetLevel
    version: BundleVersion


class KioskHealth(RequestModel):
    app_up: bool = Field(description="The app runs and shows its screens")
    central_api_ok: bool = Field(description="The last call to the central API got an answer")
    reader_present: bool | None = Field(default=None, description="A card reader is attached; None: not known")


def _one_per_level(items: list, what: str) -> None:
    levels = [item.level for item in items]
    if len(levels) != len(set(levels)):
        raise ValueError(f"{what}: at most one bundle per level")


class FleetReport(RequestModel):
    """`POST /v1/fleet/report`: the pillar's configuration and health now. A snapshot, not an event:
    the server keeps the latest it received per kiosk, so send the current state, never an old one."""

    kiosk_id: Ident = Field(description="Must be the authenticated kiosk")
    store_id: Ident = Field(description="The shop the pillar is configured for")
    app_version: str = Field(min_length=1, max_length=64)
    reported_at: AwareDatetime = Field(description="The pillar's clock when it made the report")
    applied: list[AppliedBundle] = Field(default_factory=list, max_length=3,
                                         description="What the pillar runs with now, one per level at most")
    pending: list[PendingBundle] = Field(default_factory=list, max_length=3)
    rejected: list[RejectedBundle] = Field(default_factory=list, max_length=20,
                                           description="Bundles refused since the last good one of each level")
    health: KioskHealth
    journal_depth: int = Field(ge=0, description="Orders in the journal not yet in a final state")
    pending_adjustments: int = Field(ge=0, description="Staff stock adjustments not yet delivered")
    catalog_age_s: int | None = Field(default=None, ge=0, description="Seconds since the last catalog sync")
    rolled_back_from: BundleRef | None = Field(
        default=None, description="The bundle the pillar rolled back from after a failed health check")

    @model_validator(mode="after")
    def _levels_unique(self) -> FleetReport:
        _one_per_level(self.applied, "applied")
        _one_per_level(self.pending, "pending")
        return self


class FleetReportReceipt(WireModel):
    """The answer to a report (202)."""

    received_at: datetime = Field(description="The server's clock: what the overview shows as last seen")


# The overview repeats parts of the reports; as an answer it is tolerant of fields a newer server adds.
_ANSWER = ConfigDict(extra="ignore", frozen=True)


class ReportedApplied(AppliedBundle):
    model_config = _ANSWER


class ReportedPending(PendingBundle):
    model_config = _ANSWER


class ReportedRejection(RejectedBundle):
    model_config = _ANSWER


class ReportedBundleRef(BundleRef):
    model_config = _ANSWER


class ReportedHealth(KioskHealth):
    model_config = _ANSWER


class FleetVersions(WireModel):
    """The applied version per level; None: no bundle of that level applied."""

    fleet: int | None = None
    shop: int | None = None
    kiosk: int | None = None


class FleetKiosk(WireModel):
    """One pillar in the overview. The report fields are None for a kiosk that never reported."""

    kiosk_id: Ident
    store_id: Ident = Field(description="The shop the central API knows the kiosk by")
    reported_store_id: Ident | None = Field(
        default=None, description="The shop the pillar says it is configured for, when that differs")
    app_version: str | None = None
    versions: FleetVersions = Field(default_factory=FleetVersions)
    applied: list[ReportedApplied] = Field(default_factory=list, description="With the key each was signed with "
                                                                             "(to follow a key rotation)")
    pending: list[ReportedPending] = Field(default_factory=list)
    rejected: list[ReportedRejection] = Field(default_factory=list)
    rolled_back_from: ReportedBundleRef | None = None
    health: ReportedHealth | None = None
    journal_depth: int | None = None
    pending_adjustments: int | None = None
    catalog_age_s: int | None = None
    reported_at: datetime | None = Field(default=None, description="The pillar's clock at its last report")
    last_seen: datetime | None = Field(default=None, description="When the server received its last report")


class FleetOverview(WireModel):
    """`GET /v1/fleet/kiosks`: every kiosk the central API knows, by shop and id."""

    as_of: datetime = Field(description="The server's clock now (compare last_seen with this, not a local clock)")
    kiosks: list[FleetKiosk]
