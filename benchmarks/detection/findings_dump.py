"""Every finding of the scanner on every test message, one line each, for diffing.

    python benchmarks/detection/findings_dump.py OUT.tsv [--count 600]

Scans tests/corpus (``--count`` messages, with and without its customer list
loaded as an EDM set, and again in windows of 256 characters), the
independent corpus tests/evalcorpus, the real-mail messages of
benchmarks/relay/realmail.py and texts longer than a window, and writes for each
finding: corpus, message, entity, segment, start, end, score, recognizer;
then the message's unscannable notes. No values: the offsets say where each
finding is. A change meant to make the scan faster must leave this file
byte-identical (``cmp before.tsv after.tsv``).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.relay import realmail  # noqa: E402
from detectors.edm import EdmSet  # noqa: E402
from detectors.scan import Budgets, Scanner  # noqa: E402
from detectors.segments import extract  # noqa: E402
from tests.corpus import generate as corpus  # noqa: E402
from tests.evalcorpus import generate as evalcorpus  # noqa: E402

# No CPU budget to speak of: a loaded machine must not cut a scan short and
# make a difference that is not the code's.
_BUDGETS = Budgets(cpu_seconds=600.0)


def messages(count: int) -> Iterator[tuple[str, str, bytes]]:
    """(scanner, name, message) for every message dumped."""
    for sample in corpus.generate(count=count):
        yield "plain", f"corpus/{sample.name}", sample.message
        yield "edm", f"corpus/{sample.name}", sample.message
    for case in evalcorpus.generate():
        yield "plain", f"evalcorpus/{case.name}", case.raw
    for message in realmail.generate():
        yield "plain", f"realmail/{message.name}", message.content
    yield from long_messages(count)
    for sample in corpus.generate(count=count):  # every text in many small windows: margins everywhere
        yield "narrow", f"corpus/{sample.name}", sample.message


def long_messages(count: int) -> Iterator[tuple[str, str, bytes]]:
    """Texts longer than a scan window (their tables are found apart from
    extraction): run.py's 1 MB message, prose and dense, and every
    evalcorpus segment's text (CSV, XLSX, HTML tables...) as one plain body."""
    sys.path.insert(0, str(ROOT / "benchmarks" / "detection"))
    import run  # benchmarks/detection/run.py, found through the path set above

    samples = corpus.generate(count=count)
    for name, dense in (("prose-1mb", False), ("dense-1mb", True)):
        small = run.ten_kb_messages(samples, 50, dense=dense)
        head = small[0].split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        bodies = [m.split(b"\r\n\r\n", 1)[1] for m in small]
        yield "plain", f"long/{name}", head + b"".join(bodies * (1 + 1_048_576 // sum(map(len, bodies))))[:1_048_576]
    texts = [s.text for case in evalcorpus.generate() for s in extract(case.raw).segments]
    parts: list[str] = []
    for i, text in enumerate(texts):  # bodies of ~100 KB: under the cap of findings per segment
        parts.append(text)
        if sum(map(len, parts)) > 100_000 or i == len(texts) - 1:
            yield "plain", f"long/evalcorpus-texts-{i}", (b"From: a@b.example\r\nSubject: all\r\nContent-Type: "
                                                          b"text/plain; charset=utf-8\r\n\r\n"
                                                          + "\n\n".join(parts).encode())
            parts = []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=600, help="tests/corpus messages")
    args = parser.parse_args()
    salt = b"findings-dump"  # any salt: only membership matters
    edm = EdmSet(salt, frozenset(hashlib.sha256(salt + "".join(ch for ch in a if ch.isdigit()).encode()).digest()
                                 for a in corpus.edm_accounts()))
    scanners = {"plain": Scanner(budgets=_BUDGETS), "edm": Scanner(edm=edm, budgets=_BUDGETS),
                "narrow": Scanner(budgets=Budgets(cpu_seconds=600.0, window_chars=256, margin_chars=64))}
    total = 0
    with args.out.open("w") as out:
        for kind, name, message in messages(args.count):
            result = scanners[kind].scan(message)
            for f in result.findings:
                out.write(f"{kind}\t{name}\t{f.entity}\t{f.segment}\t{f.start}\t{f.end}\t{f.score!r}\t{f.recognizer}\n")
            for note in result.unscannable:
                out.write(f"{kind}\t{name}\tunscannable\t{note}\n")
            total += len(result.findings)
    print(f"{total} findings -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
