"""A verdict's reasons name each finding once, the deciding rule's first."""

from __future__ import annotations

import pytest

from gateway.policy.chains import BLOCK, DELIVER, DISCLAIMER, QUARANTINE, Chain, Link, decide
from gateway.policy.rules import Facts, always, has_card, has_sensitive, sensitive_with_purpose

CERRITOS = Chain("cerritos", (Link(has_card, BLOCK), Link(has_sensitive, QUARANTINE), Link(always, DELIVER)))
CARD_THEN_PURPOSE = Chain("x", (Link(has_card, BLOCK), Link(sensitive_with_purpose, DISCLAIMER),
                                Link(has_sensitive, QUARANTINE), Link(always, DELIVER)))


@pytest.mark.parametrize("chain, entities, purpose, action, reasons", [
    # the card rule decides; the wider list replaces "found CREDIT_CARD"
    (CERRITOS, ("CREDIT_CARD", "US_EIN", "US_BANK_ROUTING"), None, BLOCK,
     ("found CREDIT_CARD, US_BANK_ROUTING, US_EIN",)),
    (CERRITOS, ("CREDIT_CARD",), None, BLOCK, ("found CREDIT_CARD",)),
    # an entity that sorts before CREDIT_CARD
    (CERRITOS, ("CREDIT_CARD", "ACME_ID"), None, BLOCK, ("found ACME_ID, CREDIT_CARD",)),
    (CERRITOS, ("US_SSN",), None, QUARANTINE, ("found US_SSN",)),
    # a reason that says more than the names is kept as said
    (CARD_THEN_PURPOSE, ("CREDIT_CARD", "US_SSN"), "collections", BLOCK,
     ("found CREDIT_CARD", "found CREDIT_CARD, US_SSN; declared purpose collections")),
])
def test_each_reason_once(chain: Chain, entities: tuple[str, ...], purpose: str | None, action: str,
                          reasons: tuple[str, ...]) -> None:
    decision = decide(chain, Facts("c.example", ("example.com",), entities, purpose=purpose))
    assert (decision.action, decision.reasons) == (action, reasons)
