"""decide() with profile settings: entity thresholds, partner domains, monitor mode, replies' facts."""

from __future__ import annotations

from pathlib import Path

from detectors.findings import Finding
from gateway.pipeline import Action, Envelope, decide
from gateway.policy.profiles import Profiles, load

POLICIES = """
statements: {citrus: "Confidential."}
profiles:
  water:
    senders: [water.example]
    partner_domains: [cpuc.example]
    entities: {US_SSN: {min_score: 0.9, min_count: 2}, PHONE_NUMBER: {min_count: 3}}
    purposes: [collections]
    statement: citrus
    chain:
      - {rule: internal-only, action: deliver}
      - {rule: business-purpose, action: disclaimer}
      - {rule: sensitive-data, action: quarantine}
      - {rule: always, action: deliver}
  trial:
    senders: [trial.example]
    monitor: true
    chain:
      - {rule: sensitive-data, action: block}
      - {rule: always, action: deliver}
  default:
    chain: [{rule: always, action: deliver}]
"""


def finding(entity: str, score: float = 1.0) -> Finding:
    return Finding(entity, "body", 0, 11, score, "219-45-6789")


def policy(tmp_path: Path) -> Profiles:
    (tmp_path / "policies.yaml").write_text(POLICIES)
    return load(tmp_path)


def test_entities_count_only_at_their_minimum_score_and_count(tmp_path: Path) -> None:
    p = policy(tmp_path)
    to_outside = Envelope("a@water.example", ("r@example.com",))
    one = decide(to_outside, (finding("US_SSN"),), policy=p)
    assert one.action is Action.DELIVER and one.sensitive == ()
    weak = decide(to_outside, (finding("US_SSN", 0.6), finding("US_SSN", 0.6)), policy=p)
    assert weak.action is Action.DELIVER
    two = decide(to_outside, (finding("US_SSN"), finding("US_SSN")), policy=p)
    assert (two.action, two.sensitive, two.reasons) == (Action.QUARANTINE, ("US_SSN",), ("found US_SSN",))
    phones = decide(to_outside, tuple(finding("PHONE_NUMBER") for _ in range(3)), policy=p)
    assert phones.action is Action.QUARANTINE  # a profile may make phone numbers sensitive
    cards = decide(to_outside, (finding("CREDIT_CARD"),), policy=p)
    assert cards.action is Action.DELIVER      # not in this profile's entities


def test_partner_domains_count_as_internal(tmp_path: Path) -> None:
    p = policy(tmp_path)
    ssns = (finding("US_SSN"), finding("US_SSN"))
    assert decide(Envelope("a@water.example", ("r@filings.cpuc.example",)), ssns, policy=p).action is Action.DELIVER
    mixed = Envelope("a@water.example", ("r@cpuc.example", "x@example.com"))
    assert decide(mixed, ssns, policy=p).action is Action.QUARANTINE


def test_purpose_statement_and_accepted_codes(tmp_path: Path) -> None:
    p = policy(tmp_path)
    ssns = (finding("US_SSN"), finding("US_SSN"))
    env = Envelope("a@water.example", ("r@example.com",))
    ok = decide(env, ssns, policy=p, subject="Bill [purpose:collections]")
    assert (ok.action, ok.purpose, ok.statement, ok.exception) == (Action.DISCLAIMER, "collections",
                                                                   "Confidential.", True)
    refused = decide(env, ssns, policy=p, purpose_header="legal-compliance")  # a real code, not accepted here
    assert refused.action is Action.QUARANTINE and refused.purpose is None
    assert refused.declared == "legal-compliance" and refused.accepted == ("collections",)
    assert "'legal-compliance' is not one this profile accepts" in refused.reasons[-1]


def test_monitor_mode_delivers_and_says_what_it_would_have_done(tmp_path: Path) -> None:
    verdict = decide(Envelope("a@trial.example", ("r@example.com",)), (finding("US_SSN"),), policy=policy(tmp_path))
    assert (verdict.action, verdict.monitored) == (Action.DELIVER, Action.BLOCK)
    assert verdict.reasons == ("found US_SSN", "monitor mode: would block")


def test_the_sender_domain_need_not_count_as_internal(tmp_path: Path) -> None:
    (tmp_path / "policies.yaml").write_text(
        "statements: {}\nprofiles:\n  default:\n    sender_domain_internal: false\n"
        "    internal_domains: [county.example]\n    chain:\n"
        "      - {rule: internal-only, action: deliver}\n      - {rule: sensitive-data, action: quarantine}\n"
        "      - {rule: always, action: deliver}\n")
    p = load(tmp_path)
    ssn = (finding("US_SSN"),)
    assert decide(Envelope("x@gmail.example", ("y@gmail.example",)), ssn, policy=p).action is Action.QUARANTINE
    assert decide(Envelope("x@county.example", ("y@county.example",)), ssn, policy=p).action is Action.DELIVER
