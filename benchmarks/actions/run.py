"""Actions benchmark: what each verdict costs, in one run.

    python benchmarks/actions/run.py [--messages 3000] [--sessions 20] [--postgres URL]

One gateway worker (detection on) in front of Postfix's ``smtp-sink`` is
driven by an asyncio client (``smtp-source`` stops at the first 5xx, so it
cannot measure blocks) with 20 sessions that keep their connections, sending
the same ~2 KB message under each scenario:

- deliver: a clean message to an external recipient (the reference);
- statement only: a clean message from Palos Verdes Estates, whose profile
  appends its disclaimer to everything (the cost of rewriting the body);
- disclaimer: an SSN with ``[purpose:collections]`` (tag removed, statement
  appended, exception audited before delivery);
- block: an SSN from a Lancaster sender (audited, then ``550``);
- quarantine: an SSN from a Citrus sender, stored encrypted in SQLite with
  its audit record, committed and fsynced before the ``250``;
- quarantine (PostgreSQL): the same with ``quarantine.url`` (with --postgres,
  or DLP_TEST_POSTGRES_URL).

Every reply is checked (250 or 550 as the scenario expects), and so is where
each message ended (the sink's counter, the store's count). Prints the table
and writes benchmarks/reports/actions.md and .json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiosmtplib

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.relay.run import HOST, Sink, cpu_seconds, free_port, stop, wait_listening  # noqa: E402
from gateway.quarantine import Key, open_store  # noqa: E402

REPORTS = ROOT / "benchmarks" / "reports"
SSN = "219-45-6789"
FILLER = "The monthly statement for the account is attached below as usual.\r\n" * 25


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    sender: str
    subject: str
    sensitive: bool
    expect: int            # the reply code every message must get
    lands: str             # "sink", "store" or "nowhere"
    postgres: bool = False

    def message(self, n: int) -> bytes:
        body = f"Customer SSN {SSN} as requested.\r\n" if self.sensitive else "Nothing to declare.\r\n"
        return (f"From: {self.sender}\r\nTo: resident@example.com\r\nSubject: {self.subject}\r\n"
                f"Message-ID: <{n}.{uuid.uuid4().hex}@bench.example>\r\nMIME-Version: 1.0\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}{FILLER}").encode()


SCENARIOS = (
    Scenario("deliver", "clerk@citrus.example", "Statement", False, 250, "sink"),
    Scenario("statement only", "clerk@pvestates.example", "Statement", False, 250, "sink"),
    Scenario("disclaimer", "clerk@citrus.example", "Statement [purpose:collections]", True, 250, "sink"),
    Scenario("block", "clerk@lancaster.example", "Statement", True, 550, "nowhere"),
    Scenario("quarantine", "clerk@citrus.example", "Statement", True, 250, "store"),
    Scenario("quarantine (PostgreSQL)", "clerk@citrus.example", "Statement", True, 250, "store", postgres=True),
)


@dataclass(slots=True)
class Result:
    scenario: str
    messages: int
    seconds: float
    cpu_seconds: float
    replies: dict[str, int] = field(default_factory=dict)
    landed: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    problem: str = ""

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def drive(port: int, scenario: Scenario, count: int, sessions: int) -> tuple[float, dict[str, int], list[float]]:
    """Send ``count`` messages over ``sessions`` kept connections; return (seconds, replies, latencies)."""
    replies: dict[str, int] = {}
    latencies: list[float] = []
    queue = list(range(count))

    async def session() -> None:
        client = aiosmtplib.SMTP(hostname=HOST, port=port, timeout=60)
        await client.connect()
        try:
            while queue:
                n = queue.pop()
                started = time.perf_counter()
                try:
                    await client.sendmail(scenario.sender, ["resident@example.com"], scenario.message(n))
                    code = "250"
                except aiosmtplib.SMTPResponseException as exc:
                    code = str(exc.code)
                    await client.rset()
                latencies.append((time.perf_counter() - started) * 1000)
                replies[code] = replies.get(code, 0) + 1
        finally:
            client.close()

    started = time.perf_counter()
    await asyncio.gather(*(session() for _ in range(sessions)))
    return time.perf_counter() - started, replies, latencies


def start_gateway(workdir: Path, sink_port: int, postgres: str | None) -> tuple[int, subprocess.Popen[bytes], Path]:
    port = free_port()
    data = workdir / "data"
    data.mkdir(parents=True)
    quarantine = f'quarantine:\n  url: "{postgres}"\n' if postgres else ""
    (workdir / "gateway.yaml").write_text(
        f'smtp:\n  listen: "{HOST}:{port}"\nrelay:\n  address: "{HOST}:{sink_port}"\n  starttls: "off"\n'
        f'metrics:\n  listen: "{HOST}:{free_port()}"\nreview:\n  listen: "{HOST}:{free_port()}"\n'
        f'data_dir: "{data}"\nlog_level: "warning"\n{quarantine}')
    log = (workdir / "gateway.log").open("ab")
    process = subprocess.Popen([str(Path(sys.executable).parent / "dlp-gateway"), "serve", "--config",
                                str(workdir), "--workers", "1"], stdout=log, stderr=log, cwd=workdir)
    log.close()
    wait_listening(port, 1, process, "gateway")
    return port, process, data


def held(data: Path, postgres: str | None) -> int:
    store = open_store(postgres, data, Key.load_or_create(data / "quarantine.key"))
    try:
        return store.count(None)
    finally:
        store.close()


def run(scenario: Scenario, args: argparse.Namespace, base: Path) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix=f"{scenario.name.split()[0]}-", dir=base))
    postgres = new_schema(args.postgres) if scenario.postgres else None
    sink = Sink(workdir)
    gateway = None
    try:
        port, gateway, data = start_gateway(workdir, sink.port, postgres)
        asyncio.run(drive(port, scenario, args.warmup, args.sessions))
        before_sink, before_store = sink.received(), held(data, postgres)
        before_cpu = cpu_seconds(gateway.pid)
        seconds, replies, latencies = asyncio.run(drive(port, scenario, args.messages, args.sessions))
        cpu = cpu_seconds(gateway.pid) - before_cpu
        result = Result(scenario.name, args.messages, seconds, cpu, replies, latencies_ms=latencies)
        if scenario.lands == "sink":
            result.landed = sink.wait_for(before_sink + args.messages) - before_sink
        elif scenario.lands == "store":
            result.landed = held(data, postgres) - before_store
        else:
            result.landed = sink.received() - before_sink + held(data, postgres) - before_store
        wanted = {str(scenario.expect): args.messages}
        expected_landed = 0 if scenario.lands == "nowhere" else args.messages
        if replies != wanted or result.landed != expected_landed:
            result.problem = f"replies {replies}, landed {result.landed} (expected {wanted}, {expected_landed})"
        return result
    finally:
        if gateway is not None:
            stop(gateway)
        sink.close()
        if postgres:
            drop_schema(postgres)


def new_schema(url: str) -> str:
    import psycopg
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def drop_schema(url: str) -> None:
    import psycopg

    from gateway.quarantine.postgres import split_schema
    conninfo, schema = split_schema(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def report(results: list[Result], args: argparse.Namespace, seconds: float) -> str:
    base = next((r.rate for r in results if r.scenario == "deliver"), 0.0)
    lines = ["# Actions benchmark", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {seconds:.0f} s, "
             f"Python {platform.python_version()}, {os.cpu_count()} CPUs", "",
             "```", "python benchmarks/actions/run.py " + " ".join(sys.argv[1:]), "```", "",
             f"One gateway worker, detection on; {args.sessions} client sessions keeping their connections, "
             f"{args.messages} messages of ~2 KB per scenario, after {args.warmup} to warm up.", "",
             "| scenario | msg/s | x deliver | gateway CPU ms/msg | p50 ms | p99 ms | replies | landed | valid |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    for r in results:
        ratio = f"{r.rate / base:.2f}x" if base else "-"
        replies = ", ".join(f"{k}: {v}" for k, v in sorted(r.replies.items()))
        lines.append(f"| {r.scenario} | {r.rate:,.0f} | {ratio} | {r.cpu_seconds / r.messages * 1000:.2f} | "
                     f"{r.percentile(0.5):.1f} | {r.percentile(0.99):.1f} | {replies} | {r.landed:,} | "
                     f"{'ok' if not r.problem else 'INVALID: ' + r.problem} |")
    lines += ["", "landed: messages that reached the sink (deliver, disclaimer), the quarantine store "
              "(quarantine), or either (block: must be 0). Latency is the client's, from MAIL to the "
              "final reply on a kept connection, under this load."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--postgres", default=os.environ.get("DLP_TEST_POSTGRES_URL"),
                        help="PostgreSQL URL for the PostgreSQL quarantine scenario (skipped without)")
    parser.add_argument("--output", type=Path, default=REPORTS)
    args = parser.parse_args()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="dlp-actions-") as base:
        for scenario in SCENARIOS:
            if scenario.postgres and not args.postgres:
                print(f"  {scenario.name:24} skipped (no --postgres)", file=sys.stderr)
                continue
            result = run(scenario, args, Path(base))
            results.append(result)
            print(f"  {scenario.name:24} {result.rate:8.0f} msg/s" + (f"  INVALID: {result.problem}"
                                                                       if result.problem else ""),
                  file=sys.stderr, flush=True)
    text = report(results, args, time.perf_counter() - started)
    print(text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "actions.md").write_text(text)
    (args.output / "actions.json").write_text(json.dumps(
        [{**{k: v for k, v in asdict(r).items() if k != "latencies_ms"}, "rate": r.rate,
          "p50_ms": r.percentile(0.5), "p99_ms": r.percentile(0.99)} for r in results], indent=2) + "\n")
    return 0 if all(not r.problem for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
