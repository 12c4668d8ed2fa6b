"""The replay report: one self-contained HTML file, written as a stream.

Nothing on the page asks for anything: no script, no image, no font, no link
to follow; styles are inline and charts are inline SVG, and a
Content-Security-Policy of ``default-src 'none'`` makes sure of it when the
file is opened or forwarded. The template escapes every string (Jinja2
autoescape); the values in it were masked in the workers. The lists of held,
blocked and changed messages are rendered row by row in the workers
(``held_row``, ``changed_row``: templates/rows.html), spooled to files in
input order, and copied into the page as it is written, so neither memory nor
the single writer's time grows with them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import jinja2
from markupsafe import Markup

from gateway.replay import charts
from gateway.replay.tally import Tally
from gateway.review import chart

ACTIONS = ["block", "quarantine", "redact", "disclaimer", "deliver"]
TOP = 20


@dataclass(frozen=True, slots=True)
class Run:
    """What the report says about the run itself."""

    sources: tuple[str, ...]
    generated: str                # UTC, ISO 8601
    seconds: float
    workers: int
    candidate: str | None         # the candidate policies file
    interrupted: bool
    failed: str | None = None
    since: str | None = None
    until: str | None = None


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                              autoescape=True, undefined=jinja2.StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)


def held_row(message: dict[str, Any]) -> str:
    """The table row of a message that would be blocked or held."""
    return str(_environment().get_template("rows.html").module.held(message))  # type: ignore[attr-defined]


def changed_row(message: dict[str, Any]) -> str:
    """The table row of a message whose action the candidate changes."""
    return str(_environment().get_template("rows.html").module.changed(message))  # type: ignore[attr-defined]


def chunks(spool: IO[str]) -> Iterator[Markup]:
    """The rendered rows a spool file holds, from its start, a block at a time."""
    spool.seek(0)
    while block := spool.read(1 << 16):
        yield Markup(block)   # rendered (and escaped) by held_row/changed_row


def _by_profile(counts: dict[tuple[str, str], int]) -> list[tuple[str, dict[str, int]]]:
    table: dict[str, dict[str, int]] = {}
    for (profile, action), n in sorted(counts.items()):
        table.setdefault(profile, {})[action] = n
    return sorted(table.items())


def _day_chart(tally: Tally) -> chart.Chart | None:
    days = sorted({day for day, _ in tally.days})
    if not days:
        return None
    series = {action: [tally.days.get((day, action), 0) for day in days] for action in ("block", "quarantine")}
    return chart.bars(days, series)


def context(run: Run, tally: Tally, held: Iterable[Markup], changed: Iterable[Markup]) -> dict[str, Any]:
    """Everything the template shows."""
    profiles = _by_profile(tally.actions)
    candidate = _by_profile(tally.candidate)
    entities = sorted(tally.entities.items(), key=lambda e: (-e[1], e[0]))
    totals = {action: sum(n for (_, a), n in tally.actions.items() if a == action) for action in ACTIONS}
    return {
        "run": run, "tally": tally, "actions": ACTIONS, "totals": totals,
        "profiles": profiles, "profile_chart": charts.stacked(profiles, ACTIONS),
        "candidate_profiles": candidate,
        "entities": [(e, n, tally.entity_messages[e]) for e, n in entities],
        "entity_chart": charts.stacked([(e, {"findings": n}) for e, n in entities], ["findings"]),
        "day_chart": _day_chart(tally),
        "days": sorted({day for day, _ in tally.days}),
        "senders": tally.senders.most_common(TOP), "domains": tally.domains.most_common(TOP),
        "unscannable": sorted(tally.unscannable.items(), key=lambda e: (-e[1], e[0])),
        "refused": sorted(tally.refused.items(), key=lambda e: (-e[1], e[0])),
        "changes": sorted(tally.changes.items(), key=lambda e: (-e[1], e[0])),
        "held": held, "changed": changed,
    }


def write(path: Path, run: Run, tally: Tally, held: IO[str], changed: IO[str]) -> None:
    """Write the report to ``path`` (through a temporary file, then renamed)."""
    template = _environment().get_template("report.html")
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8") as out:
        for chunk in template.generate(context(run, tally, chunks(held), chunks(changed))):
            out.write(chunk)
    partial.replace(path)
