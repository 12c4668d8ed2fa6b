"""config/policies.yaml: the shipped profiles decide as CONTRACT.md's table; bad files name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.disclaimer import CITRUS
from gateway.policy import chains
from gateway.policy.profiles import load
from gateway.policy.rules import Facts

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = load(ROOT / "config")


# CONTRACT.md, written out: profile -> (no valid purpose, valid purpose, card) for an
# external recipient with a sensitive finding, and what everything else gets.
CONTRACT = {
    "citrus-water": ("quarantine", "disclaimer", "quarantine", "deliver"),
    "lancaster-lce": ("block", "disclaimer", "block", "deliver"),
    "pomona-pce": ("block", "disclaimer", "block", "deliver"),
    "cerritos": ("quarantine", "quarantine", "block", "deliver"),
    "palos-verdes": ("quarantine", "disclaimer", "quarantine", "disclaimer"),
    "default": ("quarantine", "disclaimer", "quarantine", "deliver"),
}
PROFILE_OF = {"a@citrus.example": "citrus-water", "b@lancaster.example": "lancaster-lce",
              "c@pomona.example": "pomona-pce", "d@cerritos.example": "cerritos",
              "e@pvestates.example": "palos-verdes", "f@x.example": "default",
              "g@billing.citrus.example": "citrus-water"}


@pytest.mark.parametrize("sender", list(PROFILE_OF))
def test_shipped_file_decides_as_the_contract(sender: str) -> None:
    profile = SHIPPED.profile_for(sender)
    assert profile == PROFILE_OF[sender]
    without, with_purpose, card, otherwise = CONTRACT[profile]
    domain = sender.rpartition("@")[2]
    cases = [((), None, ("example.com",), otherwise), (("US_SSN",), None, ("example.com",), without),
             (("US_SSN",), "collections", ("example.com",), with_purpose),
             (("CREDIT_CARD",), None, ("example.com",), card), (("US_SSN",), None, (domain,), otherwise)]
    for entities, purpose, recipients, expected in cases:
        facts = Facts(domain, recipients, entities, (), purpose)
        assert chains.decide(SHIPPED.chain(profile), facts).action == expected, (profile, entities, purpose)
    unreadable = Facts(domain, ("example.com",), (), ("encrypted",), None)
    assert chains.decide(SHIPPED.chain(profile), unreadable).action == "quarantine"


def test_the_citrus_statement_is_the_contract_text() -> None:
    assert SHIPPED.settings.statements["citrus"] == CITRUS


def problem(tmp_path: Path, text: str) -> str:
    (tmp_path / "policies.yaml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load(tmp_path)
    return str(error.value)


BASE = "statements: {s: text}\nprofiles:\n  default:\n    chain:\n"


@pytest.mark.parametrize(("text", "expected"), [
    (BASE + "      - {rule: always, action: shred}\n", "policies.yaml:5: profiles.default.chain.0.action"),
    (BASE + "      - {rule: sensitive-data, action: block}\n", "policies.yaml:3: profiles.default: the chain must end"),
    (BASE + "      - {rule: always, action: deliver}\n    purposes: [bribery]\n",
     "policies.yaml:6: profiles.default.purposes.0"),
    (BASE + "      - {rule: always, action: deliver}\n    statement: nope\n", "statement 'nope'"),
    ("statements: {}\nprofiles:\n  other:\n    chain: [{rule: always, action: deliver}]\n",
     "a profile named 'default' is required"),
])
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problem(tmp_path, text)


def test_config_dir_copy_is_the_shipped_file() -> None:
    from gateway.policy.profiles import SHIPPED as PACKAGED
    assert (ROOT / "config" / "policies.yaml").read_bytes() == PACKAGED.read_bytes()


def test_no_config_dir_means_the_shipped_profiles(tmp_path: Path) -> None:
    assert load(None).settings == SHIPPED.settings
    assert load(tmp_path).settings == SHIPPED.settings  # a directory without policies.yaml


def test_group_lists_from_files_and_the_most_specific_entry_wins(tmp_path: Path) -> None:
    (tmp_path / "groups").mkdir()
    (tmp_path / "groups" / "finance.txt").write_text(
        "# Cerritos finance, who send from the county domain too\nAP.Clerk@county.example\n\n"
        "payroll.county.example  # a whole subdomain\n")
    (tmp_path / "policies.yaml").write_text(
        BASE + "      - {rule: always, action: deliver}\n"
        "  cerritos:\n    sender_files: [groups/finance.txt]\n    chain: [{rule: always, action: quarantine}]\n"
        "  county:\n    senders: [county.example]\n    chain: [{rule: always, action: deliver}]\n")
    profiles = load(tmp_path)
    assert profiles.profile_for("ap.clerk@county.example") == "cerritos"
    assert profiles.profile_for("x@payroll.county.example") == "cerritos"
    assert profiles.profile_for("x@a.payroll.county.example") == "cerritos"
    assert profiles.profile_for("other@county.example") == "county"
    assert profiles.profile_for("x@example.org") == "default"


def test_a_missing_group_list_names_the_line_that_asks_for_it(tmp_path: Path) -> None:
    text = (BASE + "      - {rule: always, action: deliver}\n"
            "    sender_files: [groups/none.txt]\n")
    message = problem(tmp_path, text)
    assert "policies.yaml:6: profiles.default.sender_files.0" in message and "none.txt" in message


@pytest.mark.parametrize(("text", "expected"), [
    (BASE + "      - {rule: always, action: disclaimer}\n", "disclaimer action but the profile names no statement"),
    (BASE + "      - {rule: always, action: deliver}\n    senders: [a.example]\n"
     "  other:\n    senders: [A.example]\n    chain: [{rule: always, action: deliver}]\n",
     "sender 'A.example' is listed by profiles 'default' and 'other'"),
])
def test_contradictions_between_keys_are_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problem(tmp_path, text)
