"""Replay throughput and memory: a generated mbox through ``dlp-gateway replay``
with 1 and 2 workers.

    .venv/bin/python benchmarks/replay/run.py [--messages 50000] [--workers 1,2] [--out benchmarks/reports]

The archive is the labeled detection corpus re-addressed over six profiles and
a quarter of dates (tests/e2e/replay/archive.py): multipart mail, about half with
attachments (PDF, DOCX, XLSX, ZIP). Each run is the real command, writing the
JSON Lines and the HTML report. While it runs, the process tree's memory is
sampled from /proc (RSS, and PSS, which does not count the pages forked
workers share with the parent twice); "flat" compares the peak of the last
quarter of the replay with the peak of its first quarter (after start-up). msg/s is the messages
over the command's wall time, start-up included; "replay msg/s" is over the
time the command itself reports (pool and reading, without loading the
detector). "msg/s, a core each" is the messages over the busiest worker's
CPU seconds: the rate were each process to have a core of its own, which a
machine shared with other work cannot show in wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.replay.archive import write_mbox  # noqa: E402

RATIO_GOAL = 1.8
FLAT_GOAL = 1.15   # last quarter's peak within 15% of the first quarter's


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
        except OSError:
            pass
    return found


def _cpu(pid: int) -> float:
    """Seconds of CPU (user + system) ``pid`` has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory(pids: list[int]) -> tuple[int, int]:
    """Summed RSS and PSS in bytes."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for name, value in re.findall(r"^(Rss|Pss):\s+(\d+) kB", text, re.MULTILINE):
            if name == "Rss":
                rss += int(value) * 1024
            else:
                pss += int(value) * 1024
    return rss, pss


def run_once(mbox: Path, messages: int, workers: int, work: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "gateway.cli", "replay", str(mbox), "--workers", str(workers),
               "--json", str(work / f"out{workers}.jsonl"), "--report", str(work / f"report{workers}.html")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = os.times()
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int, int]] = []
    cpu_of: dict[int, float] = {}   # each process's CPU seconds, last seen
    while process.poll() is None:
        tree = _tree(process.pid)
        rss, pss = _memory(tree)
        samples.append((time.monotonic() - started, rss, pss))
        for pid in tree:
            cpu_of[pid] = max(cpu_of.get(pid, 0.0), _cpu(pid))
        time.sleep(0.25)
    stderr = process.stderr.read() if process.stderr else ""
    wall = time.monotonic() - started
    after = os.times()
    if process.returncode != 0:
        raise SystemExit(f"replay failed ({process.returncode}):\n{stderr}")
    reported = float(re.search(r"messages in ([\d.]+) s", stderr).group(1))  # type: ignore[union-attr]
    lines = sum(1 for _ in open(work / f"out{workers}.jsonl", "rb"))
    busy = [s for s in samples if s[1] > 0]
    # Start-up (loading the detector, forking) is the first (wall - replay) seconds: judge after it.
    replaying = [s for s in busy if s[0] >= wall - reported] or busy
    quarter = max(1, len(replaying) // 4)
    first = max(s[1] for s in replaying[:quarter])
    last = max(s[1] for s in replaying[-quarter:])
    cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    workers_cpu = sorted((c for pid, c in cpu_of.items() if pid != process.pid), reverse=True)[:workers]
    busiest = max(workers_cpu, default=0.0)
    return {"workers": workers, "messages": lines, "wall_s": round(wall, 2), "replay_s": reported,
            "msg_per_s": round(lines / wall, 1), "replay_msg_per_s": round(lines / reported, 1),
            "cpu_ms_per_msg": round(cpu * 1000 / lines, 3),
            "reader_cpu_s": round(cpu_of.get(process.pid, 0.0), 1),
            "worker_cpu_s": [round(c, 1) for c in workers_cpu],
            # What a core per process would give: the messages over the busiest worker's CPU time.
            "core_each_msg_per_s": round(lines / busiest, 1) if busiest else None,
            "peak_rss_mb": round(max(s[1] for s in busy) / 2**20, 1),
            "peak_pss_mb": round(max(s[2] for s in busy) / 2**20, 1),
            "rss_first_quarter_mb": round(first / 2**20, 1), "rss_last_quarter_mb": round(last / 2**20, 1),
            "flat": last <= first * FLAT_GOAL, "complete": lines == messages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "reports")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mbox = work / "archive.mbox"
        started = time.monotonic()
        size = write_mbox(mbox, args.messages)
        print(f"generated {args.messages} messages, {size / 2**20:.1f} MB, in {time.monotonic() - started:.1f} s",
              flush=True)
        load = os.getloadavg()[0]
        results = []
        for workers in (int(w) for w in args.workers.split(",")):
            result = run_once(mbox, args.messages, workers, work)
            print(json.dumps(result), flush=True)
            results.append(result)
        load_after = os.getloadavg()[0]
    by = {r["workers"]: r for r in results}
    ratio = round(by[2]["msg_per_s"] / by[1]["msg_per_s"], 2) if 1 in by and 2 in by else None
    replay_ratio = (round(by[2]["replay_msg_per_s"] / by[1]["replay_msg_per_s"], 2)
                    if 1 in by and 2 in by else None)
    core_ratio = (round(by[2]["core_each_msg_per_s"] / by[1]["core_each_msg_per_s"], 2)
                  if 1 in by and 2 in by and by[1]["core_each_msg_per_s"] and by[2]["core_each_msg_per_s"]
                  else None)
    report = {"when": datetime.now(UTC).isoformat(timespec="minutes"), "python": platform.python_version(),
              "cpus": os.cpu_count(), "messages": args.messages, "mbox_mb": round(size / 2**20, 1),
              "load_before": round(load, 2), "load_after": round(load_after, 2), "runs": results,
              "ratio_2_over_1": ratio, "replay_ratio_2_over_1": replay_ratio,
              "core_each_ratio_2_over_1": core_ratio, "ratio_goal": RATIO_GOAL}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replay.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "replay.md").write_text(_markdown(report))
    print(_markdown(report))


def _markdown(report: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {r['workers']} | {r['messages']:,} | {r['msg_per_s']:,.0f} | {r['replay_msg_per_s']:,.0f} | "
        f"{r['cpu_ms_per_msg']} | {r['reader_cpu_s']} | {', '.join(map(str, r['worker_cpu_s']))} | "
        f"{r['core_each_msg_per_s']:,.0f} | {r['peak_rss_mb']} | {r['peak_pss_mb']} | {r['rss_first_quarter_mb']} → "
        f"{r['rss_last_quarter_mb']} | {'yes' if r['flat'] else 'NO'} |" for r in report["runs"])
    verdict = ("PASS" if report["ratio_2_over_1"] is not None and report["ratio_2_over_1"] >= RATIO_GOAL
               else "FAIL")
    return (f"# Replay benchmark\n\n{report['when']}, Python {report['python']}, {report['cpus']} CPUs, "
            f"{report['messages']:,} messages ({report['mbox_mb']} MB mbox), load average "
            f"{report['load_before']} before, {report['load_after']} after.\n\n"
            "| workers | messages | msg/s | replay msg/s | CPU ms/msg | reader CPU s | worker CPU s | "
            "msg/s, a core each | peak RSS MB | peak PSS MB | RSS MB first → last quarter | flat |\n"
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n"
            f"{rows}\n\n2 workers / 1 worker: **{report['ratio_2_over_1']}x** (replay time only: "
            f"{report['replay_ratio_2_over_1']}x; a core each: {report['core_each_ratio_2_over_1']}x); "
            f"goal >= {RATIO_GOAL}x: {verdict}\n")


if __name__ == "__main__":
    main()
