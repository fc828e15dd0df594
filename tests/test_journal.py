"""The order journal: life cycle, persistence, recovery of a damaged file, privacy, compaction."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

import kiosk.journal.storage as storage_mod
from kiosk.contract import CardSummary, Fulfilment, PaymentRequest
from kiosk.contract.sealing import CardDataPayload, load_public_key, seal
from kiosk.journal import (
    TRANSITIONS,
    Customer,
    DuplicateOrder,
    IllegalTransition,
    Journal,
    JournalEntry,
    JournalError,
    JournalLine,
    JournalLocked,
    JournalWriteError,
    OrderState,
    UnknownOrder,
    looks_like_pan,
)
from kiosk.journal.storage import SafeJSONStorage, decode, encode

S = OrderState
ROOT = Path(__file__).resolve().parent.parent
EMAIL = "jdevries.shopper@example.nl"
PAN = "4761739001010010"  # a Visa test card number (passes Luhn)
MASKED = "476173******0010"
CARD = CardSummary(scheme="Visa", masked_pan=MASKED, expiry_month="2029-12")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class Clock:
    def __init__(self, at: datetime = datetime(2026, 11, 23, 12, 15, 0, tzinfo=timezone.utc)) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw) -> None:
        self.at += timedelta(**kw)


def ref(i: int) -> str:
    return "".join(_ALPHABET[(i >> (5 * n)) % 32] for n in reversed(range(8)))


def entry(i: int = 1, **kw) -> JournalEntry:
    return JournalEntry(
        order_id=f"kiosk-01.{ref(i)}", reference=ref(i), kiosk_id="kiosk-01", store_id="utrecht-centrum",
        lines=[JournalLine(sku="SKU-1", name="Fietsbel", variant_label="Zwart", quantity=2, unit_price_cents=499)],
        total_cents=998, fulfilment=Fulfilment(type="pickup", store_id="utrecht-centrum"), **kw)


# How to bring an order to each state, and what each step needs.
STEP_CHANGES = {
    S.awaiting_payment: {},
    S.authorising: {"payment_id": "pay-1", "card_summary": CARD},
    S.paid: {},
    S.submitting: {},
    S.acknowledged: {"order_number": "A0001"},
    S.voided: {},
    S.refunded: {},
    S.failed: {"failure_reason": "cancelled"},
}
PATHS = {
    S.created: [],
    S.awaiting_payment: [S.awaiting_payment],
    S.authorising: [S.awaiting_payment, S.authorising],
    S.paid: [S.awaiting_payment, S.authorising, S.paid],
    S.submitting: [S.awaiting_payment, S.authorising, S.paid, S.submitting],
    S.acknowledged: [S.awaiting_payment, S.authorising, S.paid, S.submitting, S.acknowledged],
    S.voided: [S.awaiting_payment, S.authorising, S.voided],
    S.refunded: [S.awaiting_payment, S.authorising, S.paid, S.submitting, S.refunded],
    S.failed: [S.failed],
}


async def drive(journal: Journal, order_id: str, states: list[OrderState]) -> JournalEntry:
    result = journal.get(order_id)
    for state in states:
        result = await journal.advance(order_id, state, **STEP_CHANGES[state])
    return result


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def journal(tmp_path, clock):
    j = Journal(tmp_path / "journal.json", clock=clock)
    await j.open()
    yield j
    j.close()


def all_file_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.endswith(".lock"))


async def reopen(journal: Journal, clock=None) -> tuple[Journal, list]:
    journal.close()
    again = Journal(journal.path, clock=clock or (lambda: datetime.now(timezone.utc)))
    alerts = await again.open()
    return again, alerts


# --- life cycle ---------------------------------------------------------------------------------


async def test_happy_path_life_cycle(journal):
    e = await journal.create(entry(customer=Customer(name="J. de Vries", email=EMAIL)))
    assert e.state is S.created and journal.depth() == 1
    for state in PATHS[S.acknowledged]:
        e = await journal.advance(e.order_id, state, note=f"to {state.value}", **STEP_CHANGES[state])
    assert e.state is S.acknowledged and e.order_number == "A0001" and e.payment_id == "pay-1"
    assert [h.state for h in e.history] == [S.created, *PATHS[S.acknowledged]]
    assert e.customer is None  # scrubbed in the same write
    assert journal.unfinished() == [] and journal.depth() == 0
    assert journal.get(e.order_id) == e


ILLEGAL = [(old, new) for old in S for new in S if new not in TRANSITIONS[old]]
LEGAL = [(old, new) for old in S for new in S if new in TRANSITIONS[old]]  # in a fixed order (xdist workers compare)


@pytest.mark.parametrize(("old", "new"), ILLEGAL, ids=[f"{o.value}->{n.value}" for o, n in ILLEGAL])
async def test_every_illegal_transition_is_refused(journal, old, new):
    e = await journal.create(entry())
    e = await drive(journal, e.order_id, PATHS[old])
    before = journal.path.read_bytes()
    with pytest.raises(IllegalTransition):
        await journal.advance(e.order_id, new, **STEP_CHANGES.get(new, {}))
    assert journal.get(e.order_id) == e
    assert journal.path.read_bytes() == before  # nothing written


@pytest.mark.parametrize(("old", "new"), LEGAL, ids=[f"{o.value}->{n.value}" for o, n in LEGAL])
async def test_every_legal_transition_is_written(journal, old, new):
    e = await journal.create(entry())
    e = await drive(journal, e.order_id, PATHS[old])
    changes = {} if new is old else STEP_CHANGES.get(new, {})
    moved = await journal.advance(e.order_id, new, **changes)
    assert moved.state is new and moved.history[-1].state is new
    again, _ = await reopen(journal)
    assert again.get(e.order_id) == moved
    again.close()


def test_final_states_have_no_way_out():
    assert {s for s in S if not TRANSITIONS[s]} == {S.acknowledged, S.voided, S.refunded, S.failed}
    assert all(s.is_final == (not TRANSITIONS[s]) for s in S)


async def test_declined_card_goes_back_to_awaiting_payment_with_a_new_attempt(journal):
    e = await journal.create(entry())
    await drive(journal, e.order_id, PATHS[S.authorising])
    e = await journal.advance(e.order_id, S.awaiting_payment, note="declined:insufficient_funds")
    e = await journal.advance(e.order_id, S.authorising, payment_id="pay-2")
    e = await journal.advance(e.order_id, S.authorising, note="status_unknown")  # inquiry not settled yet
    assert e.attempts == 1 and e.payment_id == "pay-2"
    e = await journal.advance(e.order_id, S.paid)
    assert e.attempts == 0


async def test_duplicate_unknown_and_protected(journal):
    e = await journal.create(entry())
    with pytest.raises(DuplicateOrder):
        await journal.create(entry())
    with pytest.raises(UnknownOrder):
        await journal.advance("kiosk-01.NOPE0000", S.awaiting_payment)
    with pytest.raises(JournalError):
        await journal.advance(e.order_id, S.awaiting_payment, order_id="kiosk-01.OTHER000")
    with pytest.raises(JournalError):
        await journal.create(entry(2, state=S.paid, payment_id="pay-9"))
    with pytest.raises(ValidationError):  # failed needs a reason
        await journal.advance(e.order_id, S.failed)
    with pytest.raises(ValidationError):  # unknown field
        await journal.advance(e.order_id, S.awaiting_payment, pan=PAN)
    assert journal.get(e.order_id) == e


def test_model_rules():
    with pytest.raises(ValidationError):
        entry(state=S.acknowledged, payment_id="pay-1")  # no order number
    with pytest.raises(ValidationError):
        entry(state=S.acknowledged, payment_id="pay-1", order_number="A1", customer=Customer(email=EMAIL))
    with pytest.raises(ValidationError):
        entry(state=S.paid)  # no payment id
    with pytest.raises(ValidationError):
        JournalEntry.model_validate({**entry().model_dump(), "reference": "ABCI0000"})  # not Crockford base32


async def test_persists_across_reopen(journal):
    a = await journal.create(entry(1))
    b = await journal.create(entry(2, customer=Customer(email=EMAIL)))
    await drive(journal, a.order_id, PATHS[S.submitting])
    await drive(journal, b.order_id, PATHS[S.failed])
    expected = journal.entries()
    again, alerts = await reopen(journal)
    assert alerts == []
    assert again.entries() == expected
    assert [e.order_id for e in again.unfinished()] == [a.order_id]
    again.close()


async def test_second_process_cannot_open_the_same_journal(journal):
    other = Journal(journal.path)
    with pytest.raises(JournalLocked):
        await other.open()


async def test_incremental_serialisation_matches_a_full_one(journal):
    for i in range(5):
        await journal.create(entry(i))
    await drive(journal, entry(2).order_id, PATHS[S.acknowledged])
    await journal.advance(entry(3).order_id, S.failed, failure_reason="cancelled")
    raw = journal.path.read_bytes()
    generation, data = decode(raw)
    assert raw == encode(data, generation)


# --- concurrency --------------------------------------------------------------------------------


async def test_concurrent_writes_are_serialised_without_lost_updates(journal):
    created = await asyncio.gather(*(journal.create(entry(i)) for i in range(20)))
    hot = created[0].order_id
    await drive(journal, hot, PATHS[S.submitting])
    await asyncio.gather(
        *(journal.advance(hot, S.submitting, note=f"retry {n}") for n in range(25)),
        *(journal.advance(e.order_id, S.awaiting_payment) for e in created[1:]),
    )
    assert journal.get(hot).attempts == 25
    assert sum(1 for h in journal.get(hot).history if h.note and h.note.startswith("retry")) == 25
    again, _ = await reopen(journal)
    assert again.get(hot).attempts == 25
    assert {e.state for e in again.entries()[1:]} == {S.awaiting_payment}
    assert len(again.entries()) == 20
    again.close()


async def test_a_failed_write_changes_nothing_and_the_next_one_works(journal, monkeypatch):
    e = await journal.create(entry())
    real_fsync = os.fsync

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage_mod.os, "fsync", full_disk)
    with pytest.raises(JournalWriteError):
        await journal.advance(e.order_id, S.awaiting_payment)
    assert journal.get(e.order_id).state is S.created
    assert journal.alerts[-1].kind == "journal_write_failed"
    monkeypatch.setattr(storage_mod.os, "fsync", real_fsync)
    moved = await journal.advance(e.order_id, S.awaiting_payment)
    again, alerts = await reopen(journal)
    assert alerts == [] and again.get(e.order_id) == moved
    again.close()


# --- damaged files ------------------------------------------------------------------------------


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _garbage(raw: bytes) -> bytes:
    return b"\x00\x17garbage\xff" * 20


def _wrong_shape(raw: bytes) -> bytes:
    return json.dumps({"format": "kiosk-journal", "version": 1, "generation": 9, "sha256": "0",
                       "data": {"orders": ["not", "a", "table"]}}).encode()


def _bit_rot(raw: bytes) -> bytes:  # still valid JSON, caught by the checksum
    return raw.replace(b'"Fietsbel"', b'"Fietsbal"', 1)


def _invalid_entry(raw: bytes) -> bytes:  # checksum right, but an entry breaks the model
    generation, data = decode(raw)
    doc = next(iter(data["orders"].values()))
    doc["card_summary"] = {"scheme": "Visa", "masked_pan": PAN}
    return encode(data, generation)


def _empty(raw: bytes) -> bytes:
    return b""


DAMAGE = {"truncated": _truncate, "garbage": _garbage, "wrong_shape": _wrong_shape, "bit_rot": _bit_rot,
          "invalid_entry": _invalid_entry, "empty": _empty}


@pytest.mark.parametrize("damage", DAMAGE)
async def test_damaged_journal_is_set_aside_and_prev_used(journal, clock, damage):
    kept = await journal.create(entry(1))
    kept = await drive(journal, kept.order_id, PATHS[S.submitting])
    newest = await journal.create(entry(2))  # the last write: in the current file only
    journal.close()
    raw = journal.path.read_bytes()
    journal.path.write_bytes(DAMAGE[damage](raw))

    again = Journal(journal.path, clock=clock)
    alerts = await again.open()
    aside = journal.path.with_name("journal.json.corrupt-20261123T121500Z")
    assert aside.exists() and aside.read_bytes() == DAMAGE[damage](raw)
    recovered = [a for a in alerts if a.kind == "journal_recovered"]
    assert len(recovered) == 1 and str(aside) in recovered[0].message
    assert again.get(kept.order_id) == kept  # the previous generation
    assert again.get(newest.order_id) is None
    if damage in ("bit_rot", "invalid_entry"):  # order ids still readable in the damaged file
        lost = [a for a in alerts if a.kind == "order_possibly_lost"]
        assert [a.order_id for a in lost] == [newest.order_id]
    # The journal is whole again and keeps working.
    await again.advance(kept.order_id, S.acknowledged, order_number="A1")
    third, alerts3 = await reopen(again)
    assert alerts3 == [] and third.get(kept.order_id).state is S.acknowledged
    third.close()


async def test_crash_between_the_two_renames_recovers_the_newest_state(journal, monkeypatch):
    e = await journal.create(entry())
    await journal.advance(e.order_id, S.awaiting_payment)

    class Killed(BaseException):
        pass

    real_replace = os.replace
    calls = []

    def replace_then_die(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise Killed  # the process dies after current -> .prev, before .tmp -> current
        real_replace(src, dst)

    monkeypatch.setattr(storage_mod.os, "replace", replace_then_die)
    with pytest.raises(Killed):
        await journal.advance(e.order_id, S.authorising, payment_id="pay-1", card_summary=CARD)
    monkeypatch.setattr(storage_mod.os, "replace", real_replace)
    folder = journal.path.parent
    assert not journal.path.exists()
    assert journal.path.with_name("journal.json.tmp").exists()

    again, alerts = await reopen(journal)
    assert alerts == []  # an ordinary crash, nothing lost: no need to bother staff
    assert again.get(e.order_id).state is S.authorising  # the write was complete on disk: newest state
    assert sorted(p.name for p in folder.iterdir()) == ["journal.json", "journal.json.lock", "journal.json.prev"]
    again.close()


async def test_crash_layout_left_by_hand_recovers_the_newest_good_state(tmp_path):
    """Files exactly as a crash between the renames leaves them: .prev (gen 1), .tmp (gen 2), no current."""
    path = tmp_path / "journal.json"
    older = entry(1).model_dump(mode="json")
    newer = {**older, "state": "awaiting_payment"}
    path.with_name("journal.json.prev").write_bytes(encode({"orders": {older["order_id"]: older}}, 1))
    path.with_name("journal.json.tmp").write_bytes(encode({"orders": {newer["order_id"]: newer}}, 2))
    j = Journal(path)
    assert await j.open() == []
    assert j.get(older["order_id"]).state is S.awaiting_payment
    assert decode(path.read_bytes())[0] == 3 and not path.with_name("journal.json.tmp").exists()
    j.close()


async def test_crash_while_writing_the_temp_file_keeps_the_current_file(journal):
    e = await journal.create(entry())
    journal.close()
    journal.path.with_name("journal.json.tmp").write_bytes(journal.path.read_bytes()[:100])  # torn temp file
    again = Journal(journal.path)
    assert await again.open() == []
    assert again.get(e.order_id) == e
    assert not journal.path.with_name("journal.json.tmp").exists()
    again.close()


async def test_nothing_good_left_starts_empty_with_a_loud_alert(tmp_path, clock):
    path = tmp_path / "journal.json"
    j = Journal(path, clock=clock)
    await j.open()
    await j.create(entry(1))
    await j.create(entry(2))
    j.close()
    path.write_bytes(b'{"format":"kiosk-journal","vers')
    path.with_name("journal.json.prev").write_bytes(b"\x00" * 50)
    seen, threads = [], []

    def on_alert(alert):
        seen.append(alert)
        threads.append(threading.current_thread())

    again = Journal(path, clock=clock, on_alert=on_alert)
    alerts = await again.open()
    assert threads == [threading.main_thread()]  # reported on the loop, not from the worker thread
    assert again.entries() == [] and again.depth() == 0
    lost = [a for a in alerts if a.kind == "journal_unrecoverable"]
    assert len(lost) == 1 and seen[0] == lost[0]
    aside = tmp_path / "journal.json.corrupt-20261123T121500Z"
    prev_aside = tmp_path / "journal.json.prev.corrupt-20261123T121500Z"
    assert aside.exists() and prev_aside.exists()
    assert "EMPTY" in lost[0].message and str(aside) in lost[0].message and str(prev_aside) in lost[0].message
    # Both damaged files are kept: new writes never overwrite them.
    await again.create(entry(3))
    await again.create(entry(4))
    assert aside.read_bytes() == b'{"format":"kiosk-journal","vers' and prev_aside.read_bytes() == b"\x00" * 50
    again.close()


async def test_two_corruptions_in_the_same_second_keep_both_files(tmp_path, clock):
    path = tmp_path / "journal.json"
    for _ in range(2):
        path.write_bytes(b"torn")
        j = Journal(path, clock=clock)
        await j.open()
        j.close()
    names = sorted(p.name for p in tmp_path.iterdir() if "corrupt" in p.name)
    assert names == ["journal.json.corrupt-20261123T121500Z", "journal.json.corrupt-20261123T121500Z-2"]


async def test_missing_current_file_falls_back_to_prev_with_an_alert(journal):
    e = await journal.create(entry(1))
    await journal.create(entry(2))
    journal.close()
    journal.path.unlink()
    again = Journal(journal.path)
    alerts = await again.open()
    assert [a.kind for a in alerts] == ["journal_recovered"]
    assert again.get(e.order_id) == e
    again.close()


# --- privacy ------------------------------------------------------------------------------------


async def test_personal_data_leaves_every_file_once_acknowledged(journal):
    e = await journal.create(entry(customer=Customer(name="Jan de Vries", email=EMAIL, address="Kerkstraat 1")))
    await drive(journal, e.order_id, PATHS[S.submitting])
    folder = journal.path.parent
    assert EMAIL.encode() in all_file_bytes(folder)  # the search below does find it when present
    done = await journal.advance(e.order_id, S.acknowledged, order_number="A7")
    assert done.customer is None
    data = all_file_bytes(folder)
    assert EMAIL.encode() not in data and b"Jan de Vries" not in data and b"Kerkstraat" not in data
    again, _ = await reopen(journal)
    assert again.get(e.order_id).customer is None
    again.close()


async def test_scrub_pii_on_request(journal):
    e = await journal.create(entry(customer=Customer(email=EMAIL)))
    await drive(journal, e.order_id, PATHS[S.voided])
    scrubbed = await journal.scrub_pii(e.order_id)
    assert scrubbed.customer is None and scrubbed.history[-1].note == "personal data removed"
    assert EMAIL.encode() not in all_file_bytes(journal.path.parent)
    assert await journal.scrub_pii(e.order_id) == scrubbed  # nothing left: no write


async def test_sealed_card_data_is_kept_only_while_authorising_and_never_the_pan(journal):
    payload = CardDataPayload(pan=PAN, expiry="291231", aid="A0000000031010", arqc="0123456789ABCDEF",
                              cid="80", atc="0001", unpredictable_number="12345678", amount_cents=998,
                              currency_code="0978", transaction_date="261123")
    sealed = seal(payload.model_dump_json().encode(), load_public_key(ROOT / "config" / "payment_service_public.pem"))
    e = await journal.create(entry())
    await journal.advance(e.order_id, S.awaiting_payment)
    request = PaymentRequest(payment_id="pay-1", order_id=e.order_id, amount_cents=998, card=sealed, card_summary=CARD)
    e = await journal.advance(e.order_id, S.authorising, payment_id="pay-1", card_summary=CARD,
                              payment_request=request)
    folder = journal.path.parent
    assert sealed.ciphertext.encode() in all_file_bytes(folder)
    assert PAN.encode() not in all_file_bytes(folder)
    e = await journal.advance(e.order_id, S.paid)
    assert e.payment_request is None
    assert sealed.ciphertext.encode() not in all_file_bytes(folder)  # not in .prev either
    with pytest.raises(ValidationError):  # a request that is not this attempt's
        await journal.advance(e.order_id, S.submitting, payment_request=request)


async def test_a_full_card_number_can_never_be_written(journal):
    with pytest.raises(ValidationError):
        CardSummary(scheme="Visa", masked_pan=PAN)
    e = await journal.create(entry())
    await journal.advance(e.order_id, S.awaiting_payment)
    with pytest.raises(ValidationError):
        await journal.advance(e.order_id, S.authorising, payment_id="pay-1",
                              card_summary={"scheme": "Visa", "masked_pan": PAN})
    with pytest.raises(ValidationError):
        await journal.advance(e.order_id, S.failed, failure_reason=f"card {PAN} refused")
    with pytest.raises(ValidationError):
        await journal.advance(e.order_id, S.failed, failure_reason="x", note="pan 4761 7390 0101 0010")
    await journal.advance(e.order_id, S.authorising, payment_id="pay-1", card_summary=CARD)
    text = all_file_bytes(journal.path.parent).decode()
    assert not looks_like_pan(text)
    for summary in re.findall(r'"masked_pan":"([^"]*)"', text):
        assert re.fullmatch(r"[0-9]{0,6}\*+[0-9]{4}", summary)


def test_pan_detector():
    assert looks_like_pan(f"x{PAN}y") and looks_like_pan("4761-7390-0101-0010")
    assert not looks_like_pan("4761739001010011")  # Luhn fails
    assert not looks_like_pan("2026-11-23T12:15:00Z total 998 order A00012345")


# --- compaction ---------------------------------------------------------------------------------


async def test_compaction_drops_old_final_entries_and_keeps_unfinished_ones(journal, clock):
    old_unfinished = await journal.create(entry(1))
    await drive(journal, old_unfinished.order_id, PATHS[S.submitting])
    finals = {}
    for i, state in enumerate([S.acknowledged, S.voided, S.refunded, S.failed], start=10):
        e = await journal.create(entry(i, customer=Customer(email=f"old{i}@example.nl")))
        finals[state] = await drive(journal, e.order_id, PATHS[state])
    clock.advance(days=40)
    recent = await journal.create(entry(2))
    recent = await drive(journal, recent.order_id, PATHS[S.acknowledged])

    removed = await journal.compact(timedelta(days=30))
    assert removed == 4
    assert {e.order_id for e in journal.entries()} == {old_unfinished.order_id, recent.order_id}
    data = all_file_bytes(journal.path.parent)
    assert not any(e.order_id.encode() in data for e in finals.values())  # gone from .prev too
    assert await journal.compact(timedelta(days=30)) == 0
    again, _ = await reopen(journal)
    assert {e.order_id for e in again.entries()} == {old_unfinished.order_id, recent.order_id}
    assert again.depth() == 1
    # Unfinished entries stay however old they get.
    assert await again.compact(timedelta(0), now=datetime.now(timezone.utc) + timedelta(days=3650)) == 1
    assert [e.order_id for e in again.entries()] == [old_unfinished.order_id]
    again.close()


def test_storage_alone_is_a_tinydb_storage(tmp_path):
    from tinydb import TinyDB

    db = TinyDB(storage=SafeJSONStorage, path=tmp_path / "x.json")
    db.insert({"a": 1})
    db.insert({"a": 2})
    db.close()
    db = TinyDB(storage=SafeJSONStorage, path=tmp_path / "x.json")
    assert sorted(d["a"] for d in db.all()) == [1, 2]
    db.update({"a": 3}, doc_ids=[1])  # no mark_changed(): the plain storage writes everything afresh
    db.close()
    db = TinyDB(storage=SafeJSONStorage, path=tmp_path / "x.json")
    assert sorted(d["a"] for d in db.all()) == [2, 3]
    assert (tmp_path / "x.json.prev").exists()
    db.close()
