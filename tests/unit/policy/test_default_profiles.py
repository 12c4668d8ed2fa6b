"""CONTRACT.md's table of default profiles (config/policies.yaml), cell by cell, as pure decisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.policy.chains import decide
from gateway.policy.profiles import load
from gateway.policy.purpose import CODES, declared, strip_tag, valid
from gateway.policy.rules import Facts

SHIPPED = load(Path(__file__).resolve().parents[3] / "config")
CHAINS = {name: SHIPPED.chain(name) for name in SHIPPED.settings.profiles}
STATEMENTS = {name: p.statement for name, p in SHIPPED.settings.profiles.items()}
profile_for = SHIPPED.profile_for
SENDERS = {"citrus-water": "citrus.example", "lancaster-lce": "lancaster.example",
           "pomona-pce": "pomona.example", "cerritos": "cerritos.example",
           "palos-verdes": "pvestates.example", "default": "elsewhere.example"}


def facts(profile: str, entities: tuple[str, ...], purpose: str | None = None,
          recipients: tuple[str, ...] = ("example.com",), unreadable: tuple[str, ...] = ()) -> Facts:
    return Facts(SENDERS[profile], recipients, entities, unreadable, purpose)


# (profile, no valid purpose, valid purpose) for an external recipient and an SSN
TABLE = [
    ("citrus-water", "quarantine", "disclaimer"),
    ("lancaster-lce", "block", "disclaimer"),
    ("pomona-pce", "block", "disclaimer"),
    ("cerritos", "quarantine", "quarantine"),
    ("palos-verdes", "quarantine", "disclaimer"),
    ("default", "quarantine", "disclaimer"),
]


@pytest.mark.parametrize(("profile", "without", "with_purpose"), TABLE)
def test_contract_table(profile: str, without: str, with_purpose: str) -> None:
    assert decide(CHAINS[profile], facts(profile, ("US_SSN",))).action == without
    assert decide(CHAINS[profile], facts(profile, ("US_SSN",), "collections")).action == with_purpose


@pytest.mark.parametrize("purpose", [None, "legal-compliance"])
def test_cerritos_blocks_any_card(purpose: str | None) -> None:
    decision = decide(CHAINS["cerritos"], facts("cerritos", ("CREDIT_CARD", "US_SSN"), purpose))
    assert (decision.action, decision.rule) == ("block", "card-data")


@pytest.mark.parametrize("profile", list(TABLE_PROFILES := [row[0] for row in TABLE]))
def test_no_sensitive_finding_or_internal_only_is_delivered(profile: str) -> None:
    expected = "disclaimer" if profile == "palos-verdes" else "deliver"  # the City's disclaimer on everything
    assert decide(CHAINS[profile], facts(profile, ())).action == expected
    internal = facts(profile, ("US_SSN", "CREDIT_CARD"), recipients=(SENDERS[profile], "hr." + SENDERS[profile]))
    assert decide(CHAINS[profile], internal).action == expected


@pytest.mark.parametrize("profile", TABLE_PROFILES)
def test_an_unreadable_part_to_an_external_recipient_is_quarantined(profile: str) -> None:
    assert decide(CHAINS[profile], facts(profile, (), unreadable=("encrypted",))).action == "quarantine"
    harmless = decide(CHAINS[profile], facts(profile, (), unreadable=("image", "signature")))
    assert harmless.action != "quarantine"


def test_mixed_recipients_are_judged_by_the_external_one() -> None:
    mixed = facts("lancaster-lce", ("US_SSN",), recipients=("lancaster.example", "example.com"))
    assert decide(CHAINS["lancaster-lce"], mixed).action == "block"


def test_reasons_explain_without_values() -> None:
    decision = decide(CHAINS["default"], facts("default", ("US_SSN", "CREDIT_CARD", "US_SSN")))
    assert decision.reasons[0] == "found CREDIT_CARD, US_SSN"
    assert decision.rule == "sensitive-data"


def test_statements() -> None:
    assert STATEMENTS["palos-verdes"] == "palos-verdes"
    assert {STATEMENTS[p] for p in CHAINS if p != "palos-verdes"} == {"citrus"}


@pytest.mark.parametrize(("sender", "profile"), [
    ("clerk@citrus.example", "citrus-water"), ("a@LANCASTER.example", "lancaster-lce"),
    ("b@billing.pomona.example", "pomona-pce"), ("c@cerritos.example", "cerritos"),
    ("d@pvestates.example", "palos-verdes"), ("e@gmail.example", "default"), ("no-at-sign", "default"),
])
def test_sender_domain_to_profile(sender: str, profile: str) -> None:
    assert profile_for(sender) == profile


@pytest.mark.parametrize(("subject", "header", "expected"), [
    ("Refund [purpose:collections]", None, "collections"),
    ("[PURPOSE:Customer-Service] hello", None, "customer-service"),
    ("hello", "dispute-resolution", "dispute-resolution"),
    ("hello [purpose:unknown-code]", None, None),
    ("hello", None, None),
])
def test_purpose_in_subject_or_header(subject: str, header: str | None, expected: str | None) -> None:
    assert valid(declared(subject, header), CODES) == expected


def test_purpose_tag_is_removed_from_the_subject() -> None:
    assert strip_tag("Refund [purpose:collections] for March") == "Refund for March"
    assert strip_tag("[Purpose: collections] Refund") == "Refund"
