"""Small server-side SVG bar charts (no JavaScript, no chart library)."""

from __future__ import annotations

from dataclasses import dataclass, field

from classifiers.base import Label

PALETTE = ("#b3261e", "#e8710a", "#7b1fa2", "#1565c0", "#00838f", "#2e7d32", "#6d4c41",
           "#546e7a", "#c2185b", "#827717")
#: a fixed colour per label, so a label looks the same on every chart (others: the palette)
LABEL_COLOURS: dict[str, str] = {
    Label.SAFEGUARDING: "#b3261e", Label.THREAT: "#e8710a", Label.IDENTIFYING: "#7b1fa2",
    Label.HATE: "#c2185b", Label.ABUSE: "#1565c0", Label.SEXUAL: "#6d4c41",
    Label.SPAM: "#546e7a", Label.PROFANITY: "#00838f"}


@dataclass(frozen=True, slots=True)
class Rect:
    """One coloured block of a stacked bar."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class StackedBars:
    """A stacked bar chart laid out in a 0..width × 0..height box."""

    width: int
    height: int
    rects: list[Rect] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    max_value: int = 0


def stacked_bars(days: list[str], series: dict[str, list[int]], *, width: int = 640,
                 height: int = 200) -> StackedBars:
    """Lay out one bar per day, each stacked by series (label or channel)."""
    chart = StackedBars(width=width, height=height)
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    chart.max_value = max(totals, default=0)
    scale = (height - 20) / chart.max_value if chart.max_value else 0
    slot = width / max(len(days), 1)
    colours = {name: LABEL_COLOURS.get(name, PALETTE[i % len(PALETTE)])
               for i, name in enumerate(series)}
    chart.legend = [(name, colours[name]) for name in series]
    for i, day in enumerate(days):
        y = float(height - 20)
        for name, values in series.items():
            value = values[i]
            if not value:
                continue
            h = value * scale
            y -= h
            chart.rects.append(Rect(x=i * slot + slot * 0.15, y=y, width=slot * 0.7, height=h,
                                    colour=colours[name], title=f"{day} {name}: {value}"))
        if i % max(1, len(days) // 7) == 0:
            chart.x_labels.append((i * slot + slot / 2, day[5:]))
    return chart
