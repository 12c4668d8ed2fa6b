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


def test_luhn_check_is_the_librarys() -> None:
    # detectors.credit_card.luhn_valid stands in for python-stdnum's luhn.is_valid (compiled)
    import itertools
    import random

    from stdnum import luhn

    from detectors.credit_card import luhn_valid
    rng = random.Random(7)
    numbers = ["", *("".join(p) for n in range(1, 5) for p in itertools.product("0123456789", repeat=n))]
    numbers += ["".join(rng.choice("0123456789") for _ in range(rng.randint(5, 19))) for _ in range(50_000)]
    numbers += ["4111-1111", "4111 1111 1111 1111", "12a4", "٤١١١١١١١١١١١١١١١"]   # what the detector never asks
    for number in numbers:
        assert luhn_valid(number) == luhn.is_valid(number), number
