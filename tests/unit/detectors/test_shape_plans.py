"""The engine runs on a candidate only the judges its shape lets accept it (Detector._plan): a judge
left out must return None for that shape whatever its digits and label."""

from __future__ import annotations

import itertools
import random

from detectors import credit_card, phone
from detectors.candidates import Candidate
from detectors.context import Label
from detectors.engine import _SIZES, FIXED, Detector
from detectors.utility_account import ENTITY as UTILITY

_ENTITIES = ("US_SSN", "US_ITIN", "US_EIN", "US_BANK_ROUTING", "US_BANK_ACCOUNT", UTILITY, "CREDIT_CARD")
# Labels that make each judge accept the most: every entity nearest, the words each one looks for.
_LABELS = [Label(text, frozenset(nearest), words, before, column)
           for text in ("", "ssn itin ein tin routing bank account card water acct customer account")
           for nearest in ((), *((e,) for e in _ENTITIES), ("US_SSN", "US_EIN"))
           for words, before, column in ((0, "", False), (0, "", True), (2, "routing bank", False))]


def _shapes() -> list[tuple[tuple[int, ...], str]]:
    shapes = []
    for count in range(1, 5):
        for groups in itertools.product(range(1, 10), repeat=count):
            if 6 <= sum(groups) <= 19:
                for sep in ("", "-", " ", ".", "mixed") if count > 1 else ("",):
                    shapes.append((groups, sep))
    picked = random.Random(3).sample(shapes, 500)  # of some 10,000: the test stays fast
    return picked + [(g, sep) for g in ((4, 4), (4, 4, 4), (5, 4), (3, 2, 4), (2, 7), (4, 4, 1), (3, 3, 4), (3, 4),
                                        (1, 3, 3, 4), (4, 4, 4, 4), (4, 6, 5), (4, 4, 4, 4, 3), (4, 2, 2), (2, 2, 4))
                     for sep in ("-", " ", ".", "mixed")]


def _digits(rng: random.Random, size: int) -> list[str]:
    """Digits a judge may accept: valid cards, SSN-like and ITIN-like starts, random ones."""
    out = ["".join(rng.choice("0123456789") for _ in range(size)) for _ in range(3)]
    for prefix in ("4", "2", "9", "0", "51", "37", "6011"):
        body = prefix + "".join(rng.choice("0123456789") for _ in range(size - len(prefix) - 1))
        out.append(next(body + d for d in "0123456789" if credit_card.luhn_valid(body + d)))
    out.append("912" + "70" + "".join(rng.choice("123456789") for _ in range(size - 5)))
    return out


def test_a_judge_left_out_accepts_no_candidate_of_the_shape() -> None:
    rng = random.Random(7)
    detector = Detector()
    for groups, sep in _shapes():
        size = sum(groups)
        plan = detector._plan(size, groups, sep)
        judges, utility, number = plan if plan is not None else ((), False, False)
        skipped = [j for j in FIXED if size in _SIZES[j[0]] and j not in judges]
        for digits in _digits(rng, size):
            c = Candidate(100, 100 + size + len(groups) - 1, digits, groups, sep)
            if not number:  # not even after a parenthesised area code
                assert phone.span(c, " " * 94 + "(213) " + "x" * (size + len(groups))) is None
            for label in _LABELS:
                for _, judge, _, _ in skipped:
                    assert judge(c, lambda label=label: label) is None, (groups, sep)
                if not utility:
                    assert detector.utility.judge(c, lambda label=label: label) is None, (groups, sep)

