"""The annual review pack as sections, rendered to HTML and to PDF (fpdf2) from the same list.

`SECTION_SOURCES` holds the sections drawn from other parts of socmon (removal requests,
retention applied, in `records_sections`): each is one function from a session and the
period to a `Section`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jinja2
from sqlalchemy.orm import Session

from monitor.changes import plain_duration
from monitor.digest.stats import OUTAGE
from monitor.evidence_pack import find_font, printable
from monitor.review import records_sections
from monitor.review.figures import OUTCOMES, Period, ReviewFigures
from monitor.review.section import Section, SectionSource, pct, span

#: sections drawn from other parts of socmon, in the order the pack shows them
SECTION_SOURCES: dict[str, SectionSource] = {
    "removal_requests": records_sections.removal_requests,
    "retention": records_sections.retention,
}

def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def core_sections(f: ReviewFigures) -> list[Section]:
    """The sections socmon computes itself, from the figures."""
    p = f.period
    upto = f" (to {_day(p.end)}, the year is not over)" if p.partial else ""
    out = [
        Section("summary", "Summary", [
            f"This pack covers {p.year}{upto}, on the {p.timezone} calendar. socmon read "
            f"{f.scanned:,} comments and posts on {len(f.channels)} channel(s) and opened "
            f"{f.flags:,} alerts. It contains counts only: no comment is quoted and no child "
            "or other author is named."]),
        Section("leads", "Named leads", [], ["role", "name"],
                [[lead.role, lead.name] for lead in f.leads]),
        Section("channels", "Channels watched", [], ["channel", "platform", "status", "items read"],
                [[c.name, c.platform, "watched" if c.enabled else "disabled", f"{c.items:,}"]
                 for c in f.channels]),
        Section("volumes", "Volumes by month", [], ["month", "items read", "alerts opened"],
                [[m.month, f"{m.scanned:,}", f"{m.flags:,}"] for m in f.months]
                + [["total", f"{f.scanned:,}", f"{f.flags:,}"]]),
        Section("labels", "Flags and outcomes by label",
                ["Alerts opened in the year by their main label, and where each stands now."],
                ["label", "alerts", *OUTCOMES],
                [[r.label, str(r.flags), *(str(r.outcomes[o]) for o in OUTCOMES)]
                 for r in f.by_label]),
        Section("deadlines", "Response times against deadlines", [
            f"{f.handled:,} alerts were first handled in the year; the median time from "
            f"opening to action was {span(f.median_time_to_action)}."],
            ["severity", "deadlines falling in the year", "met", "share met"],
            [[d.severity, str(d.due), str(d.in_time), pct(d.in_time, d.due)]
             for d in f.deadlines]),
        Section("safeguarding", "Safeguarding referrals", [
            f"{f.referrals} alert(s) were referred to the designated safeguarding lead or for a "
            "police report, or acknowledged by the DSL. Counts only: the records themselves "
            "stay with the DSL."]),
        Section("takedowns", "Takedowns", [
            f"{f.takedowns_verified} takedown(s) were verified on the platform; "
            f"{f.takedowns_failed} failed and needed a person."]),
        Section("false_alarms", "False alarms", [
            f"Of {f.decided:,} alerts decided by moderators (taken down or dismissed), "
            f"{f.false_alarms:,} were dismissed as a false alarm (false positive or not a "
            f"breach): a false-alarm rate of {pct(f.false_alarms, f.decided)}."]),
        Section("changes", "Changes to rules and thresholds",
                [] if f.changes else ["No change to how socmon judges was recorded."],
                ["when", "who", "what", "change", "reason"],
                [[_day(c.at), c.actor, c.kind, c.summary, c.reason] for c in f.changes]),
        Section("outages", "Channel outages",
                [f"Spells of at least {plain_duration(OUTAGE)} when a channel was not being "
                 f"checked; {f.short_interruptions} shorter interruption(s) are not listed."],
                ["channel", "from", "to", "hours", "health"],
                [[o.channel, _day(o.start), "still down" if o.ongoing else _day(o.end),
                  f"{o.hours:.0f}", o.health.replace("_", " ")] for o in f.outages]),
    ]
    return out


def sections(session: Session, figures: ReviewFigures) -> list[Section]:
    """The whole pack: socmon's own sections, then those contributed by other modules."""
    return core_sections(figures) + [source(session, figures.period)
                                     for source in SECTION_SOURCES.values()]


@dataclass(frozen=True, slots=True)
class Pack:
    """A rendered review pack."""

    year: int
    html: str
    pdf: bytes

    @property
    def stem(self) -> str:
        """The file name without its extension."""
        return f"socmon-review-{self.year}"


_ENV = jinja2.Environment(loader=jinja2.PackageLoader("monitor.review", "templates"),
                          autoescape=True)


def title(period: Period, organisation: str) -> str:
    """The pack's title."""
    who = f"{organisation}: " if organisation else ""
    return f"{who}social media monitoring, annual review {period.year}"


def render_html(parts: list[Section], *, heading: str, generated: datetime) -> str:
    """A self-contained HTML page (inline style, no script)."""
    return _ENV.get_template("review.html.j2").render(
        title=heading, sections=parts, generated=_day(generated))


def render_pdf(parts: list[Section], *, heading: str, generated: datetime) -> bytes:
    """The same sections as an A4 PDF."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_creator("socmon")
    pdf.set_title(heading)
    font = find_font()
    family, codepoints = "Helvetica", None
    if font is not None:
        pdf.add_font("DejaVu", "", str(font.regular))
        pdf.add_font("DejaVu", "B", str(font.bold or font.regular))
        family = "DejaVu"
        codepoints = frozenset(pdf.fonts["dejavu"].cmap)  # type: ignore[union-attr]
    pdf.add_page()

    def text(value: str) -> str:
        return printable(value, codepoints)

    def para(value: str, size: float = 10, style: str = "") -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, size * 0.55, text(value), align="L", new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)

    para(heading, 15, "B")
    para(f"Produced by socmon at {_day(generated)}.", 8.5)
    for part in parts:
        pdf.ln(3)
        para(part.title, 12, "B")
        for paragraph in part.paragraphs:
            para(paragraph)
        if part.columns and part.rows:
            pdf.ln(1)
            pdf.set_font(family, "", 8.5)
            with pdf.table(text_align="LEFT", line_height=4.5) as table:
                header = table.row()
                for column in part.columns:
                    header.cell(text(column))
                for row in part.rows:
                    cells = table.row()
                    for value in row:
                        cells.cell(text(value))
        elif part.columns:
            para("None.")
    return bytes(pdf.output())


def build_pack(session: Session, figures: ReviewFigures, *, organisation: str = "",
               generated: datetime) -> Pack:
    """The HTML and PDF of the review of `figures`."""
    parts = sections(session, figures)
    heading = title(figures.period, organisation)
    return Pack(figures.period.year,
                render_html(parts, heading=heading, generated=generated),
                render_pdf(parts, heading=heading, generated=generated))
