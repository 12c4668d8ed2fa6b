"""What the entity modules share: a Presidio recognizer over digits, and the
judgement of a nine-digit number that is a finding when formatted and needs
context when plain (SSN, ITIN)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import ClassVar

from presidio_analyzer import Pattern, PatternRecognizer

from detectors.candidates import Candidate
from detectors.context import Context


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


class DigitsRecognizer(PatternRecognizer):
    """A PatternRecognizer whose matches are checked by ``check`` on their digits.

    ``CHECKSUM`` says whether ``check`` is a real check digit: then a pass
    sets the score to 1.0 (validate_result); otherwise a failure only drops
    the match (invalidate_result).
    """

    ENTITY: ClassVar[str]
    PATTERNS: ClassVar[list[Pattern]]
    CONTEXT: ClassVar[list[str]]
    CHECKSUM: ClassVar[bool] = False

    def __init__(self) -> None:
        # Presidio compares context words with single lemmas: a phrase such as
        # "social security" would never match, so its words are given alone.
        words = sorted({word for phrase in self.CONTEXT for word in phrase.split()})
        super().__init__(supported_entity=self.ENTITY, patterns=self.PATTERNS, context=words)

    def check(self, digits: str) -> bool:
        raise NotImplementedError

    def validate_result(self, pattern_text: str) -> bool | None:
        return self.check(digits_of(pattern_text)) if self.CHECKSUM else None

    def invalidate_result(self, pattern_text: str) -> bool:
        return not self.CHECKSUM and not self.check(digits_of(pattern_text))


def formatted_or_context(is_valid: Callable[[str], bool], near: re.Pattern[str]
                         ) -> Callable[[Candidate, Context], float | None]:
    """Judge for nine digits: ``ddd-dd-dddd`` (or spaces, dots) alone, plain only with context."""
    def judge(c: Candidate, ctx: Context) -> float | None:
        if len(c.digits) != 9 or not is_valid(c.digits):
            return None
        if c.groups == (3, 2, 4) and c.sep in ("-", " ", "."):
            return 1.0 if ctx.near(near, c.start, c.end) else 0.85
        if c.plain and ctx.near(near, c.start, c.end):
            return 0.7
        return None
    return judge
