"""Rules: one yes/no question each, with the reason when yes.

Rule names are stable kebab-case strings: they appear in audit records,
replies and metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from detectors.findings import Unreadable

# Cerritos 1.03.040 A.1 names driver's licence numbers; Citrus AR 15.07 bank account information.
SENSITIVE = frozenset({"US_SSN", "US_ITIN", "US_EIN", "CREDIT_CARD", "UTILITY_ACCOUNT", "US_BANK_ROUTING",
                       "US_DRIVER_LICENSE", "US_BANK_ACCOUNT"})
# Parts that could not be read but hide nothing a person wrote: inline images, signatures.
HARMLESS_UNREADABLE = frozenset({Unreadable.IMAGE, Unreadable.SIGNATURE})


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a rule may look at: no message text, no values."""

    sender_domain: str
    recipient_domains: tuple[str, ...]
    entities: tuple[str, ...]          # one entry per sensitive finding the profile counts
    unreadable: tuple[str, ...] = ()   # reasons of the parts that could not be read
    purpose: str | None = None         # a valid, accepted purpose code
    internal: tuple[str, ...] = ()     # more internal domains: the profile's own and its partners

    @property
    def external(self) -> tuple[str, ...]:
        """Recipient domains outside the sender's domain and the profile's internal ones
        (subdomains included): a message is judged by these."""
        own = (self.sender_domain, *self.internal)
        return tuple(d for d in self.recipient_domains if not any(_within(d, o) for o in own))


def _within(domain: str, parent: str) -> bool:
    domain, parent = domain.lower(), parent.lower()
    return domain == parent or domain.endswith("." + parent)


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    reason: str
    entities: tuple[str, ...] = ()   # the entity types the reason names


Rule = Callable[[Facts], "Hit | None"]


def all_internal(facts: Facts) -> Hit | None:
    return None if facts.external else Hit("internal-only", "every recipient is internal")


def has_sensitive(facts: Facts) -> Hit | None:
    found = sorted(set(facts.entities))
    return Hit("sensitive-data", f"found {', '.join(found)}", tuple(found)) if found else None


def has_card(facts: Facts) -> Hit | None:
    return Hit("card-data", "found CREDIT_CARD", ("CREDIT_CARD",)) if "CREDIT_CARD" in facts.entities else None


def sensitive_with_purpose(facts: Facts) -> Hit | None:
    hit = has_sensitive(facts)
    if hit is None or facts.purpose is None:
        return None
    return Hit("business-purpose", f"{hit.reason}; declared purpose {facts.purpose}", hit.entities)


def unreadable_part(facts: Facts) -> Hit | None:
    reasons = sorted(set(facts.unreadable) - HARMLESS_UNREADABLE)
    return Hit("unscannable", f"parts not readable: {', '.join(reasons)}") if reasons else None


def always(facts: Facts) -> Hit | None:
    return Hit("no-sensitive-data", "nothing sensitive to an external recipient")
