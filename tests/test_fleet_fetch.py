"""The pillar's side of fleet bundles on the wire: CentralApi.fleet_bundle / fleet_report and the
FleetFetcher polling the three levels, against the real reference server on loopback (its fleet folder
written as an operator would), plus httpx.MockTransport only for what that server cannot do (an endless
body, a flaky host, a CDN on another host)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import pytest

from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN, DEMO_STORE_ID
from kiosk.api import ApiStatusError, BundleFetch, CentralApi
from kiosk.contract import AppliedBundle, FleetOverview, FleetReport, KioskHealth, RejectedBundle
from kiosk.fleet.bundle import MAX_BUNDLE_BYTES
from kiosk.fleet.errors import BundleRejected
from kiosk.fleet.fetch import FleetFetcher
from kiosk.fleet.verify import parse_and_verify
from support.fleet import TRUSTED, Site, bundle

def strong_etag(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()}"'


def verify(raw: bytes, level: str, applied_version: int | None = None):
    return parse_and_verify(raw, TRUSTED, kiosk_id=DEMO_KIOSK_ID, store_id=DEMO_STORE_ID,
                            applied_version=applied_version, level=level)


@pytest.fixture
async def site(tmp_path):
    site = Site(tmp_path)
    try:
        yield site
    finally:
        site.server.stop()


@pytest.fixture
async def site_api(site):
    async with CentralApi(site.server.base_url, DEMO_KIOSK_TOKEN) as api:
        async def record(request: httpx.Request) -> None:
            site.sent.append(request)

        api._client.event_hooks["request"].append(record)  # sees the headers as they go on the wire
        yield api


@pytest.fixture
def fetcher(site, site_api) -> FleetFetcher:
    return FleetFetcher(site_api, site.server.base_url + "/fleet/", DEMO_KIOSK_ID, DEMO_STORE_ID)


def test_the_urls_of_the_three_levels(site, site_api):
    fetcher = FleetFetcher(site_api, "https://cdn.example/fleet/", "utr-kiosk:03", "utrecht-centrum")
    assert fetcher.urls() == {"fleet": "https://cdn.example/fleet/fleet.json",
                              "shop": "https://cdn.example/fleet/shops/utrecht-centrum.json",
                              "kiosk": "https://cdn.example/fleet/kiosks/utr-kiosk:03.json"}
    assert list(fetcher.urls()) == ["fleet", "shop", "kiosk"]
    odd = FleetFetcher(site_api, "https://cdn.example/fleet", "../x", "a/b?c")
    assert odd.urls()["kiosk"].endswith("/kiosks/..%2Fx.json")
    assert odd.urls()["shop"].endswith("/shops/a%2Fb%3Fc.json")


async def test_poll_changed_absent_then_unchanged_then_changed_again(site, fetcher):
    first_file = bundle(7)
    site.put("fleet.json", first_file)

    first = await fetcher.poll()
    assert list(first) == ["fleet", "shop", "kiosk"]
    assert first["fleet"] == BundleFetch("changed", first_file, strong_etag(first_file))
    assert first["shop"] == BundleFetch("absent", None, None)
    assert first["kiosk"] == BundleFetch("absent", None, None)
    assert verify(first["fleet"].body, "fleet").version == 7  # what arrived is the signed bundle, intact
    assert fetcher.etags == {"fleet": strong_etag(first_file)}
    assert [r.headers.get("If-None-Match") for r in site.sent] == [None, None, None]

    site.sent.clear()
    second = await fetcher.poll()
    assert second["fleet"] == BundleFetch("unchanged", None, strong_etag(first_file))
    assert second["shop"].status == second["kiosk"].status == "absent"
    sent = {r.url.path: r.headers.get("If-None-Match") for r in site.sent}
    assert sent == {"/fleet/fleet.json": strong_etag(first_file),
                    f"/fleet/shops/{DEMO_STORE_ID}.json": None, f"/fleet/kiosks/{DEMO_KIOSK_ID}.json": None}

    second_file = bundle(8, idle_s=90)
    site.put("fleet.json", second_file)  # replaced while the server runs
    shop_file = bundle(2, "shop", (DEMO_STORE_ID,))
    site.put(f"shops/{DEMO_STORE_ID}.json", shop_file)
    third = await fetcher.poll()
    assert third["fleet"] == BundleFetch("changed", second_file, strong_etag(second_file))
    assert third["fleet"].etag != strong_etag(first_file)
    assert third["shop"] == BundleFetch("changed", shop_file, strong_etag(shop_file))
    assert verify(third["fleet"].body, "fleet", applied_version=7).version == 8
    assert verify(third["shop"].body, "shop").version == 2
    assert fetcher.etags == {"fleet": strong_etag(second_file), "shop": strong_etag(shop_file)}

    fourth = await fetcher.poll()
    assert [fourth[level].status for level in ("fleet", "shop", "kiosk")] == ["unchanged", "unchanged", "absent"]

    site.remove(f"shops/{DEMO_STORE_ID}.json")  # the shop level withdrawn
    fifth = await fetcher.poll()
    assert fifth["shop"] == BundleFetch("absent", None, None)
    assert fetcher.etags == {"fleet": strong_etag(second_file)}


async def test_etags_persisted_and_given_back_spare_the_download(site, site_api):
    content = bundle(3)
    site.put("fleet.json", content)
    restarted = FleetFetcher(site_api, site.server.base_url + "/fleet", DEMO_KIOSK_ID, DEMO_STORE_ID,
                             etags={"fleet": strong_etag(content), "nonsense": "x"})
    assert restarted.etags == {"fleet": strong_etag(content)}
    assert (await restarted.poll())["fleet"].status == "unchanged"
    restarted.forget("fleet")
    assert (await restarted.poll())["fleet"] == BundleFetch("changed", content, strong_etag(content))


async def test_an_oversized_file_is_cut_and_rejected_as_oversized(site, fetcher):
    big = bundle(9)[:-1] + b" " * (MAX_BUNDLE_BYTES + 10_000) + b"}"  # valid JSON, signed, but too big
    site.put(f"kiosks/{DEMO_KIOSK_ID}.json", big)
    result = (await fetcher.poll())["kiosk"]
    assert result.status == "changed"
    assert len(result.body) == MAX_BUNDLE_BYTES + 1 and big.startswith(result.body)
    assert result.etag == strong_etag(big)
    with pytest.raises(BundleRejected) as info:
        verify(result.body, "kiosk")
    assert info.value.reason == "oversized"
    # The limit itself is fine: a bundle of exactly MAX_BUNDLE_BYTES arrives whole and verifies.
    exact = bundle(9, "kiosk", (DEMO_KIOSK_ID,))
    exact = exact[:-1] + b" " * (MAX_BUNDLE_BYTES - len(exact)) + b"}"
    site.put(f"kiosks/{DEMO_KIOSK_ID}.json", exact)
    result = (await fetcher.poll())["kiosk"]
    assert result.body == exact and len(exact) == MAX_BUNDLE_BYTES
    assert verify(result.body, "kiosk").version == 9


async def test_bundles_go_without_the_token_and_the_report_with_it(site, site_api, fetcher):
    site.put("fleet.json", bundle(1))
    await fetcher.poll()
    await fetcher.poll()  # conditional ones too
    await site_api.fleet_bundle(site.server.base_url + "/fleet/fleet.json", None)  # even on the API's own host
    assert len(site.sent) == 7
    assert all("authorization" not in request.headers for request in site.sent)

    site.sent.clear()
    receipt = await site_api.fleet_report(report())
    assert [r.headers.get("Authorization") for r in site.sent] == [f"Bearer {DEMO_KIOSK_TOKEN}"]
    assert receipt.received_at.tzinfo is not None


def report(**changes) -> FleetReport:
    fields = dict(
        kiosk_id=DEMO_KIOSK_ID, store_id=DEMO_STORE_ID, app_version="0.9.1",
        reported_at=datetime(2025, 5, 13, 7, 35, tzinfo=UTC),
        applied=[AppliedBundle(level="fleet", version=7, key_id=next(iter(TRUSTED.ids)))],
        rejected=[RejectedBundle(level="kiosk", version=None, reason="oversized", message="too big")],
        health=KioskHealth(app_up=True, central_api_ok=True, reader_present=False),
        journal_depth=2, pending_adjustments=1, catalog_age_s=240,
    )
    return FleetReport(**(fields | changes))


async def test_a_report_posted_by_the_client_shows_in_the_overview(site, site_api):
    receipt = await site_api.fleet_report(report())
    response = httpx.get(site.server.base_url + "/v1/fleet/kiosks",
                         headers={"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    kiosk = {k.kiosk_id: k for k in FleetOverview.model_validate_json(response.content).kiosks}[DEMO_KIOSK_ID]
    assert kiosk.app_version == "0.9.1" and kiosk.versions.fleet == 7 and kiosk.versions.shop is None
    assert [(r.level, r.reason) for r in kiosk.rejected] == [("kiosk", "oversized")]
    assert kiosk.journal_depth == 2 and kiosk.health.reader_present is False
    assert kiosk.last_seen == receipt.received_at

    with pytest.raises(ApiStatusError) as info:  # another kiosk's id with this token
        await site_api.fleet_report(report(kiosk_id="someone-else"))
    assert (info.value.status, info.value.code) == (403, "kiosk_mismatch")


# --- what the reference server cannot show: a CDN elsewhere, an endless body, a flaky host --------


def mock_api(handler) -> CentralApi:
    api = CentralApi("http://central.test", DEMO_KIOSK_TOKEN, transport=httpx.MockTransport(handler),
                     backoff_base=0.001)

    async def no_wait(delay: float) -> None:
        pass

    api._sleep = no_wait
    return api


async def test_a_huge_body_is_not_read_further_than_the_limit():
    pulled = []

    async def endless():  # 10 MB: finite, so a client that reads it all fails here instead of hanging
        for _ in range(640):
            pulled.append(1)
            yield b" " * 16_384

    def handler(request):
        return httpx.Response(200, headers={"ETag": '"big"'}, content=endless())

    async with mock_api(handler) as api:
        result = await api.fleet_bundle("https://cdn.example/fleet/fleet.json", None)
    assert result.status == "changed" and result.etag == '"big"'
    assert len(result.body) == MAX_BUNDLE_BYTES + 1
    assert len(pulled) <= MAX_BUNDLE_BYTES // 16_384 + 2
    with pytest.raises(BundleRejected) as info:
        verify(result.body, "fleet")
    assert info.value.reason == "oversized"


async def test_a_cdn_gets_no_token_and_a_flaky_one_is_retried_like_a_read():
    requests: list[httpx.Request] = []
    answers = [httpx.Response(503), httpx.Response(200, content=b"{}", headers={"ETag": 'W/"cdn-1"'}),
               httpx.Response(304, headers={"ETag": 'W/"cdn-1"'}), httpx.Response(403, text="<html>denied</html>")]

    def handler(request):
        requests.append(request)
        return answers.pop(0)

    async with mock_api(handler) as api:
        changed = await api.fleet_bundle("https://cdn.example/fleet/fleet.json", None)
        unchanged = await api.fleet_bundle("https://cdn.example/fleet/fleet.json", changed.etag)
        with pytest.raises(ApiStatusError) as info:
            await api.fleet_bundle("https://cdn.example/fleet/fleet.json", None)
    assert changed == BundleFetch("changed", b"{}", 'W/"cdn-1"')
    assert unchanged == BundleFetch("unchanged", None, 'W/"cdn-1"')
    assert (info.value.status, info.value.code) == (403, "http_403")
    assert [r.headers.get("If-None-Match") for r in requests] == [None, None, 'W/"cdn-1"', None]
    assert all("authorization" not in r.headers for r in requests)


async def test_a_poll_with_a_failing_level_changes_no_etag():
    files = {"/fleet/fleet.json": b"fleet-1", "/fleet/shops/s1.json": b"shop-1"}
    broken = {"on": False}

    def handler(request):
        if broken["on"] and request.url.path.startswith("/fleet/kiosks/"):
            return httpx.Response(403)
        content = files.get(request.url.path)
        if content is None:
            return httpx.Response(404)
        etag = strong_etag(content)
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"ETag": etag})
        return httpx.Response(200, content=content, headers={"ETag": etag})

    async with mock_api(handler) as api:
        fetcher = FleetFetcher(api, "https://cdn.example/fleet", "k1", "s1")
        await fetcher.poll()
        before = fetcher.etags
        files["/fleet/fleet.json"] = b"fleet-2"
        broken["on"] = True
        with pytest.raises(ApiStatusError):
            await fetcher.poll()
        assert fetcher.etags == before  # fleet-2 was fetched, but not remembered: the caller never saw it
        broken["on"] = False
        result = await fetcher.poll()
    assert result["fleet"] == BundleFetch("changed", b"fleet-2", strong_etag(b"fleet-2"))
    assert result["shop"].status == "unchanged" and result["kiosk"].status == "absent"
