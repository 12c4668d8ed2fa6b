"""Carrying out a verdict: where a message is delivered, held or blocked.

``prepare`` is every CPU step of one message in one call, so the message
leaves the event loop once (GatewayState.prepare, where gateway.offload
decides): the edge's reading
(gateway.message), the pipeline (parse, detect, decide, settle a redaction)
and the delivery edits (gateway.edits). ``Actions.process`` then carries the
verdict out and returns the Outcome the SMTP edge turns into its reply:

- deliver, disclaimer, redact: an exception or a monitored decision is
  audited first, then the edited message goes downstream: 250 once the
  downstream took it;
- quarantine: stored encrypted with its audit record, 250 once committed;
- block: audited, then 550;
- then the notices (gateway.notify), the log line and the metrics.

It reaches the outside only through what it is handed: the downstream
transaction, the store (``stored``, within its deadline) and the notifier.
Any failure before the message's fate is settled answers 4xx; one after it
is logged and counted and never changes the reply.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from detectors.budget import OutOfTime
from detectors.findings import Finding
from gateway import edits, failpoints, masking, notify, replies
from gateway import message as read
from gateway.config import Settings
from gateway.metrics import Metrics
from gateway.pipeline import Pipeline
from gateway.quarantine.records import AuditEntry, HeldMessage, new_id, retry_key
from gateway.quarantine.store import QuarantineStore
from gateway.relay import RelayError, Transaction
from gateway.verdict import Action, Envelope, Event, Outcome, Status, Verdict
from gateway.xforward import XForward

_T = TypeVar("_T")
log = logging.getLogger("dlp.smtp")
message_log = logging.getLogger("dlp.message")

Stored = Callable[[Callable[[QuarantineStore], Any]], Awaitable[Any]]
Prepare = Callable[[Envelope, bytes], Awaitable["Prepared"]]


@dataclass(frozen=True, slots=True)
class Prepared:
    """One message read, judged and (when it is delivered) edited."""

    message: read.Message | None           # as received: what a quarantine holds (None once shipped)
    message_id: str | None                 # masked, for logs and the audit log
    verdict: Verdict | None = None
    body: bytes | None = field(default=None, repr=False)   # what is delivered, before our headers
    subject: str = ""                      # masked, for the quarantine record and notices
    failure: Exception | None = None       # why the pipeline or the edits failed
    size: int = 0                          # of the message as received

    def shipped(self) -> Prepared:
        """Only what the worker needs of it, for the way back from the scan
        process (pickled): the message's content once. A delivered message
        goes as its edited bytes (not also as received, nor a redaction's
        masked message); a blocked or failed one needs no content at all;
        a quarantined one goes as received (the store holds that)."""
        verdict = self.verdict
        if verdict is not None and verdict.action is Action.QUARANTINE:
            return self
        if verdict is not None and verdict.redacted is not None:
            verdict = replace(verdict, redacted=None)
        return replace(self, message=None, verdict=verdict)


def prepare(stages: Pipeline, envelope: Envelope, data: bytes) -> Prepared:
    """Every CPU step of one message, in one call (GatewayState.prepare runs it off the loop).

    The scan's CPU budget (detectors.budget) is a BaseException meant to stay
    inside the scan; should one ever escape, it becomes an ordinary failure,
    answered 451 like any other."""
    message = read.received(data)
    message_id = stages.masked(message.message_id)   # runs the detector: never on the event loop
    size = message.size
    try:
        verdict = stages.run(envelope, message)
        if verdict.action.delivers:
            return Prepared(message, message_id, verdict, edits.deliverable(message, verdict), size=size)
        return Prepared(message, message_id, verdict, subject=masked_subject(message, verdict), size=size)
    except OutOfTime:
        return Prepared(message, message_id, failure=RuntimeError("scan budget escaped the scan"), size=size)
    except Exception as exc:
        return Prepared(message, message_id, failure=exc, size=size)


class Actions:
    """Carries out verdicts with the settings in force (rebuilt on reload)."""

    def __init__(self, settings: Settings, stages: Pipeline, metrics: Metrics, hostname: str, pid: int,
                 prepare: Prepare, stored: Stored, notifier: notify.Notifier) -> None:
        self.settings = settings
        self.stages = stages
        self.metrics = metrics
        self.hostname = hostname
        self.pid = pid
        self.prepare = prepare
        self.stored = stored
        self.notifier = notifier

    async def process(self, envelope: Envelope, data: bytes, relay: Transaction, protocol: str,
                      client: XForward | None) -> Outcome:
        """Read, judge and carry out one message; the outcome holds the reply."""
        started = time.perf_counter()
        outcome = Outcome(f"{random.getrandbits(48):012X}", client=client, size=len(data))
        try:
            prepared = await self.prepare(envelope, data)
            outcome.message_id, outcome.size = prepared.message_id, prepared.size
            if prepared.failure is not None:
                raise prepared.failure
            assert prepared.verdict is not None
            outcome.verdict = verdict = prepared.verdict
            if verdict.action is Action.BLOCK:
                await self._block(relay, envelope, prepared, outcome)
            elif verdict.action is Action.QUARANTINE:
                await self._quarantine(relay, envelope, prepared, outcome)
            else:
                await self._deliver(relay, envelope, prepared, protocol, outcome)
        except RelayError as exc:
            relay_failed(self.metrics, exc, "DATA")
            outcome.downstream, outcome.reply = exc.reply, exc.reply
        except Exception as exc:
            if outcome.settled:   # delivered, held or blocked: the reply stands
                self._failed_after(outcome.queue_id, "processing", exc)
            else:
                log.error("processing failed", extra={"fields": {"queue_id": outcome.queue_id,
                                                                 "problem": _problem(exc)}})
                self.metrics.internal_errors.labels("processing").inc()
                outcome.reply = outcome.failure
                await relay.reset()
        finally:
            try:
                self._record(envelope, outcome, started)
            except Exception as exc:   # the message's fate is settled: a log line must not change its reply
                self._failed_after(outcome.queue_id, "record", exc)
        return outcome

    def _failed_after(self, queue_id: str, stage: str, exc: Exception) -> None:
        """A failure once the message's fate is settled: logged and counted, never
        turned into a 4xx (the client would retry a message already delivered or held)."""
        log.error("failure after the message was settled; the reply stands",
                  extra={"fields": {"queue_id": queue_id, "stage": stage, "problem": _problem(exc)}})
        self.metrics.internal_errors.labels(f"after-{stage}").inc()

    async def _block(self, relay: Transaction, envelope: Envelope, prepared: Prepared, outcome: Outcome) -> None:
        verdict = prepared.verdict
        assert verdict is not None
        await relay.reset()
        outcome.failure = replies.R451_STORE.format()   # a block is not answered before it is audited
        entry = audit_entry(Event.BLOCK, masking.envelope(envelope), outcome.message_id, verdict, outcome.queue_id)
        outcome.audit_ref = await self.stored(lambda s: s.audit(entry.event, entry.actor, None, entry.details))
        outcome.reply = replies.R550_BLOCKED.format(profile=verdict.profile, why=why(verdict))
        outcome.settled = True
        self._notify(envelope, prepared, None)

    async def _quarantine(self, relay: Transaction, envelope: Envelope, prepared: Prepared,
                          outcome: Outcome) -> None:
        verdict, message = prepared.verdict, prepared.message
        assert verdict is not None and message is not None
        await relay.reset()
        outcome.failure = replies.R451_STORE.format()
        held = HeldMessage(
            id=new_id(), received_at=datetime.now(UTC), mail_from=envelope.mail_from,
            rcpt_tos=envelope.rcpt_tos, subject=prepared.subject, profile=verdict.profile,
            action=verdict.action.value, reasons=verdict.reasons,
            findings=tuple(_masked(f) for f in verdict.findings), size=message.size, status=Status.HELD,
            decided_by=None, decided_at=None, note=None)
        entry = audit_entry(Event.QUARANTINE, masking.envelope(envelope), outcome.message_id, verdict,
                            outcome.queue_id)
        key = retry_key(message.message_id, envelope.mail_from, envelope.rcpt_tos, message.raw)
        since = held.received_at - timedelta(seconds=self.settings.quarantine.retry_window)
        held_as, outcome.audit_ref = await self.stored(lambda s: s.hold(held, message.raw, entry, key, since))
        outcome.held_as = held_as
        outcome.reply = replies.R250_QUARANTINED.format(id=held_as, profile=verdict.profile, why=why(verdict))
        outcome.settled = True
        failpoints.reached("quarantine-before-reply")
        self._notify(envelope, prepared, held_as)

    async def _deliver(self, relay: Transaction, envelope: Envelope, prepared: Prepared, protocol: str,
                       outcome: Outcome) -> None:
        verdict = prepared.verdict
        assert verdict is not None and prepared.body is not None
        ref = None
        if verdict.exception or verdict.monitored is not None:
            # Every use of an exception (and every monitored decision) is on record before delivery.
            outcome.failure = replies.R451_STORE.format()
            event = Event.EXCEPTION if verdict.exception else Event.MONITOR
            entry = audit_entry(event, masking.envelope(envelope), outcome.message_id, verdict, outcome.queue_id)
            ref = outcome.audit_ref = await self.stored(
                lambda s: s.audit(entry.event, entry.actor, None, entry.details))
            outcome.failure = replies.R451_INTERNAL.format()
        trace = edits.Trace(outcome.queue_id, self.hostname, protocol)
        head = edits.trace_headers(envelope, verdict, trace, ref if verdict.exception else None)
        outcome.downstream = await relay.data(prepared.body, head)   # edits.outgoing, written without a copy
        outcome.reply = replies.R250_RELAYED.format(queue_id=outcome.queue_id)
        outcome.settled = True

    def _notify(self, envelope: Envelope, prepared: Prepared, held_as: str | None) -> None:
        """Queue the notices; a failure here never changes the reply already decided."""
        verdict = prepared.verdict
        assert verdict is not None
        try:
            profile = self.stages.policy.settings.profiles[verdict.profile]
            self.notifier.held_or_blocked(envelope, verdict, held_as, prepared.message_id, prepared.subject,
                                          profile.notify_sender)
        except Exception as exc:
            log.error("notices not queued", extra={"fields": {"problem": _problem(exc)}})
            self.metrics.notices.labels("failed").inc()

    def _record(self, envelope: Envelope, outcome: Outcome, started: float) -> None:
        """The message's log line and metrics."""
        failpoints.raised("record")
        elapsed = time.perf_counter() - started
        metrics = self.metrics
        metrics.processing.observe(elapsed)
        verdict = outcome.verdict
        counts = verdict.counts() if verdict else {}
        answered = outcome.reply[0] == "2" or (verdict is not None and verdict.action is Action.BLOCK
                                                and outcome.reply.startswith("550"))
        action = verdict.action.value if verdict and answered else "error"
        profile = verdict.profile if verdict else "unknown"
        metrics.message(action, profile)
        for entity, count in counts.items():
            metrics.found(entity, count)
        fields: dict[str, Any] = {
            "queue_id": outcome.queue_id, "message_id": outcome.message_id,
            "pid": self.pid, "sender": masking.address(envelope.mail_from),
            "recipients": len(envelope.rcpt_tos),
            "size": outcome.size, "action": action, "profile": profile, "findings": counts,
            "unscannable": [u.reason for u in verdict.unscannable] if verdict else [],
            "latency_ms": round(elapsed * 1000, 2), "reply": outcome.reply[:3],
            "downstream": masking.address(outcome.downstream)}
        if verdict is not None:
            fields["rule"] = verdict.rule
            fields["reasons"] = list(verdict.reasons)
            if verdict.purpose:
                fields["purpose"] = verdict.purpose
            if verdict.monitored is not None:
                fields["monitor"] = verdict.monitored.value
        if outcome.client is not None:
            fields["client"] = outcome.client.fields()
        if outcome.held_as:
            fields["quarantine_id"] = outcome.held_as
        if outcome.audit_ref is not None:
            fields["audit_ref"] = outcome.audit_ref
        message_log.info("message", extra={"fields": fields})


def relay_failed(metrics: Metrics, exc: RelayError, stage: str) -> None:
    """A downstream failure at MAIL, RCPT or DATA: logged (but a plain refusal) and counted."""
    if exc.reason != "refused":
        log.warning("downstream failure", extra={"fields": {
            "stage": stage, "reason": exc.reason, "reply": exc.reply}})
    metrics.relay_errors.labels(exc.reason).inc()


def why(verdict: Verdict) -> str:
    """The reasons, and the purpose codes the profile accepts (never a value)."""
    text = "; ".join(verdict.reasons)
    if verdict.accepted:
        text += f"; accepted purposes: {', '.join(verdict.accepted)} (tag the subject [purpose:CODE])"
    return text


def masked_subject(message: read.Message, verdict: Verdict) -> str:
    """The decoded subject with every value found in it masked (it is kept in clear)."""
    subject = (message.subject or "")[:998]
    for finding in verdict.findings:
        if finding.segment == "subject":
            subject = subject.replace(finding.value, finding.masked)
    return subject


def _masked(finding: Finding) -> dict[str, object]:
    return {"entity": finding.entity, "segment": finding.segment, "start": finding.start,
            "end": finding.end, "score": round(finding.score, 2), "masked": finding.masked}


def audit_entry(event: Event, envelope: Envelope, message_id: str | None, verdict: Verdict,
                queue_id: str) -> AuditEntry:
    """The audit record of a decision: who, to which domains, why, what was found (counts only)."""
    return AuditEntry(event, "gateway", {
        "queue_id": queue_id, "message_id": message_id, "sender": envelope.mail_from,
        "recipient_domains": sorted({r.rpartition("@")[2].lower() for r in envelope.rcpt_tos}),
        "profile": verdict.profile, "action": verdict.action.value, "rule": verdict.rule,
        "reasons": list(verdict.reasons), "purpose": verdict.purpose, "declared": verdict.declared,
        "entities": verdict.counts(),
        "monitor": verdict.monitored.value if verdict.monitored is not None else None})


def _problem(exc: BaseException) -> str:
    """An exception's class only: driver and parser texts can quote message data."""
    return type(exc).__name__
