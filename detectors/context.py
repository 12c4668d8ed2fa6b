"""Context words near a candidate number, matched on lower-cased text.

Presidio's context enhancement compares lemmas of the words around a match;
on a window of plain text a whole-word regex over lower-cased words says the
same at a fraction of the cost, and needs no tokenizer.

>>> near = keywords("ssn", "social security")
>>> Context("My SSN is 123").near(near, 10, 13)
True
>>> Context("lessn 123").near(near, 6, 9)
False
"""

from __future__ import annotations

import re

BEFORE = 60
AFTER = 20
_LAST_DIGIT = re.compile(r"\d(?!.*\d)", re.DOTALL)


def keywords(*words: str) -> re.Pattern[str]:
    """A pattern matching any of ``words`` as whole words (spaces match any blank)."""
    parts = sorted((re.escape(w.lower()).replace(r"\ ", r"[\s._-]*") for w in words), key=len, reverse=True)
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(parts) + r")(?![a-z])")


class Context:
    """The text candidates sit in; only the windows looked at are lower-cased."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def near(self, pattern: re.Pattern[str], start: int, end: int,
             before: int = BEFORE, after: int = AFTER, nearest: bool = False) -> bool:
        """Whether ``pattern`` occurs within the window around ``start:end``.

        With ``nearest``, a keyword counts only when no other number stands
        between it and this one ("acct 61812446. Order 799235527": the order
        number is not an account).
        """
        text = self.text
        head = text[max(0, start - before):start]
        if nearest:
            digit = _LAST_DIGIT.search(head)
            if digit is not None:
                head = head[digit.end():]
        window = (head + " " + text[end:end + after]).lower()
        return pattern.search(window) is not None
