"""Polling the three bundle files of this pillar (docs/fleet.md, "What a pillar does").

    fetcher = FleetFetcher(api, "https://cdn.example/fleet", kiosk_id="utr-kiosk-03",
                           store_id="utrecht-centrum", etags=saved_etags)
    results = await fetcher.poll()   # {"fleet": BundleFetch, "shop": ..., "kiosk": ...}

Each level is asked with the ETag of the last answer at that level (If-None-Match), so an unchanged
file costs a 304 without a body. The fetcher only fetches: verifying (`parse_and_verify`) and
applying are the caller's. ETags are opaque strings, kept in memory; `etags` gives them to persist,
and `etags=` at construction takes them back.

A poll is all or nothing: when any level fails (ApiError), the error is raised and no ETag changes,
so a level that did change is fetched again, in full, at the next poll, rather than lost behind a
304 whose body the caller never saw. Bundles are fetched without the kiosk's token (see
`CentralApi.fleet_bundle`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import quote

from kiosk.api import BundleFetch, CentralApi
from kiosk.fleet.bundle import LEVELS, ScopeKind


class FleetFetcher:
    def __init__(self, api: CentralApi, base_url: str, kiosk_id: str, store_id: str, *,
                 etags: Mapping[str, str] | None = None) -> None:
        self._api = api
        self.base_url = base_url.rstrip("/")
        self.kiosk_id = kiosk_id
        self.store_id = store_id
        self._etags: dict[ScopeKind, str] = {level: etag for level, etag in (etags or {}).items()
                                             if level in LEVELS and etag}

    def urls(self) -> dict[ScopeKind, str]:
        """The file of each level, in the order the levels apply (fleet, shop, kiosk)."""
        # Ids are plain (A-Z a-z 0-9 . _ : -); quoting keeps anything else from changing the path.
        return {
            "fleet": f"{self.base_url}/fleet.json",
            "shop": f"{self.base_url}/shops/{quote(self.store_id, safe=':')}.json",
            "kiosk": f"{self.base_url}/kiosks/{quote(self.kiosk_id, safe=':')}.json",
        }

    @property
    def etags(self) -> dict[ScopeKind, str]:
        """The ETag of the last file received per level (a copy; levels without a file are left out)."""
        return dict(self._etags)

    def forget(self, level: ScopeKind | None = None) -> None:
        """Drop the ETag of a level (None: all), so the next poll fetches its file in full again
        (e.g. after new trusted keys, for a bundle refused before as `unknown_key`)."""
        if level is None:
            self._etags.clear()
        else:
            self._etags.pop(level, None)

    async def poll(self) -> dict[ScopeKind, BundleFetch]:
        """One conditional GET per level, concurrently; raises the first level's ApiError, if any."""
        urls = self.urls()
        answers = await asyncio.gather(
            *(self._api.fleet_bundle(urls[level], self._etags.get(level)) for level in LEVELS),
            return_exceptions=True,
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
        results: dict[ScopeKind, BundleFetch] = dict(zip(LEVELS, answers))
        for level, result in results.items():
            if result.status == "absent":
                self._etags.pop(level, None)
            elif result.etag:
                self._etags[level] = result.etag
            elif result.status == "changed":  # a host without ETags: ask unconditionally next time
                self._etags.pop(level, None)
        return results
