"""The reference server over real HTTP: auth, catalog paging, reference data, stock, pictures, errors."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from central.app import create_app
from kiosk.contract import CatalogPage, Category, ErrorResponse, Health, StockAnswer, Store
from support.central_server import TEST_CATALOG_ARTICLES


def assert_error(response: httpx.Response, status: int, code: str) -> ErrorResponse:
    assert response.status_code == status, response.text
    body = ErrorResponse.model_validate_json(response.content)
    assert body.error.code == code, body
    assert body.error.message
    return body


def test_health_needs_no_token(central_server):
    response = httpx.get(f"{central_server.base_url}/v1/health")
    assert response.status_code == 200
    assert Health.model_validate_json(response.content).api_version == "v1"


PROTECTED = [
    ("GET", "/v1/catalog", None),
    ("GET", "/v1/categories", None),
    ("GET", "/v1/stores", None),
    ("POST", "/v1/stock:query", {"skus": ["P000001-01"], "store_ids": ["utrecht-centrum"]}),
    ("GET", "/v1/payments/pay-1", None),
    ("POST", "/v1/payments/pay-1/void", None),
    ("GET", "/v1/orders/order-1", None),
]


@pytest.mark.parametrize("method, path, body", PROTECTED)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-known-token", "Basic ZGVtbzpkZW1v", "Bearer"])
def test_every_kiosk_route_needs_a_known_token(central_server, method, path, body, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.request(method, central_server.base_url + path, json=body, headers=headers)
    assert_error(response, 401, "unauthorized")


def test_catalog_paging_walks_every_article_exactly_once(central_http):
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 47} | ({"cursor": cursor} if cursor else {})
        response = central_http.get("/v1/catalog", params=params)
        assert response.status_code == 200
        page = CatalogPage.model_validate_json(response.content)
        seen.extend(product.id for product in page.items)
        pages += 1
        cursor = page.next_cursor
        assert cursor, "every page, the last included, hands out a cursor"
        if not page.has_more:
            break
        assert pages < 100
    assert len(seen) == TEST_CATALOG_ARTICLES
    assert len(set(seen)) == len(seen)
    assert pages == -(-TEST_CATALOG_ARTICLES // 47)
    # The last page's cursor is a delta cursor: nothing changed since, so nothing comes back.
    later = CatalogPage.model_validate_json(central_http.get("/v1/catalog", params={"cursor": cursor}).content)
    assert later.items == [] and later.has_more is False and later.next_cursor == cursor


def test_catalog_products_carry_prices_and_relative_picture_urls(central_http):
    page = CatalogPage.model_validate_json(central_http.get("/v1/catalog", params={"limit": 5}).content)
    assert len(page.items) == 5 and page.has_more
    product = page.items[0]
    assert product.images and all(url.startswith(f"v1/images/{product.id}/") for url in product.images)
    assert all(v.price_cents > 0 and v.currency == "EUR" for v in product.variants)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"limit": "many"}])
def test_catalog_limit_out_of_range_is_a_validation_error(central_http, params):
    assert_error(central_http.get("/v1/catalog", params=params), 422, "validation_error")


@pytest.mark.parametrize("cursor", ["garbage!", "djE6eHl6", "eHl6OjEy"])
def test_a_foreign_cursor_is_refused(central_http, cursor):
    assert_error(central_http.get("/v1/catalog", params={"cursor": cursor}), 400, "invalid_cursor")


def test_unknown_path_and_method_answer_in_the_error_shape(central_http):
    assert_error(central_http.get("/v1/nothing-here"), 404, "not_found")
    assert_error(central_http.delete("/v1/catalog"), 405, "method_not_allowed")


def test_malformed_json_body_is_a_validation_error(central_http):
    response = central_http.post("/v1/stock:query", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(response, 422, "validation_error")
    response = central_http.post("/v1/stock:query", json={"skus": [], "store_ids": ["x"], "extra": 1})
    body = assert_error(response, 422, "validation_error")
    assert "skus" in body.error.message


def test_categories_form_a_two_level_tree(central_http):
    categories = [Category.model_validate(c) for c in central_http.get("/v1/categories").json()]
    by_id = {c.id: c for c in categories}
    tops = [c for c in categories if c.parent_id is None]
    assert {c.name for c in tops} >= {"Fietsen & accessoires", "Kamperen", "Auto", "Reizen & bagage",
                                     "Wandelen & outdoor", "Kaarten & navigatie"}
    for category in categories:
        assert category.name_en
        if category.parent_id is not None:
            assert by_id[category.parent_id].parent_id is None, "only two levels"
    assert all(any(c.parent_id == top.id for c in categories) for top in tops)


def test_stores_are_dutch_shops_with_opening_hours(central_http):
    stores = [Store.model_validate(s) for s in central_http.get("/v1/stores").json()]
    assert 6 <= len(stores) <= 12
    assert "utrecht-centrum" in {s.id for s in stores}
    for store in stores:
        assert 50.7 < store.latitude < 53.6 and 3.3 < store.longitude < 7.3, store  # inside the Netherlands
        assert store.opening_hours and all(h.opens < h.closes for h in store.opening_hours)


def test_stock_is_deterministic_and_leaves_out_unknowns(central_http):
    page = CatalogPage.model_validate_json(central_http.get("/v1/catalog", params={"limit": 100}).content)
    skus = [v.sku for p in page.items for v in p.variants][:200]
    query = {"skus": skus + ["NO-SUCH-SKU"], "store_ids": ["utrecht-centrum", "groningen-centrum", "nowhere"]}
    first = StockAnswer.model_validate_json(central_http.post("/v1/stock:query", json=query).content)
    second = StockAnswer.model_validate_json(central_http.post("/v1/stock:query", json=query).content)
    assert [lv.model_dump() for lv in first.levels] == [lv.model_dump() for lv in second.levels]
    assert len(first.levels) == len(skus) * 2, "a level for every known sku x known store, zeros included"
    assert {lv.store_id for lv in first.levels} == {"utrecht-centrum", "groningen-centrum"}
    home = [lv.quantity for lv in first.levels if lv.store_id == "utrecht-centrum"]
    away = [lv.quantity for lv in first.levels if lv.store_id == "groningen-centrum"]
    assert sum(q > 0 for q in home) > len(home) / 2, "the demo shop has most articles in stock"
    assert 0 in away and sum(q > 0 for q in away) < sum(q > 0 for q in home)


def test_openapi_document_describes_the_contract(central_server):
    document = httpx.get(f"{central_server.base_url}/openapi.json").json()
    assert set(document["paths"]) >= {
        "/v1/health", "/v1/catalog", "/v1/categories", "/v1/stores", "/v1/stock:query", "/v1/payments",
        "/v1/payments/{payment_id}", "/v1/payments/{payment_id}/void", "/v1/orders", "/v1/orders/{order_id}",
        "/v1/images/{product_id}/{number}.png",
    }
    schemas = document["components"]["schemas"]
    assert {"CatalogPage", "PaymentRequest", "Payment", "OrderRequest", "Order", "ErrorResponse"} <= set(schemas)
    post_orders = document["paths"]["/v1/orders"]["post"]
    assert post_orders["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/OrderRequest")
    assert post_orders["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert any(p["name"] == "Idempotency-Key" for p in post_orders["parameters"])


def test_picture_route_serves_a_deterministic_png_without_a_token(central_server, central_http):
    page = CatalogPage.model_validate_json(central_http.get("/v1/catalog", params={"limit": 1}).content)
    url = f"{central_server.base_url}/{page.items[0].images[0]}"
    first = httpx.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(first.content))
    assert image.format == "PNG" and image.size == (600, 600)
    assert len(image.convert("RGB").getcolors(100_000)) > 2, "a drawing, not a blank square"
    assert httpx.get(url).content == first.content


def test_picture_beyond_the_products_count_is_not_found(central_http):
    assert_error(central_http.get("/v1/images/P000001/99.png"), 404, "not_found")
    assert_error(central_http.get("/v1/images/NOPE/1.png"), 404, "not_found")


async def test_a_server_bug_answers_500_in_the_error_shape_without_details(tmp_path):
    app = create_app(tmp_path / "bug.sqlite")

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://central.test") as client:
        response = await client.get("/v1/boom")
    assert_error(response, 500, "internal_error")
    assert "internal detail" not in response.text
