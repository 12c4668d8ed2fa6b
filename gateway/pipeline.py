"""The middle of the one-way flow: parse -> detect -> decide (-> settle), pure and synchronous.

No sockets, no clock, no globals: data in, data out. ``serve`` runs it for
every message and ``scan`` runs the same function. decide() takes the
sender's profile (gateway.policy), counts the findings that profile treats as
sensitive, reads the declared business purpose and lets the profile's chain
choose the action; the verdict carries every reason. A redact verdict is
settled here too (the masked message, or a quarantine when masking cannot
reach every value), so the verdict that leaves the pipeline is final.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from detectors.edm import EdmStore
from detectors.findings import Finding, Unscannable
from detectors.scan import Budgets, Scanner
from gateway import detection
from gateway.message import Message, parse
from gateway.policy import chains, profiles, purpose
from gateway.policy.rules import Facts
from gateway.redact import redact
from gateway.verdict import EXCEPTION_RULE, Action, Envelope, Verdict

# The verdict types live in gateway.verdict; they are named here too for the callers of decide().
__all__ = ["EXCEPTION_RULE", "Action", "Envelope", "Pipeline", "Verdict", "decide", "sensitive_entities"]


def sensitive_entities(findings: tuple[Finding, ...], settings: profiles.ProfileSettings) -> tuple[str, ...]:
    """One entry per finding the profile counts: a listed entity, at its minimum
    score, and only when the entity reaches its minimum count."""
    rules = settings.entities
    scored: dict[str, int] = {}
    for f in findings:
        rule = rules.get(f.entity)
        if rule is not None and f.score >= rule.min_score:
            scored[f.entity] = scored.get(f.entity, 0) + 1
    out: list[str] = []
    for entity, n in sorted(scored.items()):
        if n >= rules[entity].min_count:
            out += [entity] * n
    return tuple(out)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def decide(envelope: Envelope, findings: tuple[Finding, ...], unscannable: tuple[Unscannable, ...] = (),
           policy: profiles.Profiles | None = None, subject: str | None = None,
           purpose_header: str | None = None) -> Verdict:
    """Return what to do with the message under the sender's profile."""
    policy = policy or profiles.defaults()
    name = policy.profile_for(envelope.mail_from)
    plan = policy.plan(name)
    settings = plan.settings
    declared = purpose.declared(subject, purpose_header)
    if declared is not None and declared not in purpose.CODES:
        declared = purpose.UNKNOWN   # sender-written text is never echoed (it could hold a number)
    valid = purpose.valid(declared, settings.purposes)
    entities = sensitive_entities(findings, settings) if findings else ()
    own = _domain(envelope.mail_from) if settings.sender_domain_internal else ""
    facts = Facts(own, tuple(_domain(r) for r in envelope.rcpt_tos),
                  entities, tuple(u.reason for u in unscannable), valid, plan.internal)
    decision = chains.decide(plan.chain, facts)
    reasons = decision.reasons
    if declared == purpose.UNKNOWN:
        reasons += ("the declared purpose code is not a known one",)
    elif declared is not None and valid is None:
        reasons += (f"declared purpose {declared!r} is not one this profile accepts",)
    action = Action(decision.action)
    monitored = None
    if settings.monitor and action in (Action.BLOCK, Action.QUARANTINE):
        monitored, action = action, Action.DELIVER
        reasons += (f"monitor mode: would {monitored.value}",)
    statement = plan.statement if action is Action.DISCLAIMER else None
    return Verdict(action, name, reasons, valid if decision.rule == EXCEPTION_RULE else None,
                   findings, unscannable, decision.rule, declared, plan.accepted,
                   tuple(sorted(set(entities))), statement, monitored)


class Pipeline:
    """parse + detect + decide, with what they need loaded once at start."""

    def __init__(self, scanner: Scanner | None, policy: profiles.Profiles | None = None) -> None:
        self.scanner = scanner
        self.policy = policy or profiles.defaults()

    @classmethod
    def from_settings(cls, settings: Any, config_dir: Path | None = None) -> Pipeline:
        """Build from gateway settings (account formats, limits, the EDM list in
        data_dir) and the profiles of ``config_dir`` (the shipped ones without)."""
        policy = profiles.load(config_dir)
        d = settings.detection
        if not d.enabled:
            return cls(None, policy)
        o = detection.options(d)
        budgets = Budgets(max_findings=d.max_findings, max_segment_findings=d.max_segment_findings,
                          cpu_seconds=d.scan_cpu_seconds)
        return cls(Scanner(o.formats, EdmStore(settings.data_dir).load(), d.limits(), budgets, o.licenses, o.custom),
                   policy)

    def masked(self, text: str | None) -> str | None:
        """``text`` written by the sender (a Message-ID, say) with every value the
        detectors find in it masked, for logs and the audit log."""
        if not text or self.scanner is None:
            return text
        for finding in self.scanner.detector.find("header", text):
            text = text.replace(finding.value, finding.masked)
        return text

    def settle(self, verdict: Verdict, message: Message) -> Verdict:
        """Settle a redact verdict before it is final: the masked message, checked
        by a second scan. What the redaction could not reach (attachments, signed
        parts, a value split by HTML tags) makes it a quarantine of the original,
        so ``scan``, ``replay`` and ``serve`` all say the same, and no action scans.
        """
        if verdict.action is not Action.REDACT or self.scanner is None:
            return verdict
        entities = frozenset(verdict.sensitive)
        masked = redact(message.raw, self.scanner.detector, entities)
        left = sorted({f.entity for f in self.scanner.scan(masked).findings if f.entity in entities})
        if left:
            return dataclasses.replace(verdict, action=Action.QUARANTINE, reasons=verdict.reasons + (
                f"redaction could not mask every {', '.join(left)} (attachment or signed part)",))
        return dataclasses.replace(verdict, redacted=message.with_raw(masked))

    def run(self, envelope: Envelope, message: Message | bytes) -> Verdict:
        """Run every middle stage over one message (bytes are read as they are)."""
        if isinstance(message, bytes):
            message = parse(message)
        if self.scanner is None:
            return decide(envelope, (), (), self.policy, message.subject, message.purpose)
        result = self.scanner.scan(message.raw)
        verdict = decide(envelope, result.findings, result.unscannable, self.policy, message.subject,
                         message.purpose)
        return self.settle(verdict, message)
