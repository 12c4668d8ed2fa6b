"""Findings: what a detector reports, and how values are masked.

A finding's value never leaves the detector in clear: its repr hides it, and
everything outside (logs, metrics, replies, the audit log) uses ``masked``.

>>> mask("123-45-6789")
'***-**-6789'
>>> mask("4111 1111 1111 1111")
'**** **** **** 1111'
>>> mask("12")
'**'
>>> f = Finding("US_SSN", "body", 4, 15, 0.95, "123-45-6789", "DlpUsSsnRecognizer")
>>> f.masked, "6789" in repr(f)
('***-**-6789', False)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

_SHOWN_DIGITS = 4


def mask(value: str) -> str:
    """Return ``value`` with every digit but the last four replaced by ``*``.

    Separators keep their place so the shape stays readable; a value of four
    digits or fewer is masked entirely.
    """
    digits = sum(ch.isdigit() for ch in value)
    keep = _SHOWN_DIGITS if digits > _SHOWN_DIGITS else 0
    out: list[str] = []
    seen = 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > digits - keep else "*")
        elif ch.isalnum():
            out.append("*")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Finding:
    """One sensitive value found in one segment of a message."""

    entity: str
    segment: str
    start: int
    end: int
    score: float
    value: str = field(repr=False)
    recognizer: str = ""

    @property
    def masked(self) -> str:
        return mask(self.value)


def count_by_entity(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per entity, for logs, metrics and summaries."""
    return dict(Counter(f.entity for f in findings))


class Unreadable(StrEnum):
    """Why a part could not be (fully) read: the fixed vocabulary of detectors.segments
    and detectors.scan (a StrEnum, so each equals its word in logs and records)."""

    ENCRYPTED = "encrypted"
    TOO_DEEP = "too-deep"
    TOO_MANY_MEMBERS = "too-many-members"
    TOO_LARGE = "too-large"
    COMPRESSION_RATIO = "compression-ratio"
    CORRUPT = "corrupt"
    IMAGE = "image"
    SIGNATURE = "signature"
    UNSUPPORTED_FORMAT = "unsupported-format"
    UNKNOWN_BINARY = "unknown-binary"
    TIME_BUDGET = "time-budget"
    TOO_MANY_FINDINGS = "too-many-findings"


@dataclass(frozen=True, slots=True)
class Unscannable:
    """A part whose text could not be (fully) extracted, and why (an Unreadable word)."""

    name: str
    reason: str
