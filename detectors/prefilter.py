"""Which of a few patterns occur in a text at all: one hyperscan pass, no positions.

The entities found only beside a label (driver's licences, short bank
accounts) and the administrator's own types ask first whether anything of
theirs is in the text; most mail holds none of it, and then nothing else of
theirs runs. Hyperscan reads the text once for every pattern (single-match
mode: it stops looking for a pattern once it has seen it). In prefilter mode
a pattern hyperscan cannot compile exactly is widened to one it can, so the
answer may be yes when the real pattern would not match, never no when it
would.

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
    hyperscan = None
try:  # Presidio's regular expression engine: an administrator's patterns are written for it
    import regex as _re
except ImportError:  # pragma: no cover - a dependency of presidio-analyzer
    _re = re


class Prefilter:
    """Patterns compiled once; ``found(text)`` returns the indexes of those that occur."""

    def __init__(self, patterns: Sequence[str], caseless: bool = True) -> None:
        self.patterns = tuple(patterns)
        self._local = threading.local()
        self._db = None
        self._fallback: list[tuple[int, Any]] = []
        flags = _re.IGNORECASE | _re.MULTILINE | _re.DOTALL if caseless else _re.MULTILINE | _re.DOTALL
        exact = []
        if hyperscan is not None:
            for index, pattern in enumerate(self.patterns):
                if _compiles(pattern, caseless):
                    exact.append(index)
                else:
                    self._fallback.append((index, _re.compile(pattern, flags)))
        else:
            self._fallback = [(i, _re.compile(p, flags)) for i, p in enumerate(self.patterns)]
        if exact:
            self._db = hyperscan.Database()
            self._db.compile(expressions=[self.patterns[i].encode("utf-8") for i in exact], ids=exact,
                             flags=[_flags(caseless)] * len(exact))

    def found(self, text: str) -> set[int]:
        """Indexes of the patterns that occur in ``text`` (a superset, in prefilter mode)."""
        hits: set[int] = set()
        if self._db is not None and text:
            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                scratch = self._local.scratch = hyperscan.Scratch(self._db)  # one per thread
            self._db.scan(text.encode("utf-8", "replace"), scratch=scratch,
                          match_event_handler=lambda id_, _f, _t, _fl, _c: hits.add(id_))
        for index, pattern in self._fallback:
            if pattern.search(text):
                hits.add(index)
        return hits


def _flags(caseless: bool) -> int:
    flags = (hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_UTF8
             | hyperscan.HS_FLAG_UCP | hyperscan.HS_FLAG_DOTALL | hyperscan.HS_FLAG_MULTILINE)
    return flags | hyperscan.HS_FLAG_CASELESS if caseless else flags


def _compiles(pattern: str, caseless: bool) -> bool:
    """Whether hyperscan takes ``pattern`` (in prefilter mode); else Python's re answers for it."""
    try:
        db = hyperscan.Database()
        db.compile(expressions=[pattern.encode("utf-8")], ids=[0], flags=[_flags(caseless)])
    except Exception:  # hyperscan.error: a construct it has no approximation for
        return False
    return True
