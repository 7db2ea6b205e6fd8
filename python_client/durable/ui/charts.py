"""Bar charts as geometry for the templates' inline SVG (no JavaScript, no chart library).

A chart is a few dozen rectangles; computing them here and drawing them with one Jinja macro
(templates/_chart.html) costs less than a plotting dependency and renders in any browser,
screenshot or text-mode reader (each bar has a <title> with its exact value).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Bar:
    """One rectangle: position and size in SVG units, its series (a CSS class) and tooltip."""

    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True)
class Chart:
    """A grouped bar chart: bars, the labels under some groups, the top of the scale."""

    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    top: int
    series: list[str]
    total: list[int] = field(default_factory=list)


def _nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above value (at least 1)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


def bars(groups: list[tuple[str, list[int]]], series: list[str], *, width: int = 720,
         height: int = 140, label_every: int = 1) -> Chart:
    """A chart of len(groups) groups of len(series) bars each; groups are (label, values), the
    values in the order of series; every label_every-th group's label is shown, counting back
    from the last."""
    plot_top, plot_bottom = 8, height - 18
    plot_height = plot_bottom - plot_top
    top = _nice_top(max((v for _, values in groups for v in values), default=0))
    slot = width / max(len(groups), 1)
    bar_width = max(slot * 0.8 / max(len(series), 1), 1.0)
    out, labels = [], []
    for i, (label, values) in enumerate(groups):
        left = i * slot + slot * 0.1
        for j, value in enumerate(values):
            h = plot_height * value / top
            out.append(Bar(x=round(left + j * bar_width, 2), y=round(plot_bottom - h, 2),
                           width=round(bar_width, 2), height=round(h, 2), series=j,
                           title=f"{label}: {value} {series[j]}"))
        if (len(groups) - 1 - i) % label_every == 0:  # the last group (now) always labelled
            labels.append((round(min(max(i * slot + slot / 2, 16), width - 16), 2), label))
    totals = [sum(values[j] for _, values in groups) for j in range(len(series))]
    return Chart(width=width, height=height, bars=out, labels=labels, top=top,
                 series=series, total=totals)
