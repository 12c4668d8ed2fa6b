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
import threading
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

from detectors.prefilter import one_byte

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


def _char_class(codes: list[int]) -> str:
    """A regex character class of ``codes`` as ranges (one per run of neighbours)."""
    ranges: list[list[int]] = []
    for code in codes:
        if ranges and code == ranges[-1][1] + 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return "[" + "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                         for a, b in ranges) + "]"


_MAPPED = re.compile(_char_class(sorted(_TABLE)))


_CHUNK = 1024


def normalize(text: str) -> str:
    """Return ``text`` with Unicode digits, dashes and spaces made ASCII, offsets kept.

    Long texts are mapped piece by piece, only where a piece needs it.
    """
    if text.isascii() or not _needs_mapping(text):
        return text
    parts = []
    for i in range(0, len(text), _CHUNK):
        piece = text[i:i + _CHUNK]
        # The check looks one character past each end: a separator at the edge
        # of a piece sits between digits of its neighbours.
        if not piece.isascii() and _needs_mapping(text[max(0, i - 1):i + _CHUNK + 1]):
            piece = _MAPPED.sub(_mapped, piece)
        parts.append(piece)
    return "".join(parts)


def _mapped(match: re.Match[str]) -> str:
    return _TABLE[ord(match.group())]


class Candidate(NamedTuple):
    """A number as written: its span, its digits and how they were grouped.

    A NamedTuple rather than a frozen dataclass: thousands are made per
    message, and a frozen dataclass's __init__ costs several times more.
    """

    start: int
    end: int
    digits: str
    groups: tuple[int, ...]
    sep: str  # "" for one group, the one separator used, or "mixed"

    @property
    def plain(self) -> bool:
        return len(self.groups) == 1

    def __repr__(self) -> str:  # never the digits: a candidate may be an SSN
        return f"Candidate({self.start}, {self.end}, groups={self.groups}, sep={self.sep!r})"


# A run: digits, and single separators (a dash may be followed by a line
# break: numbers wrapped at a hyphen are still found), holding at least
# MIN_DIGITS digits; shorter runs (dates, times, amounts) never match.
_SEP = r"(?:-\r?\n|[-. ])"
_RUN = re.compile(r"\d(?:%s?\d){%d,}(?:%s\d+)*" % (_SEP, MIN_DIGITS - 1, _SEP))
_PIECES = re.compile(r"(\D+)")  # a run's separators, kept by split()


def _runs_re(text: str) -> Iterator[tuple[int, int]]:
    for match in _RUN.finditer(text):
        yield match.start(), match.end()


try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan wheels exist for Linux x86-64/arm64
    hyperscan = None  # type: ignore[assignment]


_HINT = re.compile(r"[\d-]\n[> \t]*\d")  # the wrap hints, without hyperscan
RUN_PATTERN = rb"[0-9](?:(?:-\r?\n|[-. ])?[0-9]){5,}[^0-9]"   # a run and the character after it (_scan)
# A scratch space serves one scan at a time: large messages are scanned in
# worker threads while small ones (and Message-IDs) are scanned on the
# event loop, so every thread gets its own (hyperscan's ScratchInUseError).
_LOCAL = threading.local()
# Mapping matters only for a non-ASCII digit, or a non-ASCII dash or space between two digits
# (a no-break space in "123 45 6789" from &nbsp;): the bytes to look at in prefilter.one_byte's
# encoding, those that normalize() maps in Latin-1 (a no-break space, a soft hyphen) and "?",
# which stands for every character past it.
_MAPPED_BYTES = (*(bytes([c]) for c in sorted(_TABLE) if c < 256), b"?")
_ASCII_DIGITS = frozenset("0123456789")
if hyperscan is not None:
    # The same question in one pass over a text's UTF-8 (_any_mapped): any mapped digit, or a
    # mapped dash or space between ASCII digits.
    _UNICODE_DB = hyperscan.Database()
    _UNICODE_DB.compile(
        expressions=[_char_class(sorted(c for c, v in _TABLE.items() if v.isdigit())).encode("utf-8"),
                     b"[0-9]" + _char_class(sorted(c for c, v in _TABLE.items() if not v.isdigit())).encode("utf-8")
                     + b"[0-9]"],
        ids=[1, 2], flags=[hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH] * 2)
    # A run: six digits or more with single separators, and the character
    # after it: reported at its end (a group ending six digits or more into a
    # run), so the last report of a run has the run's end; its start is read
    # back from there (_run_start). The data ends in a line break, so a run at
    # its end counts. (With hyperscan's leftmost start of match, which gave
    # the start, the pass and its callbacks took 34 µs on text-10k; now 21.)
    _RUNS_DB = hyperscan.Database()
    _RUNS_DB.compile(expressions=[RUN_PATTERN], ids=[0], flags=[0])
    # A line break with a digit or dash before and a digit after (detectors.engine.wrapped):
    # a database of its own (it was kept apart from the runs' pattern while that one asked for
    # the start of match, beside which hyperscan dropped some of its reports).
    _HINTS_DB = hyperscan.Database()
    _HINTS_DB.compile(expressions=[rb"[0-9-]\n[> \t]*[0-9]"], ids=[0], flags=[0])


def _scratch(name: str, db: hyperscan.Database) -> hyperscan.Scratch:
    scratch = getattr(_LOCAL, name, None)
    if scratch is None:
        scratch = hyperscan.Scratch(db)
        setattr(_LOCAL, name, scratch)
    return scratch


def _needs_mapping(text: str) -> bool:
    """Whether ``text`` holds a non-ASCII digit, or a non-ASCII dash or space between two ASCII
    digits. Reads the bytes the runs and the prefilter read next (one encoding of the text): a
    search (memchr) for each byte that may stand for such a character, and a look at the few it
    finds. A text with many (Cyrillic, Chinese, a page of question marks) takes one hyperscan pass
    over its UTF-8 instead."""
    data = one_byte(text)
    last = len(text) - 1
    looked = 0
    for byte in _MAPPED_BYTES:
        at = data.find(byte)
        while 0 <= at <= last:  # (the line break after the text is not the text's)
            looked += 1
            if looked > _FEW:
                return _any_mapped(text)
            mapped = _TABLE.get(ord(text[at]))
            if mapped is not None and (mapped.isdigit() or (0 < at < last and text[at - 1] in _ASCII_DIGITS
                                                            and text[at + 1] in _ASCII_DIGITS)):
                return True
            at = data.find(byte, at + 1)
    return False


_FEW = 64


def _any_mapped(text: str) -> bool:
    if hyperscan is None:  # pragma: no cover - as above
        return True  # without hyperscan: map every such text
    hits: list[int] = []
    _UNICODE_DB.scan(text.encode("utf-8", "replace"), scratch=_scratch("unicode", _UNICODE_DB),
                     match_event_handler=lambda _id, _from, _to, _flags, _ctx: hits.append(1))
    return bool(hits)


def _scan(text: str) -> tuple[dict[int, int], list[int]]:
    """The runs of ``text`` (start: end) in order, and the ends of its wrap hints."""
    breaks: list[int] = []
    # One byte per character (prefilter.one_byte: Latin-1, "?" past it, a line
    # break after), so byte offsets are character offsets; digits were made
    # ASCII by normalize(), and the patterns read only ASCII bytes.
    data = one_byte(text)
    ends: list[int] = []
    _RUNS_DB.scan(data, scratch=_scratch("runs", _RUNS_DB),
                  match_event_handler=lambda _id, _from, to, _flags, _ctx: ends.append(to - 1))
    _HINTS_DB.scan(data, scratch=_scratch("hints", _HINTS_DB),
                   match_event_handler=lambda _id, _from, to, _flags, _ctx: breaks.append(to))
    runs: dict[int, int] = {}
    start, last = -1, -1   # the run of the report before: its start and its last digit
    for end in sorted(ends):   # in order of end; the last report of a run has its whole length
        start = _run_start(data, end - 1, last, start)
        runs[start] = end
        last = end - 1
    return runs, breaks


def _run_start(data: bytes, at: int, last: int, start: int) -> int:
    """Where the run holding the digit ``data[at]`` begins: back over digits, and single
    separators between digits (``-``, ``.``, a space, a dash and a line break); a run that
    reaches ``last`` (the previous report's last digit) is that report's, starting at ``start``.
    The leftmost start of RUN_PATTERN's match (a test compares them)."""
    while at > last:
        before = at - 1
        if before < 0:
            return at
        byte = data[before]
        if 48 <= byte <= 57:
            at = before
            continue
        if byte == 10:   # a line break after a dash: "-\n" or "-\r\n"
            before -= 1
            if before >= 0 and data[before] == 13:
                before -= 1
            if before < 0 or data[before] != 45:
                return at
        elif byte != 45 and byte != 46 and byte != 32:
            return at
        if before < 1 or not 48 <= data[before - 1] <= 57:
            return at
        at = before - 1
    return start


def _runs(text: str) -> Iterator[tuple[int, int]]:
    if hyperscan is None:  # pragma: no cover - as above
        return _runs_re(text)
    return iter(_scan(text)[0].items())


def scan_numbers(text: str) -> tuple[list[Candidate], list[int]]:
    """``candidates(text)`` of a text already normalized, and the ends of
    its wrap hints (a digit or dash, a line break, a digit): one pass."""
    out: list[Candidate] = []
    if hyperscan is None:  # pragma: no cover - as above
        for start, end in _runs_re(text):
            _split_into(out, text, start, end)
        return out, [m.end() for m in _HINT.finditer(text)]
    runs, breaks = _scan(text)
    for start, end in runs.items():
        _split_into(out, text, start, end)
    return out, breaks


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


def _split(text: str, start: int, end: int) -> list[Candidate]:
    out: list[Candidate] = []
    _split_into(out, text, start, end)
    return out


_new = tuple.__new__  # a Candidate without NamedTuple's __new__ (a Python function): thousands a message


def _split_into(out: list[Candidate], text: str, start: int, end: int) -> None:
    """Append the candidates of the run ``text[start:end]`` to ``out``."""
    if (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
        return  # glued to letters (detectors.candidates._bounded)
    run = text[start:end]
    if run.isdecimal():  # one group (isdecimal: the digits \d matches)
        if end - start <= MAX_DIGITS:
            out.append(_new(Candidate, (start, end, run, (end - start,), "")))
        return
    if end - start > _PLANNED or not run.isascii():
        _split_run(out, run, start)
        return
    # Runs of one shape (digits as 0: "000-00-0000") split alike: the split is
    # worked out once per shape, and each run only slices its own digits.
    # Bytes, not str: bytes.translate is a table lookup a byte, several times
    # faster than str.translate's on a short run (the run is ASCII).
    shape = run.encode().translate(_SHAPE)
    plan = _PLANS.get(shape)
    if plan is None:
        plan = _plan(shape.decode())
        if len(_PLANS) < _MAX_PLANS:  # shapes are few, but a sender chooses them
            _PLANS[shape] = plan
    separators, cuts = plan
    if cuts:
        digits = run
        for separator in separators:  # the separators the shape holds: one str.replace each
            digits = digits.replace(separator, "")
        for first, last, low, high, groups, sep in cuts:
            out.append(_new(Candidate, (start + first, start + last, digits[low:high], groups, sep)))


_SHAPE = bytes.maketrans(b"123456789", b"000000000")
_PLANNED = 64  # characters: a longer run is split on its own
_MAX_PLANS = 4096
_Plan = tuple[str, tuple[tuple[int, int, int, int, tuple[int, ...], str], ...]]
_PLANS: dict[bytes, _Plan] = {}


def _plan(shape: str) -> _Plan:
    """The candidates of a run of this shape: the separators it holds, and for each candidate
    its span, slice of the run's digits, groups and separator."""
    found: list[Candidate] = []
    _split_run(found, shape, 0)
    return "".join(sorted(set(shape) - {"0"})), tuple(
        (c.start, c.end, shape.count("0", 0, c.start), shape.count("0", 0, c.end), c.groups, c.sep) for c in found)


def _split_run(out: list[Candidate], run: str, start: int) -> None:
    """Append the candidates of ``run`` (not one group), found at ``start``, to ``out``."""
    pieces = _PIECES.split(run)  # digits, separator, digits...: one call, not a match object a group
    n = (len(pieces) + 1) // 2
    if n == 1:
        if len(run) <= MAX_DIGITS:
            out.append(_new(Candidate, (start, start + len(run), run, (len(run),), "")))
        return
    if n == 2 and pieces[1][0] != " ":  # "718-2707", "34461-1386": the whole run or nothing
        size = len(pieces[0]) + len(pieces[2])
        if MIN_DIGITS <= size <= MAX_DIGITS:
            out.append(_new(Candidate, (start, start + len(run), pieces[0] + pieces[2],
                                        (len(pieces[0]), len(pieces[2])), pieces[1][0])))
        return
    parts = pieces[::2]
    sizes = [len(p) for p in parts]
    seps = [sep[0] for sep in pieces[1::2]]
    starts = []
    at = start
    for piece in pieces:
        starts.append(at)
        at += len(piece)
    for first in range(n):
        if first and seps[first - 1] != " ":
            continue  # a piece of a dashed or dotted number is not a number
        count = 0
        for last in range(first, min(n, first + _MAX_GROUPS)):
            count += sizes[last]
            if count > MAX_DIGITS:
                break
            if count < MIN_DIGITS or (last + 1 < n and seps[last] != " "):
                continue
            used = seps[first:last]
            sep = "" if not used else (used[0] if used.count(used[0]) == len(used) else "mixed")
            out.append(_new(Candidate, (starts[2 * first], starts[2 * last] + sizes[last],
                                        "".join(parts[first:last + 1]), tuple(sizes[first:last + 1]), sep)))


def _bounded(text: str, start: int, end: int) -> bool:
    """A number glued to letters (INV123456789, 123456789abc) is an identifier, not a number."""
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or after.isalnum())
