"""Example requests for the OpenAPI document, with ids that exist in every seeded demo catalog.

They show a reader what a real request looks like, and give a schema-driven tester (schemathesis, in
tests/test_central_schemathesis.py) requests that get past "unknown sku" to the interesting answers.
"""

from __future__ import annotations

from central.seed import DEMO_KIOSK_ID, DEMO_STAFF_ID, DEMO_STORE_ID

SKU = "P000001-01"  # article 1 exists as soon as one article is seeded
OTHER_SHOP = "amersfoort-centrum"


def _examples(**named: dict) -> dict:
    return {name: {"summary": name.replace("_", " "), "value": value} for name, value in named.items()}


STOCK_QUERY = _examples(
    two_shops={"skus": [SKU, "P000001-02"], "store_ids": [DEMO_STORE_ID, OTHER_SHOP]},
)

QUOTE = _examples(
    one_article={"store_id": DEMO_STORE_ID, "lines": [{"sku": SKU, "quantity": 1}]},
    free_delivery={"store_id": DEMO_STORE_ID, "lines": [{"sku": SKU, "quantity": 20}]},
)

RESERVATION = _examples(
    pickup_elsewhere={"reservation_id": "res-example-1", "store_id": DEMO_STORE_ID,
                      "lines": [{"sku": SKU, "quantity": 1}],
                      "fulfilment": {"type": "pickup", "store_id": OTHER_SHOP, "cost_cents": 0}},
)
RESERVATION_KEY = {"example": {"summary": "the reservation_id of the body", "value": "res-example-1"}}

PICTURE_PRODUCT = {"article_1": {"summary": "a seeded article", "value": "P000001"}}
PICTURE_NUMBER = {"first": {"summary": "its first picture", "value": 1}}

STAFF_ID = {"demo_staff": {"summary": "a staff member of the demo kiosk's shop", "value": DEMO_STAFF_ID}}

STOCK_ADJUSTMENT = _examples(
    received={"adjustment_id": "adj-example-1", "sku": SKU, "kind": "received", "quantity": 6,
              "made_at": "2025-05-13T09:30:00+02:00", "note": "levering"},
    counted={"adjustment_id": "adj-example-2", "sku": SKU, "kind": "counted", "quantity": 4,
             "made_at": "2025-05-13T10:15:00+02:00"},
)
STOCK_ADJUSTMENT_KEY = {"example": {"summary": "the adjustment_id of the body", "value": "adj-example-1"}}
STOCK_ADJUSTMENT_ID = {"example": {"summary": "an adjustment of the examples", "value": "adj-example-1"}}
PICK_STORE = {"own_shop": {"summary": "the demo kiosk's own shop", "value": DEMO_STORE_ID}}

FLEET_STORE_ID = {"demo_shop": {"summary": "the demo kiosk's shop", "value": DEMO_STORE_ID}}
FLEET_KIOSK_ID = {"demo_kiosk": {"summary": "the demo kiosk", "value": DEMO_KIOSK_ID}}
FLEET_REPORT = _examples(
    all_applied={"kiosk_id": DEMO_KIOSK_ID, "store_id": DEMO_STORE_ID, "app_version": "0.9.0",
                 "reported_at": "2025-05-13T09:30:00+02:00",
                 "applied": [{"level": "fleet", "version": 12, "key_id": "fleet-2025"},
                             {"level": "shop", "version": 3, "key_id": "fleet-2025"}],
                 "health": {"app_up": True, "central_api_ok": True, "reader_present": True},
                 "journal_depth": 0, "pending_adjustments": 0, "catalog_age_s": 240},
    pending_and_rejected={"kiosk_id": DEMO_KIOSK_ID, "store_id": DEMO_STORE_ID, "app_version": "0.9.0",
                          "reported_at": "2025-05-13T09:35:00+02:00",
                          "applied": [{"level": "fleet", "version": 12, "key_id": "fleet-2025"}],
                          "pending": [{"level": "fleet", "version": 13, "reason": "payment_in_progress"}],
                          "rejected": [{"level": "kiosk", "version": 2, "reason": "bad_signature",
                                        "message": "the signature does not match the bundle"}],
                          "health": {"app_up": True, "central_api_ok": False, "reader_present": None},
                          "journal_depth": 2, "pending_adjustments": 1, "catalog_age_s": None},
)
