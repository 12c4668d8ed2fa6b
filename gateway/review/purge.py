"""Retention: held messages past their profile's ``retention_days`` are
deleted or released, as the profile's ``on_expiry`` says (policies/003,
section I: 30 days unless a profile says otherwise).

The acting user is ``retention``; each message's release or delete is
audited as any other, and each run adds one ``purge`` record with its counts.
A release the downstream refuses leaves the message held, to be tried again
on the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.config import RelaySettings
from gateway.quarantine import release as releasing
from gateway.quarantine.records import HELD, MessageQuery, utc_now
from gateway.quarantine.store import ReviewStore

log = logging.getLogger("dlp.review")
ACTOR = "retention"
_BATCH = 200


@dataclass
class PurgeReport:
    deleted: int = 0
    released: int = 0
    failed: int = 0
    profiles: dict[str, int] = field(default_factory=dict)

    def details(self) -> dict[str, object]:
        return {"deleted": self.deleted, "released": self.released, "failed": self.failed,
                "profiles": dict(sorted(self.profiles.items()))}


def purge(store: ReviewStore, profiles: Any, relay: RelaySettings, now: datetime | None = None) -> PurgeReport:
    """Apply every profile's retention to the held messages; audit the run as "purge"."""
    now = now or utc_now()
    configured = profiles.settings.profiles
    report = PurgeReport()
    held_profiles = sorted({p for p, status, n in store.summary() if status == HELD and n})
    for name in held_profiles:
        settings = configured.get(name) or configured["default"]
        cutoff = now - timedelta(days=settings.retention_days)
        _expire(store, relay, name, cutoff, settings.on_expiry, settings.retention_days, report, profiles)
    if report.deleted or report.released or report.failed:  # a run that expired nothing is no event
        store.audit("purge", ACTOR, None, report.details())
    log.info("retention purge", extra={"fields": report.details()})
    return report


def _expire(store: ReviewStore, relay: RelaySettings, profile: str, cutoff: datetime, on_expiry: str,
            days: int, report: PurgeReport, profiles: Any = None) -> None:
    """Delete or release every held message of ``profile`` received before ``cutoff``."""
    query = MessageQuery(status=HELD, profile=profile, received_until=cutoff)
    skipped = 0   # failed releases stay held: page past them
    while batch := store.search(query, _BATCH, skipped):
        for held in batch:
            if on_expiry == "release":
                done = releasing.release(store, relay, held.id, ACTOR,
                                         f"retention: held longer than {days} days", policy=profiles).done
                report.released += done
            else:
                done = releasing.delete(store, held.id, ACTOR, f"retention: held longer than {days} days",
                                        force=True).done   # expired: even a release that died midway
                report.deleted += done
            if done:
                report.profiles[profile] = report.profiles.get(profile, 0) + 1
            else:
                report.failed += 1
                skipped += 1
