"""US_SSN: Social Security numbers: a table of (text, expected (entity, value) pairs)."""

from __future__ import annotations

import pytest

from tests.unit.detectors.entities import found

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
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected
