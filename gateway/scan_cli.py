"""``dlp-gateway scan``: the pipeline's middle stages over .eml files, as JSON Lines.

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

from gateway import config, pipeline

_PROGRESS_FROM = 20  # files; fewer finish before a bar is worth drawing


def inputs(paths: list[str]) -> Iterator[tuple[str, Path | None]]:
    """Each input as (display name, path); ``-`` is standard input (path None)."""
    for name in paths:
        if name == "-":
            yield "-", None
        elif Path(name).is_dir():
            for path in sorted(Path(name).rglob("*.eml")):
                yield str(path), path
        else:
            yield name, Path(name)


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


def record(name: str, verdict: pipeline.Verdict, reveal: bool) -> dict[str, Any]:
    findings = []
    for f in verdict.findings:
        item: dict[str, Any] = {"entity": f.entity, "segment": f.segment, "start": f.start, "end": f.end,
                                "score": round(f.score, 2), "masked": f.masked}
        if reveal:
            item["value"] = f.value
        findings.append(item)
    return {"file": name,
            "verdict": {"action": verdict.action.value, "profile": verdict.profile,
                        "purpose": verdict.purpose, "reasons": list(verdict.reasons)},
            "findings": findings,
            "unscannable": [{"segment": u.name, "reason": u.reason} for u in verdict.unscannable]}


def run(paths: list[str], settings: config.Settings, sender: str | None, recipients: list[str],
        reveal: bool, out: IO[str] = sys.stdout, err: IO[str] = sys.stderr,
        config_dir: Path | None = None) -> int:
    """Scan every input; return 0 when each was read, 1 otherwise."""
    stages = pipeline.Pipeline.from_settings(settings, config_dir)
    items = list(inputs(paths))
    progress = _progress(len(items), err)
    failed = 0
    totals: dict[str, int] = {}
    with_findings = unscannable = 0
    for name, path in items:
        try:
            content = sys.stdin.buffer.read() if path is None else path.read_bytes()
        except OSError as exc:
            failed += 1
            print(f"dlp-gateway scan: cannot read {name}: {exc.strerror or exc}", file=err)
            continue
        verdict = stages.run(envelope_of(content, sender, recipients), content)
        out.write(json.dumps(record(name, verdict, reveal), ensure_ascii=False) + "\n")
        for entity, count in verdict.counts().items():
            totals[entity] = totals.get(entity, 0) + count
        with_findings += bool(verdict.findings)
        unscannable += len(verdict.unscannable)
        if progress is not None:
            progress.update(1)
    if progress is not None:
        progress.close()
    found = ", ".join(f"{k}={v}" for k, v in sorted(totals.items())) or "none"
    print(f"dlp-gateway scan: {len(items) - failed} messages scanned, {with_findings} with findings "
          f"({found}), {unscannable} unreadable parts, {failed} inputs not read", file=err)
    return 1 if failed else 0


def _progress(total: int, err: IO[str]) -> Any:
    if total < _PROGRESS_FROM or not err.isatty():
        return None
    from tqdm import tqdm
    return tqdm(total=total, file=err, unit="msg", leave=False)
