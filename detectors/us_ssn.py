"""US_SSN: US Social Security number.

Nine digits written ``ddd-dd-dddd``, ``ddd dd dddd``, ``ddd.dd.dddd`` or plain.
Never issued (SSA, "Social Security Number Randomization", June 2011): area
000, 666 and 900-999, group 00, serial 0000; python-stdnum's ``us.ssn``
checks those and its list of advertising numbers (078-05-1120, 219-09-9999,
457-55-5462). Numbers of one repeated digit and 123-45-6789 are placeholders.
No check digit: a formatted valid SSN is a finding on its own; nine plain
digits need an SSN label (detectors.context). The 9xx area belongs to ITINs
(us_itin); a number labelled EIN is an EIN (us_ein).

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.masked for f in find("Applicant 219-45-6789 approved")]
['***-**-6789']
>>> find("Sample card 078-05-1120"), find("order 219456789")
([], [])
>>> [f.score for f in find("SSN: 219456789")], [f.entity for f in find("Seguro social 219456789")]
([1.0], ['US_SSN'])
"""

from __future__ import annotations

from stdnum.us import ssn

from detectors.context import keywords
from detectors.recognizer import formatted_or_labelled, nine_digit_shape

ENTITY = "US_SSN"
CONTEXT = ("ssn", "ss#", "ss #", "ssns", "ssn#", "ss no", "social security", "social security number",
           "social sec", "soc sec", "soc sec no", "ssa number", "ssa no", "social", "taxpayer",
           "seguro social", "número de seguro social", "no de seguro social", "num de seguro social")
SIZES = (9,)
WORDS = keywords(*CONTEXT)
_PLACEHOLDERS = frozenset({"123456789", "987654321"} | {d * 9 for d in "0123456789"})
# python-stdnum's advertising numbers, as digits: its other checks are the ones above.
_BLACKLIST = frozenset(n.replace("-", "") for n in getattr(ssn, "_ssn_blacklist", ()))


def is_valid(digits: str) -> bool:
    """Whether nine digits could be an issued SSN."""
    if digits[0] == "9" or digits[:3] in ("000", "666") or digits[3:5] == "00" or digits[5:] == "0000":
        return False  # never issued: the cheap part of ssn.is_valid, before its blacklist
    if digits in _PLACEHOLDERS:
        return False
    if _BLACKLIST and len(digits) == 9 and digits.isascii() and digits.isdigit():
        return digits not in _BLACKLIST  # what ssn.is_valid has left to check, without its parsing
    return ssn.is_valid(digits)


judge = formatted_or_labelled(ENTITY, is_valid, WORDS)
shape_fits = nine_digit_shape  # the shapes judge may accept (detectors.engine)
