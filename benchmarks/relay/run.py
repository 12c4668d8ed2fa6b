"""benchmarks/relay: messages per second through the gateway, against references.

Real mail (realrun.py, realmail.py): three realistic messages (10 KB
quoted-printable text with sensitive values, 10 KB multipart/alternative HTML,
120 KB with PDF and XLSX attachments) sent with ``smtp-source -F`` through the
bare relay and the scanning gateway (1 and 2 workers), to internal recipients
(delivered) and external ones (held), both connection modes; every run checks
the gateway's /metrics findings counter against the in-process scan.

Synthetic: Postfix's ``smtp-source`` (20 sessions, 10 KB messages) drives, in one run:
``smtp-sink`` directly, the bare relay (bare_relay.py), and the gateway with one
and with two workers, its detection stage off (pass-through) and on, each
relaying into a fresh ``smtp-sink``; once with a new connection per message and
once with ``-d`` (many messages per connection).
The sink's own counter must show every message, and smtp-source must report no
error, or the figure is marked invalid. CPU seconds per message cover the relay
process and its descendants during the measured run. Latency is one SMTP
transaction (connect to the 250 after DATA) at light load: sequential
``smtplib`` sends, a new connection each.

Each round measures every target; the report takes each target's best round.
Exit status: 0 when every measurement ran (whether or not the targets are met),
1 on a harness failure.

    .venv/bin/python benchmarks/relay/run.py            # full run: an estimated 15+ minutes (not yet timed)
    .venv/bin/python benchmarks/relay/run.py --quick    # a few hundred messages per run, 2-4 minutes
    .venv/bin/python benchmarks/relay/run.py --suite real --quick   # the real-mail scenarios only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REPORTS = REPO / "benchmarks" / "reports"
HOST = "127.0.0.1"
SENDER, RECIPIENT = "source@bench.example", "sink@bench.example"
MODES = {"new-conn": [], "reuse (-d)": ["-d"]}
TARGET_1W, TARGET_2W = 0.9, 1.4
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_SECONDS = 180  # a loaded machine can take a minute to start two workers: slow is not broken


class HarnessError(Exception):
    """The benchmark itself could not run (a process did not start, a port never opened)."""


@dataclass(slots=True)
class Run:
    """One smtp-source measurement."""

    messages: int
    seconds: float
    received: int
    cpu_seconds: float | None
    load_cpu_seconds: float
    source_rc: int
    source_errors: str
    other_cpu_seconds: float = 0.0  # everything else on the machine: other people's work
    died: str = ""  # a process of the measurement that was gone afterwards

    @property
    def valid(self) -> bool:
        return (self.source_rc == 0 and not self.source_errors and not self.died
                and self.received == self.messages)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_per_message(self) -> float | None:
        return None if self.cpu_seconds is None else self.cpu_seconds / self.messages

    @property
    def other_cores(self) -> float:
        """CPU the rest of the machine used during the run, in cores: noise when well above 0."""
        return max(0.0, self.other_cpu_seconds) / self.seconds

    @property
    def load_cpu_per_message(self) -> float:
        """smtp-source and smtp-sink CPU per message: what the relay shares the machine with."""
        return self.load_cpu_seconds / self.messages

    def problem(self) -> str:
        if self.valid:
            return ""
        first = self.source_errors.strip().splitlines()[:1]
        return (f"smtp-source exit {self.source_rc}; sink received {self.received}"
                f"/{self.messages}" + (f"; {first[0]}" if first else "")
                + (f"; {self.died} exited during the run" if self.died else ""))


@dataclass(slots=True)
class TargetResult:
    """Every round of one target: throughput per mode, latency samples."""

    name: str
    runs: dict[str, list[Run]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    latency_errors: int = 0
    log_problems: int = 0

    def best(self, mode: str) -> Run | None:
        """The fastest valid round, else the last (invalid) one."""
        runs = self.runs.get(mode, [])
        valid = [r for r in runs if r.valid]
        if valid:
            return max(valid, key=lambda r: r.rate)
        return runs[-1] if runs else None


# --- processes and ports -----------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def listeners(port: int) -> int:
    """How many sockets listen on ``port``."""
    wanted = f":{port:04X}"
    with open("/proc/net/tcp") as table:
        return sum(1 for line in table.readlines()[1:]
                   if line.split()[1].endswith(wanted) and line.split()[3] == "0A")


def wait_listening(port: int, count: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while listeners(port) < count:
        if process.poll() is not None:
            raise HarnessError(f"{what} exited with status {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise HarnessError(f"{what} did not listen on port {port} within {START_SECONDS} s")
        time.sleep(0.05)


def wait_logged(path: Path, text: str, count: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Wait until ``count`` lines of the log at ``path`` hold ``text``."""
    deadline = time.monotonic() + START_SECONDS
    while path.read_text(errors="replace").count(text) < count:
        if process.poll() is not None:
            raise HarnessError(f"{what} exited with status {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise HarnessError(f"{what} did not log {count} times {text} within {START_SECONDS} s")
        time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def machine_busy_seconds() -> float:
    """CPU time every core of the machine spent busy (user, nice, system, steal), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, steal = fields[0], fields[1], fields[2], fields[7]
    return (user + nice + system + steal) / CLK_TCK


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and its descendants."""
    ticks = 0
    for each in descendants(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / CLK_TCK


def settle(process: subprocess.Popen[bytes] | None, quiet: float = 0.5, limit: float = 60) -> None:
    """Wait until the relay and its descendants use no CPU for ``quiet`` seconds:
    work a start leaves running in the background (the gateway's scan process
    builds its pipeline) must not be counted in the first measured run."""
    if process is None:
        return
    deadline = time.monotonic() + limit
    before = cpu_seconds(process.pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(process.pid)
        if now - before < 0.02:
            return
        before = now


def stop(process: subprocess.Popen[bytes], grace: float = 40) -> None:
    """SIGTERM, then SIGKILL (the process and what it started) after ``grace``."""
    if process.poll() is not None:
        return
    family = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait()


# --- smtp-sink ---------------------------------------------------------------

class Sink:
    """One smtp-sink, counting what it received (``-c`` writes a counter to a file)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.counter = workdir / f"sink-{self.port}.out"
        with self.counter.open("wb") as out:
            self.process = subprocess.Popen(
                ["smtp-sink", "-u", "postfix", "-c", f"{HOST}:{self.port}", "1024"],
                stdout=out, stderr=subprocess.STDOUT)
        wait_listening(self.port, 1, self.process, "smtp-sink")

    def received(self) -> int:
        tail = self.counter.read_bytes()[-200:]
        counts = re.findall(rb"mesg=(\d+)", tail)
        return int(counts[-1]) if counts else 0

    def wait_for(self, count: int) -> int:
        """The counter once it reaches ``count`` (or stops moving)."""
        deadline = time.monotonic() + 5
        seen = self.received()
        while seen < count and time.monotonic() < deadline:
            time.sleep(0.05)
            seen = self.received()
        return seen

    def close(self) -> None:
        stop(self.process, grace=5)


# --- targets -----------------------------------------------------------------

@dataclass(slots=True)
class Target:
    name: str
    workers: int = 0  # 0: the sink itself; otherwise processes listening
    detection: bool = False  # the gateway's detection stage (off: pass-through)

    def start(self, sink: Sink, workdir: Path,
              args: argparse.Namespace) -> tuple[int, subprocess.Popen[bytes] | None]:
        """Start the relay in front of ``sink``; return (port to drive, process)."""
        if self.name == "smtp-sink":
            return sink.port, None
        port = free_port()
        log = (workdir / f"{self.name}.log").open("ab")
        if self.name == "bare relay":
            command = [sys.executable, str(HERE / "bare_relay.py"),
                       "--listen", f"{HOST}:{port}", "--relay", f"{HOST}:{sink.port}"]
        else:
            command = [str(Path(sys.executable).parent / "dlp-gateway"), "serve",
                       "--config", str(gateway_config(workdir, port, sink.port, args, self.detection)),
                       "--workers", str(self.workers)]
        process = subprocess.Popen(command, stdout=log, stderr=log, cwd=workdir)
        log.close()
        try:
            wait_listening(port, 1, process, self.name)
            if self.name != "bare relay":   # the supervisor listens first; each worker logs when it serves
                wait_logged(workdir / f"{self.name}.log", '"msg": "listening"', self.workers, process, self.name)
        except HarnessError:
            stop(process, grace=5)  # never leave a half-started relay behind
            raise
        return port, process


def gateway_config(workdir: Path, port: int, sink_port: int, args: argparse.Namespace,
                   detection: bool) -> Path:
    """Write gateway.yaml for one gateway start; return its directory."""
    directory = workdir / f"gateway-{port}"
    (directory / "data").mkdir(parents=True)
    extra = "".join(f"  {line}\n" for line in args.gateway_relay_setting)
    (directory / "gateway.yaml").write_text(
        f'smtp:\n  listen: "{HOST}:{port}"\n'
        f'relay:\n  address: "{HOST}:{sink_port}"\n  starttls: "off"\n{extra}'
        f'metrics:\n  listen: "{HOST}:{free_port()}"\n'
        f'review:\n  listen: "{HOST}:{free_port()}"\n'   # not the default 8025 someone else may hold
        f'data_dir: "{directory / "data"}"\n'
        f'detection:\n  enabled: {"true" if detection else "false"}\n'
        + "".join(f"  {line}\n" for line in getattr(args, "gateway_detection_setting", [])) +
        f'log_level: "{args.gateway_log_level}"\n')
    return directory


TARGETS = (Target("smtp-sink"), Target("bare relay", 1),
           Target("gateway 1 worker", 1), Target("gateway 2 workers", 2),
           Target("gateway 1 worker + detection", 1, detection=True),
           Target("gateway 2 workers + detection", 2, detection=True))
# Each detection run is judged against the pass-through run with as many workers.
DETECTION_BASE = {"gateway 1 worker + detection": "gateway 1 worker",
                  "gateway 2 workers + detection": "gateway 2 workers"}
TARGET_DETECTION = 0.75


# --- measurements --------------------------------------------------------------

def smtp_source(port: int, messages: int, flags: list[str],
                args: argparse.Namespace) -> tuple[float, float, int, str]:
    """Run smtp-source; return (wall seconds, its CPU seconds, exit status, its stderr)."""
    command = ["smtp-source", *flags, "-s", str(args.sessions), "-l", str(args.size),
               "-m", str(messages), "-M", "bench.example", "-f", SENDER, "-t", RECIPIENT,
               f"{HOST}:{port}"]
    limit = 60 + messages / 100  # far beyond any sane rate; a stuck run must not stall the benchmark
    return run_source(command, limit)


def run_source(command: list[str], limit: float) -> tuple[float, float, int, str]:
    """Run an smtp-source command line: (wall seconds, its CPU seconds, exit status, its stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=limit)
        rc, errors = done.returncode, done.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        rc, errors = -1, f"smtp-source: timed out after {limit:.0f} s (killed)"
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, rc, errors


def measure(port: int, sink: Sink, relay: subprocess.Popen[bytes] | None, flags: list[str],
            messages: int, args: argparse.Namespace) -> Run:
    check_alive(sink.process, "smtp-sink")
    if relay is not None:
        check_alive(relay, "relay")
    before_count = sink.received()
    before_cpu = cpu_seconds(relay.pid) if relay else None
    before_sink = cpu_seconds(sink.process.pid)
    before_busy = machine_busy_seconds()
    seconds, source_cpu, rc, errors = smtp_source(port, messages, flags, args)
    busy = machine_busy_seconds() - before_busy
    cpu = cpu_seconds(relay.pid) - before_cpu if relay and before_cpu is not None else None
    sink_cpu = cpu_seconds(sink.process.pid) - before_sink
    other = busy - (cpu or 0.0) - source_cpu - sink_cpu
    received = sink.wait_for(before_count + messages) - before_count
    gone = [name for name, p in (("smtp-sink", sink.process), ("relay", relay))
            if p is not None and p.poll() is not None]
    return Run(messages, seconds, received, cpu, source_cpu + sink_cpu, rc, errors, other, ", ".join(gone))


def check_alive(process: subprocess.Popen[bytes], what: str) -> None:
    if process.poll() is not None:
        raise HarnessError(f"{what} exited unexpectedly with status {process.returncode}")


def latency(port: int, count: int, size: int) -> tuple[list[float], int]:
    """Sequential transactions, a new connection each: connect to the 250 after DATA (ms)."""
    message = test_message(size)
    samples: list[float] = []
    errors = 0
    for _ in range(count):
        if errors >= 5 and not samples:
            break  # nothing gets through: do not wait out a timeout a thousand times
        started = time.perf_counter()
        try:
            with smtplib.SMTP(HOST, port, local_hostname="bench.example", timeout=30) as client:
                client.sendmail(SENDER, [RECIPIENT], message)
                samples.append((time.perf_counter() - started) * 1000)
        except (smtplib.SMTPException, OSError):
            errors += 1
    return samples, errors


def test_message(size: int) -> bytes:
    head = (f"From: <{SENDER}>\r\nTo: <{RECIPIENT}>\r\nSubject: relay benchmark\r\n"
            "Message-ID: <latency@bench.example>\r\n\r\n").encode()
    line = b"x" * 78 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


def log_problems(workdir: Path, name: str) -> int:
    """Warning and error lines in a relay's log."""
    path = workdir / f"{name}.log"
    if not path.exists():
        return 0
    return sum(1 for line in path.open(errors="replace")
               if '"level": "warning"' in line or '"level": "error"' in line or "Traceback" in line)


def run_target(target: Target, result: TargetResult, workdir: Path, args: argparse.Namespace) -> None:
    sink = Sink(workdir)
    relay = None
    try:
        port, relay = target.start(sink, workdir, args)
        measure(port, sink, relay, [], args.warmup, args)
        settle(relay)
        for mode, flags in MODES.items():
            run = measure(port, sink, relay, flags, args.messages, args)
            result.runs.setdefault(mode, []).append(run)
            progress(f"  {target.name:29} {mode:11} {run.rate:8.0f} msg/s  "
                     f"(other load {run.other_cores:.2f} cores)"
                     + ("" if run.valid else f"  INVALID: {run.problem()}"))
        samples, errors = latency(port, args.latency_messages, args.size)
        result.latencies_ms.extend(samples)
        result.latency_errors += errors
    finally:
        if relay is not None:
            stop(relay)
        sink.close()
    result.log_problems = log_problems(workdir, target.name)


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- report --------------------------------------------------------------------

def percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ratio(results: dict[str, TargetResult], name: str, mode: str, base: str = "bare relay") -> float | None:
    if name not in results or base not in results:
        return None
    run, bare = results[name].best(mode), results[base].best(mode)
    if run is None or bare is None or not (run.valid and bare.valid):
        return None
    return run.rate / bare.rate


@dataclass(frozen=True, slots=True)
class Verdict:
    """One done-criterion: a gateway's ratio to the bare relay against its goal."""

    target: str
    mode: str
    ratio: float | None
    goal: float
    base: str = "bare relay"

    @property
    def passed(self) -> bool:
        return self.ratio is not None and self.ratio >= self.goal


def verdicts(results: dict[str, TargetResult]) -> list[Verdict]:
    out = [Verdict(name, mode, ratio(results, name, mode), goal)
           for name, goal in (("gateway 1 worker", TARGET_1W), ("gateway 2 workers", TARGET_2W))
           if name in results for mode in MODES]
    out += [Verdict(name, mode, ratio(results, name, mode, base), TARGET_DETECTION, base)
            for name, base in DETECTION_BASE.items() if name in results for mode in MODES]
    return out


def fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else format(value, spec) + unit


def throughput_rows(results: dict[str, TargetResult]) -> list[list[str]]:
    rows = []
    for name, result in results.items():
        for mode in MODES:
            run = result.best(mode)
            if run is None:
                continue
            value = ratio(results, name, mode) if name != "bare relay" else 1.0
            cpu = run.cpu_per_message
            rows.append([name, mode, f"{run.rate:,.0f}", fmt(value, ".2f", "x"),
                         fmt(cpu * 1000 if cpu is not None else None, ".3f"),
                         f"{run.load_cpu_per_message * 1000:.3f}", f"{run.other_cores:.2f}",
                         f"{run.received:,}/{run.messages:,}", "ok" if run.valid else "INVALID"])
    return rows


def latency_rows(results: dict[str, TargetResult]) -> list[list[str]]:
    return [[name, fmt(percentile(r.latencies_ms, 50), ".2f"), fmt(percentile(r.latencies_ms, 99), ".2f"),
             str(len(r.latencies_ms)), str(r.latency_errors)] for name, r in results.items()]


def verdict_rows(results: dict[str, TargetResult]) -> list[list[str]]:
    return [[v.target, v.mode, v.base, fmt(v.ratio, ".2f", "x"), f">= {v.goal}x", "PASS" if v.passed else "FAIL"]
            for v in verdicts(results)]


THROUGHPUT_HEAD = ["target", "connections", "msg/s", "x bare", "CPU ms/msg", "source+sink CPU ms/msg",
                   "other load", "sink got", "valid"]
LATENCY_HEAD = ["target", "p50 ms", "p99 ms", "samples", "errors"]
VERDICT_HEAD = ["gateway", "connections", "against", "ratio", "goal", "result"]


def text_table(head: list[str], rows: list[list[str]], left: int) -> str:
    """Columns padded: the ``left`` leading text columns left-aligned, figures right-aligned."""
    widths = [max(len(c) for c in column) for column in zip(head, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(head: list[str], rows: list[list[str]], left: int) -> str:
    align = ["---" if i < left else "---:" for i in range(len(head))]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [head, align, *rows])


def machine() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.machine())
    postfix = output(["dpkg-query", "-W", "-f", "${Version}", "postfix"])
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version(), "aiosmtpd": version("aiosmtpd"),
            "aiosmtplib": version("aiosmtplib"), "uvloop": version("uvloop"),
            "postfix": postfix or "unknown", "gateway": gateway_revision()}


def gateway_revision() -> str:
    """Where the gateway was imported from, and the repository's commit (+ dirty)."""
    where = output([sys.executable, "-c", "import gateway; print(gateway.__file__)"], cwd="/")
    git = ["git", "--no-optional-locks", "-C", str(REPO)]
    head = output([*git, "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = ", gateway/ or detectors/ modified" if output([*git, "status", "--porcelain", "--",
                                                           "gateway", "detectors"]) else ""
    return f"{Path(where).parent} (repository at {head}{dirty})"


def output(command: list[str], cwd: str | None = None) -> str:
    """A command's standard output, stripped ("" when it cannot run)."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=cwd).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def render(results: dict[str, TargetResult], args: argparse.Namespace, facts: dict[str, str],
           command: str, when: str, elapsed: float, real: Any = None) -> tuple[str, str]:
    """The stdout text and the markdown report (the real-mail tables first)."""
    import realrun  # realrun imports this module: not at the top
    tables: list[tuple[list[str], list[list[str]], int]] = []
    titles: list[str] = []
    notes: list[str] = []
    if real is not None:
        for title, head, rows, left in realrun.sections(real, args):
            titles.append(title)
            tables.append((head, rows, left))
        notes += realrun.notes(real)
    if results:
        tables += [(THROUGHPUT_HEAD, throughput_rows(results), 2), (LATENCY_HEAD, latency_rows(results), 1),
                   (VERDICT_HEAD, verdict_rows(results), 3)]
        titles += [f"Synthetic (smtp-source's own body, nothing to find): smtp-source -s {args.sessions} "
                   f"-l {args.size} -m {args.messages}, best of {args.rounds} round(s)",
                   f"Latency at light load: {args.latency_messages} sequential smtplib transactions "
                   f"per round, new connection each, connect to 250 after DATA",
                   "Synthetic targets (same run)"]
    notes += problems(results)
    text = "\n\n".join(f"{title}\n{text_table(*table)}" for title, table in zip(titles, tables))
    text += "".join(f"\n! {n}" for n in notes) + f"\n\n({elapsed:.0f} s)"
    facts_md = "\n".join(f"- {k}: {v}" for k, v in facts.items())
    md = (f"# Relay benchmark\n\n{when}, {elapsed:.0f} s\n\n```\n{command}\n```\n\n"
          + "\n\n".join(f"## {title}\n\n{markdown_table(*table)}" for title, table in zip(titles, tables))
          + "".join(f"\n\n**{n}**" for n in notes)
          + f"\n\nCPU ms/msg: user + system CPU of the relay process and its workers during the "
          f"measured smtp-source run, per message; source+sink CPU: the same for smtp-source and "
          f"smtp-sink, which share the machine with the relay; other load: CPU used by everything else "
          f"on the machine during the run, in cores (other people's work: figures from runs with "
          f"other load well above 0 are noisy).\n\n## Machine\n\n{facts_md}\n")
    return text, md


def problems(results: dict[str, TargetResult]) -> list[str]:
    notes = []
    for name, result in results.items():
        for mode, runs in result.runs.items():
            notes += [f"{name} {mode} round {i + 1} INVALID: {r.problem()}"
                      for i, r in enumerate(runs) if not r.valid]
        if result.latency_errors:
            notes.append(f"{name}: {result.latency_errors} latency transactions failed")
        if result.log_problems:
            notes.append(f"{name}: {result.log_problems} warning/error lines in its log")
    return notes


def to_json(results: dict[str, TargetResult], args: argparse.Namespace, facts: dict[str, str],
            command: str, when: str) -> dict[str, object]:
    targets = {}
    for name, result in results.items():
        targets[name] = {
            "modes": {mode: {"best": summary(result.best(mode)),
                             "rounds": [summary(r) for r in runs]}
                      for mode, runs in result.runs.items()},
            "latency_ms": {"p50": percentile(result.latencies_ms, 50),
                           "p99": percentile(result.latencies_ms, 99),
                           "samples": len(result.latencies_ms), "errors": result.latency_errors},
            "log_problems": result.log_problems}
    return {"date": when, "command": command, "machine": facts,
            "settings": {k: v for k, v in vars(args).items() if k not in ("output", "keep")},
            "targets": targets, "verdicts": [{**asdict(v), "pass": v.passed} for v in verdicts(results)]}


def summary(run: Run | None) -> dict[str, object] | None:
    if run is None:
        return None
    return {**asdict(run), "messages_per_second": run.rate,
            "cpu_seconds_per_message": run.cpu_per_message,
            "source_sink_cpu_seconds_per_message": run.load_cpu_per_message,
            "other_load_cores": run.other_cores, "valid": run.valid}


# --- main --------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", "--messages", type=int, default=20000,
                        help="messages per smtp-source run (default 20000)")
    parser.add_argument("--sessions", type=int, default=20, help="smtp-source -s (default 20)")
    parser.add_argument("--size", type=int, default=10240,
                        help="message bytes, smtp-source -l (default 10240)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="measure every target this often; the best round counts (default 2)")
    parser.add_argument("--warmup", type=int, default=500,
                        help="messages sent through each target before measuring (default 500)")
    parser.add_argument("--latency-messages", type=int, default=1000,
                        help="sequential transactions per target and round (default 1000)")
    parser.add_argument("--gateway-log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--gateway-relay-setting", action="append", default=[], metavar="KEY: VALUE",
                        help="extra line in the gateway's relay: section (e.g. 'pool_size: 32')")
    parser.add_argument("--gateway-detection-setting", action="append", default=[], metavar="KEY: VALUE",
                        help="extra line in the gateway's detection: section (e.g. 'thread_above: 1000000')")
    parser.add_argument("--target", action="append", choices=[t.name for t in TARGETS],
                        help="measure only this target (repeatable; default all; ratios need 'bare relay')")
    parser.add_argument("--suite", choices=["all", "real", "synthetic"], default="all",
                        help="real-mail scenarios, the synthetic ones, or both (default all)")
    parser.add_argument("--quick", action="store_true",
                        help="a few hundred messages per run, one round: "
                             f"-m {QUICK['messages']} --rounds 1 --warmup {QUICK['warmup']} "
                             f"--latency-messages {QUICK['latency_messages']} --real-messages "
                             f"{QUICK['real_messages']} --real-large-messages {QUICK['real_large_messages']} "
                             f"--real-held-messages {QUICK['real_held_messages']} --real-warmup {QUICK['real_warmup']}")
    parser.add_argument("--real-messages", type=int, default=10000,
                        help="real mail: 10 KB messages per run (default 10000)")
    parser.add_argument("--real-large-messages", type=int, default=400,
                        help="real mail: 120 KB messages per run (default 400)")
    parser.add_argument("--real-held-messages", type=int, default=2000,
                        help="real mail: at most this many messages per run to external recipients "
                             "(each is stored in quarantine; default 2000)")
    parser.add_argument("--real-message", action="append", choices=["text-10k", "html-10k", "attach-120k"],
                        help="real mail: measure only this message (repeatable; default all three)")
    parser.add_argument("--real-recipients", choices=["both", "internal", "external"], default="both",
                        help="real mail: internal recipients (delivered), external (held), or both (default)")
    parser.add_argument("--real-warmup", type=int, default=200,
                        help="real mail: 10 KB messages of each kind sent before measuring (default 200)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (logs, configurations, sink counters)")
    parser.add_argument("--output", type=Path, default=REPORTS,
                        help="report directory (default benchmarks/reports)")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


QUICK = {"messages": 300, "rounds": 1, "warmup": 50, "latency_messages": 100, "real_messages": 200,
         "real_large_messages": 20, "real_held_messages": 200, "real_warmup": 30}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join([Path(sys.executable).name, str(Path(__file__).relative_to(REPO)),
                          *(sys.argv[1:] if argv is None else argv)])
    if os.environ.get("PYTHONPATH"):
        command = f"PYTHONPATH={shlex.quote(os.environ['PYTHONPATH'])} {command}"
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    targets = [t for t in TARGETS if not args.target or t.name in args.target]
    if args.suite == "real":
        targets = []
    results = {t.name: TargetResult(t.name) for t in targets}
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    real = None
    import realrun  # realrun imports this module: not at the top
    try:
        if args.suite in ("all", "real"):
            progress("real mail")
            real = realrun.run_real(workdir, args)
            progress(f"real mail done after {time.monotonic() - started:.0f} s")
        for round_number in range(args.rounds if targets else 0):
            progress(f"synthetic, round {round_number + 1}/{args.rounds}")
            for target in targets:
                run_target(target, results[target.name], workdir, args)
    except (HarnessError, OSError, subprocess.SubprocessError) as exc:
        print(f"relay benchmark: harness failure: {exc} (logs kept in {workdir})", file=sys.stderr)
        return 1
    if args.keep:
        progress(f"logs and configurations kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    facts = machine()
    text, md = render(results, args, facts, command, when, time.monotonic() - started, real)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "relay.md").write_text(md)
    report = to_json(results, args, facts, command, when)
    if real is not None:
        report["real_mail"] = realrun.to_json(real)
    (args.output / "relay.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
