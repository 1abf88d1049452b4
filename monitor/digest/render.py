"""The digest as e-mail: Jinja2 HTML (inline CSS) and plain text, with an inline trend chart."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from classifiers.base import LABEL_TITLES
from config.settings import Settings, Smtp
from monitor import mail
from monitor.alerts.policy import SEVERITY_ORDER
from monitor.digest.stats import DigestStats, Headline
from monitor.routing import deadline_for


@dataclass(frozen=True, slots=True)
class Options:
    """What the digest may show, and where its link points."""

    dashboard_url: str = "http://127.0.0.1:8080"
    #: show redacted examples of flagged text (digest.quote_abusive_text)
    quote_text: bool = False
    #: name repeatedly flagged accounts (off by default: they may be children)
    show_account_names: bool = False
    deadlines: dict[str, timedelta] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Options:
        """The options the config asks for."""
        return cls(dashboard_url=settings.web.public_url,
                   quote_text=settings.digest.quote_abusive_text,
                   show_account_names=settings.digest.show_account_names,
                   deadlines={s.value: deadline_for(settings.routing, s)
                              for s in SEVERITY_ORDER})


@dataclass(frozen=True, slots=True)
class Rendered:
    """One digest ready to send or preview."""

    subject: str
    text: str
    html: str
    chart_png: bytes
    chart_alt: str
    chart_cid: str


_env = Environment(
    loader=PackageLoader("monitor.digest", "templates"),
    autoescape=select_autoescape(["html", "html.j2"]),
    undefined=StrictUndefined,
    trim_blocks=False,
    keep_trailing_newline=True,
)


def duration(value: timedelta | None) -> str:
    """A short human duration: "45 min", "3 h 10 min", "2 d 4 h"; an em dash for none."""
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def pct(share: float | None) -> str:
    """A share as a whole percentage, or an em dash when nothing was due."""
    return "—" if share is None else f"{share * 100:.0f}%"


def delta(current: int, previous: int) -> str:
    """The change from last week in words."""
    diff = current - previous
    if diff == 0:
        return "same as last week"
    return f"{diff:+d} on last week"


def share_delta(current: float | None, previous: float | None) -> str:
    """The change in a percentage, in points."""
    if current is None or previous is None:
        return "no comparison"
    points = round((current - previous) * 100)
    return "same as last week" if points == 0 else f"{points:+d} points on last week"


def _period(stats: DigestStats) -> str:
    tz = ZoneInfo(stats.timezone)
    first = stats.start.astimezone(tz)
    if stats.partial:
        return f"{first:%a %d %b %Y} to now ({stats.end.astimezone(tz):%a %H:%M}, week so far)"
    last = (stats.end - timedelta(seconds=1)).astimezone(tz)
    return f"{first:%a %d %b} to {last:%a %d %b %Y}"


def chart(trend: Sequence[Headline]) -> tuple[bytes, str]:
    """A PNG bar chart of flags, actions and open alerts over the weeks, and its alt text."""
    # The object API with the Agg canvas: no pyplot global state, safe in scheduler threads.
    # Imported here: matplotlib takes a while to load and only the digest draws.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.0, 2.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [f"W{h.week.week:02d}" for h in trend]
    series = (("Flags raised", [h.flags for h in trend], "#1f5fbf"),
              ("Actions taken", [h.actions for h in trend], "#2e8540"),
              ("Open at week end", [h.open_at_end for h in trend], "#b42318"))
    width = 0.26
    for i, (name, values, colour) in enumerate(series):
        axes.bar([x + (i - 1) * width for x in range(len(trend))], values, width,
                 label=name, color=colour)
    axes.set_xticks(range(len(trend)), labels)
    axes.spines[["top", "right"]].set_visible(False)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper left", fontsize=8, frameon=False, ncols=3)
    axes.margins(y=0.25)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    alt = "Bar chart of the last four weeks ({}). {}.".format(
        ", ".join(str(h.week) for h in trend),
        "; ".join(f"{name}: {', '.join(str(v) for v in values)}"
                  for name, values, _ in series))
    return buffer.getvalue(), alt


def render(stats: DigestStats, options: Options) -> Rendered:
    """Subject, plain text and HTML (chart referenced by its content id)."""
    png, alt = chart(stats.trend)
    cid = f"trend-{stats.week}@socmon"
    title = f"Social media policy: weekly digest {stats.week}"
    context = {
        "s": stats, "title": title, "period": _period(stats),
        "dashboard_url": options.dashboard_url, "chart_alt": alt,
        "chart_src": f"cid:{cid}",
        "delta": delta, "share_delta": share_delta, "pct": pct, "duration": duration,
        "label_name": lambda label: LABEL_TITLES.get(label, label),
        "deadline": lambda sev: duration(options.deadlines[sev])
        if sev in options.deadlines else "the deadline",
        "when": lambda moment: _when(moment, stats.timezone),
    }
    text = _env.get_template("digest.txt.j2").render(context)
    html = _env.get_template("digest.html.j2").render(context)
    current = stats.current
    subject = (f"socmon weekly digest {stats.week}: {current.flags} flags, "
               f"{pct(current.in_time_share)} of deadlines met, "
               f"{stats.open_at_end} open")
    return Rendered(subject, text, html, png, alt, cid)


def _when(moment: datetime, tz: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz)):%a %d %b %H:%M}"


def standalone_html(rendered: Rendered) -> str:
    """The HTML with the chart inlined as a data: URI, for previewing in a browser."""
    data = base64.b64encode(rendered.chart_png).decode("ascii")
    return rendered.html.replace(f"cid:{rendered.chart_cid}", f"data:image/png;base64,{data}")


def build_message(smtp: Smtp, rendered: Rendered, *, to: Sequence[str],
                  message_id: str) -> EmailMessage:
    """multipart/alternative (text, then HTML with the chart as a related inline image)."""
    message = mail.new_message(smtp, to=to, subject=rendered.subject, text=rendered.text,
                               html=rendered.html, message_id=message_id)
    html_part = message.get_body(("html",))
    if not isinstance(html_part, EmailMessage):  # new_message always adds the HTML part
        raise TypeError("the digest message has no HTML part")
    html_part.add_related(rendered.chart_png, maintype="image", subtype="png",
                          cid=f"<{rendered.chart_cid}>", disposition="inline",
                          filename="trend.png")
    return message
