"""Which of a few patterns occur in a text at all: one hyperscan pass, no positions.

The entities found only beside a label (driver's licences, short bank
accounts) and the administrator's own types ask first whether anything of
theirs is in the text, all in one pass (detectors.engine); most mail holds
none of it, and then nothing else of theirs runs. Hyperscan reads the text once for every pattern (single-match
mode: it stops looking for a pattern once it has seen it). In prefilter mode
a pattern hyperscan cannot compile exactly is widened to one it can, so the
answer may be yes when the real pattern would not match; a pattern it cannot
take at all is searched with Python's ``regex`` instead. ``\\w``, ``\\s`` and
letter case are read as ASCII (hyperscan's Unicode properties cost several
times more): a custom pattern should spell out non-ASCII letters it needs.

>>> p = Prefilter([r"licen[cs]e", r"\\bC?DL\\b"])
>>> sorted(p.found("Driver LICENSE: on file")), sorted(p.found("no label here"))
([0], [])
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan wheels exist for Linux x86-64/arm64
    hyperscan = None  # type: ignore[assignment]
try:  # Presidio's regular expression engine: an administrator's patterns are written for it
    import regex as _re
except ImportError:  # pragma: no cover - a dependency of presidio-analyzer
    _re = re


_ENCODED = threading.local()


def one_byte(text: str) -> bytes:
    """``text`` encoded one byte a character, so byte offsets are character offsets: Latin-1, "?"
    for a character past it, and a line break after the last (so a pattern that reads the
    character after its match sees one at the end too). The patterns read ASCII; bytes past it
    read as non-letters, as "?" does.

    The last text's bytes are kept (per thread): the candidates' passes, the prefilter and the
    finders of one text encode it once. That matters: a text with one character past Latin-1
    (a curly quote) is encoded a character at a time, about 30 µs for 18 KB.
    """
    last: tuple[str, bytes] | None = getattr(_ENCODED, "last", None)
    if last is not None and last[0] is text:
        return last[1]
    data = text.encode("latin-1", "replace") + b"\n"
    _ENCODED.last = (text, data)
    return data


class Prefilter:
    """Patterns compiled once; ``found(text)`` returns the indexes of those that occur."""

    def __init__(self, patterns: Sequence[str], caseless: bool = True, marks: Sequence[str] = ()) -> None:
        self.patterns = tuple(patterns)
        self.marks = Marks(marks)  # positional patterns (Marks) that ``marked()`` also looks for
        self._local = threading.local()
        self._db = None
        self._fallback: list[tuple[int, Any]] = []
        flags = _re.IGNORECASE | _re.MULTILINE | _re.DOTALL if caseless else _re.MULTILINE | _re.DOTALL
        exact = []
        # UTF-8 mode only for a pattern that needs it (it costs); word, space and case classes are
        # read as ASCII either way (Unicode properties cost several times more).
        self._utf8 = not all(p.isascii() for p in self.patterns)
        if hyperscan is not None:
            for index, pattern in enumerate(self.patterns):
                if _compiles(pattern, caseless, self._utf8):
                    exact.append(index)
                else:
                    self._fallback.append((index, _re.compile(pattern, flags)))
        else:
            self._fallback = [(i, _re.compile(p, flags)) for i, p in enumerate(self.patterns)]
        if exact:
            self._db = hyperscan.Database()
            self._db.compile(expressions=[self.patterns[i].encode("utf-8") for i in exact], ids=exact,
                             flags=[_flags(caseless, self._utf8)] * len(exact))
        self._marked = None  # the patterns and the marks in one database: ASCII offsets, so not in UTF-8 mode
        if hyperscan is not None and marks and not self._utf8:
            self._marked = hyperscan.Database()
            self._marked.compile(
                expressions=[self.patterns[i].encode("ascii") for i in exact] + [m.encode("ascii") for m in marks],
                ids=exact + list(range(len(self.patterns), len(self.patterns) + len(marks))),
                flags=[_flags(caseless, False)] * len(exact) + [hyperscan.HS_FLAG_CASELESS] * len(marks))

    def found(self, text: str) -> set[int]:
        """Indexes of the patterns that occur in ``text`` (a superset, in prefilter mode)."""
        hits: set[int] = set()
        if self._db is not None and text:
            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                scratch = self._local.scratch = hyperscan.Scratch(self._db)  # one per thread
            data = text.encode("utf-8", "replace") if self._utf8 else one_byte(text)
            self._db.scan(data, scratch=scratch,
                          match_event_handler=lambda id_, _f, _t, _fl, _c: hits.add(id_))
        for index, pattern in self._fallback:
            if pattern.search(text):
                hits.add(index)
        return hits

    def marked(self, text: str) -> tuple[set[int], list[tuple[int, int]]]:
        """``found(text)``, and ``self.marks.ends(text)``: one pass where hyperscan takes both."""
        if self._marked is None or not text:
            return self.found(text), self.marks.ends(text)
        hits: set[int] = set()
        ends: list[tuple[int, int]] = []
        first = len(self.patterns)

        def on_match(id_: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            if id_ < first:
                hits.add(id_)
            else:
                ends.append((id_ - first, to))

        scratch = getattr(self._local, "marked", None)
        if scratch is None:
            scratch = self._local.marked = hyperscan.Scratch(self._marked)
        self._marked.scan(one_byte(text), scratch=scratch, match_event_handler=on_match)
        for index, pattern in self._fallback:
            if pattern.search(text):
                hits.add(index)
        return hits, ends


def _flags(caseless: bool, utf8: bool) -> int:
    flags = (hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_DOTALL
             | hyperscan.HS_FLAG_MULTILINE)
    if utf8:
        flags |= hyperscan.HS_FLAG_UTF8
    return flags | hyperscan.HS_FLAG_CASELESS if caseless else flags


def _compiles(pattern: str, caseless: bool, utf8: bool) -> bool:
    """Whether hyperscan takes ``pattern`` (in prefilter mode); else Python's re answers for it."""
    try:
        db = hyperscan.Database()
        db.compile(expressions=[pattern.encode("utf-8")], ids=[0], flags=[_flags(caseless, utf8)])
    except Exception:  # hyperscan.error: a construct it has no approximation for
        return False
    return True


class Finder:
    """Where a few patterns match: (pattern index, start, end) of every match, one hyperscan pass.

    For simple patterns (no look-around): hyperscan reports each match's
    leftmost start; the caller checks the characters around it.

    >>> Finder([r"[A-Za-z][0-9]{3}"]).spans("x A123 and b4567")
    [(0, 2, 6), (0, 11, 15)]
    """

    def __init__(self, patterns: Sequence[str], caseless: bool = False) -> None:
        self.patterns = tuple(patterns)
        self._local = threading.local()
        flags = re.IGNORECASE if caseless else 0
        self._regexes = [re.compile(p, flags) for p in self.patterns]
        self._db = None
        if hyperscan is not None and self.patterns:
            hs_flags = hyperscan.HS_FLAG_SOM_LEFTMOST | (hyperscan.HS_FLAG_CASELESS if caseless else 0)
            self._db = hyperscan.Database()
            self._db.compile(expressions=[p.encode("ascii") for p in self.patterns],
                             ids=list(range(len(self.patterns))), flags=[hs_flags] * len(self.patterns))

    def spans(self, text: str) -> list[tuple[int, int, int]]:
        """Every match, in order of its end (overlapping ones too)."""
        if self._db is None:
            return sorted(((i, m.start(), m.end()) for i, r in enumerate(self._regexes) for m in r.finditer(text)),
                          key=lambda s: s[2])
        out: list[tuple[int, int, int]] = []
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        self._db.scan(one_byte(text), scratch=scratch,
                      match_event_handler=lambda id_, start, end, _f, _c: out.append((id_, start, end)))
        return out


# Where a word may start, for Marks: a text's first letter, or after a non-letter.
WORD_START = r"(?:^|[^a-z0-9])"


class Marks:
    """Where a few patterns end: (pattern index, end) of every match, one hyperscan pass.

    Cheaper than Finder (no start of match): for a caller that only asks
    which part of a text (a block between blank lines, say) holds a match.
    Letter case is ignored; ``\\w``-like classes are read as ASCII.

    >>> Marks([r"bank"]).ends('Our Bank, your BANK')
    [(0, 8), (0, 19)]
    """

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._local = threading.local()
        # Without hyperscan: every start (a look-ahead), so overlapping matches are all seen.
        self._regexes = [re.compile(f"(?=({p}))", re.IGNORECASE) for p in self.patterns]
        self._db = None
        if hyperscan is not None and self.patterns:
            self._db = hyperscan.Database()
            self._db.compile(expressions=[p.encode("ascii") for p in self.patterns],
                             ids=list(range(len(self.patterns))),
                             flags=[hyperscan.HS_FLAG_CASELESS] * len(self.patterns))

    def ends(self, text: str) -> list[tuple[int, int]]:
        """Every match's pattern index and end, in order of its end."""
        if self._db is None:
            return sorted(((i, m.start() + len(m.group(1))) for i, r in enumerate(self._regexes)
                           for m in r.finditer(text)), key=lambda s: s[1])
        out: list[tuple[int, int]] = []
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        self._db.scan(one_byte(text), scratch=scratch,
                      match_event_handler=lambda id_, _start, end, _f, _c: out.append((id_, end)))
        return out
