"""The middle of the one-way flow: parse -> detect -> decide, pure and synchronous.

No sockets, no clock, no globals: data in, data out. ``serve`` runs it for
every message and ``scan`` will run the same function. Until the detection
(#3) and policy (#4) issues land, detect finds nothing and decide delivers
every message under the ``default`` profile.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from detectors.findings import Finding

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

    def counts(self) -> dict[str, int]:
        """Findings per entity, for logs and metrics."""
        out: dict[str, int] = {}
        for finding in self.findings:
            out[finding.entity] = out.get(finding.entity, 0) + 1
        return out


def detect(content: bytes) -> tuple[Finding, ...]:
    """Return the sensitive findings in a raw RFC 5322 message (pass-through for now)."""
    return ()


def decide(envelope: Envelope, findings: tuple[Finding, ...]) -> Verdict:
    """Return what to do with the message (every message is delivered for now)."""
    return Verdict(Action.DELIVER, DEFAULT_PROFILE, ("no-policy",), findings=findings)


def run(envelope: Envelope, content: bytes) -> Verdict:
    """Run every middle stage over one message."""
    return decide(envelope, detect(content))
