"""The order journal: a paid order is never lost and never doubled, even through kill -9.

Every order the kiosk takes lives here from before the card is touched until it reaches a final
state; the checkout writes each state BEFORE the side effect it guards (DESIGN.md, "Paying without
losing or doubling anything"), and at start-up drives every `unfinished()` entry to a final state.

- `storage.py`: `SafeJSONStorage`, a TinyDB storage that writes a temp file, fsyncs, renames over the
  journal and fsyncs the folder, keeps the previous generation as `.prev`, and at start-up sets a
  damaged file aside (`journal.json.corrupt-<UTC time>`) and falls back to the newest good copy
  with a `StaffAlert`.
- `models.py`: `OrderState`, the `TRANSITIONS` table, `JournalEntry`, `StaffAlert`.
- `adjustments.py`: `AdjustmentState`, `ADJUSTMENT_TRANSITIONS`, `AdjustmentEntry`: staff stock
  adjustments (restock, count), journalled before they are sent, in a second table of the same file
  (why one file: see `journal.py`).
- `journal.py`: `Journal`, the single writer (asyncio.Lock; file I/O in a worker thread).

Card data and personal data (decisions):
- The journal never holds card data in clear: `card_summary` is the masked `CardSummary` (its
  pattern allows BIN + last 4 at most), and free-text fields refuse anything that looks like a card
  number (12-19 digits passing Luhn).
- While an authorisation is in flight (state `authorising`) the entry keeps the exact
  `PaymentRequest` of that attempt, which carries the card data SEALED to the payment service
  (X25519/AES-GCM ciphertext the kiosk itself cannot open). Reason: after a crash or a lost answer,
  recovery asks `GET /v1/payments/{id}`; if the payment service never got the request, replaying the
  very same body under the same payment id is the only way to settle the attempt for certain (a late
  arrival of the first request is then deduplicated instead of charging a card behind an order the
  journal gave up on). The request is dropped in the same write that leaves `authorising` (paid,
  declined, failed, voided): the model refuses a `payment_request` in any other state.
- The customer's name, email and address are removed in the same write that records
  `acknowledged` (the model refuses personal data on an acknowledged entry), and the previous
  generation (`.prev`) is made equal to the scrubbed file, so no copy the journal keeps still holds
  them. Voided/refunded/failed entries keep them until compaction (staff may need to contact the
  shopper about the money). Files set aside as corrupt are kept for staff recovery and may hold PII.
  Deleted file blocks are not overwritten (no secure erase on flash).
"""

from kiosk.journal.adjustments import (
    ADJUSTMENT_FINAL_STATES,
    ADJUSTMENT_TRANSITIONS,
    AdjustmentEntry,
    AdjustmentState,
)
from kiosk.journal.journal import (
    DuplicateAdjustment,
    DuplicateOrder,
    IllegalAdjustmentTransition,
    IllegalTransition,
    Journal,
    JournalError,
    JournalLocked,
    JournalWriteError,
    UnknownAdjustment,
    UnknownOrder,
)
from kiosk.journal.models import (
    FINAL_STATES,
    TRANSITIONS,
    Customer,
    HistoryItem,
    JournalEntry,
    JournalLine,
    OrderState,
    StaffAlert,
    looks_like_pan,
)
from kiosk.journal.storage import CorruptJournalFile, SafeJSONStorage

__all__ = [
    "ADJUSTMENT_FINAL_STATES", "ADJUSTMENT_TRANSITIONS", "AdjustmentEntry", "AdjustmentState",
    "DuplicateAdjustment", "IllegalAdjustmentTransition", "UnknownAdjustment",
    "FINAL_STATES", "TRANSITIONS", "CorruptJournalFile", "Customer", "DuplicateOrder", "HistoryItem",
    "IllegalTransition", "Journal", "JournalEntry", "JournalError", "JournalLine", "JournalLocked",
    "JournalWriteError", "OrderState", "SafeJSONStorage", "StaffAlert", "UnknownOrder", "looks_like_pan",
]
