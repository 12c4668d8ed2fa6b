"""Rules across the entities: neighbours stay apart, what a finding carries, junk. Each entity's own table is in its own file
(test_us_ssn.py, test_credit_card.py, ...)."""

from __future__ import annotations

import pytest

from tests.unit.detectors.entities import DETECTOR, found

CASES = [
    # neighbours stay apart
    ("on 11 21 2026 219-45-6789", [("US_SSN", "219-45-6789")]),
    ("ZIP 92101-1234, dated 2026-11-21, $1,234,567.89, 10.0.0.1", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


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
