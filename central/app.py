"""The FastAPI application of the reference central order API.

Routes (all JSON under /v1, bearer token per kiosk except where noted; see `central/errors.py` for
the error codes and `kiosk/contract` for the bodies):

  GET  /v1/health                       no credential
  GET  /v1/catalog?cursor=&limit=       CatalogPage; limit 1..500 (200)
  GET  /v1/categories                   list[Category]
  GET  /v1/stores                       list[Store]
  GET  /v1/promotions                   list[Promotion] for the attract screen
  POST /v1/stock:query                  StockQuery -> StockAnswer (available = on hand - held)
  POST /v1/quotes                       QuoteRequest -> Quote (prices, fulfilment options, shortages)
  POST /v1/reservations                 ReservationRequest -> Reservation (201), Idempotency-Key = reservation_id
  GET  /v1/reservations/{id}            Reservation
  POST /v1/reservations/{id}/release    Reservation (released)
  POST /v1/payments                     PaymentRequest -> Payment (201), Idempotency-Key = payment_id
  GET  /v1/payments/{payment_id}        Payment
  POST /v1/payments/{payment_id}/void   Payment (voided)
  POST /v1/orders                       OrderRequest -> Order (201), Idempotency-Key = order_id
  GET  /v1/orders/{order_id}            Order
  GET  /v1/images/{product_id}/{n}.png  PNG, no credential
  GET  /track/{order_id}                HTML tracking page, no credential
  POST /v1/carts                        CartLinkRequest -> CartLink (201): a cart for the shopper's phone
  GET  /v1/carts/{token}                SharedCart, no credential (the token is the key)
  GET  /cart/{token}                    HTML page of that cart for a phone, no credential
  GET  /v1/staff                        list[StaffMember]: the active staff of the kiosk's shop, with badge UIDs

Fleet configuration (see `central/routes_fleet.py` and docs/fleet.md):

  GET  /fleet/fleet.json                signed bundle files from the fleet folder, no credential:
  GET  /fleet/shops/{store_id}.json     strong ETag, Cache-Control no-cache, If-None-Match -> 304,
  GET  /fleet/kiosks/{kiosk_id}.json    404 when there is no bundle at that level
  POST /v1/fleet/report                 FleetReport -> FleetReportReceipt (202); the latest per kiosk is kept
  GET  /v1/fleet/kiosks                 FleetOverview: every kiosk, versions, health, last seen (operators;
                                        a kiosk token here, an operator credential in a real deployment)

Staff routes (the kiosk's token plus header X-Staff-Id: an active staff member of the kiosk's shop):

  POST /v1/stock-adjustments            StockAdjustmentRequest -> StockAdjustment (201), Idempotency-Key =
                                        adjustment_id; received adds, counted sets what was on hand at made_at
  GET  /v1/stock-adjustments/{id}       StockAdjustment
  GET  /v1/pick-lists?store=            PickList: the shop's pickup orders (handed over: today's only)
  POST /v1/pick-lists/{order_id}/picked       PickOrder (to_pick -> picked; the order is then ready)
  POST /v1/pick-lists/{order_id}/handed-over  PickOrder (picked -> handed_over; the order is then completed)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from central import (
    routes_carts,
    routes_catalog,
    routes_fleet,
    routes_fulfilment,
    routes_orders,
    routes_pick_lists,
    routes_promotions,
    routes_staff,
    tracking,
)
from central.acquirer import TestAcquirer
from central.db import Database
from central.deps import ServerParts
from central.errors import install_error_handlers
from central.images import PictureCache
from central.openapi import install_openapi
from kiosk.contract import API_VERSION


def default_fleet_dir(db_path: Path) -> Path:
    """Where the fleet bundles are when not told: `fleet/` beside the database (var/central.sqlite: var/fleet)."""
    return Path(db_path).parent / "fleet"


def create_app(db_path: Path, *, acquirer_key_path: Path | None = None,
               clock: Callable[[], datetime] | None = None, fleet_dir: Path | None = None) -> FastAPI:
    """The app on an existing or new database file (schema created, data not seeded: see seed.py).

    `clock` (aware datetimes) is what time it is for stock holds, promised days and fleet reports: tests
    move it. `fleet_dir`: the folder of signed bundles (default: `default_fleet_dir`); it need not exist
    (then every bundle is a 404) and is read on every request."""
    app = FastAPI(
        title="Central order API (reference implementation)",
        version=API_VERSION,
        description=(
            "The contract between the ordering kiosks and the retailer's central systems. "
            "Every error answer is an ErrorResponse. POSTs that create something take an Idempotency-Key: "
            "the same key with the same body replays the first answer, with another body it is a 409 "
            "idempotency_conflict."
        ),
    )
    app.state.parts = ServerParts(
        db=Database(db_path),
        acquirer=TestAcquirer(acquirer_key_path),
        pictures=PictureCache(),
        fleet_dir=Path(fleet_dir) if fleet_dir is not None else default_fleet_dir(db_path),
        **({"clock": clock} if clock else {}),
    )
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(routes_catalog.router)
    app.include_router(routes_promotions.router)
    app.include_router(routes_fulfilment.router)
    app.include_router(routes_orders.router)
    app.include_router(tracking.router)
    app.include_router(routes_carts.router)
    app.include_router(routes_staff.router)
    app.include_router(routes_pick_lists.router)
    app.include_router(routes_fleet.router)
    return app
