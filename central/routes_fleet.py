"""Fleet configuration: signed bundles as static files, and the pillars' reports.

The bundle routes behave like a static file server (so a CDN or object store can take their place):
no credential, a strong ETag, `Cache-Control: no-cache` (a cache may keep the file but asks again every
time: If-None-Match, answered 304 without a body while the file is unchanged), 404 when there is no
bundle at that level. No credential is safe because a bundle carries its own proof: the kiosk accepts
only bundles signed by a key it trusts, of a higher version than it runs, for its own scope. So a
bundle must hold nothing secret: anyone who can reach the URL can read it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Path
from fastapi.responses import Response

from central import examples, fleet_bundles, fleet_reports
from central.deps import Kiosk, Parts
from central.errors import ApiProblem, error_responses
from kiosk.contract import FleetOverview, FleetReport, FleetReportReceipt

router = APIRouter()

_CACHE_CONTROL = "no-cache"
_BUNDLE_ANSWERS = {
    200: {"description": "The signed bundle, byte for byte as the operator placed it",
          "content": {"application/json": {"schema": {"type": "object",
                                                      "description": "A signed bundle (see `kiosk fleet sign`)"}}},
          "headers": {"ETag": {"description": "The quoted SHA-256 of the bytes", "schema": {"type": "string"}},
                      "Cache-Control": {"description": "no-cache: caches revalidate every time",
                                        "schema": {"type": "string"}}}},
    304: {"description": "Not modified: If-None-Match names the current ETag (no body)"},
    **error_responses(404, 422),
}
_BUNDLE_RULES = (
    "No credential: a bundle is signed, and the kiosk checks signature, version and scope itself; a bundle "
    "must therefore hold nothing secret. 404 `not_found`: no bundle at this level (the kiosk then has none "
    "of it). Send the last ETag in `If-None-Match`: 304 while the file is unchanged. Any static web server, "
    "object store or CDN may serve the same files instead (then ETags are theirs: treat them as opaque)."
)

IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match",
                                           description="The ETag of the bundle the kiosk already has")]
StoreId = Annotated[str, Path(pattern=fleet_bundles.ID_PATTERN, openapi_examples=examples.FLEET_STORE_ID)]
KioskId = Annotated[str, Path(pattern=fleet_bundles.ID_PATTERN, openapi_examples=examples.FLEET_KIOSK_ID)]


def _serve(parts, level: str, ident: str | None, if_none_match: str | None) -> Response:
    try:
        bundle = fleet_bundles.read_bundle(parts.fleet_dir, level, ident)
    except ValueError as exc:  # unreachable past the path pattern; kept so no name ever reaches the disk unchecked
        raise ApiProblem(422, "validation_error", str(exc)) from None
    if bundle is None:
        where = "fleet" if level == "fleet" else f"{level} {ident}"
        raise ApiProblem(404, "not_found", f"No bundle for the {where}.")
    headers = {"ETag": bundle.etag, "Cache-Control": _CACHE_CONTROL}
    if fleet_bundles.not_modified(if_none_match, bundle.etag):
        return Response(status_code=304, headers=headers)
    return Response(bundle.content, media_type="application/json", headers=headers)


@router.get("/fleet/fleet.json", response_class=Response, responses=_BUNDLE_ANSWERS, tags=["fleet"],
            summary="The fleet-wide bundle (static file; no credential)", description=_BUNDLE_RULES)
def fleet_bundle(parts: Parts, if_none_match: IfNoneMatch = None) -> Response:
    return _serve(parts, "fleet", None, if_none_match)


@router.get("/fleet/shops/{store_id}.json", response_class=Response, responses=_BUNDLE_ANSWERS, tags=["fleet"],
            summary="The bundle of one shop's pillars (static file; no credential)", description=_BUNDLE_RULES)
def shop_bundle(parts: Parts, store_id: StoreId, if_none_match: IfNoneMatch = None) -> Response:
    return _serve(parts, "shop", store_id, if_none_match)


@router.get("/fleet/kiosks/{kiosk_id}.json", response_class=Response, responses=_BUNDLE_ANSWERS, tags=["fleet"],
            summary="The bundle of one pillar (static file; no credential)", description=_BUNDLE_RULES)
def kiosk_bundle(parts: Parts, kiosk_id: KioskId, if_none_match: IfNoneMatch = None) -> Response:
    return _serve(parts, "kiosk", kiosk_id, if_none_match)


@router.post("/v1/fleet/report", response_model=FleetReportReceipt, status_code=202, tags=["fleet"],
             responses=error_responses(401, 403, 422),
             summary="The pillar's configuration and health now; the server keeps the latest per kiosk",
             description="`kiosk_id` must be the authenticated kiosk (else 403 `kiosk_mismatch`). The last report "
                         "received replaces the one before: send the current state, never a stale one.")
def report(parts: Parts, kiosk: Kiosk,
           body: Annotated[FleetReport, Body(openapi_examples=examples.FLEET_REPORT)]) -> FleetReportReceipt:
    if body.kiosk_id != kiosk.kiosk_id:
        raise ApiProblem(403, "kiosk_mismatch", f"kiosk_id {body.kiosk_id!r} is not the authenticated kiosk.")
    received_at = parts.clock()
    with parts.db.write_lock, parts.db.session() as conn, conn:
        fleet_reports.store_report(conn, body, received_at)
    return FleetReportReceipt(received_at=received_at)


@router.get("/v1/fleet/kiosks", response_model=FleetOverview, tags=["fleet"], responses=error_responses(401),
            summary="Operators: every kiosk with its applied versions, rejections, health and when last seen",
            description="Protected by a kiosk's bearer token in this reference server, so any kiosk may read "
                        "the overview; a real deployment puts an operator credential on it instead.")
def kiosks(parts: Parts, _: Kiosk) -> FleetOverview:
    with parts.db.session() as conn:
        return fleet_reports.overview(conn, parts.clock())
