"""What the detector tests share: one default detector, and its findings as (entity, value)."""

from __future__ import annotations

from detectors.engine import Detector

DETECTOR = Detector()


def found(text: str, detector: Detector = DETECTOR) -> list[tuple[str, str]]:
    """(entity, value) of every finding in ``text`` but phone numbers (they have their own tests)."""
    return [(f.entity, f.value) for f in detector.find("body", text) if f.entity != "PHONE_NUMBER"]
