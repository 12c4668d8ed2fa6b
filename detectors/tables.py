"""Table structure in extracted text: which column header sits above a value.

Extraction writes every table the same way: one row a line, cells split by a
delimiter (a tab for XLSX, DOCX and HTML tables; whatever the file used for
CSV/TSV), tables apart from prose by blank lines; pasted reports align their
columns with runs of spaces. Here a block of lines (between blank lines) is
read once, in linear time, for:

- its delimiter: the one of tab, comma, semicolon or bar that most of its
  lines hold (commas inside double quotes do not count);
- its header rows: a line whose cells are all short labels (letters, no
  run of five digits), found above the data wherever it sits (title rows
  and blank cells above it do not matter); a later label row replaces it
  only when it names something (a known label word), so a row of names
  is not taken for a header;
- aligned columns: a label row whose words are split by runs of two or
  more spaces, each column the span of its label.

>>> text = "Billing export\\n\\nName,Account Number,Phone\\nAna,0012345678,2135552368\\n"
>>> [(t.sep, t.headers) for t in analyse(text, 0, len(text))]
[(',', ('name', 'account number', 'phone'))]
>>> t = analyse(text, 0, len(text))[0]
>>> t.header_at(text, text.index("0012345678"))
'account number'
>>> report = "Customer      Acct No       Balance\\nJ. Smith      00123456      12.00\\n"
>>> analyse(report, 0, len(report))[0].header_at(report, report.index("00123456"))
'acct no'
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

SEPARATORS = ("\t", ",", ";", "|")
_QUOTED = re.compile(r'"[^"\n]*"')
_GAP = re.compile(r"\S+(?: \S+)*")  # the words of an aligned line, split by runs of 2+ spaces
_LONG_NUMBER = re.compile(r"\d{5}")
_LETTER = re.compile(r"[^\W\d_]")
_MAX_HEADER_CELL = 60
_MAX_HEADER_WORDS = 6
_SAMPLE_LINES = 1000  # a block's head: lines read to choose its delimiter, each a possible header
_NO_DIGITS = re.compile(r"^[^\d\n]+$", re.MULTILINE)  # further down, only such lines can be headers


@dataclass(frozen=True, slots=True)
class Table:
    """Rows below a header: ``start`` is the first row after the header line."""

    start: int
    end: int
    sep: str  # a delimiter, or " " for columns aligned with spaces
    headers: tuple[str, ...]  # lower-cased
    spans: tuple[tuple[int, int], ...] = ()  # aligned columns: each label's span in its line

    def header_at(self, text: str, pos: int) -> str:
        """The header of the column holding ``pos`` (one of this table's rows)."""
        line = text.rfind("\n", self.start, pos) + 1 or self.start
        column = self.column(text, line, pos)
        return self.headers[column] if 0 <= column < len(self.headers) else ""

    def column(self, text: str, line: int, pos: int) -> int:
        """The column index of ``pos`` in the row starting at ``line``."""
        if self.sep != " ":
            return cells_before(text[line:pos], self.sep)
        at = pos - line
        distances = [max(0, s - at, at - e) for s, e in self.spans]
        return distances.index(min(distances))


def cells_before(head: str, sep: str) -> int:
    """How many delimiters stand in ``head`` (outside double quotes for CSV)."""
    if sep != "\t" and '"' in head:
        head = _QUOTED.sub("", head)
    return head.count(sep)


def find_tables(text: str, known: Callable[[str], bool] | None = None) -> tuple[Table, ...]:
    """The tables of every block of ``text`` (blocks are split by blank lines)."""
    found: list[Table] = []
    start = 0
    while start < len(text):
        end = text.find("\n\n", start)
        end = len(text) if end < 0 else end
        found.extend(analyse(text, start, end, known))
        start = end + 2
    return tuple(found)


class Blocks:
    """The tables of a text as ``find_tables`` finds them, each block read when first asked about.

    A table matters only where a number is: the blocks of prose between a
    long text's few numbers are never read, and a block is read once
    however many windows (``shifted``) ask about it.

    >>> text = "Dear Ana,\\n\\nName,Account Number\\nAna,0012345678\\n"
    >>> blocks = Blocks(text)
    >>> blocks.at(text.index("0012")).headers, blocks.at(0)
    (('name', 'account number'), None)
    >>> blocks.shifted(11).at(text.index("0012") - 11).headers
    ('name', 'account number')
    """

    __slots__ = ("_ends", "_read", "known", "offset", "text")

    def __init__(self, text: str, known: Callable[[str], bool] | None = None) -> None:
        self.text = text
        self.known = known
        self.offset = 0  # positions asked about are this far into ``text``
        self._ends: list[int] | None = None  # where each block ends: a blank line, as find_tables splits
        self._read: dict[int, list[Table]] = {}  # a block's tables, by block index

    def shifted(self, offset: int) -> Blocks:
        """The same tables (read once for both), asked about from ``offset`` in the text on."""
        view = Blocks(self.text, self.known)
        view._ends, view._read, view.offset = self._ends_of(), self._read, self.offset + offset
        return view

    def at(self, pos: int) -> Table | None:
        """The table whose rows hold ``pos``, if any."""
        pos += self.offset
        ends = self._ends_of()
        for table in reversed(self._block(bisect_right(ends, pos))):
            if table.start <= pos:
                return table if pos <= table.end else None
        return None

    def count(self, length: int) -> int:
        """How many blocks the ``length`` characters asked about (from ``offset``) overlap."""
        ends = self._ends_of()
        return min(bisect_right(ends, self.offset + length), len(ends)) - bisect_right(ends, self.offset) + 1

    def within(self, length: int, marks: Iterable[int] | None = None) -> tuple[Table, ...]:
        """The tables that overlap the ``length`` characters asked about (from
        ``offset``), in those characters' positions: each cut to them, its header kept.
        Only the blocks under them are read.

        ``marks``: where (from ``offset``) a caller's header words may end (a
        superset). Then only the blocks holding a mark are read, with the first
        block (its header may sit above the characters asked about): the tables
        of the others cannot have such a header.
        """
        lo, hi = self.offset, self.offset + length
        ends = self._ends_of()
        first, last = bisect_right(ends, lo), min(bisect_right(ends, hi), len(ends))
        indexes: Iterable[int] = range(first, last + 1)
        if marks is not None:
            indexes = sorted(i for i in {first, *(bisect_right(ends, lo + at - 1) for at in marks)} if i <= last)
        out: list[Table] = []
        for index in indexes:
            out.extend(dataclasses.replace(t, start=max(t.start - lo, 0), end=min(t.end, hi) - lo)
                       for t in self._block(index) if t.end > lo and t.start < hi)
        return tuple(out)

    def _block(self, index: int) -> list[Table]:
        """The tables of the block ``index``, read once."""
        tables = self._read.get(index)
        if tables is None:
            ends = self._ends_of()
            start = ends[index - 1] + 2 if index else 0
            end = ends[index] if index < len(ends) else len(self.text)
            tables = self._read[index] = analyse(self.text, start, end, self.known)
        return tables

    def _ends_of(self) -> list[int]:
        if self._ends is None:  # non-overlapping, left to right: the blocks find_tables reads
            text, ends = self.text, []
            at = text.find("\n\n")
            while at >= 0:  # str.find, not a regular expression: a search of its own (memchr) for each
                ends.append(at)
                at = text.find("\n\n", at + 2)
            self._ends = ends
        return self._ends


def analyse(text: str, start: int, end: int, known: Callable[[str], bool] | None = None) -> list[Table]:
    """The tables in the block ``text[start:end]``; ``known`` says whether a header names something.

    Every line of the block's head can be a header row; further down, only
    lines without digits are looked at (found by one regular expression,
    so 200,000 data rows cost one C scan, not a Python loop).
    """
    if text.find("\n", start, end) < 0:
        return []  # one line
    head_end = end
    if text.count("\n", start, end) >= _SAMPLE_LINES:
        head_end = start
        for _ in range(_SAMPLE_LINES):
            head_end = text.find("\n", head_end, end) + 1
    head = text[start:head_end]
    lines = head.split("\n")
    if len(lines) < 2 or (len(lines) == 2 and not lines[1]):
        return []
    sep = _separator(head, lines)
    tables = _delimited(_rows(text, start, head_end, end, lines, sep), end, sep, known) if sep is not None else []
    return tables or ("  " in head and _aligned(lines, start, end)) or []


def _rows(text: str, start: int, head_end: int, end: int, lines: list[str],
          sep: str) -> Iterator[tuple[int, str, str]]:
    """(offset, line, next line) of the lines that may be header rows (in the head, those holding ``sep``)."""
    pos = start
    for index, line in enumerate(lines):
        if sep in line:
            following = lines[index + 1] if index + 1 < len(lines) else _line_at(text, pos + len(line) + 1, end)
            yield pos, line, following
        pos += len(line) + 1
    for match in _NO_DIGITS.finditer(text, head_end, end):
        yield match.start(), match.group(), _line_at(text, match.end() + 1, end)


def _line_at(text: str, pos: int, end: int) -> str:
    if pos >= end:
        return ""
    stop = text.find("\n", pos, end)
    return text[pos:end if stop < 0 else stop]


def _separator(head: str, sample: list[str]) -> str | None:
    best, most = None, 1
    for sep in SEPARATORS:
        if head.count(sep) <= most:
            continue  # too few for more lines than the best so far
        count = sum(sep in line for line in sample)
        if count > most:
            best, most = sep, count
    return best


def _label_like(cells: list[str]) -> bool:
    """Whether a row's cells read as column labels: short, mostly filled, mostly words.

    A short number may head a column ("1099", "2026") beside labels.
    """
    filled = [c for c in cells if c]
    if len(filled) < max(2, (len(cells) + 1) // 2):
        return False  # "Dear Customer," is a greeting, not a header
    if not all(len(c) <= _MAX_HEADER_CELL and c.count(" ") < _MAX_HEADER_WORDS and not _LONG_NUMBER.search(c)
               for c in filled):
        return False
    worded = sum(1 for c in filled if _LETTER.search(c))
    return worded == len(filled) or (worded >= 2 and worded * 3 >= len(filled) * 2)


def _split(line: str, sep: str) -> list[str]:
    if sep != "\t" and '"' in line:
        line = _QUOTED.sub(lambda m: m.group().replace(sep, " ")[1:-1], line)
    return [cell.strip().strip('"').strip().lower() for cell in line.split(sep)]


def _delimited(rows: Iterable[tuple[int, str, str]], end: int, sep: str,
               known: Callable[[str], bool] | None) -> list[Table]:
    tables: list[Table] = []
    headers: tuple[str, ...] | None = None
    begin = 0
    for s, line, following in rows:
        count = line.count(sep)
        if not count or len(line) > (count + 1) * (_MAX_HEADER_CELL + 1):
            continue  # no row, or cells too long for labels
        if sep != "\t" and not _rows_agree(line, following, sep):
            continue  # CSV rows have as many fields as their header; prose with commas does not
        if _LONG_NUMBER.search(line):
            continue  # a data row
        cells = _split(line, sep)
        if not _label_like(cells):
            continue
        if headers is not None and not (known is not None and any(known(c) for c in cells)):
            continue
        if headers is not None:
            tables.append(Table(begin, s, sep, headers))
        headers, begin = tuple(cells), s + len(line) + 1
    if headers is not None and begin < end:
        tables.append(Table(begin, end, sep, headers))
    return tables


def _rows_agree(header: str, following: str, sep: str) -> bool:
    """Whether the row below ``header`` has as many delimiters (outside quotes)."""
    return bool(following) and cells_before(following, sep) == cells_before(header, sep)


def _aligned(lines: list[str], start: int, end: int) -> list[Table]:
    """A pasted report: a label row whose columns are split by two or more spaces.

    A rule of dashes under the labels (``-----  ----``) gives the columns'
    widths; without one, each label's own span does.
    """
    pos = start
    for index, line in enumerate(lines[:-1]):
        pos += len(line) + 1   # the start of the line below: a table's rows start there
        if "  " not in line or len(line) > 400 or _LONG_NUMBER.search(line):
            continue
        words = [(m.start(), m.end()) for m in _GAP.finditer(line)]
        cells = [line[a:b].lower() for a, b in words]
        following = lines[index + 1]
        if len(words) < 2 or not _label_like(cells) or "  " not in following.strip():
            continue
        rule = [(m.start(), m.end()) for m in _GAP.finditer(following)]
        if len(rule) == len(words) and not following.strip(" -=\t"):
            words = rule
        return [Table(pos, end, " ", tuple(cells), tuple(words))]
    return []
