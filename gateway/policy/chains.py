"""Per-profile chains: the first matching rule decides the action.

The default profiles are CONTRACT.md's table: an outbound message with at
least one external recipient and one sensitive finding is quarantined,
blocked or delivered with a statement, by profile and declared purpose;
anything else is delivered (with the City's disclaimer for palos-verdes).

>>> facts = Facts("citrus.example", ("example.com",), ("US_SSN",))
>>> decide(CHAINS["citrus-water"], facts).action
'quarantine'
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.policy.rules import (
    Facts, Hit, Rule, all_internal, always, has_card, has_sensitive, sensitive_with_purpose, unreadable_part,
)

DELIVER, DISCLAIMER, QUARANTINE, BLOCK = "deliver", "disclaimer", "quarantine", "block"


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
    others = [h.reason for _, h in hits[1:] if h.reason != first.reason]
    return Decision(link.action, first.rule, (first.reason, *dict.fromkeys(others)))


def _chain(profile: str, *links: tuple[Rule, str]) -> Chain:
    return Chain(profile, tuple(Link(rule, action) for rule, action in links))


CHAINS = {
    "citrus-water": _chain("citrus-water", (all_internal, DELIVER), (unreadable_part, QUARANTINE),
                           (sensitive_with_purpose, DISCLAIMER), (has_sensitive, QUARANTINE), (always, DELIVER)),
    "lancaster-lce": _chain("lancaster-lce", (all_internal, DELIVER), (unreadable_part, QUARANTINE),
                            (sensitive_with_purpose, DISCLAIMER), (has_sensitive, BLOCK), (always, DELIVER)),
    "pomona-pce": _chain("pomona-pce", (all_internal, DELIVER), (unreadable_part, QUARANTINE),
                         (sensitive_with_purpose, DISCLAIMER), (has_sensitive, BLOCK), (always, DELIVER)),
    "cerritos": _chain("cerritos", (all_internal, DELIVER), (has_card, BLOCK), (unreadable_part, QUARANTINE),
                       (has_sensitive, QUARANTINE), (always, DELIVER)),
    "palos-verdes": _chain("palos-verdes", (all_internal, DISCLAIMER), (unreadable_part, QUARANTINE),
                           (sensitive_with_purpose, DISCLAIMER), (has_sensitive, QUARANTINE),
                           (always, DISCLAIMER)),
    "default": _chain("default", (all_internal, DELIVER), (unreadable_part, QUARANTINE),
                      (sensitive_with_purpose, DISCLAIMER), (has_sensitive, QUARANTINE), (always, DELIVER)),
}
# Which statement a DISCLAIMER appends: palos-verdes its own (policies/003 E.2), the others Citrus's.
STATEMENTS = {"palos-verdes": "palos-verdes"} | {p: "citrus" for p in CHAINS if p != "palos-verdes"}
SENDER_DOMAINS = {"citrus.example": "citrus-water", "lancaster.example": "lancaster-lce",
                  "pomona.example": "pomona-pce", "cerritos.example": "cerritos",
                  "pvestates.example": "palos-verdes"}


def profile_for(sender: str) -> str:
    """The default profile for a sender address (its domain or a parent domain)."""
    domain = sender.rpartition("@")[2].lower()
    while domain:
        if domain in SENDER_DOMAINS:
            return SENDER_DOMAINS[domain]
        domain = domain.partition(".")[2]
    return "default"
