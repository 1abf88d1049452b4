"""The governors' annual review pack: figures for a year, rendered to HTML and PDF."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from config.settings import Settings
from monitor.models import utcnow
from monitor.review.figures import Period, ReviewFigures, YearError, compute
from monitor.review.report import SECTION_SOURCES, Pack, build_pack
from monitor.review.section import Section

__all__ = ["SECTION_SOURCES", "Pack", "Period", "ReviewFigures", "Section", "YearError",
           "figures_for", "produce"]


def figures_for(session: Session, settings: Settings, year: int, *,
                now: datetime | None = None) -> ReviewFigures:
    """The figures of `year` on the digest's calendar (YearError if it has not begun)."""
    period = Period.of(year, settings.digest.timezone, now=now)
    return compute(session, period, senior_lead=settings.review.senior_lead,
                   governor_lead=settings.review.governor_lead)


def produce(session: Session, settings: Settings, year: int, *,
            now: datetime | None = None) -> Pack:
    """The review pack of `year`, HTML and PDF."""
    figures = figures_for(session, settings, year, now=now)
    return build_pack(session, figures, organisation=settings.review.organisation,
                      generated=now or utcnow())
