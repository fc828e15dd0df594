"""Idempotency keys: the same key and body replays the first answer; another body is a conflict.

Only successful answers (2xx, including a declined payment, which is a 201 with status declined)
are recorded. A refused request (4xx) leaves no record, so the kiosk can fix the cause and send
again with the same key. Callers hold `Database.write_lock` around lookup + work + `remember`, and
write `remember` in the same transaction as the resource, so a crash cannot leave one without the
other.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from central.errors import ApiProblem
from kiosk.contract import IDEMPOTENCY_HEADER

REPLAY_HEADER = "Idempotent-Replayed"

# The header as a route parameter. Optional in the signature so that a missing one is our own
# 400 idempotency_key_missing (see `check_key`), not a generic validation error.
IdempotencyKey = Annotated[
    str | None,
    Header(alias=IDEMPOTENCY_HEADER,
           description="Required; equal to the id in the body (payment_id, order_id or reservation_id)"),
]


def body_hash(request: BaseModel) -> str:
    """Hash of the canonical body: parsed, defaults filled in, keys sorted, no whitespace."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_key(key: str | None, expected: str, field: str) -> None:
    if not key:
        raise ApiProblem(400, "idempotency_key_missing", f"The {IDEMPOTENCY_HEADER} header is required.")
    if key != expected:
        raise ApiProblem(422, "idempotency_key_mismatch", f"The {IDEMPOTENCY_HEADER} header must equal {field}.")


@dataclass(frozen=True)
class Recorded:
    status_code: int
    response_json: str

    def replay(self, current: BaseModel | None = None) -> JSONResponse:
        """The first answer again; or, for a resource whose state moves on (a reservation that was
        since released or committed), its `current` state with the first answer's status code."""
        body = json.loads(current.model_dump_json()) if current is not None else json.loads(self.response_json)
        return JSONResponse(body, status_code=self.status_code, headers={REPLAY_HEADER: "true"})


def lookup(conn: sqlite3.Connection, operation: str, key: str, digest: str) -> Recorded | None:
    row = conn.execute(
        "SELECT body_sha256, status_code, response_json FROM idempotency WHERE operation = ? AND key = ?",
        (operation, key),
    ).fetchone()
    if row is None:
        return None
    if row["body_sha256"] != digest:
        raise ApiProblem(409, "idempotency_conflict",
                         f"{IDEMPOTENCY_HEADER} {key!r} was already used with a different request body.")
    return Recorded(row["status_code"], row["response_json"])


def remember(conn: sqlite3.Connection, operation: str, key: str, digest: str,
             status_code: int, answer: BaseModel) -> JSONResponse:
    """Record the answer (inside the caller's transaction) and return it as the response."""
    response_json = answer.model_dump_json()
    conn.execute(
        "INSERT INTO idempotency (operation, key, body_sha256, status_code, response_json, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (operation, key, digest, status_code, response_json, datetime.now(UTC).isoformat()),
    )
    return JSONResponse(json.loads(response_json), status_code=status_code)
