"""Linear cost: hostile input sizes against the time they take, in one run.

    PYTHONPATH=. python benchmarks/linear/run.py

What the unit tests once asserted with a clock, measured here instead (tests
keep what the result must be; this prints how long it took and writes
benchmarks/reports/linear.md and .json):

- html_to_text on hostile markup at three sizes, doubling (best of five
  runs): linear work grows 4x from the smallest to the largest, quadratic
  work 16x. The regular-expression version this replaced backtracked on long
  tag names and on runs of cells (over a minute on the large inputs);
- the detector over one long line of numbers, 1,000 and 4,000 times the
  same two findings (CPU, best of three): every number once searched the
  whole line for a delimiter, and 123 KB took 8.6 s;
- extraction of hostile HTML parts, a multipart nested 1,000 deep, zip bombs
  (one of 50 MB of zeros, one whose directory claims a huge compressed size)
  and a 25 MB message of CSV, ZIP, noise and a PDF.

Figures from a shared machine are noisy: compare the growth ratios, and the
seconds only against a run of the previous commit on the same machine.
"""

from __future__ import annotations

import json
import platform
import random
import struct
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from detectors.engine import Detector  # noqa: E402
from detectors.extract.html_text import html_to_text  # noqa: E402
from detectors.segments import extract, extract_file  # noqa: E402
from tests.unit.test_segments import (  # noqa: E402
    SSN,
    attachment,
    mime,
    multipart,
    pdf_bytes,
    text_part,
    zeros_zip,
    zip_bytes,
)

REPORTS = ROOT / "benchmarks" / "reports"
HOSTILE: dict[str, Callable[[int], str]] = {
    "long tag name": lambda n: "<" + "a" * n,
    "long tag name, then text": lambda n: "<p" + "x" * n + " 219-45-6789",
    "unclosed cells": lambda n: "<td>" * (n // 4),
    "cells and rows": lambda n: "<table>" + "<tr><td>1<td>" * (n // 13),
    "nested blocks": lambda n: "<div>" * (n // 5),
    "lone brackets": lambda n: "<" * n,
    "unclosed comments": lambda n: "<!--" * (n // 4),
    "attributes": lambda n: "<a " + "b=c " * (n // 4),
}
SIZES = (40_000, 80_000, 160_000)
FLOOR = 0.005  # seconds: below this, timer noise dominates; counted as this much in a ratio
EXTRACT_HTML = {
    "250,000 <!--": "<!--" * 250_000, "125,000 <script>": "<script>" * 125_000, "500,000 <a": "<a" * 500_000,
    "60,000 <style>x</style": "<style>x</style" * 60_000, "1,000,000 <": "<" * 1_000_000,
}


def best_time(work: Callable[[], object], runs: int = 5, clock: Callable[[], float] = time.perf_counter) -> float:
    best = float("inf")
    for _ in range(runs):
        started = clock()
        work()
        best = min(best, clock() - started)
    return best


def html_growth() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name, make in HOSTILE.items():
        markups = [make(size) for size in SIZES]
        times = [best_time(lambda m=markup: html_to_text(m)) for markup in markups]
        rows.append({"input": name, "ms": [round(t * 1000, 2) for t in times],
                     "growth": round(max(times[-1], FLOOR) / max(times[0], FLOOR), 2)})
    for markup, name in (("<" + "a" * 300_000, "300,000-letter tag name"), ("<td>" * 500_000, "500,000 <td>")):
        rows.append({"input": name, "ms": [round(best_time(lambda m=markup: html_to_text(m), 1) * 1000, 2)],
                     "growth": None})
    return rows


def long_line() -> dict[str, object]:
    detector = Detector()
    unit = "SSN 219-45-6789 card 4111 1111 1111 1111 "
    cost = {n: best_time(lambda n=n: detector.find("body", unit * n), 3, time.process_time) for n in (1000, 4000)}
    return {"cpu_s": {str(n): round(t, 4) for n, t in cost.items()},
            "growth": round(max(cost[4000], FLOOR) / max(cost[1000], FLOOR), 2)}


def _nested(depth: int = 1000) -> bytes:
    head = "".join(f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n' for i in range(depth))
    tail = "".join(f"\r\n--n{i}--" for i in reversed(range(depth)))
    return mime('Content-Type: multipart/mixed; boundary="n0"', head + f"--n{depth}\r\n\r\ndeep{tail}")


def _claiming_zip() -> bytes:
    bomb = bytearray(zeros_zip(50 << 20))
    at = bomb.find(b"PK\x01\x02")
    struct.pack_into("<I", bomb, at + 20, 0x7FFF0000)
    return bytes(bomb)


def _big_message() -> bytes:
    rng = random.Random(7)
    csv = ("".join(f"{i},{rng.randrange(10**9):09d},some text here\n" for i in range(200_000))
           + f"last,{SSN}\n").encode()
    return multipart("mixed", "big", text_part("see attached " * 800), attachment("rows.csv", csv),
                     attachment("rows.zip", zip_bytes({"big.csv": csv, "again.csv": csv})),
                     attachment("noise.bin", rng.randbytes(10 << 20)), attachment("doc.pdf", pdf_bytes(f"SSN {SSN}")))


def extraction() -> list[dict[str, object]]:
    cases: dict[str, Callable[[], object]] = {
        f"HTML part, {name}": (lambda m=markup: extract(mime("Content-Type: text/html", m.encode())))
        for name, markup in EXTRACT_HTML.items()}
    nested, bomb = _nested(), multipart("mixed", "b", text_part("hi"), attachment("bomb.zip", zeros_zip(50 << 20)))
    claiming, big = _claiming_zip(), _big_message()
    cases["multipart nested 1,000 deep"] = lambda: extract(nested)
    cases["zip bomb, 50 MB of zeros"] = lambda: extract(bomb)
    cases["zip claiming a huge compressed size"] = lambda: extract_file("claims.zip", claiming)
    cases[f"message of {len(big) >> 20} MB (CSV, ZIP, noise, PDF)"] = lambda: extract(big)
    rows: list[dict[str, object]] = []
    for name, work in cases.items():
        tracemalloc.start()
        seconds = best_time(work, 1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rows.append({"input": name, "s": round(seconds, 3), "peak_mb": round(peak / (1 << 20), 1)})
    return rows


def markdown(report: dict[str, object]) -> str:
    lines = ["# Linear cost", "", f"`{report['command']}` on {report['machine']}. On a shared machine the",
             "seconds are noisy: read the growth ratios, and compare seconds only with a run of the",
             "previous commit on the same machine.", "",
             "## html_to_text on hostile markup", "",
             f"| input | ms at {', '.join(f'{s:,}' for s in SIZES)} chars | growth (4x linear, 16x quadratic) |",
             "|---|---|---|"]
    for row in report["html"]:  # type: ignore[attr-defined]
        growth = "" if row["growth"] is None else f"{row['growth']}x"
        lines.append(f"| {row['input']} | {' / '.join(str(ms) for ms in row['ms'])} | {growth} |")
    line = report["long_line"]
    lines += ["", "## The detector over one long line of numbers", "",
              f"CPU {line['cpu_s']['1000']} s for 1,000 pairs, {line['cpu_s']['4000']} s for 4,000: "  # type: ignore[index]
              f"{line['growth']}x (4x linear).", "",  # type: ignore[index]
              "## Extraction", "", "| input | seconds | peak MB (tracemalloc) |", "|---|---|---|"]
    for row in report["extraction"]:  # type: ignore[attr-defined]
        lines.append(f"| {row['input']} | {row['s']} | {row['peak_mb']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    report = {"command": "PYTHONPATH=. python benchmarks/linear/run.py",
              "machine": f"{platform.machine()}, Python {platform.python_version()}",
              "html": html_growth(), "long_line": long_line(), "extraction": extraction()}
    text = markdown(report)
    print(text)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "linear.json").write_text(json.dumps(report, indent=2) + "\n")
    (REPORTS / "linear.md").write_text(text)


if __name__ == "__main__":
    main()
