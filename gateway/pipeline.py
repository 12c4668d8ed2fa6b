"""The middle of the one-way flow: parse -> detect -> decide, pure and synchronous.

No sockets, no clock, no globals: data in, data out. ``serve`` runs it for
every message and ``scan`` runs the same function. Until the policy issue
(#4) lands, decide delivers every message under the ``default`` profile,
whatever was found.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from detectors.edm import EdmStore
from detectors.findings import Finding, count_by_entity
from detectors.scan import Scanner
from detectors.segments import Limits, Unscannable
from detectors.utility_account import AccountFormat

DEFAULT_PROFILE = "default"


class Action(enum.Enum):
    DELIVER = "deliver"
    DISCLAIMER = "disclaimer"
    QUARANTINE = "quarantine"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the SMTP session knows about a message besides its bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer_ip: str = ""
    helo: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    profile: str
    reasons: tuple[str, ...]
    purpose: str | None = None
    findings: tuple[Finding, ...] = field(default=(), repr=False)
    unscannable: tuple[Unscannable, ...] = ()

    def counts(self) -> dict[str, int]:
        """Findings per entity, for logs and metrics."""
        return count_by_entity(self.findings)


def decide(envelope: Envelope, findings: tuple[Finding, ...],
           unscannable: tuple[Unscannable, ...] = ()) -> Verdict:
    """Return what to do with the message (every message is delivered for now)."""
    return Verdict(Action.DELIVER, DEFAULT_PROFILE, ("no-policy",), findings=findings,
                   unscannable=unscannable)


class Pipeline:
    """parse + detect + decide, with what they need loaded once at start."""

    def __init__(self, scanner: Scanner | None) -> None:
        self.scanner = scanner

    @classmethod
    def from_settings(cls, settings: Any) -> "Pipeline":
        """Build from gateway settings: account formats, limits, the EDM list in data_dir."""
        d = settings.detection
        if not d.enabled:
            return cls(None)
        formats = tuple(AccountFormat(f.name, f.utility, f.context, f.window, f.layout, f.digits, f.check)
                        for f in d.utility_accounts)
        limits = Limits(max_depth=d.max_depth, max_members=d.max_members,
                        max_inflated_bytes=d.max_inflated_bytes, max_ratio=d.max_ratio)
        return cls(Scanner(formats, EdmStore(settings.data_dir).load(), limits))

    def run(self, envelope: Envelope, content: bytes) -> Verdict:
        """Run every middle stage over one message."""
        if self.scanner is None:
            return decide(envelope, ())
        result = self.scanner.scan(content)
        return decide(envelope, result.findings, result.unscannable)
