"""Issue 10's stall cases: CPU seconds, peak RSS and what was noted, per case.

Each message is built here and scanned in a fresh child process, so the
peak RSS (VmHWM) is the scan's alone. Not run in CI (tests/unit/
test_hostile_extract.py asserts the bounds).

    PYTHONPATH=. .venv/bin/python benchmarks/hostile/run.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.fuzz import hostile  # noqa: E402

CASES = {
    "overlapping zip bomb (71 KB)": lambda: hostile.with_attachment("bomb.zip", hostile.overlapping_zip(),
                                                                    "application/zip"),
    "10 MB of spaced digits": lambda: hostile.with_attachment("d.txt", hostile.spaced_digits(), "text/plain"),
    "XLSX with 95 MB of sheet XML": lambda: hostile.with_attachment("s.xlsx", hostile.big_xlsx()),
    "HTML, a 300,000-letter tag name": lambda: hostile.with_attachment("t.html", hostile.long_tag_html(),
                                                                       "text/html"),
    "HTML, 500,000 <td>": lambda: hostile.with_attachment("t.html", hostile.many_cells_html(), "text/html"),
}
CHILD = """
import json, re, sys, time
from detectors.scan import Scanner
raw = open(sys.argv[1], "rb").read()
scanner = Scanner()
before = time.process_time()
result = scanner.scan(raw)
cpu = time.process_time() - before
hwm = int(re.search(r"VmHWM:\\s*(\\d+)", open("/proc/self/status").read())[1]) // 1024
print(json.dumps({"cpu_s": round(cpu, 2), "peak_rss_mb": hwm, "findings": len(result.findings),
                  "noted": sorted({u.reason for u in result.unscannable})}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in CASES.items():
            path = Path(tmp) / "m.eml"
            path.write_bytes(build())
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                                 cwd=ROOT, check=True)
            print(f"{name:32} {path.stat().st_size:>11,} bytes  {out.stdout.strip()}")


if __name__ == "__main__":
    main()
