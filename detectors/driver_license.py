"""US_DRIVER_LICENSE: a state driver's licence number, California's by default.

California: one letter and seven digits (``A1234567``), issued by the DMV,
with no check digit (California DMV, "Driver's License and Identification
Card" handbook; the AAMVA DL/ID Card Design Standard leaves numbering to the
states). Other states number differently (New York: nine digits; Florida: a
letter and twelve digits, printed ``A123-456-78-901-0``; Illinois: a letter
and eleven digits), so formats are configuration (gateway.yaml,
``detection.driver_licenses``): a layout with ``L`` for a letter, ``d`` for a
digit and ``-`` or a space where the card prints one.

A letter and seven digits is also a part number, an employee ID, a permit,
so a number is a licence only under a licence label (detectors.context: the
words before it on its line or in its cell, its row label, the line above,
its column header): "driver's license", "driver license", "DL", "DL#",
"CDL", "licencia de conducir". "DL" and "CDL" in prose count only in
capitals, at most three words before the number and in its sentence ("DL" is also a
distribution list; "dl" a download); a "business license", "contractor
license" or "distribution list" label is no licence label. Placeholders and
sample numbers are not findings: the digits ``1234567`` or ``7654321``
after any letter, seven equal digits, and ``I1234568`` (the DMV's sample
card).

A roster whose table lost its columns (a PDF's text joins the cells by
single spaces) keeps its header line: under a line that names a licence,
holds no digit and at most 24 words, every following line holding a
licence-shaped number is a row of it, up to the first line without one.
Columns keep their order, so in a row with several licence-shaped numbers
(a permit or fuel card beside the licence) the licence is the one whose
place in its row is nearest the licence label's place in the header. A
number with a column header of its own, or a negative label, is judged by
that alone; a header of another licence ("business license") names no
column.

The text is read for licence numbers only when it holds a licence label
(one hyperscan pass, detectors.prefilter), or a table under a licence
column header was handed in.

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.value for f in find("Driver's license: B7730982, exp 2029")]
['B7730982']
>>> find("Part B7730982 shipped")           # no label
[]
>>> find("Driver's license: A1234567")     # a placeholder
[]
>>> find("Sent to the DL on Monday; ref B7730982")
[]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from detectors.context import NOT, Context, Label, fold, keywords
from detectors.prefilter import WORD_START, Finder
from detectors.tables import Table

ENTITY = "US_DRIVER_LICENSE"
NAME = "DlpDriverLicenseRecognizer"
LONG_LABELS = ("driver's license", "driver’s license", "drivers license", "driver license", "driver's licence",
               "driver’s licence", "drivers licence", "driver licence", "driving licence", "driving license",
               "driver's lic", "drivers lic", "driver lic", "driver's license number", "driver license number",
               "driver's license no", "driver license no", "driver license #", "driver's license #",
               "license number", "licence number", "license no", "license #", "lic #", "lic no",
               "commercial driver's license", "commercial driver license",
               "licencia de conducir", "licencia de manejo", "licencia de conductor", "número de licencia",
               "licencia")
SHORT_LABELS = ("dl", "dl#", "dl #", "dl no", "dl number", "d.l.", "d.l", "cdl", "cdl#", "cdl no", "cdl number",
                "dl/id", "dl id")
CONTEXT = LONG_LABELS + SHORT_LABELS
# Labels of licences that are no driver's, and "DL" as a distribution list, are
# negatives in detectors.context.NEGATIVE.
SIZES: tuple[int, ...] = ()  # not from the digit-run candidates: a letter leads
_LONG = keywords(*LONG_LABELS)
_SHORT_CAPS = re.compile(r"(?<![A-Za-z0-9])(?:C?DL|D\.L\.?)(?![a-z])")
_SHORT_WORDS = 3  # "DL no. B7730982", "CDL (CA): B7730982"
_SHORT_REACH = 40  # characters from "DL" to the number
_SENTENCE_END = re.compile(r"[.;!?](?:\s|$)(?<!no\.\s)")
_ABOVE_REACH = 160  # characters of each line above
_MARKED = re.compile(r"(?i)(?<![a-z0-9])c?dl\s*(?:#|no\.?|:)\s*$")
# Hyperscan patterns: does the text hold a licence label at all?
LABEL_PATTERNS = (r"licen[cs]", r"\bc?dl\b", r"\bd\.l\b", r"\blic\b")
_PLACEHOLDER_DIGITS = frozenset({"1234567", "7654321", "0123456", "2345678"})
_SAMPLES = frozenset({"I1234568"})


@dataclass(frozen=True, slots=True)
class LicenseFormat:
    """One state's licence number layout: ``L`` a letter, ``d`` a digit, ``-`` or space as printed."""

    state: str
    layout: str

    def regex(self) -> str:
        """The layout as a regular expression (linear: no nested repetition)."""
        out = []
        for ch in self.layout:
            out.append({"L": "[A-Za-z]", "d": "[0-9]", "-": "-", " ": " "}[ch])
        return "".join(out)


DEFAULT_FORMATS = (LicenseFormat("CA", "Lddddddd"),)


def placeholder(value: str) -> bool:
    """A sample or made-up licence number (``A1234567``, ``B0000000``, the DMV's sample)."""
    flat = value.replace("-", "").replace(" ", "").upper()
    digits = "".join(ch for ch in flat if ch.isdigit())
    return (flat in _SAMPLES or digits in _PLACEHOLDER_DIGITS or len(set(digits)) == 1
            or digits.endswith("1234567"))


class Licenses:
    """Finds licence numbers of the configured formats beside a licence label."""

    def __init__(self, formats: tuple[LicenseFormat, ...] = DEFAULT_FORMATS) -> None:
        self.formats = formats
        self.finder = Finder([f.regex() for f in formats]) if formats else None

    def hits(self, text: str, tables: tuple[Table, ...] | Callable[[], tuple[Table, ...] | None] | None,
             context: Callable[[], Context], labelled: bool = True) -> list[tuple[float, int, int]]:
        """(score, start, end) of every licence number in ``text``; ``labelled``: whether the
        text may hold a licence label (``LABEL_PATTERNS``, asked by the caller's prefilter);
        ``tables``: the tables whose header may name a licence column, or a function that reads
        them (a long text's window: asked only once the text holds a licence-shaped value)."""
        if self.finder is None or not (labelled or tables):
            return []  # no label, no table: no licence (most mail)
        spans = [(start, end) for _, start, end in sorted(set(self.finder.spans(text)))
                 if _alone(text, start, end) and not placeholder(text[start:end])]
        if not spans or not (labelled or _licence_column(tables() if callable(tables) else tables)):
            return []
        out = []
        ctx: Context | None = None
        rows: set[int] | None = None
        for start, end in spans:
            ctx = ctx or context()
            digits = sum(ch.isdigit() for ch in text[start:end])
            label = ctx.label(start, end, (digits,))
            score = judge(label, text, start)
            if score is None and NOT not in label.nearest and not label.column:
                rows = _column_rows(text, spans) if rows is None else rows
                score = 0.85 if start in rows else None
            if score is not None:
                out.append((score, start, end))
        return out


def _alone(text: str, start: int, end: int) -> bool:
    """Not glued to a letter or digit on either side (``XB7730982``, ``B77309821``)."""
    return not ((start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()))


def judge(label: Label, text: str, start: int) -> float | None:
    """A licence-shaped value's score under its label, or None."""
    if NOT in label.nearest:
        return None
    if ENTITY not in label.nearest:
        return 0.85 if _label_lines_above(text, start) else None
    if _LONG.search(label.text):
        return 0.9 if label.column else 0.95
    if label.column:
        return 0.9  # a "DL #" column
    # Only an abbreviation labels it: "DL"/"CDL" in capitals, close before it, in the same sentence.
    if label.words > _SHORT_WORDS:
        return None
    caps = None
    for caps in _SHORT_CAPS.finditer(text, max(0, start - _SHORT_REACH), start):  # noqa: B007 - keeps the last match
        pass
    if caps is None or _SENTENCE_END.search(text, caps.end(), start):
        # "dl#B7730982", "cdl: B7730982": in any case with its mark, right before the number
        return 0.85 if label.words <= 1 and _MARKED.search(text, max(0, start - 12), start) else None
    return 0.85


def _label_lines_above(text: str, start: int) -> bool:
    """A licence label written out on one of the two lines above, with no digit between it and
    the number ("Driver's license number\n(as on the card): B7730982")."""
    line = text.rfind("\n", max(0, start - _ABOVE_REACH), start)
    if line < 0:
        return False
    first = line
    for _ in range(2):  # the two lines above the number's
        first = text.rfind("\n", max(0, first - _ABOVE_REACH), first) if first > 0 else -1
        if first < 0:
            break
    window = text[first + 1:start]
    last = None
    for last in _LONG.finditer(fold(window)):  # noqa: B007 - keeps the last match
        pass
    return last is not None and not any(ch.isdigit() for ch in window[last.end():])


_ROW_REACH = 400  # characters: a longer line is no table row
_HEADER_WORDS = 24
_OTHER_LICENCES = re.compile(r"(?:business|contractor'?s?|professional|liquor|software)\s+licen[cs]es?"
                             r"|licen[cs]es?\s+(?:plates?|keys?)")


def _column_rows(text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Starts of the licence numbers in the rows of a table whose columns were lost (a PDF's
    text: cells joined by single spaces).

    Under a header line that names a licence, holds no digit and at most
    ``_HEADER_WORDS`` words, each following line with a licence-shaped
    number is a row, up to the first line without one. Columns keep their
    order: in a row with several licence-shaped numbers (a permit or fuel
    card column beside the licence's), the licence is the one whose place
    in its row is nearest the licence label's place in the header. One pass
    over ``spans``, in order.
    """
    rows: set[int] = set()
    row_end = -1  # the end of the last row accepted
    where = 0.0  # the licence label's place in its header line, 0 to 1
    i = 0
    while i < len(spans):
        start = spans[i][0]
        line = text.rfind("\n", max(0, start - _ROW_REACH), start) + 1  # 0: no break within reach
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        group = [start]
        i += 1
        while i < len(spans) and spans[i][0] < end:
            group.append(spans[i][0])
            i += 1
        if line == 0 and start > _ROW_REACH:
            continue  # a line this long is no table row
        if not (row_end >= 0 and line - 1 == row_end):
            place = _licence_header(text, line)
            if place is None:
                continue
            where = place
        width = max(1, end - line)
        rows.add(min(group, key=lambda at: abs((at - line) / width - where)))
        row_end = end
    return rows


def _licence_header(text: str, line: int) -> float | None:
    """Where, from 0 to 1, the line above ``line`` names a driver's licence column, if it is a
    header row (no digit, at most ``_HEADER_WORDS`` words) that does."""
    if line == 0:
        return None
    above = text.rfind("\n", max(0, line - 1 - _ROW_REACH), line - 1) + 1  # 0: no break within reach
    header = text[above:line - 1]
    if (above == 0 and line - 1 > _ROW_REACH) or not header or any(ch.isdigit() for ch in header) \
            or len(header.split()) > _HEADER_WORDS:
        return None
    folded = _OTHER_LICENCES.sub(lambda m: " " * len(m.group()), fold(header))
    long = _LONG.search(folded)
    caps = _SHORT_CAPS.search(header)
    found = [m.start() for m in (long, caps) if m is not None]
    return min(found) / len(header) if found else None


# What a header row needs for _licence_column(), for detectors.tables.Blocks.within: a _LONG word's
# start ("driv", "lic"), "licen" inside one ("commercial driver's license"), or "DL"/"CDL" (dots
# allowed between the letters).
COLUMN_MARKS = (WORD_START + "(?:driv|lic)", "licen", WORD_START + r"(?:c\.*)?d\.*l")


def _licence_column(tables: tuple[Table, ...] | None) -> bool:
    return bool(tables) and any(_LONG.search(h) or h.strip(" #:.").replace(".", "") in ("dl", "cdl", "dl no",
                                                                                          "dl number")
                                for t in tables or () for h in t.headers)

