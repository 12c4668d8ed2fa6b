"""STYLE.md §7: mypy --strict passes for gateway/ and detectors/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_strict() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "gateway", "detectors"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
