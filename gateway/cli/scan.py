"""``dlp-gateway scan``: the pipeline's middle stages over messages, as JSON Lines.

Reads what ``replay`` reads (gateway.replay.sources): .eml files, folders of
them, mbox files and Maildirs, and ``-`` for standard input (one message or
an mbox). An input that is not a message (empty, binary, no header block)
gets a one-line error naming it instead of a verdict, and a non-zero exit.
One object per message, in input order; values only with ``--reveal``. A
summary goes to standard error, with a progress bar when it is a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm

from gateway import config, pipeline
from gateway.replay import sources
from gateway.replay.examine import masked, verdict_json

_PROGRESS_FROM = 20  # files; fewer finish before a bar is worth drawing


def inputs(paths: list[str]) -> Iterator[sources.Ref | str]:
    """Each message as a Ref (``-`` as itself), or the one-line error of a path that cannot be read."""
    for name in paths:
        if name == "-":
            yield name
            continue
        try:
            yield from sources.refs(name)
        except sources.SourceError as exc:
            yield str(exc)


def _stdin(content: bytes) -> Iterator[tuple[str, bytes]]:
    """Standard input as one message, or as the messages of an mbox."""
    if not content.startswith(b"From "):
        yield "-", content
        return
    for n, message in enumerate(sources.split_bytes(content), 1):
        yield f"-#{n}", message


def envelope_of(content: bytes, sender: str | None, recipients: list[str]) -> pipeline.Envelope:
    """The envelope from the flags, or else from From and To/Cc."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(content)
    if sender is None:
        found = getaddresses([str(h) for h in headers.get_all("From", [])])
        sender = found[0][1] if found else ""
    if not recipients:
        fields = [str(h) for name in ("To", "Cc") for h in headers.get_all(name, [])]
        recipients = [address for _, address in getaddresses(fields) if address]
    return pipeline.Envelope(sender, tuple(recipients))


def record(name: str, verdict: pipeline.Verdict, reveal: bool, detector: Any = None) -> dict[str, Any]:
    """The JSON object of one message; file and part names masked unless ``reveal``."""
    shown = (lambda text: text) if reveal else (lambda text: masked(text, detector))
    findings = []
    for f in verdict.findings:
        item: dict[str, Any] = {"entity": f.entity, "segment": shown(f.segment), "start": f.start, "end": f.end,
                                "score": round(f.score, 2), "masked": f.masked}
        if reveal:
            item["value"] = f.value
        findings.append(item)
    return {"file": shown(name), "verdict": verdict_json(verdict), "findings": findings,
            "unscannable": [{"segment": shown(u.name), "reason": u.reason} for u in verdict.unscannable]}


def run(paths: list[str], settings: config.Settings, sender: str | None, recipients: list[str],
        reveal: bool, out: IO[str] = sys.stdout, err: IO[str] = sys.stderr,
        config_dir: Path | None = None) -> int:
    """Scan every input; return 0 when each was a message that was read, 1 otherwise."""
    stages = pipeline.Pipeline.from_settings(settings, config_dir)
    detector = stages.scanner.detector if stages.scanner is not None else None
    items = list(inputs(paths))
    progress = _progress(len(items), err)
    summary = _Summary()
    reader = sources.Reader()
    for item in items:
        for name, content in _read(item, reader, summary, err):
            why = sources.refusal(content)
            if why is not None:
                summary.failed += 1
                print(f"dlp-gateway scan: {shown_name(name, reveal, detector)}: not a message ({why})", file=err)
                continue
            verdict = stages.run(envelope_of(content, sender, recipients), content)
            out.write(json.dumps(record(name, verdict, reveal, detector), ensure_ascii=False) + "\n")
            summary.add(verdict)
        if progress is not None:
            progress.update(1)
    reader.close()
    if progress is not None:
        progress.close()
    print(f"dlp-gateway scan: {summary}", file=err)
    return 1 if summary.failed else 0


def shown_name(name: str, reveal: bool, detector: Any) -> str:
    return name if reveal else masked(name, detector)


def _read(item: sources.Ref | str, reader: sources.Reader, summary: _Summary,
          err: IO[str]) -> Iterator[tuple[str, bytes]]:
    """The messages of one input; a read error is reported and counted."""
    if isinstance(item, str) and item != "-":
        summary.failed += 1
        print(f"dlp-gateway scan: {item}", file=err)
        return
    try:
        if isinstance(item, str):
            yield from _stdin(sys.stdin.buffer.read())
        else:
            yield item.name, reader.read(item)
    except OSError as exc:
        summary.failed += 1
        print(f"dlp-gateway scan: cannot read {item if isinstance(item, str) else item.name}: "
              f"{exc.strerror or exc}", file=err)


class _Summary:
    """The totals of the summary line: sensitive findings apart from other (phone-only) ones."""

    def __init__(self) -> None:
        self.scanned = self.sensitive = self.other = self.unscannable = self.failed = 0
        self.totals: dict[str, int] = {}

    def add(self, verdict: pipeline.Verdict) -> None:
        self.scanned += 1
        for entity, count in verdict.counts().items():
            self.totals[entity] = self.totals.get(entity, 0) + count
        if verdict.sensitive:
            self.sensitive += 1
        elif verdict.findings:
            self.other += 1
        self.unscannable += len(verdict.unscannable)

    def __str__(self) -> str:
        found = ", ".join(f"{k}={v}" for k, v in sorted(self.totals.items())) or "none"
        return (f"{self.scanned} messages scanned, {self.sensitive} with sensitive findings, "
                f"{self.other} with non-sensitive findings only (such as phone numbers); findings {found}; "
                f"{self.unscannable} unreadable parts, {self.failed} inputs not read")


def _progress(total: int, err: IO[str]) -> Any:
    if total < _PROGRESS_FROM or not err.isatty():
        return None
    return tqdm(total=total, file=err, unit="msg", leave=False)
