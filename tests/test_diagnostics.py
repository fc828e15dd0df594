"""Diagnostics for staff (issue 8): every check against the real reference server on loopback and the
simulated terminal, and each one under failure (central API down or hanging, old unsent orders, an
old catalog, a full disk, a check that hangs or raises). The pcscd side: tests/test_diagnostics_pcsc.py."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.embedded import start_server
from central.seed import DEMO_KIOSK_ID, DEMO_KIOSK_TOKEN, DEMO_STORE_ID
from kiosk.api import CentralApi
from kiosk.config import load_settings
from kiosk.contract import CardSummary, Fulfilment
from kiosk.diagnostics import CHECK_NAMES, RESTART_EXIT_CODE, Check, CheckStatus, ConfigOrigin, Diagnostics
from kiosk.diagnostics import limits
from kiosk.hardware import open_terminal
from kiosk.hardware.virtual_card import PROFILES
from kiosk.journal import Journal, JournalEntry, JournalLine, OrderState
from kiosk.services import KioskServices
from support.central_server import TEST_CATALOG_ARTICLES, new_id, payment_request
from support.orders import stock_up
from support.ui import ROOT

OK, WARNING, FAILED = CheckStatus.ok, CheckStatus.warning, CheckStatus.failed
Usage = namedtuple("Usage", "total used free")
MB = 1024 * 1024


def write_config(tmp_path: Path, base_url: str, **extra: str) -> Path:
    path = tmp_path / "kiosk.toml"
    payment = "".join(f'{key} = "{value}"\n' for key, value in extra.items())
    path.write_text(
        f'[kiosk]\nid = "{DEMO_KIOSK_ID}"\nstore_id = "{DEMO_STORE_ID}"\n'
        f'[api]\nbase_url = "{base_url}"\ntoken = "{DEMO_KIOSK_TOKEN}"\nread_timeout_s = 5.0\n'
        f'[payment]\nterminal = "simulated"\nsimulated_delay_s = 0.0\n'
        f'public_key = "{ROOT / "config" / "payment_service_public.pem"}"\n{payment}'
        f'[catalog]\ndirectory = "{tmp_path / "catalog"}"\nimage_cache = "{tmp_path / "images"}"\n'
        f'[journal]\npath = "{tmp_path / "journal" / "journal.json"}"\n')
    return path


async def make_services(tmp_path: Path, base_url: str, *, journal_clock=None) -> KioskServices:
    settings = load_settings(write_config(tmp_path, base_url))
    api = CentralApi(base_url, DEMO_KIOSK_TOKEN, retries=0, backoff_base=0.001, backoff_max=0.01)
    terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path,
                             simulated_delay_s=0)
    services = KioskServices(settings, api, terminal)
    if journal_clock is not None:  # the journal stamps entries with this clock ("an order from 30 min ago")
        services.journal = Journal(settings.journal_path, clock=journal_clock)
        services.outbox._journal = services.journal
    await services.open_journal()
    return services


@pytest.fixture
async def services(tmp_path, central_server):
    services = await make_services(tmp_path, central_server.base_url)
    yield services
    await services.aclose()


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


# --- everything up -------------------------------------------------------------------------------


async def test_every_check_is_ok_against_the_reference_server_and_the_simulated_terminal(services):
    assert await services.sync_once()
    checks = await Diagnostics(services).run_all()
    assert [c.name for c in checks] == list(CHECK_NAMES)
    assert [c.status for c in checks] == [OK] * len(CHECK_NAMES), [(c.name, c.summary_key, c.detail) for c in checks]
    checks = by_name(checks)
    assert checks["reader"].summary_key == "diag.reader.simulated"
    assert checks["pcscd"].summary_key == "diag.pcscd.not_used"
    api = checks["central_api"]
    assert api.summary_key == "diag.central_api.ok" and api.params["url"] == services.api.base_url
    assert 0 < api.params["latency_ms"] < limits.CENTRAL_API_SLOW_MS and abs(api.params["clock_skew_s"]) < 5
    journal = checks["journal"]
    assert journal.summary_key == "diag.journal.ok" and journal.params["depth"] == 0
    assert journal.params["oldest_unsent_age_s"] is None and journal.params["oldest_unsent_reference"] is None
    assert journal.params["pending_adjustments"] in (0, None)  # None: a journal without stock adjustments
    catalog = checks["catalog"]
    assert catalog.summary_key == "diag.catalog.ok" and catalog.params["products"] == TEST_CATALOG_ARTICLES
    assert catalog.params["age_s"] < 60 and catalog.params["size_bytes"] > 10_000
    assert catalog.params["sync_interval_s"] == services.settings.catalog.sync_interval_s
    config = checks["config"]
    assert config.summary_key == "diag.config.local"
    assert config.params["version"] == "local" and config.params["source"] == str(services.settings.source)
    assert config.params["fleet_version"] is None and config.params["kiosk_id"] == DEMO_KIOSK_ID
    disk = checks["disk"]
    assert disk.summary_key == "diag.disk.ok" and disk.params["free_bytes"] > limits.DISK_WARNING_FREE_BYTES
    for check in checks.values():  # plain data the UI and the log can carry
        assert Check.model_validate_json(check.model_dump_json()) == check
        assert check.measured_at.tzinfo is not None


# --- the central API down ------------------------------------------------------------------------


async def test_central_api_stopped_fails_fast_with_the_reason_and_the_others_still_answer(tmp_path):
    server = start_server(tmp_path / "central.sqlite", seed_articles=20)
    services = await make_services(tmp_path, server.base_url)
    try:
        assert await services.sync_once()
        server.stop()
        diagnostics = Diagnostics(services)
        started = time.monotonic()
        checks = by_name(await diagnostics.run_all())
        assert time.monotonic() - started < limits.CENTRAL_API_TIMEOUT_S
        api = checks["central_api"]
        assert (api.status, api.summary_key) == (FAILED, "diag.central_api.unreachable"), api
        assert api.params == {"url": server.base_url} and "connect" in api.detail.lower()
        assert checks["catalog"].status is OK and checks["catalog"].params["products"] == 20  # the copy stays
        assert checks["journal"].status is OK and checks["disk"].status is OK
    finally:
        await services.aclose()
        server.stop()


async def test_central_api_on_an_unused_port_fails_at_once(tmp_path):
    services = await make_services(tmp_path, f"http://127.0.0.1:{unused_port()}")
    try:
        check = await Diagnostics(services).check_central_api()
        assert (check.status, check.summary_key) == (FAILED, "diag.central_api.unreachable")
        assert check.duration_ms < 2000
    finally:
        await services.aclose()


async def test_a_central_api_that_never_answers_fails_within_the_checks_time_limit(tmp_path):
    # Accepts connections (the kernel's backlog) but never answers: a hung server or proxy.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    services = await make_services(tmp_path, f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        started = time.monotonic()
        check = await Diagnostics(services, timeouts={"central_api": 0.5}).check_central_api()
        elapsed = time.monotonic() - started
        assert (check.status, check.summary_key) == (FAILED, "diag.central_api.timeout"), check
        assert check.params["timeout_s"] == 0.5
        assert 0.4 < elapsed < 2.0
    finally:
        await services.aclose()
        listener.close()


# --- journal -------------------------------------------------------------------------------------


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def paid_entry(order_id: str, reference: str, lines: list[tuple[str, int, int]]) -> JournalEntry:
    return JournalEntry(
        order_id=order_id, reference=reference, kiosk_id=DEMO_KIOSK_ID, store_id=DEMO_STORE_ID,
        lines=[JournalLine(sku=sku, name="Artikel", quantity=qty, unit_price_cents=price) for sku, qty, price in lines],
        total_cents=sum(q * p for _, q, p in lines), fulfilment=Fulfilment(type="take_now", store_id=DEMO_STORE_ID))


async def journal_paid_order(journal: Journal, order_id: str, lines, payment_id: str, *,
                             next_attempt_at: datetime | None = None, reference: str = "ABCD2345") -> None:
    """An order paid at the pillar whose delivery to the central API has been tried and is waiting
    for its next attempt (as the outbox leaves it while the API is down)."""
    await journal.create(paid_entry(order_id, reference, lines))
    await journal.advance(order_id, OrderState.awaiting_payment)
    await journal.advance(order_id, OrderState.authorising, payment_id=payment_id,
                          card_summary=CardSummary(scheme="Visa", masked_pan="476173******0010"))
    await journal.advance(order_id, OrderState.paid)
    await journal.advance(order_id, OrderState.submitting, note="ApiConnectionError", next_attempt_at=next_attempt_at)


async def test_journal_depth_and_the_oldest_unsent_order(tmp_path, central_server):
    now = datetime.now(UTC)
    clock = Clock(now - timedelta(minutes=30))
    services = await make_services(tmp_path, central_server.base_url, journal_clock=clock)
    try:
        diagnostics = Diagnostics(services)
        check = await diagnostics.check_journal()
        assert (check.status, check.summary_key, check.params["depth"]) == (OK, "diag.journal.ok", 0)

        await journal_paid_order(services.journal, "kiosk-01.ORDER1", [("SKU-1", 1, 499)], "pay-1",
                                 reference="ABCD2345")
        clock.at = now - timedelta(minutes=2)
        await services.journal.create(paid_entry("kiosk-01.ORDER2", "ABCD2346", [("SKU-1", 1, 499)]))
        check = await diagnostics.check_journal()
        assert (check.status, check.summary_key) == (WARNING, "diag.journal.backlog"), check
        assert check.params["depth"] == 2
        assert check.params["oldest_unsent_reference"] == "ABCD2345"
        assert check.params["oldest_unsent_state"] == "submitting"
        assert 29 * 60 <= check.params["oldest_unsent_age_s"] <= 31 * 60
        assert "kiosk-01.ORDER1" in check.detail and "ApiConnectionError" in check.detail

        later = Diagnostics(services, clock=lambda: now + timedelta(hours=1))
        stuck = await later.check_journal()
        assert (stuck.status, stuck.summary_key) == (FAILED, "diag.journal.stuck")

        # Stock adjustments kept in the journal (a parallel change adds `pending_adjustments()`).
        services.journal.pending_adjustments = lambda: ["adjustment-1", "adjustment-2", "adjustment-3"]
        assert (await diagnostics.check_journal()).params["pending_adjustments"] == 3
    finally:
        await services.aclose()


async def test_stock_adjustments_undelivered_for_long_are_a_warning_only(services):
    now = datetime.now(UTC)
    services.journal.pending_adjustments = lambda: ["adjustment-1", "adjustment-2"]
    services.journal.oldest_pending_adjustment_at = lambda: now - timedelta(hours=3)
    check = await Diagnostics(services, clock=lambda: now).check_journal()
    assert (check.status, check.summary_key) == (WARNING, "diag.journal.adjustments_backlog"), check
    assert check.params["pending_adjustments"] == 2 and check.params["oldest_adjustment_age_s"] == 3 * 3600
    assert check.params["depth"] == 0


# --- catalog -------------------------------------------------------------------------------------


async def test_catalog_missing_fresh_stale_and_outdated(services):
    diagnostics = Diagnostics(services)
    missing = await diagnostics.check_catalog()
    assert (missing.status, missing.summary_key) == (FAILED, "diag.catalog.missing")
    assert missing.params["products"] == 0 and missing.params["directory"] == str(services.settings.catalog_dir)

    assert await services.sync_once()
    fresh = await diagnostics.check_catalog()
    assert (fresh.status, fresh.summary_key) == (OK, "diag.catalog.ok")
    interval = services.settings.catalog.sync_interval_s
    synced_at = datetime.fromisoformat(fresh.params["synced_at"])

    def at(age_s: float) -> Diagnostics:
        return Diagnostics(services, clock=lambda: synced_at + timedelta(seconds=age_s))

    assert (await at(1.9 * interval).check_catalog()).status is OK
    stale = await at(2.5 * interval).check_catalog()
    assert (stale.status, stale.summary_key) == (WARNING, "diag.catalog.stale")
    assert stale.params["age_s"] == 2.5 * interval and stale.params["products"] == TEST_CATALOG_ARTICLES
    outdated = await at(limits.CATALOG_OUTDATED_S + 60).check_catalog()
    assert (outdated.status, outdated.summary_key) == (FAILED, "diag.catalog.outdated")


async def test_sync_now_reports_progress_page_by_page_to_the_end(services):
    services.catalog_sync.page_size = 50
    seen = []
    check = await Diagnostics(services).sync_catalog_now(seen.append)
    assert (check.status, check.summary_key) == (OK, "diag.catalog_sync.done"), check
    pages = -(-TEST_CATALOG_ARTICLES // 50)
    assert [p.pages for p in seen] == list(range(1, pages + 1))
    assert [p.done for p in seen] == [min(50 * n, TEST_CATALOG_ARTICLES) for n in range(1, pages + 1)]
    assert seen[-1].done == seen[-1].total == TEST_CATALOG_ARTICLES and seen[-1].kind == "full"
    assert check.params["products"] == TEST_CATALOG_ARTICLES and check.params["pages"] == pages
    assert check.params["received"] == TEST_CATALOG_ARTICLES and check.params["kind"] == "full"
    assert services.catalog.product_count == TEST_CATALOG_ARTICLES and services.status.online
    assert services.catalog_sync.progress_listeners == []  # nothing left behind

    seen.clear()
    again = await Diagnostics(services).sync_catalog_now(seen.append)
    assert again.status is OK and again.params["kind"] == "delta" and seen[-1].done == seen[-1].total


async def test_sync_now_during_a_background_sync_follows_it_instead_of_failing_on_its_lock(services):
    services.catalog_sync.page_size = 20
    background = asyncio.ensure_future(services.sync_once())
    for _ in range(2000):
        if services.status.syncing:
            break
        await asyncio.sleep(0.001)
    assert services.status.syncing, "the background sync did not start"
    seen = []
    check = await Diagnostics(services).sync_catalog_now(seen.append)
    assert await background
    assert (check.status, check.summary_key) == (OK, "diag.catalog_sync.done"), check
    assert check.detail.startswith("followed the background sync")
    assert check.params["products"] == TEST_CATALOG_ARTICLES and seen[-1].done == TEST_CATALOG_ARTICLES
    assert services.status.online and services.status.last_error is None


async def test_sync_now_with_the_central_api_down_fails_and_keeps_the_copy(tmp_path):
    server = start_server(tmp_path / "central.sqlite", seed_articles=20)
    services = await make_services(tmp_path, server.base_url)
    try:
        assert await services.sync_once()
        server.stop()
        check = await Diagnostics(services).sync_catalog_now()
        assert (check.status, check.summary_key) == (FAILED, "diag.catalog_sync.failed"), check
        assert check.params["products"] == 20 and "sync failed" in check.detail
    finally:
        await services.aclose()
        server.stop()


# --- send now ------------------------------------------------------------------------------------


@pytest.fixture
def own_server(tmp_path):
    server = start_server(tmp_path / "central.sqlite", seed_articles=20)
    stock_up(server.db_path)
    yield server
    server.stop()


async def paid_on_the_server(api: CentralApi, services: KioskServices) -> tuple[str, list, str]:
    """An order id, its lines and an approved payment for it on the central API (not yet placed)."""
    page = await api.catalog_page(limit=2)
    lines = [(p.variants[0].sku, 1, p.variants[0].price_cents) for p in page.items]
    order_id = new_id("order")
    payment = await api.authorise_payment(payment_request(order_id, sum(q * p for _, q, p in lines)))
    assert payment.status.value == "approved"
    return order_id, lines, payment.payment_id


async def test_send_now_delivers_an_order_waiting_for_its_next_attempt(tmp_path, own_server):
    services = await make_services(tmp_path, own_server.base_url)
    try:
        diagnostics = Diagnostics(services)
        nothing = await diagnostics.send_now()
        assert (nothing.status, nothing.summary_key, nothing.params["tried"]) == (OK, "diag.send_now.nothing", 0)

        order_id, lines, payment_id = await paid_on_the_server(services.api, services)
        await journal_paid_order(services.journal, order_id, lines, payment_id,
                                 next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
        assert await services.outbox.drain_once() == 0, "backing off: the outbox would wait an hour"
        assert services.journal.get(order_id).state is OrderState.submitting

        check = await diagnostics.send_now(timeout_s=10)
        assert (check.status, check.summary_key) == (OK, "diag.send_now.done"), check
        assert {k: check.params[k] for k in ("tried", "acknowledged", "settled", "remaining", "last_error")} == {
            "tried": 1, "acknowledged": 1, "settled": 1, "remaining": 0, "last_error": None}
        entry = services.journal.get(order_id)
        assert entry.state is OrderState.acknowledged and entry.order_number
        placed = await services.api.get_order(order_id)
        assert placed.order_number == entry.order_number
    finally:
        await services.aclose()


async def test_send_now_with_the_central_api_down_says_nothing_went_and_why(tmp_path, own_server):
    services = await make_services(tmp_path, own_server.base_url)
    try:
        order_id, lines, payment_id = await paid_on_the_server(services.api, services)
        await journal_paid_order(services.journal, order_id, lines, payment_id,
                                 next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
        own_server.stop()
        check = await Diagnostics(services).send_now(timeout_s=5)
        assert (check.status, check.summary_key) == (FAILED, "diag.send_now.failed"), check
        assert check.params["tried"] == 1 and check.params["remaining"] == 1
        assert check.params["last_error"] == "ApiConnectionError"
        entry = services.journal.get(order_id)
        assert entry.state is OrderState.submitting and entry.attempts == 1  # tried once more, now
    finally:
        await services.aclose()


# --- configuration -------------------------------------------------------------------------------


async def test_config_reports_local_version_and_its_file_and_is_ready_for_fleet_bundles(services):
    local = await Diagnostics(services).check_config()
    assert (local.status, local.summary_key) == (OK, "diag.config.local")
    assert local.params["source"] == str(services.settings.source) and local.params["fleet_source"] is None

    fleet = ConfigOrigin(version="7", source=str(services.settings.source), fleet_version=7,
                         fleet_source="https://fleet.example/kiosk-01.json")
    check = await Diagnostics(services, config_origin=lambda: fleet).check_config()
    assert (check.status, check.summary_key) == (OK, "diag.config.fleet")
    assert check.params["fleet_version"] == 7 and check.params["version"] == "7"

    defaults = await Diagnostics(services, config_origin=lambda: ConfigOrigin.local(None)).check_config()
    assert (defaults.status, defaults.summary_key) == (WARNING, "diag.config.defaults")

    services.settings.source.unlink()
    gone = await Diagnostics(services).check_config()
    assert (gone.status, gone.summary_key) == (WARNING, "diag.config.source_missing")


# --- disk, and checks that hang or raise ---------------------------------------------------------


@pytest.mark.parametrize("free_mb, status, key", [
    (501, OK, "diag.disk.ok"),
    (499, WARNING, "diag.disk.low"),
    (101, WARNING, "diag.disk.low"),
    (99, FAILED, "diag.disk.critical"),
])
async def test_disk_thresholds(services, free_mb, status, key):
    asked = []

    def usage(path: str) -> Usage:
        asked.append(path)
        return Usage(64_000 * MB, 64_000 * MB - free_mb * MB, free_mb * MB)

    check = await Diagnostics(services, disk_usage=usage).check_disk()
    assert (check.status, check.summary_key) == (status, key)
    assert check.params["free_bytes"] == free_mb * MB and check.params["free_mb"] == free_mb
    assert check.params["total_bytes"] == 64_000 * MB
    assert check.params["path"] in {str(p) for p in (services.settings.journal_path.parent,
                                                     services.settings.catalog_dir, services.settings.image_cache_dir)}
    assert asked, "the injected function is used"


async def test_a_hanging_check_fails_within_its_time_limit_and_is_not_piled_up(services):
    release = threading.Event()

    def hanging_usage(path: str) -> Usage:
        release.wait(10)
        return Usage(1, 0, 1)

    diagnostics = Diagnostics(services, disk_usage=hanging_usage, timeouts={"disk": 0.3})
    try:
        started = time.monotonic()
        first = await diagnostics.check_disk()
        assert time.monotonic() - started < 1.5
        assert (first.status, first.summary_key, first.params) == (FAILED, "diag.timeout", {"timeout_s": 0.3})
        second = await diagnostics.check_disk()  # the first still hangs: no second thread
        assert (second.status, second.summary_key) == (FAILED, "diag.hung")
        others = by_name(await diagnostics.run_all())
        assert others["journal"].status is OK and others["disk"].status is FAILED
    finally:
        release.set()
    for _ in range(100):
        await asyncio.sleep(0.02)
        if not diagnostics._blocking.busy("disk"):
            break
    assert (await diagnostics.check_disk()).summary_key == "diag.disk.critical"  # 1 byte free


async def test_a_check_that_raises_is_a_failed_check_with_the_error_and_never_shows_a_card_number(services):
    pan = PROFILES["visa"].pan

    def broken_usage(path: str) -> Usage:
        raise OSError(f"I/O error near {pan}")

    check = await Diagnostics(services, disk_usage=broken_usage).check_disk()
    assert (check.status, check.summary_key, check.params) == (FAILED, "diag.error", {"error": "OSError"})
    assert "I/O error" in check.detail and pan not in check.detail and "[card number removed]" in check.detail


# --- the card reader with the simulated terminal, restart ----------------------------------------


async def test_test_read_on_the_simulated_terminal_shows_the_masked_number_only(services):
    check = await Diagnostics(services).test_read_card(timeout_s=5)
    assert (check.status, check.summary_key) == (OK, "diag.card_read.ok"), check
    assert re.fullmatch(r"\d{6}\*+\d{4}", check.params["masked_pan"])
    assert PROFILES["visa"].pan not in check.model_dump_json()


async def test_restart_request_sets_the_flag_and_the_exit_code_the_unit_restarts_on(services):
    diagnostics = Diagnostics(services)
    assert not diagnostics.restart_requested and diagnostics.exit_code is None
    heard = []
    diagnostics.on_restart_requested(heard.append)
    waiter = asyncio.ensure_future(diagnostics.wait_for_restart())
    await asyncio.sleep(0)
    diagnostics.request_restart("staff: after a reader swap")
    assert await asyncio.wait_for(waiter, 1) == "staff: after a reader swap"
    assert heard == ["staff: after a reader swap"]
    assert diagnostics.restart_requested and diagnostics.exit_code == RESTART_EXIT_CODE == 75

    unit = (ROOT / "deploy" / "kiosk.service").read_text()
    assert re.search(rf"^RestartForceExitStatus=.*\b{RESTART_EXIT_CODE}\b", unit, re.M)
    assert re.search(rf"^SuccessExitStatus=.*\b{RESTART_EXIT_CODE}\b", unit, re.M)
