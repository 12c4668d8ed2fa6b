"""CREDIT_CARD: payment card numbers: a table of (text, expected (entity, value) pairs)."""

from __future__ import annotations

import pytest

from tests.unit.detectors.entities import found

CASES = [
    # cards
    ("Visa 4111 1111 1111 1111", [("CREDIT_CARD", "4111 1111 1111 1111")]),
    ("amex 3782-822463-10005", [("CREDIT_CARD", "3782-822463-10005")]),
    ("5555555555554444", [("CREDIT_CARD", "5555555555554444")]),
    ("tracking 4111 1111 1111 1112", []),
    ("order 9111111111111111", []),
    ("4111 1111 1111 111", []),  # Visa of 15 digits does not exist
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected
