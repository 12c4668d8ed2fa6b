"""One batch of messages through the pipeline, in a worker process.

Each message is read from its ``Ref``, refused when it is not a message,
scanned once and decided with today's profiles and, when given, the
candidate's. What goes back to the reader is already text: the JSON Lines,
the rows of held, blocked and changed messages, and the batch's counts, so
the reader only writes and adds. Every value is masked here, before anything
leaves the worker.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

from detectors.engine import Detector
from detectors.findings import Finding, Unscannable
from gateway import masking, pipeline
from gateway import message as read
from gateway.policy import profiles
from gateway.replay import report, sources
from gateway.replay.tally import HELD, Tally
from gateway.review.render import masked_text

_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Setup:
    """What every worker needs, loaded once."""

    stages: pipeline.Pipeline
    candidate: profiles.Profiles | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch's output, in input order."""

    lines: str          # JSON Lines, one per message decided
    held: str           # table rows (HTML): the messages that would be blocked or held
    changed: str        # table rows (HTML): the messages whose action the candidate changes
    errors: tuple[str, ...]   # one line per input that is not a message
    tally: Tally
    size: int = 0       # bytes read


def masked(text: str, detector: Detector | None) -> str:
    """``text`` with every value the detector finds in it masked (as the review app shows it)."""
    if detector is None or not _DIGITS.search(text):
        return text
    return masked_text(text, detector)


def _segment(name: str, detector: Detector | None) -> str:
    return masking.address(masked(name, detector))


def verdict_json(verdict: pipeline.Verdict) -> dict[str, Any]:
    """The verdict as ``scan`` prints it; a declared purpose is reported even when it did not decide."""
    return {"action": verdict.action.value, "profile": verdict.profile,
            "purpose": verdict.purpose or verdict.declared, "reasons": list(verdict.reasons)}


def would(verdict: pipeline.Verdict) -> str:
    """The action enforcement would take (a monitored profile only records it)."""
    return (verdict.monitored or verdict.action).value


def examine(setup: Setup, refs: list[sources.Ref]) -> Batch:
    """Read, scan and decide each of ``refs``."""
    tally = Tally()
    lines: list[str] = []
    held: list[str] = []
    changed: list[str] = []
    errors: list[str] = []
    size = 0
    reader = sources.Reader()
    detector = setup.stages.scanner.detector if setup.stages.scanner is not None else None
    try:
        for ref in refs:
            try:
                content = reader.read(ref)
            except OSError as exc:
                errors.append(f"cannot read {masked(ref.name, detector)}: {exc.strerror or exc}")
                tally.refused["unreadable"] += 1
                continue
            size += len(content)
            why = sources.refusal(content)
            if why is not None:
                errors.append(f"{masked(ref.name, detector)}: not a message ({why})")
                tally.refused[why] += 1
                continue
            try:
                _one(setup, ref.name, content, tally, lines, held, changed)
            except Exception as exc:   # one message must not stop the archive; the class only (no text)
                errors.append(f"{masked(ref.name, detector)}: could not be scanned ({type(exc).__name__})")
                tally.refused["scan error"] += 1
    finally:
        reader.close()
    return Batch("".join(lines), "".join(held), "".join(changed), tuple(errors), tally, size)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _one(setup: Setup, name: str, content: bytes, tally: Tally,
         lines: list[str], held: list[str], changed: list[str]) -> None:
    found = sources.all_values(content, (*sources.ENVELOPE_FIELDS, "date"))
    day = _day(found["date"][0] if found["date"] else None)
    if (setup.since or setup.until) and (day is None or (setup.since and day < setup.since)
                                         or (setup.until and day > setup.until)):
        tally.outside += 1
        return
    stages = setup.stages
    detector = stages.scanner.detector if stages.scanner is not None else None
    envelope = sources.envelope(content, found)
    message = read.parse(content)
    subject_text = message.subject
    today, candidate = _decide(setup, envelope, message)
    subject = masked(subject_text or "", detector)
    sender = masking.address(envelope.mail_from)   # as serve masks addresses: a bare 219456789@ too
    record: dict[str, Any] = {
        "file": masked(name, detector), "date": day.isoformat() if day else None, "sender": sender,
        "recipients": [masking.address(r) for r in envelope.rcpt_tos], "subject": subject,
        "verdict": verdict_json(today)}
    if candidate is not None:
        record["candidate"] = verdict_json(candidate)
    # Segment names hold file names: masked as the quarantine CLI masks them (a bare 219456789.csv too).
    record["findings"] = [{"entity": f.entity, "segment": _segment(f.segment, detector), "start": f.start,
                           "end": f.end, "score": round(f.score, 2), "masked": f.masked}
                          for f in today.findings]
    record["unscannable"] = [{"segment": _segment(u.name, detector), "reason": u.reason} for u in today.unscannable]
    lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    _count(tally, record, today, candidate, day)
    _rows(record, today, candidate, held, changed)


def _rows(record: dict[str, Any], today: pipeline.Verdict, candidate: pipeline.Verdict | None,
          held: list[str], changed: list[str]) -> None:
    """The report's rows of a message that would be blocked or held, or that the candidate changes."""
    action = would(today)
    row = {k: record[k] for k in ("file", "date", "sender", "subject")}
    if action in HELD:
        held.append(report.held_row({
            **row, "profile": today.profile, "action": action, "reasons": list(today.reasons),
            "domains": sorted({r.rpartition("@")[2].lower() for r in record["recipients"]}),
            "findings": record["findings"]}))
    if candidate is not None and would(candidate) != action:
        changed.append(report.changed_row({**row, "profile": today.profile, "from": action, "to": would(candidate),
                                           "candidate_profile": candidate.profile,
                                           "reasons": list(candidate.reasons)}))


def _decide(setup: Setup, envelope: pipeline.Envelope,
            message: read.Message) -> tuple[pipeline.Verdict, pipeline.Verdict | None]:
    """Today's verdict and the candidate's, from one scan."""
    stages = setup.stages
    findings: tuple[Finding, ...] = ()
    unscannable: tuple[Unscannable, ...] = ()
    if stages.scanner is not None:
        result = stages.scanner.scan(message.raw)
        findings, unscannable = result.findings, result.unscannable
    verdicts: list[pipeline.Verdict] = []
    for policy in (stages.policy, setup.candidate):
        if policy is None:
            continue
        verdict = pipeline.decide(envelope, findings, unscannable, policy, message.subject, message.purpose)
        verdicts.append(stages.settle(verdict, message))   # as serve does: what cannot be masked is held
    return verdicts[0], verdicts[1] if len(verdicts) > 1 else None


def _count(tally: Tally, record: dict[str, Any], today: pipeline.Verdict,
           candidate: pipeline.Verdict | None, day: date | None) -> None:
    action = would(today)
    tally.messages += 1
    tally.actions[(today.profile, action)] += 1
    if candidate is not None:
        tally.candidate[(candidate.profile, would(candidate))] += 1
        if would(candidate) != action:
            tally.changes[(action, would(candidate))] += 1
    counts = today.counts()
    tally.entities.update(counts)
    tally.entity_messages.update(counts.keys())
    if day is not None:
        tally.days[(day.isoformat(), action)] += 1
    tally.unscannable.update(u.reason for u in today.unscannable)
    if action in HELD:
        tally.senders[record["sender"]] += 1
        tally.domains.update({r.rpartition("@")[2].lower() for r in record["recipients"]})
