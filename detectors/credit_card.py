"""CREDIT_CARD: payment card number (PAN).

13 to 19 digits, plain or grouped by spaces or dashes, passing the Luhn check
(python-stdnum's ``luhn``, compiled here: ``luhn_valid``) with a real brand prefix and a length that brand
issues: Visa 4 (13, 16, 19); Mastercard 51-55, 2221-2720 (16); American
Express 34, 37 (15); Discover 6011, 622126-622925, 644-649, 65 (16-19); JCB
3528-3589 (16-19); Diners Club 300-305, 309, 36, 38-39 (14-19); UnionPay 62
(16-19). Long numbers failing Luhn or without a brand (orders, tracking
numbers, invoices) are not cards.

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.masked for f in find("Visa 4111 1111 1111 1111 exp 12/27")]
['**** **** **** 1111']
>>> find("Tracking 4111 1111 1111 1112"), find("Order 9111111111111111")
([], [])
"""

from __future__ import annotations

from detectors.candidates import Candidate
from detectors.context import keywords
from detectors.recognizer import LabelOf

ENTITY = "CREDIT_CARD"
CONTEXT = ("card", "credit", "debit", "visa", "mastercard", "master card", "amex", "american express",
           "discover", "jcb", "diners", "unionpay", "expiration", "exp", "expires", "cvv", "cvc",
           "security code", "cardholder", "card number", "pan", "cc", "cc#", "card#",
           "tarjeta", "número de tarjeta", "tarjeta de crédito", "tarjeta de débito", "vencimiento")
SIZES = tuple(range(13, 20))
WORDS = keywords(*CONTEXT)

# (lowest prefix, highest prefix, lengths)
_BRANDS = (
    ("4", "4", (13, 16, 19)),
    ("51", "55", (16,)), ("2221", "2720", (16,)),
    ("34", "34", (15,)), ("37", "37", (15,)),
    ("6011", "6011", (16, 17, 18, 19)), ("622126", "622925", (16, 17, 18, 19)),
    ("644", "649", (16, 17, 18, 19)), ("65", "65", (16, 17, 18, 19)),
    ("3528", "3589", (16, 17, 18, 19)),
    ("300", "305", (14, 15, 16, 17, 18, 19)), ("309", "309", (14, 15, 16, 17, 18, 19)),
    ("36", "36", (14, 15, 16, 17, 18, 19)), ("38", "39", (14, 15, 16, 17, 18, 19)),
    ("62", "62", (16, 17, 18, 19)),
)
_LAYOUTS = frozenset({(4, 6, 5), (4, 6, 4)})


def luhn_valid(digits: str) -> bool:
    """python-stdnum's ``luhn.is_valid`` on ASCII digits (a test compares the two on every
    length), in the compiled detectors: the library's generator expressions cost 3.6 µs a card
    number, about 3% of a 10 KB message's scan.

    >>> luhn_valid("4111111111111111"), luhn_valid("4111111111111112"), luhn_valid("")
    (True, False, False)
    """
    total = 0
    double = False
    for ch in reversed(digits):
        digit = ord(ch) - 48
        if not 0 <= digit <= 9:
            return False
        if double:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
        double = not double
    return total % 10 == 0 and digits != ""


def brand_fits(digits: str) -> bool:
    """Whether some brand issues numbers with this prefix and length."""
    for low, high, lengths in _BRANDS:
        if len(digits) in lengths and low <= digits[:len(low)] <= high:
            return True
    return False


def _grouped_like_a_card(groups: tuple[int, ...]) -> bool:
    if len(groups) == 1 or groups in _LAYOUTS:
        return True
    return all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4


def shape_fits(size: int, groups: tuple[int, ...], sep: str) -> bool:
    """Whether a number of this shape may be a card (whatever its digits and label): judge's own
    shape conditions, for detectors.engine's dispatch."""
    return 13 <= size <= 19 and sep in ("", " ", "-") and _grouped_like_a_card(groups)


def judge(c: Candidate, label_of: LabelOf) -> float | None:
    """Score a candidate as a card number, or None."""
    if not 13 <= len(c.digits) <= 19 or c.sep not in ("", " ", "-"):
        return None
    if not (_grouped_like_a_card(c.groups) and brand_fits(c.digits) and luhn_valid(c.digits)):
        return None
    label = label_of()
    if WORDS.search(label.text):
        return 1.0
    # A bank account that happens to pass Luhn is no card: its own label says so.
    return None if label.nearest and ENTITY not in label.nearest and label.words <= 3 else 0.9
