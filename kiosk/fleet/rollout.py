"""Staged rollout: which pillars apply a bundle at N percent, the same answer on every pillar, every time.

A pillar's bucket is SHA-256(salt + kiosk id, UTF-8), its first 8 bytes as a big-endian unsigned
integer, mod 10000. It applies the bundle when bucket < round(percent * 100). No state, no
coordination: the central team, a dashboard and each pillar compute the same set.

Raising the percent (same salt) only ever adds pillars: those already in stay in. So a rollout is
10% as version N, then the same settings at 50% and at 100% as versions N+1 and N+2 (the version
must go up, or the pillars that applied N refuse it as a replay). A new salt draws a new set, so
a different change does not always land on the same unlucky first 10%.
"""

from __future__ import annotations

import hashlib

from kiosk.fleet.bundle import Rollout

BUCKETS = 10_000


def bucket(kiosk_id: str, salt: str) -> int:
    digest = hashlib.sha256((salt + kiosk_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def threshold(rollout: Rollout) -> int:
    """Buckets below this are in: percent to 0.01."""
    return round(rollout.percent * 100)


def in_rollout(kiosk_id: str, rollout: Rollout | None) -> bool:
    """Whether this pillar applies a bundle with this rollout (no rollout: every pillar in scope)."""
    if rollout is None:
        return True
    return bucket(kiosk_id, rollout.salt) < threshold(rollout)
