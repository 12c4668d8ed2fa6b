"""Scanning one message: extraction, then detection on every segment, under budgets.

Pure: bytes in, a ScanResult out. ``dlp-gateway serve`` and
``dlp-gateway scan`` both run this. Line endings are made CRLF first
(detectors.extract.lines), so the scan reads what a mail client shows.

Budgets (issue 10) bound what one hostile message can cost:

- findings: at most ``max_segment_findings`` per segment and ``max_findings``
  per message. Past either, the message is judged on what was found, the
  rest of that segment (or of the message) is not scanned, and an
  Unscannable ``too-many-findings`` says so. Only those findings are kept,
  so only those are stored.
- CPU time: ``cpu_seconds`` per message, of which extraction may use
  ``extract_share``; when it runs out, what was not yet read or scanned
  becomes Unscannable ``time-budget`` and the policy decides (detectors.budget).
- memory: a long segment is scanned in windows of ``window_chars`` (with
  ``margin_chars`` of context either side), so the detector's working set
  follows the window, not the segment, and other scans get their turn
  between windows.

>>> result = Scanner().scan(b"Subject: x\\r\\rSSN 219-45-6789\\r")
>>> [(f.entity, f.segment) for f in result.findings], result.unscannable
([('US_SSN', 'body')], ())
"""

from __future__ import annotations

import codecs
import encodings
import pkgutil
from dataclasses import dataclass
from encodings.aliases import aliases
from functools import cache
from typing import TYPE_CHECKING

from detectors.budget import Deadline, OutOfTime
from detectors.driver_license import DEFAULT_FORMATS as LICENSE_FORMATS
from detectors.driver_license import LicenseFormat
from detectors.edm import EdmSet
from detectors.engine import Detector
from detectors.extract.lines import crlf
from detectors.findings import Finding, count_by_entity
from detectors.segments import Extraction, Limits, Segment, Unscannable, extract, structure
from detectors.tables import Blocks
from detectors.utility_account import DEFAULT_FORMATS, AccountFormat

if TYPE_CHECKING:
    from detectors.custom import CustomTypes

_LINE_REACH = 4096  # how far back a window looks for the start of its first line
# A text longer than this (a long body) has its tables read from its blocks (Blocks), as in
# windows, and whatever the window size: the tables of bank-account columns in commas too, where
# a short text's are read only when tab-split (detectors.engine). 16 KiB and a margin: the
# window size that set it.
_BLOCKS_FROM = (1 << 14) + 1024


@dataclass(frozen=True, slots=True)
class ScanResult:
    findings: tuple[Finding, ...]
    unscannable: tuple[Unscannable, ...]

    def counts(self) -> dict[str, int]:
        """Findings per entity, for logs and metrics."""
        return count_by_entity(self.findings)


@dataclass(frozen=True, slots=True)
class Budgets:
    """What one message may cost the scanner."""

    max_findings: int = 10_000
    max_segment_findings: int = 5_000
    cpu_seconds: float = 1.5
    extract_share: float = 0.6
    window_chars: int = 1 << 17
    margin_chars: int = 1024


@cache
def _load_codecs() -> None:
    """Import every codec now, outside any budget.

    A charset label is the sender's choice, and its first use imports a
    module; an OutOfTime delivered inside the import machinery (between
    ``_imp.acquire_lock()`` and its ``try``) would leave the import lock held
    and every later first import in the process waiting for ever.
    """
    for name in {m.name for m in pkgutil.iter_modules(encodings.__path__)} | set(aliases.values()):
        try:
            codecs.lookup(name)
        except LookupError:   # not a codec (aliases), or one this platform lacks (mbcs)
            continue


class Scanner:
    """Extraction limits, budgets and a detector, built once from the configuration."""

    def __init__(self, formats: tuple[AccountFormat, ...] = DEFAULT_FORMATS, edm: EdmSet | None = None,
                 limits: Limits = Limits(), budgets: Budgets = Budgets(),
                 licenses: tuple[LicenseFormat, ...] = LICENSE_FORMATS, custom: CustomTypes | None = None) -> None:
        _load_codecs()
        # safe to share: hyperscan scratch is per thread; custom types (detectors.custom) run under a lock
        self.detector = Detector(formats, edm, licenses, custom)
        self.limits = limits
        self.budgets = budgets

    def scan(self, message: bytes) -> ScanResult:
        """Return the findings in the message (within the budgets), and what was not read.

        One Deadline for the whole scan: extraction may use its share of the
        CPU budget; then the limit moves to the whole budget, so detection
        gets what extraction left.
        """
        budget = Deadline(self.budgets.cpu_seconds * self.budgets.extract_share)
        data = crlf(message)
        run: _Run | None = None
        try:
            with budget:
                run = _Run(self, extract(data, self.limits, crlf_only=True))
                budget.extend(self.budgets.cpu_seconds)
                run.detect(budget)
        except OutOfTime:
            if run is None:  # delivered late, on the way out of extraction
                run = _Run(self, Extraction((), (Unscannable("body", "time-budget"),)))
            run.out_of_time()
        finally:
            budget.close()
        return ScanResult(tuple(run.findings), tuple(dict.fromkeys(run.notes)))


class _Run:
    """One message's detection: findings and notes so far, and where it stopped."""

    def __init__(self, scanner: Scanner, extraction: Extraction) -> None:
        self.detector = scanner.detector
        self.budgets = scanner.budgets
        self.segments = extraction.segments
        self.notes = list(extraction.unscannable)
        self.findings: list[Finding] = []
        self.next = 0  # index of the first segment not fully scanned
        self._found: dict[str, Blocks] = {}  # tables of long texts extraction did not look at

    def detect(self, deadline: Deadline) -> None:
        """Scan each segment in turn until done or a budget runs out."""
        for index, segment in enumerate(self.segments):
            self.next = index
            if not self._segment(segment, deadline):
                return
        self.next = len(self.segments)

    def out_of_time(self) -> None:
        """Mark every segment not fully scanned as ``time-budget``."""
        self.notes.extend(Unscannable(s.name, "time-budget") for s in self.segments[self.next :])

    def _segment(self, segment: Segment, deadline: Deadline) -> bool:
        """Scan one segment window by window; False when the message must stop here."""
        found = 0
        for window in _windows(len(segment.text), self.budgets.window_chars, self.budgets.margin_chars):
            if deadline.expired():
                raise OutOfTime
            hits = self._window(segment, window)
            room = min(self.budgets.max_segment_findings - found,
                       self.budgets.max_findings - len(self.findings))
            self.findings.extend(hits[: max(room, 0)])
            found += min(len(hits), max(room, 0))
            if len(hits) >= room:  # a cap is reached: the rest of the segment is not scanned
                self.notes.append(Unscannable(segment.name, "too-many-findings"))
                return len(self.findings) < self.budgets.max_findings
        return True

    def _window(self, segment: Segment, window: tuple[int, int, int, int]) -> list[Finding]:
        """Return the findings that start inside ``window``'s own span.

        A window starts at the beginning of its first line where that is near
        (a table row is read whole), and carries the segment's tables, found
        once over the whole text: a column header many windows above a value
        is still its context.
        """
        lo, start, end, hi = window
        text = segment.text
        if lo == 0 and hi == len(text):  # one window: the whole text
            tables = segment.tables if segment.tables is not None or len(text) <= _BLOCKS_FROM \
                else self._tables_of(segment)
            return [f for f in self.detector.find(segment.name, text, tables) if f.start < end]
        if lo > 0:
            lo = text.rfind("\n", max(0, lo - _LINE_REACH), lo) + 1 or lo
        hits = self.detector.find(segment.name, text[lo:hi], self._tables_of(segment).shifted(lo), offset=lo,
                                  own=(start - lo, end - lo))
        return [f for f in hits if start <= f.start < end]

    def _tables_of(self, segment: Segment) -> Blocks:
        """The segment's tables: from extraction, or found here for a long text (each block once)."""
        if segment.tables is not None:
            return segment.tables
        if segment.name not in self._found:
            self._found[segment.name] = structure(segment.text)
        return self._found[segment.name]


def _windows(size: int, width: int, margin: int) -> list[tuple[int, int, int, int]]:
    """Return (read from, own start, own end, read to) for each window over ``size`` chars.

    >>> _windows(10, 4, 2)
    [(0, 0, 4, 6), (2, 4, 8, 10), (6, 8, 10, 10)]
    >>> _windows(0, 4, 2)
    [(0, 0, 0, 0)]
    """
    if size <= width:
        return [(0, 0, size, size)]
    return [(max(s - margin, 0), s, min(s + width, size), min(s + width + margin, size))
            for s in range(0, size, width)]
