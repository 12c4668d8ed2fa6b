"""Each entity's rules as a table: (text, expected (entity, value) pairs)."""

from __future__ import annotations

import pytest

from detectors.edm import EdmStore
from detectors.engine import Detector
from detectors.utility_account import DEFAULT_FORMATS

DETECTOR = Detector()


def found(text: str, detector: Detector = DETECTOR) -> list[tuple[str, str]]:
    return [(f.entity, f.value) for f in detector.find("body", text) if f.entity != "PHONE_NUMBER"]


CASES = [
    # SSN, formatted: found without a keyword
    ("Applicant 219-45-6789 approved", [("US_SSN", "219-45-6789")]),
    ("id 219 45 6789.", [("US_SSN", "219 45 6789")]),
    ("id 219.45.6789", [("US_SSN", "219.45.6789")]),
    ("split at the hyphen 219-45-\n6789", [("US_SSN", "219-45-\n6789")]),
    ("full width ２１９－４５－６７８９", [("US_SSN", "２１９－４５－６７８９")]),
    ("soft hyphen 219\u00ad45\u00ad6789", [("US_SSN", "219\u00ad45\u00ad6789")]),
    # SSN, plain: only with context
    ("SSN: 219456789", [("US_SSN", "219456789")]),
    ("Social Security Number 219456789", [("US_SSN", "219456789")]),
    ("order 219456789", []),
    # SSN: never issued, advertising, placeholders, mixed separators
    ("SSN 000-45-6789 666-45-6789 219-00-6789 219-45-0000", []),
    ("SSN 078-05-1120 219-09-9999 457-55-5462 123-45-6789 111-11-1111", []),
    ("219-45 6789", []),
    ("INV219456789 and 219456789X", []),
    # ITIN vs SSN vs ATIN
    ("ITIN 912-50-1234", [("US_ITIN", "912-50-1234")]),
    ("payer 987-70-1234", [("US_ITIN", "987-70-1234")]),
    ("ATIN 912-93-1234", []),
    ("itin 912701234", [("US_ITIN", "912701234")]),
    # EIN
    ("EIN 27-1234567", [("US_EIN", "27-1234567")]),
    ("Vendor W-9: federal tax id 271234567", [("US_EIN", "271234567")]),
    ("Case 07-1234567", []),
    # cards
    ("Visa 4111 1111 1111 1111", [("CREDIT_CARD", "4111 1111 1111 1111")]),
    ("amex 3782-822463-10005", [("CREDIT_CARD", "3782-822463-10005")]),
    ("5555555555554444", [("CREDIT_CARD", "5555555555554444")]),
    ("tracking 4111 1111 1111 1112", []),
    ("order 9111111111111111", []),
    ("4111 1111 1111 111", []),  # Visa of 15 digits does not exist
    # routing
    ("Routing number 021000021", [("US_BANK_ROUTING", "021000021")]),
    ("ABA 0210-0002-1", [("US_BANK_ROUTING", "0210-0002-1")]),
    ("Reference 021000021", []),
    ("routing 021000022", []),
    # utility accounts
    ("SCE customer account 2-12-345-6789", [("UTILITY_ACCOUNT", "2-12-345-6789")]),
    ("Edison service account 3-123-4567-89", [("UTILITY_ACCOUNT", "3-123-4567-89")]),
    ("Part 2-12-345-6789", []),
    ("Water acct# 00123456 due", [("UTILITY_ACCOUNT", "00123456")]),
    ("Water account number 123456789012", [("UTILITY_ACCOUNT", "123456789012")]),
    ("Permit 12345678", []),
    ("for acct 61812446.\n\nOrder 799235527 was refunded", [("UTILITY_ACCOUNT", "61812446")]),
    # neighbours stay apart
    ("on 11 21 2026 219-45-6789", [("US_SSN", "219-45-6789")]),
    ("ZIP 92101-1234, dated 2026-11-21, $1,234,567.89, 10.0.0.1", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(("text", "value"), [
    ("call (213) 555-2368", "(213) 555-2368"),
    ("tel 213-555-2368", "213-555-2368"),
    ("+1 213 555 2368", "+1 213 555 2368"),
    ("cell +1 (213) 555-2368", "+1 (213) 555-2368"),
])
def test_phone_numbers(text: str, value: str) -> None:
    assert [(f.entity, f.value) for f in DETECTOR.find("body", text)] == [("PHONE_NUMBER", value)]


def test_a_phone_number_is_never_an_ssn() -> None:
    assert [f.entity for f in DETECTOR.find("body", "SSN desk: 213-555-2368")] == ["PHONE_NUMBER"]


def test_exact_data_match_needs_no_context(tmp_path: object) -> None:
    from pathlib import Path
    store = EdmStore(Path(str(tmp_path)))
    store.add(["5551234567", "0099887766"], utility="City Water")
    detector = Detector(DEFAULT_FORMATS, store.load())
    assert found("ref 0099887766 thanks", detector) == [("UTILITY_ACCOUNT", "0099887766")]
    assert found("ref 0099887767 thanks", detector) == []
    assert b"0099887766" not in (Path(str(tmp_path)) / "edm.sqlite").read_bytes()


def test_findings_carry_offsets_score_mask_and_recognizer() -> None:
    [f] = DETECTOR.find("attachment:a.csv", "x,219-45-6789\n")
    assert (f.segment, f.start, f.end, f.masked, f.recognizer) == \
        ("attachment:a.csv", 2, 13, "***-**-6789", "DlpUsSsnRecognizer")
    assert 0 < f.score <= 1 and "6789" not in repr(f)


JUNK = ["", "\x00\x01\x02" * 1000, "😀" * 5000, "9" * 100_000, "１２３" * 3000, "-" * 10000,
        "1 " * 50_000, "\ud800", "<html>" * 1000]


@pytest.mark.parametrize("text", JUNK, ids=range(len(JUNK)))
def test_junk_gives_no_findings_and_no_error(text: str) -> None:
    assert found(text) == []
