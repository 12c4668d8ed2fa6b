"""Issue 13's ratios as the median of several real-mail runs, not one.

On a shared machine one run of ``run.py --suite real`` gives ratios against
the bare relay that move from 0.5x to 1.2x between runs minutes apart: the
gateway and the bare relay are measured one after the other, and the
machine's speed moves meanwhile. This runs ``run.py`` several times
(text-10k, internal recipients, both connection modes, 1 and 2 workers and
the bare relay each time), takes each run's ratios (every run checks the
findings counter, as run.py does), and reports every run and the median.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/relay/realmedian.py --runs 5
    PYTHONPATH=$PWD .venv/bin/python benchmarks/relay/realmedian.py --runs 3 --messages 1000   # quicker

The report goes to benchmarks/reports/relay-real-median.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPORTS = HERE.parent / "reports"
GOALS = {"gateway 1 worker": 0.8, "gateway 2 workers": 1.5}
MODES = ("new-conn", "reuse (-d)")


def one_run(messages: int, output: Path) -> dict[str, object]:
    """One run.py run of text-10k to internal recipients; its real-mail JSON."""
    command = [sys.executable, str(HERE / "run.py"), "--suite", "real", "--real-message", "text-10k",
               "--real-recipients", "internal", "--real-messages", str(messages), "--rounds", "1",
               "--real-warmup", "300", "--output", str(output)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    data = json.loads((output / "relay.json").read_text())
    real: dict[str, object] = data["real_mail"]
    return real


def ratios(real: dict[str, object]) -> dict[tuple[str, str], float | None]:
    """(target, mode) -> msg/s against the bare relay in the same run; None if a run was invalid."""
    out: dict[tuple[str, str], float | None] = {}
    for run in real["runs"]:   # type: ignore[attr-defined]
        if run["target"] in GOALS and run["message"] == "text-10k" and run["recipients"] == "internal":
            out[(run["target"], run["mode"])] = run["x_bare"] if run["valid"] else None
    return out


def cpu(real: dict[str, object]) -> dict[tuple[str, str], float]:
    """(target, mode) -> CPU ms per message, the bare relay's included."""
    return {(run["target"], run["mode"]): run["cpu_ms_per_message"]
            for run in real["runs"]   # type: ignore[attr-defined]
            if run["message"] == "text-10k" and run["recipients"] == "internal"}


def shown(median: float, goal: float) -> str:
    """The median to two places; to three where two would round it onto the goal it misses
    (1.4975 is not 1.50x)."""
    return f"{median:.3f}x" if median < goal <= round(median, 2) else f"{median:.2f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="run.py runs (default 5)")
    parser.add_argument("--messages", type=int, default=3000, help="messages per scenario and run (default 3000)")
    parser.add_argument("--output", type=Path, default=REPORTS, help="report directory (default benchmarks/reports)")
    args = parser.parse_args()
    started = time.time()
    per_run: list[tuple[dict[tuple[str, str], float | None], dict[tuple[str, str], float]]] = []
    with tempfile.TemporaryDirectory(prefix="realmedian-") as tmp:
        for number in range(args.runs):
            real = one_run(args.messages, Path(tmp) / f"run-{number}")
            per_run.append((ratios(real), cpu(real)))
            line = ", ".join(f"{t.removeprefix('gateway ')} {m} {r:.2f}x" if r is not None else f"{t} {m} INVALID"
                              for (t, m), r in per_run[-1][0].items())
            print(f"run {number + 1}/{args.runs}: {line}", flush=True)
    lines = [f"# Real mail: issue 13's ratios, median of {args.runs} runs", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
             f"{(time.time() - started) / 60:.1f} min, text-10k to internal recipients, "
             f"{args.messages:,} messages a scenario and run", "", "```",
             "PYTHONPATH=$PWD .venv/bin/python benchmarks/relay/realmedian.py "
             f"--runs {args.runs} --messages {args.messages}", "```", "",
             "| target | connections | each run (x bare) | median | goal | result | CPU ms/msg, median (bare relay) |",
             "| --- | --- | --- | ---: | ---: | --- | ---: |"]
    summary: list[dict[str, object]] = []
    for target, goal in GOALS.items():
        for mode in MODES:
            values = [r[0].get((target, mode)) for r in per_run]
            valid = [v for v in values if v is not None]
            median = statistics.median(valid) if len(valid) == len(values) and valid else None
            gateway_cpu = statistics.median(r[1][(target, mode)] for r in per_run if (target, mode) in r[1])
            bare_cpu = statistics.median(r[1][("bare relay", mode)] for r in per_run if ("bare relay", mode) in r[1])
            result = "INVALID" if median is None else ("PASS" if median >= goal else "FAIL")
            lines.append(f"| {target} | {mode} | {', '.join('-' if v is None else f'{v:.2f}' for v in values)} | "
                         f"{'-' if median is None else shown(median, goal)} | >= {goal}x | {result} | "
                         f"{gateway_cpu:.2f} ({bare_cpu:.2f}) |")
            summary.append({"target": target, "mode": mode, "ratios": values, "median": median, "goal": goal,
                            "result": result, "cpu_ms": gateway_cpu, "bare_cpu_ms": bare_cpu})
    report = "\n".join(lines) + "\n"
    print(report)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "relay-real-median.md").write_text(report)
    (args.output / "relay-real-median.json").write_text(json.dumps(
        {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)), "runs": args.runs,
         "messages": args.messages, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
