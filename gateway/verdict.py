"""The vocabulary every stage shares: the envelope, the verdict, what became of a
message, and the words for actions, statuses and audit events.

Light on purpose: standard library, the detectors' plain finding types and
the SMTP reply texts, nothing that loads a detector, a database driver or a
web framework, so the quarantine, the review app and the command line import
it freely.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from detectors.findings import Finding, Unreadable, Unscannable, count_by_entity
from gateway import replies

if TYPE_CHECKING:   # annotations only: the types module imports no stage
    from gateway.message import Message
    from gateway.xforward import XForward

__all__ = ["EXCEPTION_RULE", "Action", "Envelope", "Event", "Outcome", "ReleaseOutcome", "Status",
           "Unreadable", "Unscannable", "Verdict"]

EXCEPTION_RULE = "business-purpose"


class Action(enum.Enum):
    """What a profile's chain decides for a message."""

    DELIVER = "deliver"
    DISCLAIMER = "disclaimer"
    QUARANTINE = "quarantine"
    BLOCK = "block"
    REDACT = "redact"

    @property
    def delivers(self) -> bool:
        """The message goes downstream (edited or not)."""
        return self in (Action.DELIVER, Action.DISCLAIMER, Action.REDACT)


class Status(enum.StrEnum):
    """Where a held message stands (the ``status`` column)."""

    HELD = "held"
    RELEASED = "released"
    DELETED = "deleted"


class Event(enum.StrEnum):
    """The audit log's events about messages (the ``event`` column)."""

    BLOCK = "block"
    QUARANTINE = "quarantine"
    EXCEPTION = "exception"
    MONITOR = "monitor"
    RELEASE = "release"
    RELEASE_REFUSED = "release-refused"
    RELEASE_UNCERTAIN = "release-uncertain"
    DELETE = "delete"
    NOTIFY_SENDER = "notify-sender"


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
    purpose: str | None = None            # the valid purpose code that decided, if any
    findings: tuple[Finding, ...] = field(default=(), repr=False)
    unscannable: tuple[Unscannable, ...] = ()
    rule: str = ""                        # the rule that decided
    declared: str | None = None           # the code the sender declared (valid or not)
    accepted: tuple[str, ...] = ()        # the purpose codes the profile accepts
    sensitive: tuple[str, ...] = ()       # entity types that counted as sensitive, sorted
    statement: str | None = None          # the text a disclaimer appends
    monitored: Action | None = None       # in monitor mode: what would have been done
    # A redact verdict: the message with the values masked (settled by the pipeline).
    redacted: Message | None = field(default=None, repr=False)

    def counts(self) -> dict[str, int]:
        """Findings per entity, for logs and metrics."""
        return count_by_entity(self.findings)

    @property
    def exception(self) -> bool:
        """Delivered because of a declared business purpose (audited)."""
        return self.rule == EXCEPTION_RULE and self.action.delivers


@dataclass(slots=True)
class Outcome:
    """What became of one message: the reply, and what the log line and metrics say."""

    queue_id: str
    verdict: Verdict | None = None
    reply: str = replies.R451_INTERNAL.format()
    failure: str = replies.R451_INTERNAL.format()   # the reply if the next step fails
    downstream: str = ""
    held_as: str | None = None
    audit_ref: int | None = None
    settled: bool = False   # delivered, held or blocked: nothing after this changes the reply
    client: XForward | None = None   # what the MTA in front said of its client
    message_id: str | None = None   # masked
    size: int = 0


@dataclass(frozen=True, slots=True)
class ReleaseOutcome:
    """What a release or delete did; ``error`` says why it did not happen."""

    id: str
    done: bool
    error: str | None = None
    reply: str | None = None   # the downstream's reply to a release
