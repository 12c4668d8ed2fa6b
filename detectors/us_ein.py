"""US_EIN: US Employer Identification Number.

Nine digits written ``dd-ddddddd``. The first two digits are an IRS campus
prefix; 00 07 08 09 17 18 19 28 29 49 69 70 78 79 89 96 97 are never
assigned (IRS, "How EINs are assigned and valid EIN prefixes"; the table in
python-stdnum's ``us.ein``). The dashed form is a finding on its own; nine
plain digits need a label. The label decides against the written form: nine
digits labelled EIN/FEIN/employer ID are an EIN even when written like an
SSN; under a bare TIN label the written form decides (``ddd-dd-dddd`` SSN).

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.masked for f in find("Employer ID 27-1234567, thanks")]
['**-***4567']
>>> find("Order 07-1234567")   # 07 is not an assigned prefix
[]
>>> [f.entity for f in find("FEIN: 219-45-6789")]
['US_EIN']
"""

from __future__ import annotations

from stdnum.us import ein

from detectors.candidates import Candidate
from detectors.context import keywords
from detectors.recognizer import LabelOf, written_as_ssn

ENTITY = "US_EIN"
CONTEXT = ("ein", "ein#", "fein", "fein#", "employer identification", "employer identification number",
           "employer id", "employer id no", "employer no", "employer number", "federal tax id", "federal tax",
           "federal id", "tax id", "tax id no", "tax id number", "tax identification", "w-9", "w9", "tin",
           "tin#", "taxpayer identification", "vendor tin", "payer tin", "payee tin", "recipient tin",
           "recipient's tin", "payer's tin",
           "número de identificación patronal", "identificación patronal", "número patronal")
SIZES = (9,)
WORDS = keywords(*CONTEXT)


# The assigned prefixes, read once from python-stdnum's table (its lookup is slow per call).
_PREFIXES = frozenset(p for p in (f"{n:02d}" for n in range(100)) if ein.is_valid(p + "1234567"))


def is_valid(digits: str) -> bool:
    return len(digits) == 9 and digits.isdigit() and digits[:2] in _PREFIXES


def shape_fits(size: int, groups: tuple[int, ...], sep: str) -> bool:
    """Whether a number of this shape may be an EIN (judge's shape conditions, for detectors.engine)."""
    return size == 9 and sep != "mixed"


def judge(c: Candidate, label_of: LabelOf) -> float | None:
    """Score a candidate as an EIN, or None."""
    dashed = c.groups == (2, 7) and c.sep == "-"
    if len(c.digits) != 9 or c.sep == "mixed" or not is_valid(c.digits):
        return None
    label = label_of()
    if ENTITY in label.nearest:
        # A bare TIN names SSNs and ITINs too: then ddd-dd-dddd is theirs.
        return 0.8 if written_as_ssn(c) and len(label.nearest) > 1 else 1.0
    labelled = WORDS.search(label.text) is not None
    if dashed:
        return 0.95 if labelled else 0.8
    return 0.65 if labelled and c.plain else None
