"""``dlp-gateway replay``: an archive through today's profiles (and a candidate's).

JSON Lines go to ``--json FILE`` (``-``: standard output), or to standard
output when neither ``--json`` nor ``--report`` is given; the HTML report to
``--report``. One summary line and one line per input that is not a message
go to standard error. Exit status: 0 when every input was a message that was
read, 1 when one was not (each is named), 2 for a bad configuration or
candidate, 130 when interrupted (the outputs then cover what was read).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gateway import config

if TYPE_CHECKING:
    from gateway.replay.examine import Batch


def add_command(commands: Any, config_flag: Callable[[argparse.ArgumentParser], None]) -> None:
    cmd = commands.add_parser("replay", help="replay a mail archive through the policy and report")
    cmd.add_argument("sources", nargs="+", metavar="SOURCE", help="mbox file, Maildir, folder of .eml, or .eml")
    config_flag(cmd)
    cmd.add_argument("--candidate", type=Path, metavar="POLICIES.yaml",
                     help="profiles to compare with today's")
    cmd.add_argument("--workers", type=int, metavar="N", help="worker processes (default: every CPU)")
    cmd.add_argument("--report", type=Path, metavar="FILE.html", help="write the HTML report")
    cmd.add_argument("--json", metavar="FILE.jsonl", help="write JSON Lines (- for standard output)")
    cmd.add_argument("--since", type=_day, metavar="DATE", help="only messages dated on or after (YYYY-MM-DD)")
    cmd.add_argument("--until", type=_day, metavar="DATE", help="only messages dated on or before (YYYY-MM-DD)")
    cmd.add_argument("--data-dir", metavar="DIR", help="where the EDM list is (default ./var)")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run(args: argparse.Namespace, settings: config.Settings, err: IO[str] = sys.stderr) -> int:
    """Replay ``args.sources``; return the exit status."""
    # Here, not at the top: every command builds this parser; only a replay loads the pipeline.
    from gateway import pipeline  # noqa: PLC0415
    from gateway.policy import profiles  # noqa: PLC0415
    from gateway.replay import report  # noqa: PLC0415
    from gateway.replay.examine import Setup  # noqa: PLC0415
    from gateway.replay.run import replay  # noqa: PLC0415
    workers = args.workers or _cpus()
    if workers < 1:
        print("dlp-gateway replay: --workers must be at least 1", file=err)
        return 2
    try:
        stages = pipeline.Pipeline.from_settings(settings, args.config)
        candidate = profiles.load_file(args.candidate) if args.candidate is not None else None
    except config.ConfigError as exc:
        print(f"dlp-gateway replay: invalid configuration:\n{exc}", file=err)
        return 2
    setup = Setup(stages, candidate, args.since, args.until)
    refused = 0

    def refuse(line: str) -> None:
        nonlocal refused
        refused += 1
        print(f"dlp-gateway replay: {line}", file=err)

    with ExitStack() as stack:
        json_out = _json_target(args, stack)
        held = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))
        changed = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8"))

        def deliver(batch: Batch) -> None:
            if json_out is not None:
                json_out.write(batch.lines)
            held.write(batch.held)
            changed.write(batch.changed)
            for line in batch.errors:
                refuse(line)

        outcome = replay(args.sources, setup, workers, deliver, err)
        if json_out is not None:
            json_out.flush()
        if args.report is not None:
            run_facts = report.Run(tuple(args.sources), datetime.now(UTC).isoformat(timespec="seconds"),
                                   outcome.seconds, workers, str(args.candidate) if args.candidate else None,
                                   outcome.interrupted, outcome.failed,
                                   args.since.isoformat() if args.since else None,
                                   args.until.isoformat() if args.until else None)
            held.flush()
            changed.flush()
            report.write(args.report, run_facts, outcome.tally, held, changed)
    _summary(outcome.tally, outcome.seconds, refused, args, err)
    if outcome.interrupted:
        print("dlp-gateway replay: interrupted; the outputs cover the messages read so far", file=err)
        return 130
    if outcome.failed:
        print(f"dlp-gateway replay: stopped: {outcome.failed}", file=err)
        return 1
    return 1 if refused else 0


def _json_target(args: argparse.Namespace, stack: ExitStack) -> IO[str] | None:
    if args.json == "-" or (args.json is None and args.report is None):
        return sys.stdout
    if args.json is None:
        return None
    return stack.enter_context(open(args.json, "w", encoding="utf-8"))


def _summary(tally: Any, seconds: float, refused: int, args: argparse.Namespace, err: IO[str]) -> None:
    by_action: dict[str, int] = {}
    for (_, action), n in tally.actions.items():
        by_action[action] = by_action.get(action, 0) + n
    actions = ", ".join(f"{a}={n}" for a, n in sorted(by_action.items())) or "none"
    line = (f"dlp-gateway replay: {tally.messages} messages in {seconds:.1f} s ({actions}), "
            f"{refused} inputs not read")
    if args.candidate is not None:
        line += f", {tally.changed} changed by the candidate"
    if args.since or args.until:
        line += f", {tally.outside} outside the dates"
    print(line, file=err)
