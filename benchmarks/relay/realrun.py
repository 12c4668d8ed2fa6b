"""Real-mail scenarios of benchmarks/relay (run by run.py, in the same run as the bare relay).

The three messages of realmail.py are written to files once and sent with
``smtp-source -F FILE`` (20 sessions) through the bare relay and the gateway
(detection on, one and two workers), each in front of a fresh ``smtp-sink``:

- internal recipients (``sink@bench.example``, the sender's own domain): the
  gateway scans the whole message, the default profile's ``internal-only``
  rule delivers it, and the sink must count every message;
- external recipients (``someone@outside.example``): the same scan, then the
  ``sensitive-data`` rule holds the message in quarantine (250, stored
  durably), and the sink must count none of them;

each with a new connection per message and with ``-d``. Before and after every
measured run the gateway's ``/metrics`` is read: ``dlp_findings_total`` must
have grown, entity by entity, by exactly the messages times what the checkout's
own ``Scanner`` finds in one message (scanned once in a subprocess with the
gateway's import path), and ``dlp_messages_total`` by the messages under the
expected action, so a skipped scan or a lost message cannot pass. A run that
breaks a check is reported INVALID; slowness never fails the benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import realmail

if TYPE_CHECKING:
    import run as base
else:
    # run.py runs as __main__ and imports this module: use that very module (its
    # HarnessError is the one main() catches), or import it when used on its own.
    base = (sys.modules["__main__"] if Path(getattr(sys.modules["__main__"], "__file__", "") or "").name == "run.py"
            else importlib.import_module("run"))

INTERNAL, EXTERNAL = "sink@bench.example", "someone@outside.example"
RECIPIENTS = {"internal": (INTERNAL, "deliver"), "external": (EXTERNAL, "quarantine")}
REAL_TARGETS = (base.Target("bare relay", 1),
                base.Target("gateway 1 worker", 1, detection=True),
                base.Target("gateway 2 workers", 2, detection=True))
GOALS = {"gateway 1 worker": 0.8, "gateway 2 workers": 1.5}   # issue 13, text-10k internal
GOAL_MESSAGE = "text-10k"

_SCAN_SCRIPT = """
import json, sys, time
from detectors.scan import Scanner
scanner = Scanner()
out = {}
for path in sys.argv[1:]:
    content = open(path, 'rb').read().replace(b'\\n', b'\\r\\n')
    result = scanner.scan(content)          # first call: lazy loading
    started = time.process_time()
    rounds = 0
    while rounds < 3 or (time.process_time() - started < 1.0 and rounds < 50):
        scanner.scan(content)
        rounds += 1
    out[path] = {"counts": result.counts(), "unscannable": [u.reason for u in result.unscannable],
                 "scan_ms": (time.process_time() - started) / rounds * 1000}
print(json.dumps(out))
"""


@dataclass(slots=True)
class MailFile:
    """One generated message on disk and what the checkout's Scanner finds in it."""

    name: str
    description: str
    path: Path
    size: int
    planted: int
    expected: dict[str, int] = field(default_factory=dict)   # findings per message, by entity
    unscannable: list[str] = field(default_factory=list)
    scan_ms: float = 0.0     # in-process CPU ms of Scanner.scan on this message

    @property
    def expected_total(self) -> int:
        return sum(self.expected.values())


@dataclass(slots=True)
class RealRun:
    """One smtp-source -F measurement and its checks."""

    target: str
    message: str
    recipients: str
    mode: str
    messages: int
    seconds: float
    cpu_seconds: float | None
    load_cpu_seconds: float
    other_cpu_seconds: float
    source_rc: int
    source_errors: str
    sink_received: int
    sink_expected: int
    findings_expected: dict[str, int] = field(default_factory=dict)
    findings_seen: dict[str, int] = field(default_factory=dict)
    action_expected: str = ""
    action_seen: int | None = None
    died: str = ""

    def problems(self) -> list[str]:
        out = []
        if self.source_rc != 0 or self.source_errors.strip():
            first = self.source_errors.strip().splitlines()[:1]
            out.append(f"smtp-source exit {self.source_rc}" + (f": {first[0]}" if first else ""))
        if self.sink_received != self.sink_expected:
            out.append(f"sink received {self.sink_received}, expected {self.sink_expected}")
        if self.findings_expected and self.findings_seen != self.findings_expected:
            out.append(f"dlp_findings_total moved by {fmt_counts(self.findings_seen)}, "
                       f"expected {fmt_counts(self.findings_expected)}")
        if self.action_expected and self.action_seen != self.messages:
            out.append(f"dlp_messages_total{{action=\"{self.action_expected}\"}} moved by "
                       f"{self.action_seen}, expected {self.messages}")
        if self.died:
            out.append(f"{self.died} exited during the run")
        return out

    @property
    def valid(self) -> bool:
        return not self.problems()

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms(self) -> float | None:
        return None if self.cpu_seconds is None else self.cpu_seconds / self.messages * 1000

    @property
    def other_cores(self) -> float:
        return max(0.0, self.other_cpu_seconds) / self.seconds if self.seconds > 0 else 0.0


def fmt_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v) or "nothing"


# --- counts per scenario ---------------------------------------------------------

def counts_for(mail: MailFile, args: argparse.Namespace, recipients: str) -> int:
    """Messages per measured run: fewer for the 120 KB message, fewer held than delivered."""
    count = args.real_large_messages if mail.size > 50_000 else args.real_messages
    if recipients == "external":
        count = min(count, args.real_held_messages)
    return max(int(count), 1)


# --- preparing -------------------------------------------------------------------

def prepare(workdir: Path) -> list[MailFile]:
    """Write the messages and scan each once with the checkout's detectors."""
    files = []
    for message in realmail.generate():
        path = workdir / f"{message.name}.eml"
        path.write_bytes(message.content)
        files.append(MailFile(message.name, message.description, path, len(message.content), message.planted))
    done = subprocess.run([sys.executable, "-c", _SCAN_SCRIPT, *(str(f.path) for f in files)],
                          capture_output=True, text=True, timeout=600, cwd="/")
    if done.returncode != 0:
        raise base.HarnessError(f"scanning the real messages in-process failed: {done.stderr.strip()[-500:]}")
    scanned = json.loads(done.stdout)
    for f in files:
        f.expected = {k: int(v) for k, v in scanned[str(f.path)]["counts"].items()}
        f.unscannable = list(scanned[str(f.path)]["unscannable"])
        f.scan_ms = float(scanned[str(f.path)]["scan_ms"])
    return files


# --- metrics ---------------------------------------------------------------------

_SAMPLE = re.compile(r'^(dlp_findings_total|dlp_messages_total)\{([^}]*)\}\s+([0-9.eE+-]+)$', re.M)


def scrape(port: int) -> tuple[dict[str, int], dict[str, int]]:
    """(findings by entity, messages by action) from the gateway's /metrics."""
    with urllib.request.urlopen(f"http://{base.HOST}:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    findings: dict[str, int] = {}
    actions: dict[str, int] = {}
    for name, labels, value in _SAMPLE.findall(text):
        pairs = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if name == "dlp_findings_total":
            findings[pairs.get("entity", "")] = findings.get(pairs.get("entity", ""), 0) + round(float(value))
        else:
            actions[pairs.get("action", "")] = actions.get(pairs.get("action", ""), 0) + round(float(value))
    return findings, actions


def metrics_port(workdir: Path, port: int) -> int | None:
    """The metrics port run.py's gateway_config wrote for the gateway listening on ``port``."""
    path = workdir / f"gateway-{port}" / "gateway.yaml"
    if not path.exists():
        return None
    found = re.search(r'metrics:\n  listen: "[^"]*:(\d+)"', path.read_text())
    return int(found.group(1)) if found else None


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)
            if after.get(k, 0) - before.get(k, 0)}


# --- measuring -------------------------------------------------------------------

def smtp_source_file(port: int, path: Path, rcpt: str, messages: int, flags: list[str], sessions: int,
                     limit: float) -> tuple[float, float, int, str]:
    """smtp-source -F: (wall seconds, its CPU seconds, exit status, stderr)."""
    command = ["smtp-source", *flags, "-s", str(sessions), "-m", str(messages), "-F", str(path),
               "-M", "bench.example", "-f", base.SENDER, "-t", rcpt, f"{base.HOST}:{port}"]
    return base.run_source(command, limit)


def time_limit(mail: MailFile, messages: int) -> float:
    """How long smtp-source may take before it counts as stuck: far beyond any loaded machine."""
    return 120 + messages * max(0.02, 20 * mail.scan_ms / 1000)


def measure(target: base.Target, port: int, sink: base.Sink, relay: subprocess.Popen[bytes],
            mport: int | None, mail: MailFile, recipients: str, mode: str, messages: int,
            args: argparse.Namespace) -> RealRun:
    base.check_alive(sink.process, "smtp-sink")
    base.check_alive(relay, target.name)
    rcpt, action = RECIPIENTS[recipients]
    gateway = target.detection
    before_metrics = scrape(mport) if gateway and mport else None
    before_count = sink.received()
    before_cpu = base.cpu_seconds(relay.pid)
    before_sink = base.cpu_seconds(sink.process.pid)
    before_busy = base.machine_busy_seconds()
    seconds, source_cpu, rc, errors = smtp_source_file(
        port, mail.path, rcpt, messages, base.MODES[mode], args.sessions, time_limit(mail, messages))
    busy = base.machine_busy_seconds() - before_busy
    cpu = base.cpu_seconds(relay.pid) - before_cpu
    sink_cpu = base.cpu_seconds(sink.process.pid) - before_sink
    delivers = recipients == "internal" or not gateway
    received = (sink.wait_for(before_count + messages) if delivers else _settled(sink)) - before_count
    result = RealRun(target.name, mail.name, recipients, mode, messages, seconds, cpu, source_cpu + sink_cpu,
                     busy - cpu - source_cpu - sink_cpu, rc, errors, received, messages if delivers else 0)
    if gateway and mport and before_metrics is not None:
        result.findings_expected = {k: v * messages for k, v in mail.expected.items() if v}
        result.action_expected = action
        deadline = time.monotonic() + 10   # the metrics of the last replies may lag a moment
        while True:
            findings, actions = scrape(mport)
            result.findings_seen = diff(findings, before_metrics[0])
            result.action_seen = actions.get(action, 0) - before_metrics[1].get(action, 0)
            if result.valid or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    gone = [name for name, p in (("smtp-sink", sink.process), (target.name, relay)) if p.poll() is not None]
    result.died = ", ".join(gone)
    return result


def _settled(sink: base.Sink) -> int:
    """The sink counter once nothing more arrives (held messages must not)."""
    time.sleep(0.3)
    return sink.received()


def warm_up(port: int, mails: list[MailFile], args: argparse.Namespace) -> None:
    for mail in mails:
        count = args.sessions if mail.size > 50_000 else args.real_warmup
        smtp_source_file(port, mail.path, INTERNAL, count, [], args.sessions, time_limit(mail, count))


def run_real_target(target: base.Target, mails: list[MailFile], runs: list[RealRun], workdir: Path,
                    args: argparse.Namespace) -> int:
    """Measure every scenario through one target; return its log's warning lines."""
    sink = base.Sink(workdir)
    relay = None
    name = f"real {target.name}"
    log, aside = workdir / f"{target.name}.log", workdir / f"{target.name}.synthetic.log"
    if log.exists():
        log.rename(aside)   # the synthetic suite's log of a target with the same name
    try:
        port, relay = target.start(sink, workdir, args)
        assert relay is not None
        mport = metrics_port(workdir, port) if target.detection else None
        warm_up(port, mails, args)
        base.settle(relay)
        classes: tuple[str, ...] = ("internal", "external") if target.detection else ("internal",)
        classes = tuple(c for c in classes if args.real_recipients in ("both", c))
        for mail in mails:
            for recipients in classes:
                for mode in base.MODES:
                    count = counts_for(mail, args, recipients)
                    r = measure(target, port, sink, relay, mport, mail, recipients, mode, count, args)
                    runs.append(r)
                    base.progress(f"  {target.name:18} {mail.name:11} {recipients:8} {mode:10} "
                                  f"{r.rate:7.0f} msg/s  CPU {fmt(r.cpu_ms, '.2f')} ms/msg  "
                                  f"(other load {r.other_cores:.2f} cores)"
                                  + ("" if r.valid else "  INVALID: " + "; ".join(r.problems())))
    finally:
        if relay is not None:
            base.stop(relay)
        sink.close()
    if log.exists():
        log.rename(workdir / f"{name}.log")
    if aside.exists():
        aside.rename(log)
    return base.log_problems(workdir, name)


@dataclass(frozen=True, slots=True)
class RealResult:
    """Everything the real-mail scenarios measured."""

    mails: list[MailFile]
    runs: list[RealRun]
    log_problems: dict[str, int]


def run_real(workdir: Path, args: argparse.Namespace) -> RealResult:
    mails = [m for m in prepare(workdir) if not args.real_message or m.name in args.real_message]
    for m in mails:
        base.progress(f"  {m.name}: {m.size:,} bytes, {m.expected_total} findings/message "
                      f"({fmt_counts(m.expected)}), in-process scan {m.scan_ms:.2f} ms")
    runs: list[RealRun] = []
    log_problems: dict[str, int] = {}
    for target in REAL_TARGETS:
        if args.target and target.name not in args.target:
            continue
        log_problems[target.name] = run_real_target(target, mails, runs, workdir, args)
    return RealResult(mails, runs, log_problems)


# --- report ----------------------------------------------------------------------

def fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "-" if value is None else format(value, spec) + unit


def find(runs: list[RealRun], target: str, message: str, recipients: str, mode: str) -> RealRun | None:
    return next((r for r in runs if (r.target, r.message, r.recipients, r.mode)
                 == (target, message, recipients, mode)), None)


def x_bare(runs: list[RealRun], r: RealRun) -> float | None:
    bare = find(runs, "bare relay", r.message, "internal", r.mode)
    if bare is None or not (bare.valid and r.valid) or bare.rate == 0:
        return None
    return r.rate / bare.rate


def headline_rows(runs: list[RealRun]) -> list[list[str]]:
    """The issue's table: text-10k to internal recipients, msg/s (x bare) per mode."""
    rows = []
    for target in REAL_TARGETS:
        cells = [target.name]
        for mode in base.MODES:
            r = find(runs, target.name, GOAL_MESSAGE, "internal", mode)
            if r is None:
                cells += ["-", "-"]
                continue
            ratio = x_bare(runs, r)
            cells.append(f"{r.rate:,.0f}" + ("" if r.valid else " INVALID")
                         + (f" ({ratio:.2f}x)" if ratio is not None and target.detection else ""))
            cells.append(fmt(r.cpu_ms, ".3f"))
        rows.append(cells)
    return rows


HEADLINE_HEAD = ["target", "new-conn msg/s", "CPU ms/msg", "reuse (-d) msg/s", "CPU ms/msg"]


def all_rows(runs: list[RealRun]) -> list[list[str]]:
    rows = []
    for r in runs:
        ratio = x_bare(runs, r)
        seen = sum(r.findings_seen.values()) / r.messages if r.findings_expected else None
        want = sum(r.findings_expected.values()) / r.messages if r.findings_expected else None
        rows.append([r.message, r.recipients, r.target, r.mode, f"{r.rate:,.0f}",
                     "1.00x" if r.target == "bare relay" else fmt(ratio, ".2f", "x"),
                     fmt(r.cpu_ms, ".3f"), f"{r.load_cpu_seconds / r.messages * 1000:.3f}",
                     f"{r.other_cores:.2f}", f"{fmt(seen, '.1f')}/{fmt(want, '.1f')}",
                     f"{r.sink_received:,}/{r.sink_expected:,}", "ok" if r.valid else "INVALID"])
    return rows


ALL_HEAD = ["message", "recipients", "target", "connections", "msg/s", "x bare", "CPU ms/msg",
            "source+sink CPU ms/msg", "other load", "findings/msg seen/expected", "sink got", "valid"]


def cpu_rows(runs: list[RealRun], mails: list[MailFile]) -> list[list[str]]:
    """Gateway CPU per message, split: the bare relay's, the in-process scan, the rest."""
    rows = []
    for mail in mails:
        for mode in base.MODES:
            bare = find(runs, "bare relay", mail.name, "internal", mode)
            for target in REAL_TARGETS[1:]:
                r = find(runs, target.name, mail.name, "internal", mode)
                if r is None or bare is None or r.cpu_ms is None or bare.cpu_ms is None:
                    continue
                rest = r.cpu_ms - bare.cpu_ms - mail.scan_ms
                rows.append([mail.name, target.name, mode, f"{r.cpu_ms:.3f}", f"{bare.cpu_ms:.3f}",
                             f"{r.cpu_ms - bare.cpu_ms:+.3f}", f"{mail.scan_ms:.3f}", f"{rest:+.3f}",
                             "ok" if r.valid and bare.valid else "INVALID"])
    return rows


CPU_HEAD = ["message", "gateway", "connections", "gateway CPU ms/msg", "bare relay CPU ms/msg",
            "extra", "scan in-process", "extra outside the scan", "valid"]


def mail_rows(mails: list[MailFile]) -> list[list[str]]:
    return [[m.name, m.description, f"{m.size:,}", str(m.planted), str(m.expected_total),
             fmt_counts(m.expected), ", ".join(m.unscannable) or "-", f"{m.scan_ms:.2f}"] for m in mails]


MAIL_HEAD = ["message", "what", "bytes", "sensitive values planted", "findings/msg", "by entity",
             "unscannable", "scan ms (in-process)"]


@dataclass(frozen=True, slots=True)
class RealVerdict:
    target: str
    mode: str
    ratio: float | None
    goal: float

    @property
    def passed(self) -> bool:
        return self.ratio is not None and self.ratio >= self.goal


def verdicts(runs: list[RealRun]) -> list[RealVerdict]:
    out = []
    for target, goal in GOALS.items():
        for mode in base.MODES:
            r = find(runs, target, GOAL_MESSAGE, "internal", mode)
            out.append(RealVerdict(target, mode, x_bare(runs, r) if r else None, goal))
    return out


def verdict_rows(runs: list[RealRun]) -> list[list[str]]:
    return [[v.target, v.mode, fmt(v.ratio, ".2f", "x"), f">= {v.goal}x", "PASS" if v.passed else "FAIL"]
            for v in verdicts(runs)]


VERDICT_HEAD = ["gateway (text-10k, internal)", "connections", "x bare", "goal (issue 13)", "result"]


def sections(result: RealResult, args: argparse.Namespace) -> list[tuple[str, list[str], list[list[str]], int]]:
    """(title, head, rows, left-aligned columns) of every real-mail table."""
    mails, runs = result.mails, result.runs
    return [
        (f"Real mail: {GOAL_MESSAGE} to internal recipients (scanned in full, delivered), "
         f"smtp-source -F -s {args.sessions}, same run as the bare relay", HEADLINE_HEAD, headline_rows(runs), 1),
        ("Real mail: the messages (generated by realmail.py; findings/msg from the checkout's "
         "Scanner, in-process)", MAIL_HEAD, mail_rows(mails), 2),
        ("Real mail: every scenario (external recipients are held in quarantine; "
         "x bare = against the bare relay delivering the same message)", ALL_HEAD, all_rows(runs), 4),
        ("Real mail: CPU per message delivered (extra outside the scan = gateway - bare relay - "
         "in-process scan; negative with 2 workers means the figures are noisy)", CPU_HEAD,
         cpu_rows(runs, mails), 3),
        ("Real mail: issue 13 goals", VERDICT_HEAD, verdict_rows(runs), 2),
    ]


def notes(result: RealResult) -> list[str]:
    runs, log_problems = result.runs, result.log_problems
    out = [f"real mail {r.target} {r.message} {r.recipients} {r.mode} INVALID: {'; '.join(r.problems())}"
           for r in runs if not r.valid]
    out += [f"real mail {name}: {n} warning/error lines in its log" for name, n in log_problems.items() if n]
    busy = [r.other_cores for r in runs]
    if busy and max(busy) > 0.25:
        out.append(f"other load during the real-mail runs: up to {max(busy):.2f} cores "
                   f"(median {sorted(busy)[len(busy) // 2]:.2f}): the figures are noisy")
    return out


def to_json(result: RealResult) -> dict[str, object]:
    mails, runs, log_problems = result.mails, result.runs, result.log_problems
    return {
        "messages": [{**{k: v for k, v in asdict(m).items() if k != "path"}, "expected_total": m.expected_total}
                     for m in mails],
        "runs": [{**asdict(r), "messages_per_second": r.rate, "cpu_ms_per_message": r.cpu_ms,
                  "other_load_cores": r.other_cores, "x_bare": x_bare(runs, r), "valid": r.valid,
                  "problems": r.problems()} for r in runs],
        "verdicts": [{**asdict(v), "pass": v.passed} for v in verdicts(runs)],
        "log_problems": log_problems,
    }
