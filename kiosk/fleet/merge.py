"""The fleet layer of the settings: the config file's settings with the applied bundles on top.

    settings, locked = effective_settings(base, [fleet_bundle, shop_bundle, kiosk_bundle])
    editor.set_locked(locked)                    # kiosk/staff/overrides.py: staff may not override these
    settings = editor.effective(settings)        # staff overrides last

Layers, later wins: defaults < config/kiosk.toml < fleet < shop < kiosk bundle < staff overrides.
A pillar has at most one current bundle per level, the one it applied last (each level has its own
versions, each only going up). Given several of one level anyway, the highest version is used, as
the version check would have chosen.

Only the keys a bundle gives change; the result is validated whole by the config's own models (as
staff overrides are), so a combination no config file could hold is refused: BundleRejected
("schema") naming the bundle and the key, and the caller keeps the last good settings.

Locked keys are the union over the bundles: a lock is against staff overrides, not against a
narrower bundle (a shop bundle may still set a key the fleet bundle locks; staff still may not).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from kiosk.config import Settings
from kiosk.fleet.bundle import LEVELS, describe_errors
from kiosk.fleet.errors import BundleRejected
from kiosk.fleet.verify import VerifiedBundle


def current_per_level(bundles: Iterable[VerifiedBundle]) -> list[VerifiedBundle]:
    """One bundle per level, the highest version, in the order they apply (fleet, shop, kiosk)."""
    best: dict[str, VerifiedBundle] = {}
    for verified in bundles:
        held = best.get(verified.level)
        if held is None or verified.version > held.version:
            best[verified.level] = verified
    return [best[level] for level in LEVELS if level in best]


def effective_settings(base: Settings, bundles: Iterable[VerifiedBundle]) -> tuple[Settings, frozenset[str]]:
    """`base` with the bundles' settings on top, and the keys they lock."""
    settings, locked = base, frozenset[str]()
    for verified in current_per_level(bundles):
        bundle = verified.bundle
        data = settings.model_dump()  # python mode: secrets stay SecretStr, paths stay Paths
        for key, value in bundle.changes().items():
            section, field = key.split(".", 1)
            data[section][field] = value
        try:
            settings = Settings.model_validate(data).model_copy(update={"source": base.source})
        except ValidationError as exc:
            raise BundleRejected("schema", f"the {bundle.level} bundle version {bundle.version} does not fit this "
                                           f"pillar's settings: {describe_errors(exc, 'settings')}") from None
        locked |= bundle.locked_keys
    return settings, locked
