"""What the entity modules share: how a label and a written form decide a
nine-digit number (SSN, ITIN, EIN), and the lazily computed label."""

from __future__ import annotations

import re
from collections.abc import Callable

from detectors.candidates import Candidate
from detectors.context import Label

LabelOf = Callable[[], Label]
Judge = Callable[[Candidate, LabelOf], "float | None"]
SEPARATORS = frozenset("- .")


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def written_as_ssn(c: Candidate) -> bool:
    """``ddd-dd-dddd`` (or spaces, dots): how SSNs and ITINs are written."""
    return c.groups == (3, 2, 4) and c.sep in SEPARATORS


def nine_digit_shape(size: int, groups: tuple[int, ...], sep: str) -> bool:
    """Whether a number of this shape may pass a ``formatted_or_labelled`` judge (whatever its
    digits and label): exactly the judge's own shape conditions, for detectors.engine's dispatch."""
    return size == 9 and sep != "mixed"


def formatted_or_labelled(entity: str, is_valid: Callable[[str], bool], words: re.Pattern[str],
                          also: frozenset[str] = frozenset()) -> Judge:
    """Judge for nine digits written ``ddd-dd-dddd`` (a finding alone) or plain beside a label.

    The nearest label decides: ``EIN 219-45-6789`` is no SSN (us_ein takes
    it). A label of this entity alone (or of one in ``also``) takes any
    grouping (``SSN 21-9456789``); a label it shares with the EIN (TIN)
    takes ``ddd-dd-dddd`` and leaves plain digits to the EIN, as vendors'
    TINs are.
    """
    def judge(c: Candidate, label_of: LabelOf) -> float | None:
        if len(c.digits) != 9 or c.sep == "mixed" or not is_valid(c.digits):
            return None
        label = label_of()
        if entity in label.nearest or also & label.nearest:
            if len(label.nearest) == 1:
                return 1.0
            if written_as_ssn(c):
                return 1.0
            return 0.9 if c.plain else None
        if not (c.plain or written_as_ssn(c)):
            return None
        labelled = words.search(label.text) is not None
        if written_as_ssn(c):
            return 0.95 if labelled else 0.85
        return 0.7 if labelled else None
    return judge
