"""The replay report's screenshot for the README, from a real replay and Debian's
Chromium: ``python -m tests.e2e.replay.screenshots [DIR]`` (default docs/screenshots).
Not a test; tests/e2e/replay/test_report_browser.py checks the same page."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.e2e.replay.archive import write_candidate, write_mbox
from tests.e2e.review.conftest import CHROMIUM, CHROMIUM_FLAGS


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        archive, candidate, report = Path(work, "q1.mbox"), Path(work, "candidate.yaml"), Path(work, "q1.html")
        write_mbox(archive, 3000)
        write_candidate(candidate)
        root = Path(__file__).resolve().parents[3]
        subprocess.run([sys.executable, "-m", "gateway.cli", "replay", archive.name, "--candidate", candidate.name,
                        "--report", report.name], check=True, cwd=work,
                       env={**os.environ, "PYTHONPATH": str(root)})
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1700})
            page.goto(report.as_uri())
            page.screenshot(path=str(out / "replay.png"))
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
