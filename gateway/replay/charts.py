"""Horizontal stacked bars as plain numbers for an inline SVG template.

Like gateway.review.chart: no script, no style sheet, only rectangles the
template draws from these numbers.

>>> c = stacked([("cerritos", {"block": 3, "deliver": 1}), ("default", {"deliver": 2})], ["block", "deliver"])
>>> c.peak, [(r.label, [(s.series, s.value) for s in r.segments]) for r in c.rows]
(4, [('cerritos', [('block', 3), ('deliver', 1)]), ('default', [('deliver', 2)])])
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, ROW, LEFT, RIGHT, TOP = 900, 26, 200, 60, 8
COLORS = {"block": "#b3261e", "quarantine": "#e8a317", "redact": "#2b6cb0", "disclaimer": "#6a4fb3",
          "deliver": "#1f7a4d", "findings": "#445f8c", "messages": "#445f8c"}


@dataclass(frozen=True, slots=True)
class Segment:
    x: float
    width: float
    color: str
    series: str
    value: int


@dataclass(frozen=True, slots=True)
class Row:
    y: float
    label: str
    total: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class HChart:
    width: int
    height: int
    left: int
    bar: int            # a bar's height
    peak: int
    rows: tuple[Row, ...]
    legend: tuple[tuple[str, str], ...]   # (series, color)


def stacked(rows: list[tuple[str, dict[str, int]]], series: list[str]) -> HChart:
    """One bar per row, its segments in ``series`` order, scaled to the longest bar."""
    peak = max([1, *(sum(values.get(s, 0) for s in series) for _, values in rows)])
    span = WIDTH - LEFT - RIGHT
    out: list[Row] = []
    for n, (label, values) in enumerate(rows):
        x = float(LEFT)
        segments: list[Segment] = []
        for name in series:
            value = values.get(name, 0)
            if value:
                width = span * value / peak
                segments.append(Segment(round(x, 1), round(width, 1), COLORS.get(name, "#555555"), name, value))
                x += width
        out.append(Row(TOP + n * ROW, label, sum(values.get(s, 0) for s in series), tuple(segments)))
    height = TOP + len(rows) * ROW + (24 if len(series) > 1 else 4)
    legend = tuple((name, COLORS.get(name, "#555555")) for name in series) if len(series) > 1 else ()
    return HChart(WIDTH, height, LEFT, ROW - 8, peak, tuple(out), legend)
