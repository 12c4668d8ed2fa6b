"""bank_account.judge answers without reading a label where no label could make a number a
bank's (``BankWords.near``): it must answer as the full reading does, wherever the label sits."""

from __future__ import annotations

import pytest

from detectors import bank_account
from detectors.candidates import normalize, scan_numbers
from detectors.context import Context
from detectors.engine import HEADER_WORDS, _LabelOf, default_detector, structure

FILLER = "We looked at each of the reports again, and the approach still holds for the quarter. " * 3
TEXTS = [
    "Routing 021000021, checking account 12345678",
    "Bank: Wells Fargo  Account: 4417730982",
    "Direct deposit to account 4417730982 please",
    "Depósito directo, cuenta 4417730982",
    "Ban\u212a account 4417730982",
    "Name,Bank Account,Amount\n" + "Ana,44177301,12.00\n" * 40,
    'Name,"Ba""nk Account",Amount\n' + "Ana,44177301,12.00\n" * 5,
    "Account Number\n4417730982\n\nRouting number 021000021",
    "Account: 4417730982\nRouting: 021000021",
    FILLER + "Account to be credited: 4417730982",
    FILLER + "accounttobecredited 4417730982",
    FILLER + "credit union account 4417730982",
    "x" * 179 + "bank account 4417730982",
    "Deposit" + "9" * 180 + " 4417730982",
    FILLER + "Customer account 4417730982, meter 123456789",
    FILLER + "\n\n" + "Order 4417730982 shipped",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("tables", [None, "blocks"])
def test_quick_answer_is_the_full_answer(text: str, tables: str | None) -> None:
    norm = normalize(text)
    vocab = default_detector().vocab
    found, _ = scan_numbers(norm)
    table = structure(norm) if tables else None
    quick = Context(norm, vocab, table, HEADER_WORDS)
    full = Context(norm, vocab, table, HEADER_WORDS)
    for c in found:
        fast = bank_account.judge(c, _LabelOf(quick, c, True, bank_account.BankWords(norm, True)))
        slow = bank_account.judge(c, _LabelOf(full, c, True))
        assert fast == slow
        if slow is not None:
            assert bank_account.BankWords(norm, True).near(c.start, c.end)


def test_no_bank_word_no_label_read() -> None:
    text = FILLER + "\n\nOrder 4417730982 shipped"
    assert not bank_account.BankWords(text, True).near(text.index("4417"), text.index("4417") + 10)
