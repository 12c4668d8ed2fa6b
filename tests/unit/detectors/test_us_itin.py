"""US_ITIN: taxpayer numbers of the 9xx area, and the ATIN that is not one: a table of (text, expected (entity, value) pairs)."""

from __future__ import annotations

import pytest

from tests.unit.detectors.entities import found

CASES = [
    # ITIN vs SSN vs ATIN
    ("ITIN 912-50-1234", [("US_ITIN", "912-50-1234")]),
    ("payer 987-70-1234", [("US_ITIN", "987-70-1234")]),
    ("ATIN 912-93-1234", []),
    ("itin 912701234", [("US_ITIN", "912701234")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected
