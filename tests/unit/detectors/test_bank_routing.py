"""US_BANK_ROUTING: ABA routing numbers: a table of (text, expected (entity, value) pairs)."""

from __future__ import annotations

import pytest

from tests.unit.detectors.entities import found

CASES = [
    # routing
    ("Routing number 021000021", [("US_BANK_ROUTING", "021000021")]),
    ("ABA 0210-0002-1", [("US_BANK_ROUTING", "0210-0002-1")]),
    ("Reference 021000021", []),
    ("routing 021000022", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected
