"""US_BANK_ROUTING: ABA routing transit number.

Nine digits (``dddd-dddd-d`` is also seen) whose first two are 00-12, 21-32,
61-72 or 80, passing the ABA 3-7-1 checksum (python-stdnum's ``us.rtn``, compiled
here: ``is_valid``).
About one random nine-digit number in ten passes the checksum, so a routing
number is reported only beside a label (routing, ABA, RTN, transit, bank;
ruta bancaria, número de ruta).

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.masked for f in find("Routing number 021000021, account 12345")]
['*****0021']
>>> find("Ref 021000021"), find("ABA 021000022")
([], [])
"""

from __future__ import annotations

from detectors.candidates import Candidate
from detectors.context import keywords
from detectors.recognizer import LabelOf

ENTITY = "US_BANK_ROUTING"
CONTEXT = ("routing", "routing number", "routing no", "routing #", "routing#", "aba", "aba#", "aba number",
           "aba no", "rtn", "transit", "transit number", "bank", "bank routing", "abarouting", "routing/aba",
           "ruta", "ruta bancaria", "número de ruta", "número de ruta bancaria", "banco")
SIZES = (9,)
WORDS = keywords(*CONTEXT)
# A routing word in an account's label ("routing number of the checking account"; a row label
# "Routing" under a "Direct deposit" column) still makes a valid number the routing number.
_ROUTING_WORDS = keywords("routing", "aba", "rtn", "transit", "ruta bancaria", "número de ruta")
_ACCOUNTS = frozenset({"UTILITY_ACCOUNT", "US_BANK_ACCOUNT"})
_PREFIXES = frozenset(range(0, 13)) | frozenset(range(21, 33)) | frozenset(range(61, 73)) | {80}


def is_valid(digits: str) -> bool:
    """A routing number's prefix and python-stdnum's ``us.rtn.is_valid`` on ASCII digits (a test
    compares them), compiled: the library's checksum costs 4 µs a call.

    >>> is_valid("021000021"), is_valid("021000022"), is_valid("991000021")
    (True, False, False)
    """
    if len(digits) != 9 or not (digits.isascii() and digits.isdigit()):
        return False
    d = [ord(ch) - 48 for ch in digits]
    return (d[0] * 10 + d[1] in _PREFIXES
            and (7 * (d[0] + d[3] + d[6]) + 3 * (d[1] + d[4] + d[7]) + 9 * (d[2] + d[5])) % 10 == d[8])


def shape_fits(size: int, groups: tuple[int, ...], sep: str) -> bool:
    """Whether a number of this shape may be a routing number (judge's shape conditions, for
    detectors.engine)."""
    return size == 9 and (len(groups) == 1 or (groups == (4, 4, 1) and sep == "-"))


def judge(c: Candidate, label_of: LabelOf) -> float | None:
    """Score a candidate as a routing number (a label required), or None."""
    if len(c.digits) != 9 or not (c.plain or (c.groups == (4, 4, 1) and c.sep == "-")):
        return None
    if not is_valid(c.digits):
        return None
    label = label_of()
    if ENTITY in label.nearest:
        return 1.0
    if label.nearest & _ACCOUNTS and not _ROUTING_WORDS.search(label.text):
        return None  # "bank account 021000021": the account label is nearer
    return 0.9 if WORDS.search(label.text) else None
