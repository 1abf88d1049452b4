"""One part of the review pack, and the few ways figures are written in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from monitor.review.figures import Period


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the pack: a title, paragraphs, and an optional table."""

    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


SectionSource = Callable[[Session, Period], Section]


def pct(part: int, whole: int) -> str:
    """A share as a whole percentage ("-" of nothing)."""
    return f"{100 * part / whole:.0f}%" if whole else "-"


def span(value: timedelta | None) -> str:
    """A time taken, in hours and minutes ("-" when there is none)."""
    if value is None:
        return "-"
    minutes = round(value.total_seconds() / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
