"""Scanning one message: extraction, then detection on every segment.

Pure: bytes in, a ScanResult out. ``dlp-gateway serve`` and
``dlp-gateway scan`` both run this.
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.edm import EdmSet
from detectors.engine import Detector
from detectors.findings import Finding, count_by_entity
from detectors.segments import Limits, Unscannable, extract
from detectors.utility_account import DEFAULT_FORMATS, AccountFormat


@dataclass(frozen=True, slots=True)
class ScanResult:
    findings: tuple[Finding, ...]
    unscannable: tuple[Unscannable, ...]

    def counts(self) -> dict[str, int]:
        """Findings per entity, for logs and metrics."""
        return count_by_entity(self.findings)


class Scanner:
    """Extraction limits and a detector, built once from the configuration."""

    def __init__(self, formats: tuple[AccountFormat, ...] = DEFAULT_FORMATS, edm: EdmSet | None = None,
                 limits: Limits = Limits()) -> None:
        self.detector = Detector(formats, edm)
        self.limits = limits

    def scan(self, message: bytes) -> ScanResult:
        """Return every finding in the message, and the parts that could not be read."""
        extraction = extract(message, self.limits)
        findings: list[Finding] = []
        for segment in extraction.segments:
            findings.extend(self.detector.find(segment.name, segment.text, segment.tables))
        return ScanResult(tuple(findings), extraction.unscannable)
