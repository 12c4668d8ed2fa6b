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


def test_routing_check_is_the_librarys() -> None:
    # detectors.bank_routing.is_valid stands in for python-stdnum's us.rtn.is_valid (compiled),
    # with the Federal Reserve prefixes on top
    import random

    from stdnum.us import rtn

    from detectors.bank_routing import _PREFIXES, is_valid
    rng = random.Random(11)
    for _ in range(100_000):
        digits = f"{rng.randrange(10 ** 9):09d}"
        assert is_valid(digits) == (int(digits[:2]) in _PREFIXES and rtn.is_valid(digits)), digits
    assert not is_valid("02100002") and not is_valid("0210000210") and not is_valid("02100002a")
