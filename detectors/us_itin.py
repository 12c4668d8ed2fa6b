"""US_ITIN: US Individual Taxpayer Identification Number.

``9dd-dd-dddd`` (or plain), whose fourth and fifth digits are 50-65, 70-88,
90-92 or 94-99 (IRS; 93 is the ATIN range). python-stdnum's ``us.itin``
rejects 50-65, which the IRS now issues, so the ranges are checked here.
A formatted ITIN is a finding on its own; nine plain digits need a label
(ITIN, or an SSN label: SSN fields hold ITINs of people without an SSN).
Under a bare TIN label, ``9dd-dd-dddd`` is an ITIN and plain digits an EIN.
A number is an ITIN or an SSN, never both: SSNs never start with 9.

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.masked for f in find("ITIN 912-50-1234 on file")]
['***-**-1234']
>>> find("ATIN 912-93-1234")
[]
"""

from __future__ import annotations

from detectors.context import keywords
from detectors.recognizer import formatted_or_labelled, nine_digit_shape

ENTITY = "US_ITIN"
# TIN words name EINs too (us_ein): there the written form decides.
CONTEXT = ("itin", "itin#", "individual taxpayer", "taxpayer identification", "taxpayer id", "tin", "tin#",
           "vendor tin", "payer tin", "payee tin",
           "recipient tin", "recipient's tin", "payer's tin", "número de identificación personal del contribuyente")
SIZES = (9,)
WORDS = keywords(*CONTEXT)
_GROUPS = frozenset(range(50, 66)) | frozenset(range(70, 89)) | {90, 91, 92} | frozenset(range(94, 100))


def is_valid(digits: str) -> bool:
    """Whether nine digits have the ITIN structure."""
    return len(digits) == 9 and digits[0] == "9" and int(digits[3:5]) in _GROUPS \
        and digits[5:] != "0000" and digits != "9" * 9  # 999-99-9999 is a placeholder


# An SSN field holds the ITIN of whoever has no SSN.
judge = formatted_or_labelled(ENTITY, is_valid, WORDS, also=frozenset({"US_SSN"}))
shape_fits = nine_digit_shape  # the shapes judge may accept (detectors.engine)
