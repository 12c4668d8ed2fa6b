"""Candidate numbers: digit runs found in one pass, split into groups.

A multi-pattern engine (hyperscan, when installed) finds every run of digits
and separators in one pass over the text; only those small spans are looked
at again in Python. Text is first mapped character for character (so offsets
stay true) from full-width and other Unicode digits to ASCII, and from the
look-alike dashes and spaces (non-breaking hyphen, soft hyphen, figure space,
no-break space) to ``-`` and `` ``.

>>> [(c.digits, c.groups, c.sep) for c in candidates("SSN 123-45-6789, on 11 21 2026") if c.sep != " "]
[('123456789', (3, 2, 4), '-')]
>>> [c.groups for c in candidates("11 21 2026")]   # every run of groups split at spaces
[(2, 2, 4), (2, 4)]
>>> [c.digits for c in candidates("ｓｓｎ １２３４５６７８９")]
['123456789']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

MIN_DIGITS = 6
MAX_DIGITS = 19
_MAX_GROUPS = 6
SEPARATORS = "-. "


def _translation() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x80, 0x30000):
        char = chr(code)
        if unicodedata.category(char) == "Nd":
            table[code] = str(unicodedata.digit(char))
    for dash in "\u00ad\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d":
        table[ord(dash)] = "-"
    for space in "\u00a0\u2007\u2009\u202f\u200a\u3000":
        table[ord(space)] = " "
    table[ord("\uff0e")] = "."
    return table


_TABLE = _translation()


def normalize(text: str) -> str:
    """Return ``text`` with Unicode digits, dashes and spaces made ASCII, offsets kept."""
    return text if text.isascii() else text.translate(_TABLE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A number as written: its span, its digits and how they were grouped."""

    start: int
    end: int
    digits: str
    groups: tuple[int, ...]
    sep: str  # "" for one group, the one separator used, or "mixed"

    @property
    def plain(self) -> bool:
        return len(self.groups) == 1


# A run: digits, and single separators (a dash may be followed by a line
# break: numbers wrapped at a hyphen are still found).
_RUN = re.compile(r"\d+(?:(?:-\r?\n|[-. ])\d+)*")
_GROUP = re.compile(r"\d+")


def _runs_re(text: str) -> Iterator[tuple[int, int]]:
    for match in _RUN.finditer(text):
        yield match.start(), match.end()


try:
    import hyperscan

    _DB = hyperscan.Database()
    _DB.compile(expressions=[rb"[0-9](?:[0-9]|-\r?\n|[-. ])*"], ids=[0],
                flags=[hyperscan.HS_FLAG_SOM_LEFTMOST])
    _SCRATCH = hyperscan.Scratch(_DB)

    def _regions(data: bytes) -> list[tuple[int, int]]:
        """Byte spans holding digits, merged (hyperscan reports every match end)."""
        spans: list[list[int]] = []

        def on_match(_id: int, start: int, end: int, _flags: int, _ctx: object) -> None:
            if spans and start <= spans[-1][1]:
                if end > spans[-1][1]:
                    spans[-1][1] = end
            else:
                spans.append([start, end])

        _DB.scan(data, match_event_handler=on_match, scratch=_SCRATCH)
        return [(s, e) for s, e in spans]

    def _runs(text: str) -> Iterator[tuple[int, int]]:
        if not text.isascii():  # byte offsets would differ from character offsets
            yield from _runs_re(text)
            return
        for start, end in _regions(text.encode("ascii")):
            for match in _RUN.finditer(text, start, end):
                yield match.start(), match.end()

except ImportError:  # pragma: no cover - hyperscan wheels exist for Linux x86-64/arm64
    _runs = _runs_re


def candidates(text: str) -> list[Candidate]:
    """Return every number-like span of 6 to 19 digits, and its sub-numbers.

    A run like ``11 21 2026 123-45-6789`` holds several numbers side by side:
    every sequence of its groups split at spaces is a candidate too (never at
    a dash or dot, which join the parts of one number).
    """
    text = normalize(text)
    out: list[Candidate] = []
    for start, end in _runs(text):
        out.extend(_split(text, start, end))
    return out


def _split(text: str, start: int, end: int) -> Iterator[Candidate]:
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(text, start, end)]
    if not _bounded(text, start, end):
        return
    seps = [text[groups[i][1]] for i in range(len(groups) - 1)]
    for first in range(len(groups)):
        if first and seps[first - 1] != " ":
            continue
        for last in range(first, min(len(groups), first + _MAX_GROUPS)):
            if last + 1 < len(groups) and seps[last] != " " and last - first + 1 < _MAX_GROUPS:
                # may still be a prefix of a longer dashed number: only whole pieces count
                continue
            yield from _candidate(text, groups[first:last + 1], seps[first:last])


def _candidate(text: str, groups: list[tuple[int, int]], seps: list[str]) -> Iterator[Candidate]:
    digits = "".join(text[s:e] for s, e in groups)
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return
    kinds = set(seps)
    sep = "" if not seps else (seps[0] if len(kinds) == 1 else "mixed")
    yield Candidate(groups[0][0], groups[-1][1], digits, tuple(e - s for s, e in groups), sep)


def _bounded(text: str, start: int, end: int) -> bool:
    """A number glued to letters (INV123456789, 123456789abc) is an identifier, not a number."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())
