"""Scan speed of several checkouts on the same messages, in one run.

    python benchmarks/detection/compare.py [--rounds 5] [--speed-messages 50] CHECKOUT...

A busy machine makes one run's timings useless against another's; this
times every checkout in the same run, on the same messages (built once by
this checkout: run.py's 10 KB messages and its 1 MB one, and the real-mail
messages of benchmarks/relay/realmail.py), each in its own process with its
own ``detectors``, round after round in turn, and keeps each figure's best
round. CPU time of the scanning thread, not wall time: what another process
takes from the machine does not count. Each checkout needs ``../shared``
beside it only for run.py; this script does not.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import pickle, sys, time, json
sys.path.insert(0, sys.argv[1])
from detectors.scan import Scanner
data = pickle.load(open(sys.argv[2], "rb"))
scanner = Scanner()
for m in data["small"][:3]:
    scanner.scan(m)  # warm: first uses compile patterns, fill caches
def cpu(messages, repeat):
    start = time.thread_time()
    for _ in range(repeat):
        for m in messages:
            scanner.scan(m)
    return (time.thread_time() - start) / (repeat * len(messages)) * 1000
out = {"10kb_ms": cpu(data["small"], 4), "1mb_ms": cpu([data["big"]], 1)}
for name, m in data["real"]:
    out[name + "_ms"] = cpu([m], 20 if len(m) < 50_000 else 2)
print(json.dumps(out))
"""


def build(speed_messages: int) -> dict[str, object]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks" / "detection"))
    import run  # benchmarks/detection/run.py, found through the path set above

    from benchmarks.relay import realmail  # this checkout's, found through the path set above
    from tests.corpus import generate as corpus  # likewise
    samples = corpus.generate(count=600)
    small = run.ten_kb_messages(samples, speed_messages)
    head = small[0].split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    bodies = [m.split(b"\r\n\r\n", 1)[1] for m in small]
    big = head + b"".join(bodies * (1 + 1_048_576 // sum(map(len, bodies))))[:1_048_576]
    return {"small": small, "big": big, "real": [(m.name, m.content) for m in realmail.generate()]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--speed-messages", type=int, default=50)
    args = parser.parse_args()
    best: dict[str, dict[str, float]] = {}
    with tempfile.NamedTemporaryFile(suffix=".pickle") as handle:
        pickle.dump(build(args.speed_messages), handle)
        handle.flush()
        for _ in range(args.rounds):
            for checkout in args.checkouts:
                out = subprocess.run([sys.executable, "-c", _CHILD, str(checkout.resolve()), handle.name],
                                     capture_output=True, text=True, check=True, cwd=checkout).stdout
                figures = json.loads(out.strip().splitlines()[-1])
                mine = best.setdefault(str(checkout), {})
                for key, value in figures.items():
                    mine[key] = min(value, mine.get(key, value))
    keys = list(next(iter(best.values())))
    print("| checkout | " + " | ".join(keys) + " | 1 MB / 10 KB |")
    print("| --- |" + " ---: |" * (len(keys) + 1))
    for checkout, figures in best.items():
        print(f"| {checkout} | " + " | ".join(f"{figures[k]:.3f}" for k in keys)
              + f" | {figures['1mb_ms'] / figures['10kb_ms']:.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
