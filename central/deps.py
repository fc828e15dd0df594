"""What every route needs: the server's shared parts, the authenticated kiosk, and for staff routes
the staff member (header X-Staff-Id) working at it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central import examples
from central.acquirer import TestAcquirer
from central.db import Database, token_hash
from central.errors import ApiProblem
from central.images import PictureCache
from central.staff import active_member
from kiosk.contract import STAFF_HEADER


@dataclass
class ServerParts:
    db: Database
    acquirer: TestAcquirer
    pictures: PictureCache
    fleet_dir: Path  # the signed configuration bundles (`central.fleet_bundles`)
    # What time it is for stock holds and promised days; tests move it (see `create_app(clock=...)`).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class KioskIdentity:
    kiosk_id: str
    store_id: str


def get_parts(request: Request) -> ServerParts:
    return request.app.state.parts


# auto_error=False: a missing header must give our own 401 ErrorResponse, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="The kiosk's own token")


def require_kiosk(
    parts: Annotated[ServerParts, Depends(get_parts)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> KioskIdentity:
    if credentials is None or not credentials.credentials:
        raise ApiProblem(401, "unauthorized", "A bearer token is required.")
    with parts.db.session() as conn:
        row = conn.execute(
            "SELECT kiosk_id, store_id FROM kiosks WHERE token_sha256 = ?", (token_hash(credentials.credentials),)
        ).fetchone()
    if row is None:
        raise ApiProblem(401, "unauthorized", "The bearer token is not known.")
    return KioskIdentity(row["kiosk_id"], row["store_id"])


Parts = Annotated[ServerParts, Depends(get_parts)]
Kiosk = Annotated[KioskIdentity, Depends(require_kiosk)]


@dataclass(frozen=True)
class StaffIdentity:
    staff_id: str
    name: str
    role: str       # staff, manager
    kiosk: KioskIdentity

    @property
    def store_id(self) -> str:
        return self.kiosk.store_id


def require_staff(
    parts: Parts,
    kiosk: Kiosk,
    staff_id: Annotated[str | None, Header(
        alias=STAFF_HEADER, description="The staff member who badged in at this kiosk (staff routes only)",
        openapi_examples=examples.STAFF_ID)] = None,
) -> StaffIdentity:
    # Optional in the signature so that a missing header is our own 401, not a generic 422.
    if not staff_id:
        raise ApiProblem(401, "staff_required", f"This is a staff route: the {STAFF_HEADER} header is required.")
    with parts.db.session() as conn:
        member = active_member(conn, kiosk.store_id, staff_id)
    if member is None:
        raise ApiProblem(403, "staff_unknown",
                         f"{staff_id!r} is not an active staff member of shop {kiosk.store_id}.")
    return StaffIdentity(member.staff_id, member.name, member.role, kiosk)


Staff = Annotated[StaffIdentity, Depends(require_staff)]
