"""US_EIN: US Employer Identification Number.

Nine digits written ``dd-ddddddd``. The first two digits are an IRS campus
prefix; 00 07 08 09 17 18 19 28 29 49 69 70 78 79 89 96 97 are never
assigned (IRS, "How EINs are assigned and valid EIN prefixes"; the table in
python-stdnum's ``us.ein``). The dashed form is a finding on its own; nine
plain digits need context.

>>> [f.masked for f in find("Employer ID 27-1234567, thanks")]
['**-***4567']
>>> find("Order 07-1234567")   # 07 is not an assigned prefix
[]
"""

from __future__ import annotations

from presidio_analyzer import Pattern
from stdnum.us import ein

from detectors.candidates import Candidate
from detectors.context import Context, keywords
from detectors.findings import Finding
from detectors.recognizer import DigitsRecognizer

ENTITY = "US_EIN"
CONTEXT = ("ein", "employer identification", "employer id", "fein", "tax id", "tax id no",
           "federal tax", "w-9", "w9", "tin", "taxpayer identification")
_NEAR = keywords(*CONTEXT)


def is_valid(digits: str) -> bool:
    return len(digits) == 9 and ein.is_valid(digits)


def judge(c: Candidate, ctx: Context) -> float | None:
    """Score a candidate as an EIN, or None."""
    if len(c.digits) != 9:
        return None
    if c.groups == (2, 7) and c.sep == "-":
        score = 1.0 if ctx.near(_NEAR, c.start, c.end) else 0.8
    elif c.plain and ctx.near(_NEAR, c.start, c.end):
        score = 0.65
    else:
        return None
    return score if is_valid(c.digits) else None


class DlpUsEinRecognizer(DigitsRecognizer):
    ENTITY = ENTITY
    PATTERNS = [
        Pattern("ein dashed (medium)", r"\b\d{2}-\d{7}\b", 0.5),
        Pattern("ein plain (weak)", r"\b\d{9}\b", 0.05),
    ]
    CONTEXT = list(CONTEXT)

    def check(self, digits: str) -> bool:
        return is_valid(digits)


def find(text: str) -> list[Finding]:
    from detectors.engine import find_entity
    return find_entity(ENTITY, text)
