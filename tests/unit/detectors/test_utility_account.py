"""UTILITY_ACCOUNT: utility customer and service account numbers (a table of text and
expected (entity, value) pairs), and the exact data match list."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.edm import EdmStore
from detectors.engine import Detector
from detectors.utility_account import DEFAULT_FORMATS
from tests.unit.detectors.entities import found

CASES = [
    # utility accounts
    ("SCE customer account 2-12-345-6789", [("UTILITY_ACCOUNT", "2-12-345-6789")]),
    ("Edison service account 3-123-4567-89", [("UTILITY_ACCOUNT", "3-123-4567-89")]),
    ("Part 2-12-345-6789", []),
    ("Water acct# 00123456 due", [("UTILITY_ACCOUNT", "00123456")]),
    ("Water account number 123456789012", [("UTILITY_ACCOUNT", "123456789012")]),
    ("Permit 12345678", []),
    ("for acct 61812446.\n\nOrder 799235527 was refunded", [("UTILITY_ACCOUNT", "61812446")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_entity_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_exact_data_match_needs_no_context(tmp_path: object) -> None:
    store = EdmStore(Path(str(tmp_path)))
    store.add(["5551234567", "0099887766"], utility="City Water")
    detector = Detector(DEFAULT_FORMATS, store.load())
    assert found("ref 0099887766 thanks", detector) == [("UTILITY_ACCOUNT", "0099887766")]
    assert found("ref 0099887767 thanks", detector) == []
    assert b"0099887766" not in (Path(str(tmp_path)) / "edm.sqlite").read_bytes()
