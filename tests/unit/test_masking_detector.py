"""The review app's masking detector and the scans share one process (one worker)
and one hyperscan scratch: they must take turns. Real threads, real detectors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from detectors.scan import Scanner
from gateway import config, masking

TEXT = "SSN 219-45-6789 card 4111 1111 1111 1111 " * 3000


def test_masking_and_scanning_at_once_do_not_collide(tmp_path: Path) -> None:
    settings = config.load(None, config.Overrides(data_dir=str(tmp_path)))
    detector = masking.detector_for(settings)
    scanner = Scanner()
    message = f"Subject: x\r\n\r\n{TEXT}\r\n".encode()
    errors: list[str] = []

    def run(work: Callable[[], object]) -> None:
        try:
            for _ in range(15):
                work()
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(lambda: detector.find("header", TEXT),)),
               threading.Thread(target=run, args=(lambda: scanner.scan(message),))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert masking.masked_text("Payroll 219-45-6789", detector) == "Payroll ***-**-6789"
