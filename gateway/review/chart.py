"""A bar chart of daily counts as plain numbers for an inline SVG template.

No script and no style sheet: the template draws rectangles from these
numbers, so the Content-Security-Policy needs no exception.

>>> c = bars(["2026-03-01", "2026-03-02"], {"block": [0, 4], "release": [2, 0]})
>>> c.peak, [(b.series, b.value) for b in c.bars if b.value]
(4, [('release', 2), ('block', 4)])
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 900, 260
LEFT, BOTTOM, TOP = 40, 40, 10
COLORS = {"block": "#b3261e", "quarantine": "#e8a317", "exception": "#6a4fb3", "release": "#1f7a4d"}


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    series: str
    day: str
    value: int


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    left: int
    base: int
    top: int
    peak: int
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]     # (x, day label) every few days
    levels: tuple[tuple[float, int], ...]    # (y, count) grid lines
    legend: tuple[tuple[str, str], ...]      # (series, color)


def bars(days: list[str], series: dict[str, list[int]]) -> Chart:
    """Grouped bars: one group per day, one bar per series."""
    top = max([1, *(v for values in series.values() for v in values)])
    base = HEIGHT - BOTTOM
    span = base - TOP
    slot = (WIDTH - LEFT) / max(1, len(days))
    width = slot * 0.8 / max(1, len(series))
    out: list[Bar] = []
    for d, day in enumerate(days):
        for s, (name, values) in enumerate(series.items()):
            h = span * values[d] / top
            out.append(Bar(round(LEFT + d * slot + slot * 0.1 + s * width, 1), round(base - h, 1),
                           round(width, 1), round(h, 1), COLORS.get(name, "#555555"), name, day, values[d]))
    ticks = tuple((round(LEFT + d * slot + slot / 2, 1), day[5:]) for d, day in enumerate(days) if d % 5 == 0)
    levels = tuple((round(base - span * n / top, 1), n) for n in sorted({0, top // 2, top}))
    legend = tuple((name, COLORS.get(name, "#555555")) for name in series)
    return Chart(WIDTH, HEIGHT, LEFT, base, TOP, top, tuple(out), ticks, levels, legend)
