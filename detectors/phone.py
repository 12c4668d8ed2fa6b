"""PHONE_NUMBER: telephone numbers, validated by phonenumbers (region US).

Phone numbers are findings of their own (the policies list telephone numbers
as confidential customer data) and keep phone-shaped digits from being
taken for SSNs or account numbers: a 10-digit 3-3-4 number is never an SSN.

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.value for f in find("Call (213) 555-2368 or 213.555.2368")]
['(213) 555-2368', '213.555.2368']
>>> find("SSN 078-05-1120")
[]
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from detectors.candidates import Candidate
from detectors.context import NEGATIVE, Label, keywords

ENTITY = "PHONE_NUMBER"
CONTEXT = ("phone", "phone number", "phone #", "ph", "tel", "telephone", "cell", "cell phone", "mobile", "fax",
           "call", "contact", "dial", "toll free", "hotline", "teléfono", "número de teléfono", "celular",
           "móvil", "llame", "llámenos")
SIZES = (7, 10, 11)  # 7: the part after a parenthesised area code
WORDS = keywords(*CONTEXT)
_WORDS_OR_NOT = re.compile(f"(?P<yes>{WORDS.pattern})|(?P<no>{keywords(*NEGATIVE).pattern})")
_AREA = re.compile(r"(?:\+1[ .-]?)?\((\d{3})\) ?$")
_NANP_DESCS = (getattr(phonenumbers.PhoneMetadata.metadata_for_region(r), "general_desc", None)
               for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
_NANP = re.compile("|".join(f"(?:{d.national_number_pattern})" for d in _NANP_DESCS
                            if d is not None and d.national_number_pattern))
_DIGIT_OR_BREAK = re.compile(r"[0-9\n]")
_SHAPES = frozenset({(3, 3, 4), (1, 3, 3, 4), (10,), (11,)})


def span(c: Candidate, text: str) -> tuple[int, int, str] | None:
    """The phone number's span and digits (with a parenthesised area code), or None."""
    start, digits, groups = c.start, c.digits, c.groups
    if groups == (3, 4) and c.sep in ("-", ".", " "):
        area = _AREA.search(text, max(0, start - 12), start)
        if area is None:
            return None
        start, digits, groups = area.start(), area.group(1) + digits, (3, 3, 4)
    if groups not in _SHAPES or (len(digits) == 11 and digits[0] != "1"):
        return None
    if start and text[start - 1] == "+":
        start -= 1
    return start, c.end, digits


def shape_fits(size: int, groups: tuple[int, ...], sep: str) -> bool:
    """Whether a number of this shape may be a phone number (span()'s shape conditions, for
    detectors.engine)."""
    return size in SIZES and ((groups == (3, 4) and sep in ("-", ".", " ")) or groups in _SHAPES)


def judge(c: Candidate, text: str) -> tuple[int, int] | None:
    """Span of a valid US phone number at ``c``, or None."""
    found = span(c, text)
    if found is None or not is_valid(found[2][-10:]):
        return None
    return found[0], found[1]


def score(label: Label) -> float:
    """A phone number's score under its label: a phone label beats an account label (0.8)."""
    if ENTITY in label.nearest:
        return 0.95
    return 0.75 if WORDS.search(label.text) else 0.6


def quick_score(text: str, start: int) -> float | None:
    """The score of a phone number no other entity claims, from the words just before it.

    None when the nearest of those words, on its line and past any other
    number, is a negative label ("Meeting ID").
    """
    window = text[max(0, start - 40):start]
    cut = _DIGIT_OR_BREAK.search(window[::-1])  # the last digit or line break, read from the end
    window = (window if cut is None else window[len(window) - cut.start():]).lower()
    last = None
    for last in _WORDS_OR_NOT.finditer(window):  # noqa: B007 - keeps the last one
        pass
    if last is None:
        return 0.6
    return None if last.lastgroup == "no" else 0.75


def is_valid(national: str) -> bool:
    """Whether ten digits are a valid NANP number."""
    if national[0] in "01" or national[3] in "01":  # NPA and NXX start with 2-9
        return False
    return _valid_exchange(national[:6])


@lru_cache(maxsize=65536)
def _valid_exchange(npa_nxx: str) -> bool:
    """phonenumbers' verdict for an area code and exchange (NPA-NXX).

    Its NANP patterns never look at the last four digits (checked over 3,000
    random exchanges), so the verdict is kept per exchange; the last four
    digits of the number checked are a fixed, valid line number.
    """
    national = npa_nxx + "2368"
    if _NANP.fullmatch(national) is None:  # the union of every NANP number type
        return False
    number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
    return phonenumbers.is_valid_number_for_region(number, "US") or phonenumbers.is_valid_number(number)
