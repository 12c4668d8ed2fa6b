"""A gateway worker's CPU per message, two or more checkouts compared in the same run.

On a shared machine msg/s and even run.py's per-run CPU figures move by a
third from one run to the next. This starts one gateway worker (``--workers
1``, detection on unless ``--no-detection``) from each checkout in turn, in
front of one smtp-sink, drives it with ``smtp-source -F`` and one of
realmail.py's messages to an internal recipient (scanned in full and
delivered), and reads the worker's own CPU (utime + stime, /proc) over the
measured messages. Rounds interleave the checkouts, so a burst of other load
hits them alike; the best and the median of the rounds are reported.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/relay/abcpu.py /tmp/wt-main $PWD
    PYTHONPATH=$PWD .venv/bin/python benchmarks/relay/abcpu.py /tmp/wt-main $PWD --no-detection

Each checkout's gateway runs with ``PYTHONPATH`` set to that checkout; the
harness (this file, run.py, realmail.py) is the one of the current directory.

``--split-scan`` also times ``detectors.scan.Scanner.scan`` inside the worker
(thread CPU clock) and reports the rest apart: the gateway's own work, which
the scan's variation (about +-0.4 ms per 10 KB message on a shared machine)
hides in the totals.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import realmail
import run as base

# The gateway with Scanner.scan timed (thread CPU clock); SIGUSR2 writes the
# total so far to the file named first.
_SPLIT = """
import json, signal, sys, time
from detectors import scan
from gateway.cli import main
spent = [0.0]
original = scan.Scanner.scan
def timed(self, message):
    started = time.thread_time()
    try:
        return original(self, message)
    finally:
        spent[0] += time.thread_time() - started
scan.Scanner.scan = timed
def dump(*_):
    with open(sys.argv[1], "w") as out:
        json.dump(spent[0], out)
signal.signal(signal.SIGUSR2, dump)
sys.exit(main(sys.argv[2:]))
"""


def scan_seconds(pid: int, path: Path) -> float:
    """The CPU the worker ``pid`` (started with _SPLIT) has spent in Scanner.scan."""
    path.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            return float(json.loads(path.read_text()))
        except (OSError, ValueError):
            time.sleep(0.05)
    raise base.HarnessError("the worker did not report its scan time")


def worker_cpu(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / base.CLK_TCK


def measure(checkout: str, sink: base.Sink, workdir: Path, message: Path,
            args: argparse.Namespace) -> tuple[float, float, float]:
    """One round for one checkout: (worker CPU ms per delivered message, of which
    in Scanner.scan (0 without --split-scan), msg/s)."""
    port = base.free_port()
    settings = argparse.Namespace(gateway_relay_setting=[], gateway_log_level="info", gateway_detection_setting=[])
    config = base.gateway_config(workdir, port, sink.port, settings, not args.no_detection)
    spent = workdir / f"scan-{port}.json"
    start = ["-c", _SPLIT, str(spent)] if args.split_scan else ["-m", "gateway.cli"]
    with (workdir / "gateway.log").open("ab") as log:
        gateway = subprocess.Popen([sys.executable, *start, "serve", "--config", str(config),
                                    "--workers", "1"], stdout=log, stderr=log, cwd=workdir,
                                   env=dict(os.environ, PYTHONPATH=checkout))
    try:
        base.wait_listening(port, 1, gateway, f"gateway of {checkout}")
        source = ["smtp-source", *([] if args.new_connections else ["-d"]), "-s", str(args.sessions),
                  "-F", str(message), "-M", "bench.example", "-f", base.SENDER, "-t", base.RECIPIENT]
        subprocess.run([*source, "-m", "300", f"{base.HOST}:{port}"], check=True, timeout=300)   # warm-up
        time.sleep(0.5)
        scanned = scan_seconds(gateway.pid, spent) if args.split_scan else 0.0
        cpu, delivered, started = worker_cpu(gateway.pid), sink.received(), time.monotonic()
        subprocess.run([*source, "-m", str(args.messages), f"{base.HOST}:{port}"], check=True, timeout=600)
        elapsed = time.monotonic() - started
        time.sleep(0.3)
        got = max(sink.received() - delivered, 1)
        cpu = worker_cpu(gateway.pid) - cpu
        scanned = scan_seconds(gateway.pid, spent) - scanned if args.split_scan else 0.0
        return cpu * 1000 / got, scanned * 1000 / got, got / elapsed
    finally:
        base.stop(gateway)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", help="directories, each put on PYTHONPATH for its gateway")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000, help="measured messages per round (default 2000)")
    parser.add_argument("--message", default="text-10k", choices=["text-10k", "html-10k", "attach-120k"])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--new-connections", action="store_true", help="no -d: a connection per message")
    parser.add_argument("--no-detection", action="store_true", help="detection off: the non-scan path alone")
    parser.add_argument("--split-scan", action="store_true",
                        help="also time Scanner.scan in the worker and report the rest apart")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="relay-abcpu-"))
    mail = {m.name: m for m in realmail.generate()}[args.message]
    message = workdir / f"{mail.name}.eml"
    message.write_bytes(mail.content)
    sink = base.Sink(workdir)
    figures: dict[str, list[tuple[float, float]]] = {c: [] for c in args.checkouts}
    try:
        for number in range(args.rounds):
            for checkout in args.checkouts:
                ms, scan_ms, rate = measure(checkout, sink, workdir, message, args)
                figures[checkout].append((ms, scan_ms))
                split = f" (scan {scan_ms:.3f}, rest {ms - scan_ms:.3f})" if args.split_scan else ""
                base.progress(f"round {number + 1} {checkout}: {ms:.3f} ms/msg{split}, {rate:.0f} msg/s, "
                              f"load average {os.getloadavg()[0]:.2f}")
    finally:
        sink.close()
    print(f"\n{mail.name}, detection {'off' if args.no_detection else 'on'}, "
          f"{'new connection per message' if args.new_connections else 'connections reused (-d)'}, "
          f"{args.rounds} rounds of {args.messages}: worker CPU ms per message\n")

    def best_median(values: list[float]) -> list[str]:
        return [f"{min(values):.3f}", f"{sorted(values)[len(values) // 2]:.3f}"]
    head = ["checkout", "best", "median"]
    if args.split_scan:
        head += ["scan best", "scan median", "rest best", "rest median"]
    rows = []
    for checkout, values in figures.items():
        row = [checkout, *best_median([ms for ms, _ in values])]
        if args.split_scan:
            row += [*best_median([s for _, s in values]), *best_median([ms - s for ms, s in values])]
        rows.append(row)
    print(base.markdown_table(head, rows, 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
