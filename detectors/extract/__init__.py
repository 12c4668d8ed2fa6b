"""Helpers of detectors.segments: one module per format, each bytes in, text out.

They know nothing of segment names; a part they cannot read raises
``Unreadable`` with a reason from segments' fixed vocabulary, never content.
"""

from __future__ import annotations

from detectors import NATIVE_DIR, NATIVE_STATE

if NATIVE_STATE == "on":  # compiled modules first (see detectors)
    __path__.insert(0, str(NATIVE_DIR / "detectors" / "extract"))


class Unreadable(Exception):
    """A part whose text cannot be extracted; ``reason`` is a fixed word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Budget:
    """What one extraction may still inflate and extract; shared by every part."""

    __slots__ = ("inflated_left", "text_left", "parts_left", "max_ratio", "ratio_floor")

    def __init__(
        self, inflated: int, text: int, parts: int, max_ratio: int, ratio_floor: int
    ) -> None:
        self.inflated_left = inflated
        self.text_left = text
        self.parts_left = parts
        self.max_ratio = max_ratio
        self.ratio_floor = ratio_floor

    def ratio_exceeded(self, inflated: int, compressed: int) -> bool:
        """Return whether ``inflated`` bytes from ``compressed`` look like a bomb."""
        return inflated > self.ratio_floor and inflated > self.max_ratio * max(compressed, 1)
