"""PHONE_NUMBER: telephone numbers, and the numbers they are not."""

from __future__ import annotations

import pytest

from tests.unit.detectors.entities import DETECTOR


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
