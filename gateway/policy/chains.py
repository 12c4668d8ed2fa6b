"""Chains: the first link whose rule holds decides the action.

The chains themselves are configuration (config/policies.yaml, loaded by
gateway.policy.profiles); the shipped ones are CONTRACT.md's table.

>>> from gateway.policy.rules import always, has_sensitive
>>> chain = Chain("example", (Link(has_sensitive, QUARANTINE), Link(always, DELIVER)))
>>> decide(chain, Facts("citrus.example", ("example.com",), ("US_SSN",))).action
'quarantine'
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.policy.rules import Facts, Hit, Rule

DELIVER, DISCLAIMER, QUARANTINE, BLOCK, REDACT = "deliver", "disclaimer", "quarantine", "block", "redact"


@dataclass(frozen=True, slots=True)
class Link:
    rule: Rule
    action: str


@dataclass(frozen=True, slots=True)
class Chain:
    profile: str
    links: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    rule: str
    reasons: tuple[str, ...]   # every rule that hit, the deciding one first


def decide(chain: Chain, facts: Facts) -> Decision:
    """The action of the first link whose rule hits, with the reasons of every hit."""
    hits: list[tuple[Link, Hit]] = []
    for link in chain.links:
        hit = link.rule(facts)
        if hit is not None:
            hits.append((link, hit))
    link, first = hits[0]
    # The catch-all's "nothing sensitive" only explains a message it decides.
    reasons = [first.reason]
    for _, hit in hits[1:]:
        if hit.rule != "no-sensitive-data" and not any(hit.reason in kept for kept in reasons):
            reasons.append(hit.reason)
    return Decision(link.action, first.rule, tuple(reasons))

