"""A long text's windows read only the blocks whose header rows may name a bank or licence
column (detectors.engine, Blocks.within with marks): the header checks must answer as if every
block of the window were read, however the header is written."""

from __future__ import annotations

import pytest

from detectors import bank_account, driver_license
from detectors.candidates import normalize
from detectors.engine import Detector, _headed, structure

PROSE = ("Thanks for the update on the meeting; each of the reports is attached, and the "
         "approach we discussed still holds.\nSee you on Monday.\n\n")
HEADERS = [
    "Name\tBank Account\tAmount",
    'Name,"Ba""nk Account",Amount',       # CSV quotes split the word
    'Name,"Check"ing,Amount',
    "Name,Depósito directo,Amount",       # fold() drops the accent
    "Name,Deposito directo,Amount",
    "Name,Ban\u212a Account,Amount",      # the Kelvin sign lower-cases to k
    "Name,Routing,Account",               # an account column beside a bank word
    'Name,"credit,union",Account',
    "Name,Account to be credited,Amount",
    "Name,DirectDeposit,Amount",
    "Name,DL #,Amount",
    "Name,D.L.,Amount",
    "Name,C.D.L,Amount",
    "Name,Driver's Lic,Amount",
    "Name,Licencia de conducir,Amount",
    "Name,Commercialdriverlicense,Amount",
    "Customer,Notes,Amount",              # nothing of theirs
]
ROWS = "Ana,44177,B7730982\nLuis,52001,C1204417\n"


@pytest.mark.parametrize("header", HEADERS)
def test_marked_blocks_answer_as_all_blocks(header: str) -> None:
    text = PROSE * 3 + header + "\n" + ROWS + "\n" + PROSE * 3
    blocks = structure(text)
    detector = Detector()
    foreign = len(detector._prefilter.marks.patterns) - 1
    for lo in range(0, len(text), 37):
        for width in (120, 400):
            view = blocks.shifted(lo)
            norm = normalize(text[lo:lo + width])
            if view.count(len(norm)) < 2:
                continue
            every = view.within(len(norm))
            _, marks = detector._prefilter.marked(norm)
            bank = _headed(norm, view, marks, detector._bank_columns, foreign)
            licence = _headed(norm, view, marks, detector._licence_columns, foreign)
            words = _headed(norm, view, detector._bank_marks.ends(norm), range(len(bank_account.HEADER_MARKS)),
                            len(bank_account.HEADER_MARKS))
            assert list(bank_account.short_in_columns(norm, bank)) == list(bank_account.short_in_columns(norm, every))
            assert driver_license._licence_column(licence) == driver_license._licence_column(every)
            assert bank_account.in_headers(words) == bank_account.in_headers(every)


def test_the_header_is_found_far_above() -> None:
    text = "Name,Bank Account,Amount\n" + "Ana,44177,12.00\n" * 3000 + "\n" + PROSE * 50
    findings = Detector().find("attachment:x.csv", text, structure(text))
    assert sum(f.entity == bank_account.ENTITY for f in findings) == 3000
