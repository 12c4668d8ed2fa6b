"""Big messages never stall small ones (issue 13 point 3): the latency of 10 KB
messages while a 25 MB message with attachments goes through the same worker,
the worker's peak memory, and the in-flight byte budget.

One gateway worker (detection on, as run.py configures it) relays into a
fresh smtp-sink. Three measurements:

1. **idle**: ``--samples`` sequential transactions of realmail.py's text-10k
   (scanned in full, delivered), a new connection each, timed from connect to
   the 250 after DATA;
2. **during**: the same probe, run while a 25 MB message (a note, a PDF
   statement, a billing-export XLSX and a large CSV export, base64) is sent,
   scanned and relayed, ``--rounds`` times; only the probes that overlap the
   big transaction count. Goal: p99 during <= 2x p99 idle;
3. **budget**: ``--burst`` 25 MB messages at once, each on its own connection,
   with SIZE= declared. The worker's in-flight byte budget (smtp.inflight_bytes,
   64 MB by default) must refuse those it has no room for with 452 4.3.1, and
   its memory must not grow with the burst.

Peak RSS is the worker's VmHWM (/proc/PID/status), read after each step.
Goal: <= 300 MB with a 25 MB message.

    .venv/bin/python benchmarks/relay/bigmsg.py            # about 2 minutes
    .venv/bin/python benchmarks/relay/bigmsg.py --samples 100 --rounds 2

Writes benchmarks/reports/relay-big.md and relay-big.json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import smtplib
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import realmail
import run as base

INTERNAL = "sink@bench.example"
GOAL_P99 = 2.0
GOAL_RSS_MB = 300


def big_message(size: int = 25 * 1024 * 1024) -> bytes:
    """About ``size`` bytes: a note, a PDF, an XLSX, and a CSV export grown to fit (base64)."""
    rng = random.Random(25)
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Records <records@{realmail.SENDER_DOMAIN}>"
    message["To"] = f"Audit <{INTERNAL}>"
    message["Subject"] = "Quarterly billing archive"
    message["Message-ID"] = "<big-25mb@bench.example>"
    message.set_content("Attached: the quarter's statements, the billing export and the full ledger.\n"
                        + "\n\n".join(realmail._filler(rng) for _ in range(6)), cte="quoted-printable")
    pdf = realmail._pdf(random.Random(26), 12, 400)
    xlsx = realmail._xlsx(random.Random(27), 3000)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="statements.pdf")
    message.add_attachment(xlsx, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename="billing-export.xlsx")
    room = (size - len(pdf) * 4 // 3 - len(xlsx) * 4 // 3 - 20_000) * 3 // 4
    rows = ["invoice,date,vendor,item,qty,amount,po"]
    used = 0
    while used < room:
        row = (f"INV-2026-{rng.randint(10000, 99999)},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
               f"{rng.choice(realmail._VENDORS)},{rng.choice(realmail._ITEMS)},{rng.randint(1, 400)},"
               f"{rng.randint(5, 90000)}.{rng.randint(0, 99):02d},PO {rng.randint(240000, 249999)}")
        rows.append(row)
        used += len(row) + 2
    csv = ("\r\n".join(rows) + "\r\n").encode()
    message.add_attachment(csv, maintype="text", subtype="csv", filename="ledger.csv", cte="base64")
    return message.as_bytes()


def _text(error: bytes | str) -> str:
    """An SMTP error's text: smtplib gives bytes, or str for an error it makes up."""
    return error.decode(errors="replace") if isinstance(error, bytes) else error


def send(port: int, message: bytes, rcpt: str = INTERNAL, timeout: float = 300) -> tuple[float, str]:
    """One transaction on a new connection: (ms from connect to the reply after DATA, reply)."""
    started = time.perf_counter()
    try:
        with smtplib.SMTP(base.HOST, port, local_hostname="bench.example", timeout=timeout) as client:
            client.sendmail(base.SENDER, [rcpt], message)
            reply = "250"
    except smtplib.SMTPResponseException as exc:   # SMTPDataError among them
        reply = f"{exc.smtp_code} {_text(exc.smtp_error)[:40]}"
    except (smtplib.SMTPException, OSError) as exc:
        reply = type(exc).__name__
    return (time.perf_counter() - started) * 1000, reply


def vm(pid: int, key: str) -> float:
    """VmHWM or VmRSS of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(slots=True)
class Result:
    big_bytes: int = 0
    idle_ms: list[float] = field(default_factory=list)
    during_ms: list[float] = field(default_factory=list)
    probe_errors: list[str] = field(default_factory=list)
    big_ms: list[float] = field(default_factory=list)
    big_replies: list[str] = field(default_factory=list)
    rss_start_mb: float = 0.0
    hwm_after_idle_mb: float = 0.0
    hwm_after_big_mb: float = 0.0
    children_hwm_mb: float = 0.0   # the worker's scan process(es), peak
    burst_replies: list[str] = field(default_factory=list)
    hwm_after_burst_mb: float = 0.0
    budget_refusals: float = 0.0
    payload_bytes: dict[str, int] = field(default_factory=dict)   # the scan process's reply, pickled
    seconds: float = 0.0


def payload_bytes(big: bytes) -> dict[str, int]:
    """What the scan process sends back to the worker for the big message, pickled:
    as it is (delivered unedited), and with a declared purpose in its subject
    (delivered edited). One copy of the message is the goal."""
    import pickle  # noqa: PLC0415 - only for this measurement

    from gateway import scanproc  # noqa: PLC0415 - the checkout's gateway (PYTHONPATH), in-process
    from gateway.config import Settings  # noqa: PLC0415 - as above
    from gateway.verdict import Envelope  # noqa: PLC0415 - as above
    envelope = Envelope(base.SENDER, (INTERNAL,), base.HOST, "bench.example")
    tagged = big.replace(b"Subject: Quarterly billing archive", b"Subject: Quarterly billing archive [purpose:audit]", 1)
    return {name: len(pickle.dumps(scanproc.prepare(1, Settings(), None, envelope, content)))
            for name, content in (("as received", big), ("edited (purpose tag)", tagged))}


def probe_until(port: int, message: bytes, done: threading.Event, result: Result) -> list[tuple[float, float]]:
    """Probe until ``done``; return (start, ms) of each successful probe."""
    out = []
    while not done.is_set():
        start = time.perf_counter()
        ms, reply = send(port, message)
        if reply == "250":
            out.append((start, ms))
        else:
            result.probe_errors.append(reply)
    return out


def measure(args: argparse.Namespace, workdir: Path) -> Result:
    result = Result()
    big = big_message(args.big_mb * 1024 * 1024)
    result.big_bytes = len(big)
    small = next(m for m in realmail.generate() if m.name == "text-10k").content.replace(b"\n", b"\r\n")
    sink = base.Sink(workdir)
    relay = None
    started = time.monotonic()
    try:
        port, relay = base.Target("gateway 1 worker", 1, detection=True).start(sink, workdir, args)
        assert relay is not None
        pid = relay.pid
        result.rss_start_mb = vm(pid, "VmRSS")
        for _ in range(50):   # warm up: first-call paths, pools
            send(port, small)
        base.settle(relay)   # the scan process builds its pipeline at start
        result.idle_ms = [ms for ms, reply in (send(port, small) for _ in range(args.samples)) if reply == "250"]
        result.hwm_after_idle_mb = vm(pid, "VmHWM")
        base.progress(f"  idle: {len(result.idle_ms)} probes, p50 {base.percentile(result.idle_ms, 50):.2f} ms, "
                      f"p99 {base.percentile(result.idle_ms, 99):.2f} ms")
        for round_number in range(args.rounds):
            done = threading.Event()
            span: list[float] = []

            def big_one(span: list[float] = span, done: threading.Event = done) -> None:
                span.append(time.perf_counter())
                ms, reply = send(port, big)
                span.append(time.perf_counter())
                result.big_ms.append(ms)
                result.big_replies.append(reply)
                done.set()
            sender = threading.Thread(target=big_one)
            sender.start()
            probes = probe_until(port, small, done, result)
            sender.join()
            t0, t1 = span
            result.during_ms += [ms for start, ms in probes if start < t1 and start + ms / 1000 > t0]
            base.progress(f"  round {round_number + 1}: big message {result.big_ms[-1]:.0f} ms "
                          f"({result.big_replies[-1]}), {len(probes)} probes meanwhile")
        result.hwm_after_big_mb = vm(pid, "VmHWM")
        result.children_hwm_mb = max((vm(child, "VmHWM") for child in base.descendants(pid) if child != pid), default=0.0)
        before = _refusals(workdir, port)
        replies: list[str] = []
        threads = [threading.Thread(target=lambda: replies.append(send(port, big)[1]))
                   for _ in range(args.burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        result.burst_replies = sorted(replies)
        result.hwm_after_burst_mb = vm(pid, "VmHWM")
        result.budget_refusals = _refusals(workdir, port) - before
        base.progress(f"  burst of {args.burst}: {', '.join(result.burst_replies)}; "
                      f"peak RSS {result.hwm_after_burst_mb:.0f} MB")
        result.payload_bytes = payload_bytes(big)
        base.progress(f"  scan process reply, pickled: {result.payload_bytes}")
    finally:
        if relay is not None:
            base.stop(relay)
        sink.close()
    result.seconds = time.monotonic() - started
    return result


def _refusals(workdir: Path, port: int) -> float:
    import urllib.request

    import realrun
    mport = realrun.metrics_port(workdir, port)
    if mport is None:
        return 0.0
    text = urllib.request.urlopen(f"http://{base.HOST}:{mport}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith("dlp_budget_refusals_total "):
            return float(line.split()[1])
    return 0.0


def report(result: Result, args: argparse.Namespace, command: str, when: str,
           load: str) -> tuple[str, dict[str, object]]:
    p = base.percentile
    idle50, idle99 = p(result.idle_ms, 50), p(result.idle_ms, 99)
    dur50, dur99 = p(result.during_ms, 50), p(result.during_ms, 99)
    ratio = dur99 / idle99 if dur99 and idle99 else None
    refused = sum(1 for r in result.burst_replies if r.startswith("452"))
    rows = [
        ["idle", str(len(result.idle_ms)), base.fmt(idle50, ".2f"), base.fmt(idle99, ".2f"), "1.00x"],
        [f"during a {result.big_bytes / 1e6:.1f} MB message", str(len(result.during_ms)), base.fmt(dur50, ".2f"),
         base.fmt(dur99, ".2f"), base.fmt(ratio, ".2f", "x")],
    ]
    goals = [
        ["10 KB p99 during the big message", f"{base.fmt(ratio, '.2f', 'x')} idle", f"<= {GOAL_P99:.0f}x idle",
         "PASS" if ratio is not None and ratio <= GOAL_P99 else "FAIL"],
        ["peak RSS of the worker with a 25 MB message", f"{result.hwm_after_big_mb:.0f} MB", f"<= {GOAL_RSS_MB} MB",
         "PASS" if result.hwm_after_big_mb <= GOAL_RSS_MB else "FAIL"],
        [f"{args.burst} x 25 MB at once: refused 452 4.3.1",
         (f"{refused} (metric +{result.budget_refusals:.0f}); "
          f"peak RSS {result.hwm_after_burst_mb:.0f} MB"), ">= 1 refused, RSS bounded",
         "PASS" if refused and refused == result.budget_refusals else "FAIL"],
    ]
    md = ["# Relay benchmark: big messages never stall small ones\n",
          f"{when}, {result.seconds:.0f} s, {load}\n",
          f"```\n{command}\n```\n",
          ("One gateway worker, detection on, relaying into smtp-sink. Probes: realmail.py's text-10k "
           "(10 KB, 18 findings, delivered), one at a time, a new connection each, connect to the 250 "
           f"after DATA. The big message: {result.big_bytes:,} bytes (a note, a 12-page PDF, a 3,000-row "
           f"XLSX and a CSV ledger, base64), sent {args.rounds} times; replies {', '.join(result.big_replies)}; "
           f"{', '.join(f'{ms / 1000:.1f}' for ms in result.big_ms)} s each.\n"),
          "## 10 KB latency, ms\n",
          base.markdown_table(["when", "probes", "p50", "p99", "p99 / idle p99"], rows, 1),
          "\n## Goals (issue 13)\n",
          base.markdown_table(["what", "measured", "goal", "result"], goals, 1),
          f"\nWorker RSS at start {result.rss_start_mb:.0f} MB; peak (VmHWM) after the idle probes "
          f"{result.hwm_after_idle_mb:.0f} MB, after the big messages {result.hwm_after_big_mb:.0f} MB, "
          f"after the burst {result.hwm_after_burst_mb:.0f} MB. The worker's scan process (large messages "
          f"are judged there, gateway.offload): peak {result.children_hwm_mb:.0f} MB. Burst replies: {', '.join(result.burst_replies)}."
          + (f" Probe failures: {len(result.probe_errors)} ({', '.join(sorted(set(result.probe_errors)))})."
             if result.probe_errors else "")
          + " The scan process's reply to the worker for the big message (pickled): "
          + ", ".join(f"{name} {size:,} bytes" for name, size in result.payload_bytes.items())
          + f" (the message: {result.big_bytes:,} bytes).\n"]
    data = {"when": when, "command": command, "load": load, "big_bytes": result.big_bytes,
            "idle_ms": {"p50": idle50, "p99": idle99, "n": len(result.idle_ms)},
            "during_ms": {"p50": dur50, "p99": dur99, "n": len(result.during_ms)},
            "p99_ratio": ratio, "big_ms": result.big_ms, "big_replies": result.big_replies,
            "rss_mb": {"start": result.rss_start_mb, "hwm_idle": result.hwm_after_idle_mb,
                       "hwm_big": result.hwm_after_big_mb, "hwm_burst": result.hwm_after_burst_mb,
                       "scan_process_hwm": result.children_hwm_mb},
            "burst_replies": result.burst_replies, "budget_refusals": result.budget_refusals,
            "probe_errors": result.probe_errors, "payload_bytes": result.payload_bytes}
    return "\n".join(md), data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=300, help="idle probes (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="big messages, one after another (default 3)")
    parser.add_argument("--burst", type=int, default=4, help="big messages at once for the budget (default 4)")
    parser.add_argument("--big-mb", type=int, default=25, help="size of the big message in MiB (default 25)")
    parser.add_argument("--gateway-log-level", default="info")
    parser.add_argument("--gateway-relay-setting", action="append", default=[])
    parser.add_argument("--gateway-detection-setting", action="append", default=[])
    parser.add_argument("--output", type=Path, default=base.REPORTS)
    args = parser.parse_args(argv)
    command = " ".join([Path(sys.executable).name, "benchmarks/relay/bigmsg.py", *(sys.argv[1:] if argv is None else argv)])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = "load average " + Path("/proc/loadavg").read_text().split()[0] + " at start"
    workdir = Path(tempfile.mkdtemp(prefix="relay-big-"))
    try:
        result = measure(args, workdir)
    except (base.HarnessError, OSError) as exc:
        print(f"bigmsg: harness failure: {exc} (logs kept in {workdir})", file=sys.stderr)
        return 1
    load += ", " + Path("/proc/loadavg").read_text().split()[0] + " at the end"
    shutil.rmtree(workdir, ignore_errors=True)
    md, data = report(result, args, command, when, load)
    print(md)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "relay-big.md").write_text(md)
    (args.output / "relay-big.json").write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
