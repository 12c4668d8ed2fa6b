"""Chains: the first link whose rule holds decides the action.

The chains themselves are configuration (config/policies.yaml, loaded by
gateway.policy.profiles); the shipped ones are CONTRACT.md's table.

>>> from gateway.policy.rules import always, has_card, has_sensitive
>>> chain = Chain("example", (Link(has_sensitive, QUARANTINE), Link(always, DELIVER)))
>>> decide(chain, Facts("citrus.example", ("example.com",), ("US_SSN",))).action
'quarantine'
>>> cerritos = Chain("cerritos", (Link(has_card, BLOCK), Link(has_sensitive, QUARANTINE), Link(always, DELIVER)))
>>> decide(cerritos, Facts("c.example", ("example.com",), ("CREDIT_CARD", "US_EIN"))).reasons
('found CREDIT_CARD, US_EIN',)
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
    kept = [first]
    for _, hit in hits[1:]:
        if hit.rule == "no-sensitive-data" or any(hit.reason in k.reason for k in kept):
            continue
        narrower = [n for n, k in enumerate(kept)
                    if _only_names(k) and _only_names(hit) and set(k.entities) <= set(hit.entities)]
        if narrower:   # "found CREDIT_CARD" then "found CREDIT_CARD, US_SSN": say it once
            kept[narrower[0]] = hit
        else:
            kept.append(hit)
    return Decision(link.action, first.rule, tuple(dict.fromkeys(k.reason for k in kept)))


def _only_names(hit: Hit) -> bool:
    """The reason says nothing but which entities were found."""
    return bool(hit.entities) and hit.reason == f"found {', '.join(hit.entities)}"

