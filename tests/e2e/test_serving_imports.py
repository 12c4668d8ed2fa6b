"""What a fresh process loads: starting to serve imports neither spaCy nor Presidio's
analyzer (detectors.registry, and redaction when a message is redacted, load them)."""

from __future__ import annotations

import subprocess
import sys


def test_serving_does_not_import_spacy() -> None:
    code = ("import sys, gateway.pipeline, gateway.cli, detectors.scan, detectors.engine; "
            "print(sorted(m for m in ('spacy', 'presidio_analyzer') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
