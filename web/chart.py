"""Geometry of the server-rendered SVG charts (no JavaScript): a stacked bar chart of devices per area per year.

The template draws what this module computes; colours are SVG presentation attributes (`fill`), which a strict CSP
allows, unlike inline `style` attributes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

# Twelve calm, distinguishable colours (one per top-level application area, in taxonomy order).
PALETTE = (
    "#2f6f8f", "#e07b39", "#4c9a6a", "#b8474f", "#7a5ea8", "#c9a227",
    "#3f8fc4", "#8c6d4f", "#d16ba5", "#5b7553", "#6c7a89", "#e0a7a0",
)
# About the card's inner width on a desktop screen, so 12px of axis text shows as 12px (a narrow viewBox scaled up
# to a wide card made the labels look oversized); on a phone the whole chart scales down.
WIDTH, HEIGHT = 1160, 300
# The phone variant: drawn for a ~360 px wide card, so its 12px labels stay 12px on a phone instead of shrinking to
# a third; fewer year labels fit under it.
PHONE_WIDTH, PHONE_HEIGHT, PHONE_LABELS = 360, 240, 5
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 40, 8, 22, 30
MIN_SCALE = 5


@dataclass(frozen=True)
class Rect:
    """One bar segment, with the tooltip text shown on hover."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass
class StackedChart:
    """Everything the template needs to draw the chart."""

    width: int = WIDTH
    height: int = HEIGHT
    rects: list[Rect] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    legend: list[tuple[str, str, int]] = field(default_factory=list)  # (colour, label, total)
    totals: list[tuple[float, float, int]] = field(default_factory=list)  # (x centre, y above the bar, devices)
    plot_left: float = MARGIN_LEFT
    plot_right: float = WIDTH - MARGIN_RIGHT
    baseline: float = HEIGHT - MARGIN_BOTTOM

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return not self.rects


def nice_step(maximum: int, ticks: int = 5) -> int:
    """A round tick step (1, 2, 5 × 10^n) giving at most `ticks` intervals up to `maximum`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if maximum <= step * factor * ticks:
                return step * factor
        step *= 10


def stacked_by_year(
    matrix: Mapping[str, Mapping[int, int]], series: Sequence[str], label: Callable[[str], str],
    *, width: int = WIDTH, height: int = HEIGHT, max_labels: int = 14,
) -> StackedChart:
    """Stack `series` (area codes, bottom first) per year; years without devices inside the range stay as gaps.
    `width` and `height` are the drawing's own units (about the pixels it is shown at, so text keeps its size) and
    at most `max_labels` years are labelled under the axis."""
    chart = StackedChart(width=width, height=height, plot_right=width - MARGIN_RIGHT, baseline=height - MARGIN_BOTTOM)
    years = sorted({year for code in series for year in matrix.get(code, {})})
    if not years:
        return chart
    years = list(range(years[0], years[-1] + 1))
    totals = {year: sum(matrix.get(code, {}).get(year, 0) for code in series) for year in years}
    # A floor on the scale keeps a handful of devices from filling the whole plot as if it were a lot.
    highest = max(MIN_SCALE, max(totals.values()))
    step = nice_step(highest)
    top = step * -(-highest // step)
    plot_h = chart.baseline - MARGIN_TOP
    slot = (chart.plot_right - chart.plot_left) / len(years)
    bar_w = min(48.0, slot * 0.68)
    scale = plot_h / top
    colours = {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(series)}
    for value in range(0, top + 1, step):
        chart.y_ticks.append((chart.baseline - value * scale, value))
    label_every = max(1, -(-len(years) // max_labels))
    for i, year in enumerate(years):
        x = chart.plot_left + i * slot + (slot - bar_w) / 2
        if i % label_every == 0:
            chart.x_labels.append((x + bar_w / 2, str(year)))
        y = chart.baseline
        for code in series:
            n = matrix.get(code, {}).get(year, 0)
            if n:
                h = n * scale
                y -= h
                chart.rects.append(Rect(round(x, 1), round(y, 1), round(bar_w, 1), round(h, 1), colours[code],
                                        f"{label(code)} · {year}: {n}"))
        if totals[year]:
            chart.totals.append((round(x + bar_w / 2, 1), round(y - 6, 1), totals[year]))
    for code in series:
        total = sum(matrix.get(code, {}).values())
        if total:
            chart.legend.append((colours[code], label(code), total))
    return chart
