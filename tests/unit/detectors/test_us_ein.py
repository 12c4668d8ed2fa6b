"""US_EIN: employer identification numbers: a table of (text, expected (entity, value) pairs)."""

from __future__ import annotations

import pytest

from tests.unit.detectors.entities import found

CASES = [
    # EIN
    ("EIN 27-1234567", [("US_EIN", "27-1234567")]),
    ("Vendor W-9: federal tax id 271234567", [("US_EIN", "271234567")]),
    ("Case 07-1234567", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected
