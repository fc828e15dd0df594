"""Why a fleet bundle is refused: one typed error with a stable reason code and a message for people.

The reason is what the kiosk reports to the central team (and what tests and dashboards match on);
the message says what exactly is wrong, e.g. which field and why. A refused bundle never changes
the pillar: it keeps the last good configuration.
"""

from __future__ import annotations

from typing import Literal, get_args

Reason = Literal[
    "oversized",      # more than MAX_BUNDLE_BYTES: not even read
    "not_json",       # not UTF-8 JSON text (or JSON no other parser would read the same way)
    "schema",         # JSON, but not a bundle this kiosk software knows: the message names the field and why
    "unknown_key",    # signed with a key that is not (or no longer) in the trusted keys folder
    "bad_signature",  # the signature does not match the bundle: altered after signing, or forged
    "wrong_scope",    # for another shop or pillar (or a bundle of another level than asked for)
    "replay",         # version not above the one applied: an old bundle again, or a rollback
]
REASONS: tuple[str, ...] = get_args(Reason)


class BundleRejected(Exception):
    """A bundle the kiosk will not apply; `reason` is one of REASONS, `message` says what and why."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
