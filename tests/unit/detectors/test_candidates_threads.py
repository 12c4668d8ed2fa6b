"""Candidate search is safe from several threads at once (one hyperscan
scratch per thread): large messages are scanned in worker threads while small
ones and Message-IDs are scanned on the event loop."""

from __future__ import annotations

import threading

from detectors.candidates import candidates

TEXT = "SSN 219-45-6789, card 4111 1111 1111 1111, ｓｓｎ １２３４５６７８９ and words. " * 2000


def test_concurrent_scans_in_threads() -> None:
    expected = candidates(TEXT)
    errors: list[str] = []
    mismatches: list[int] = []

    def scan() -> None:
        try:
            for _ in range(10):
                if candidates(TEXT) != expected:
                    mismatches.append(1)
        except Exception as exc:   # ScratchInUseError with one shared scratch
            errors.append(type(exc).__name__)

    threads = [threading.Thread(target=scan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and mismatches == []
