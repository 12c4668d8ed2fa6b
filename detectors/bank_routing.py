"""US_BANK_ROUTING: ABA routing transit number.

Nine digits (``dddd-dddd-d`` is also seen) whose first two are 00-12, 21-32,
61-72 or 80, passing the ABA 3-7-1 checksum (python-stdnum's ``us.rtn``).
About one random nine-digit number in ten passes the checksum, so a routing
number is reported only with context nearby.

>>> [f.masked for f in find("Routing number 021000021, account 12345")]
['*****0021']
>>> find("Ref 021000021"), find("ABA 021000022")
([], [])
"""

from __future__ import annotations

from presidio_analyzer import Pattern
from stdnum.us import rtn

from detectors.candidates import Candidate
from detectors.context import Context, keywords
from detectors.findings import Finding
from detectors.recognizer import DigitsRecognizer

ENTITY = "US_BANK_ROUTING"
CONTEXT = ("routing", "aba", "rtn", "transit", "bank", "routing number", "routing no", "abarouting")
_NEAR = keywords(*CONTEXT)
_PREFIXES = frozenset(range(0, 13)) | frozenset(range(21, 33)) | frozenset(range(61, 73)) | {80}


def is_valid(digits: str) -> bool:
    return len(digits) == 9 and int(digits[:2]) in _PREFIXES and rtn.is_valid(digits)


def judge(c: Candidate, ctx: Context) -> float | None:
    """Score a candidate as a routing number (context required), or None."""
    if len(c.digits) != 9 or not (c.plain or (c.groups == (4, 4, 1) and c.sep == "-")):
        return None
    if not ctx.near(_NEAR, c.start, c.end) or not is_valid(c.digits):
        return None
    return 0.9


class DlpBankRoutingRecognizer(DigitsRecognizer):
    ENTITY = ENTITY
    PATTERNS = [Pattern("routing (weak)", r"\b\d{9}\b|\b\d{4}-\d{4}-\d\b", 0.05)]
    CONTEXT = list(CONTEXT)
    CHECKSUM = True

    def check(self, digits: str) -> bool:
        return is_valid(digits)


def find(text: str) -> list[Finding]:
    from detectors.engine import find_entity
    return find_entity(ENTITY, text)
