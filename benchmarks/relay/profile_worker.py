"""Profile one gateway worker on real mail: where its CPU goes per message.

Starts ``dlp-gateway serve --workers 1`` (detection on, as benchmarks/relay
configures it) in front of ``smtp-sink``, drives it with ``smtp-source -F``
and one of realmail.py's messages to an internal recipient, and samples the
worker with py-spy for the measured part. Prints the functions with the
largest share of the samples, by own time and with what they call, and
groups the samples by stage (the scan, the SMTP session, relaying, logging,
metrics, ...). py-spy is not a project dependency: install it into the venv
(``.venv/bin/python -m pip install py-spy``); it needs root (ptrace).

    .venv/bin/python benchmarks/relay/profile_worker.py --seconds 20
    .venv/bin/python benchmarks/relay/profile_worker.py --message html-10k --flat 40
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import realmail
import run as base

# Stage of a sample: the first frame (from the root) whose text holds one of these.
STAGES = (
    ("scan (detectors: extraction + detection)", ("detectors/scan.py", "detectors.scan")),
    ("quarantine / actions", ("gateway/quarantine", "gateway/actions.py")),
    ("relay downstream (gateway.relay, aiosmtplib)", ("gateway/relay.py", "aiosmtplib/")),
    ("log line (gateway.logs, logging)", ("gateway/logs.py", "logging/__init__.py")),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("headers / parse (gateway.headers, email)", ("gateway/headers.py", "email/")),
    ("policy decision (gateway.pipeline decide, gateway.policy)", ("gateway/policy/", "pipeline.py:decide")),
    ("SMTP session (aiosmtpd, gateway.smtp)", ("aiosmtpd/", "gateway/smtp.py")),
    ("event loop, transports, selectors", ("asyncio/", "uvloop", "selectors.py")),
)


# Leaf frames that are a thread waiting (the review app's and the metrics
# server's threads in select), not using CPU: left out of the shares.
IDLE = ("EpollSelector.select", "_PollLikeSelector.select", "PollSelector.select", "Condition.wait",
        "Event.wait", "Thread._wait_for_tstate_lock",
        "_Watchdog._run (")   # the scan budget's watchdog in time.sleep (its thread's CPU: ~0.02 ms/msg)


# Leaf frames inside a loopback socket write. Their samples are mostly wall
# time, not CPU: the write wakes the reader (smtp-sink, smtp-source), which
# takes the core while this thread waits runnable; on a loaded machine they
# reach a quarter of the samples while the process's system CPU stays near
# 0.2 ms per message (py-spy --native puts them in libc write()).
SOCKET_WRITES = ("SMTPProtocol.write (", "StreamWriter.write (",
                 "_write (")   # gateway.relay's downstream DATA write (transport.writelines)


def stage_of(frames: list[str]) -> str:
    for name, needles in STAGES:
        if any(any(n in f for n in needles) for f in frames):
            return name
    return "other"


def frame_name(frame: str) -> str:
    """``function (path:line)`` as py-spy writes it, shortened to function (file)."""
    function, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0]
    for marker in ("site-packages/", "python3.11/", "wt-bench/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{function} ({path})"


def summarise(raw: Path, messages: int, top: int, cpu_ms: float) -> str:
    """Stage shares and the top functions from py-spy's collapsed (raw) output;
    ``cpu_ms`` (the process's CPU per message) turns shares into ms per message."""
    own: Counter[str] = Counter()
    leaves: dict[str, Counter[str]] = {}
    cpu_stages: Counter[str] = Counter()   # without the samples inside a socket write
    cpu_total = 0
    inclusive: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        # py-spy puts the thread name first ("process 123:..." / "thread (0x..)"): drop non-frames
        frames = [f for f in frames if " (" in f]
        if not frames or any(frames[-1].startswith(idle) for idle in IDLE):
            continue
        total += count
        stage = stage_of(frames)
        stages[stage] += count
        if not frames[-1].startswith(SOCKET_WRITES):
            cpu_stages[stage] += count
            cpu_total += count
        own[frame_name(frames[-1])] += count
        leaves.setdefault(stage, Counter())[frame_name(frames[-1])] += count
        for name in {frame_name(f) for f in frames}:
            inclusive[name] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples ({messages} messages sent while sampling)", "",
             "By stage (first match from the root): share of the samples; then ms/msg: the process's CPU "
             "per message spread over the samples outside socket writes (see SOCKET_WRITES)"]
    for name, n in stages.most_common():
        lines.append(f"  {100 * n / total:5.1f}%  {cpu_ms * cpu_stages[name] / max(cpu_total, 1):6.3f} ms/msg  {name}")
        lines += [f"           {100 * m / total:5.1f}%  {leaf}" for leaf, m in leaves[name].most_common(4)]
    lines += ["", f"Top {top} functions by own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", f"Top {top} functions with what they call:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


# The gateway under cProfile with a CPU clock (the main thread's CPU time):
# shares of CPU, unlike py-spy's samples, which on a loaded machine also count
# the time a runnable thread waits for a core (after a loopback send wakes the
# sink, say). SIGUSR1 starts it (after the warm-up, so start-up and imports
# are left out); SIGUSR2 stops it and writes the stats.
_CPROFILE = """
import cProfile, signal, sys, time
from gateway.cli import main
profile = cProfile.Profile(time.thread_time)
def stop(*_):
    profile.disable()
    profile.dump_stats(sys.argv[1])
signal.signal(signal.SIGUSR1, lambda *_: profile.enable())
signal.signal(signal.SIGUSR2, stop)
sys.exit(main(sys.argv[2:]))
"""


def cprofile_summary(stats_path: Path, messages: int, top: int) -> str:
    import pstats
    stats = pstats.Stats(str(stats_path))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (file, line, function), (_cc, _nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append((tt, ct, frame_name(f"{function} ({file}:{line})")))
    out = [f"cProfile (thread CPU clock): {total:.2f} s CPU in the profiled thread, {messages} messages, "
           f"{total * 1000 / max(messages, 1):.3f} ms/msg with the profiler's own overhead", "",
           f"Top {top} by own CPU:"]
    out += [f"  {100 * tt / total:5.1f}%  {tt * 1000 / max(messages, 1):6.3f} ms/msg  {name}"
            for tt, _ct, name in sorted(rows, reverse=True)[:top]]
    out += ["", f"Top {top} with what they call:"]
    out += [f"  {100 * ct / total:5.1f}%  {ct * 1000 / max(messages, 1):6.3f} ms/msg  {name}"
            for _tt, ct, name in sorted(rows, key=lambda r: r[1], reverse=True)[:top]]
    return "\n".join(out)


def own_cpu(pid: int) -> tuple[float, float]:
    """(utime, stime) of ``pid`` alone, all its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) / base.CLK_TCK, int(fields[12]) / base.CLK_TCK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--message", default="text-10k", choices=["text-10k", "html-10k", "attach-120k"])
    parser.add_argument("--recipient", default=base.RECIPIENT, help="envelope recipient (default internal)")
    parser.add_argument("--seconds", type=int, default=20, help="sampling time (default 20)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--new-connections", action="store_true", help="no -d: a connection per message")
    parser.add_argument("--flat", type=int, default=30, help="functions listed (default 30)")
    parser.add_argument("--cprofile", action="store_true",
                        help="run the gateway under cProfile (CPU clock) instead of sampling it with py-spy")
    parser.add_argument("--native", action="store_true", help="py-spy --native: C frames too")
    parser.add_argument("--bare", action="store_true", help="profile the bare relay instead, for comparison")
    parser.add_argument("--no-detection", action="store_true",
                        help="the gateway with its detection stage off: the non-scan path alone")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks here")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not args.cprofile and not Path(py_spy).exists():
        print("py-spy is not installed: .venv/bin/python -m pip install py-spy", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="relay-profile-"))
    mail = {m.name: m for m in realmail.generate()}[args.message]
    path = workdir / f"{mail.name}.eml"
    path.write_bytes(mail.content)
    settings = argparse.Namespace(gateway_relay_setting=[], gateway_log_level="info")
    sink = base.Sink(workdir)
    gateway = None
    try:
        detection = not args.no_detection
        target = base.Target("bare relay", 1) if args.bare else base.Target("gateway 1 worker", 1, detection=detection)
        if args.cprofile:
            port = base.free_port()
            config_dir = base.gateway_config(workdir, port, sink.port, settings, detection)
            stats_path = workdir / "gateway.prof"
            with (workdir / "gateway.log").open("ab") as log:
                gateway = subprocess.Popen([sys.executable, "-c", _CPROFILE, str(stats_path), "serve", "--config",
                                            str(config_dir), "--workers", "1"], stdout=log, stderr=log, cwd=workdir)
            try:
                base.wait_listening(port, 1, gateway, "gateway under cProfile")
            except base.HarnessError:
                base.stop(gateway, grace=5)
                raise
        else:
            port, gateway = target.start(sink, workdir, settings)
        assert gateway is not None
        worker = gateway.pid  # with --workers 1 the gateway's main process is the worker
        flags = [] if args.new_connections else ["-d"]
        source = ["smtp-source", *flags, "-s", str(args.sessions), "-F", str(path), "-M", "bench.example",
                  "-f", base.SENDER, "-t", args.recipient]
        subprocess.run([*source, "-m", "300", f"{base.HOST}:{port}"], check=False, timeout=300)  # warm-up
        before = sink.received()
        driver = subprocess.Popen([*source, "-m", "100000000", f"{base.HOST}:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
        raw = args.raw or workdir / "profile.txt"
        cpu_before = own_cpu(worker)
        sent_before = sink.received()
        if args.cprofile:
            gateway.send_signal(signal.SIGUSR1)
            time.sleep(args.seconds)
            gateway.send_signal(signal.SIGUSR2)
        else:
            subprocess.run([py_spy, "record", "--pid", str(worker), "--duration", str(args.seconds),
                            "--rate", str(args.rate), "--format", "raw", "--output", str(raw), *(["--native"] if args.native else ["--nonblocking"])],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sent = sink.received() - sent_before
        user, system = (a - b for a, b in zip(own_cpu(worker), cpu_before))
        cpu = user + system
        driver.terminate()
        driver.wait(30)
        print(f"{target.name}: {mail.name} ({len(mail.content):,} bytes) to {args.recipient}, "
              f"{'new connection per message' if args.new_connections else 'connections reused (-d)'}, "
              f"{args.sessions} sessions; delivered {sent} while sampling ({sent / args.seconds:.0f} msg/s, "
              f"worker CPU {cpu * 1000 / max(sent, 1):.2f} ms/msg of which system {system * 1000 / max(sent, 1):.2f}; "
              f"{sink.received() - before} in all)\n")
        if args.cprofile:
            deadline = time.monotonic() + 30
            while not stats_path.exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            print(cprofile_summary(stats_path, sent, args.flat))
        else:
            print(summarise(raw, sent, args.flat, cpu * 1000 / max(sent, 1)))
    finally:
        if gateway is not None:
            base.stop(gateway)
        sink.close()
        shutil.rmtree(workdir, ignore_errors=True)  # --raw writes outside it
    return 0


if __name__ == "__main__":
    sys.exit(main())
