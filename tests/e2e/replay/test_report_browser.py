"""The replay report in Debian's Chromium (Playwright): it renders with no console
error, asks for nothing (every request is recorded and only the file itself is
allowed), its three charts are drawn, and hostile text shows as text."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.replay.archive import write_candidate, write_mbox
from tests.e2e.review.conftest import browser  # noqa: F401  (the fixture)
from tests.e2e.test_replay_cli import SSN, compose
from tests.e2e.test_replay_cli import write_mbox as write_messages

ROOT = Path(__file__).resolve().parents[3]
HOSTILE = ("<img src='http://127.0.0.1:9/leak.png'><script>console.error('ran')</script>"
           "<link rel=stylesheet href='http://127.0.0.1:9/x.css'>")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("replay-report")
    write_mbox(work / "archive.mbox", 400, corpus=200)
    write_messages(work / "hostile.mbox", [compose("clerk@citrus.example", "x@example.com", HOSTILE,
                                                   f"SSN {SSN}\n", Reply_To=HOSTILE)])
    write_candidate(work / "candidate.yaml")
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "replay", str(work / "archive.mbox"),
                             str(work / "hostile.mbox"), "--candidate", str(work / "candidate.yaml"),
                             "--report", str(work / "report.html")],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr
    return work / "report.html"


@pytest.fixture
def opened(browser: Any, report: Path) -> Iterator[tuple[Any, list[str], list[str]]]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    problems: list[str] = []
    url = report.as_uri()

    def route(r: Any) -> None:
        requests.append(r.request.url)
        r.continue_() if r.request.url == url else r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("request", lambda request: requests.append(request.url) if request.url != url else None)
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.goto(url)
    page.wait_for_load_state("load")
    try:
        yield page, requests, problems
    finally:
        context.close()


def test_no_console_error_and_no_request_leaves_the_page(opened: tuple[Any, list[str], list[str]],
                                                          report: Path) -> None:
    page, requests, problems = opened
    assert problems == []
    assert requests == [report.as_uri()]
    assert page.evaluate("performance.getEntriesByType('resource').length") == 0


def test_the_charts_are_drawn(opened: tuple[Any, list[str], list[str]]) -> None:
    page, _, _ = opened
    for chart in ("#chart-profiles", "#chart-entities", "#chart-days"):
        box = page.locator(chart).bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 100, chart
        assert page.locator(f"{chart} rect").count() >= 3, chart
    profiles = page.locator("#chart-profiles text").all_text_contents()
    assert {"cerritos", "citrus-water", "lancaster-lce", "palos-verdes", "default"} <= set(profiles)
    assert page.locator("#chart-days rect[fill='#b3261e']").count() > 0   # blocks on some days


def test_hostile_text_is_text_and_values_are_masked(opened: tuple[Any, list[str], list[str]]) -> None:
    page, _, _ = opened
    held = page.locator("#held tbody tr")
    assert held.count() > 10
    assert page.locator("#held td", has_text="<script>console.error('ran')</script>").count() == 1
    assert page.locator("body img, body script, body link").count() == 0
    assert SSN not in page.content()
    assert page.locator("#held mark.masked", has_text="***-**-6789").count() > 0
    assert page.locator("#changed tbody tr").count() == int(page.locator("#changed-count").inner_text()) > 0
