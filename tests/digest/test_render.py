"""The digest e-mail's content: figures in words, no quoted text by default, an inline chart."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from monitor.db import transaction
from monitor.digest.render import Options, chart, duration, render, standalone_html
from monitor.digest.stats import compute
from monitor.models import Item
from monitor.runtime import Runtime
from tests.digest.seed import AUTHOR_NAME, SECRET_TEXT, WEEK

LONDON = ZoneInfo("Europe/London")
LATER = datetime(2030, 1, 7, tzinfo=UTC)
OPTIONS = Options(dashboard_url="https://socmon.school.example/",
                  deadlines={"critical": timedelta(hours=1), "high": timedelta(hours=24),
                             "low": timedelta(hours=72)})


def _render(runtime: Runtime, options: Options = OPTIONS) -> Any:
    with runtime.factory() as session:
        stats = compute(session, WEEK, LONDON, now=LATER,
                        with_names=options.show_account_names,
                        with_examples=options.quote_text)
    return render(stats, options)


def test_text_and_html_state_the_seeded_figures(runtime: Runtime,
                                                seeded: dict[str, Any]) -> None:
    out = _render(runtime)
    assert out.subject == "socmon weekly digest 2025-W46: 5 flags, 50% of deadlines met, 2 open"
    for line in ("Items scanned: 11 (+8 on last week)", "Flags raised: 5 (+4 on last week)",
                 "Actions taken: 5 (+5 on last week)", "Deadlines met: 50% of 4 due",
                 "Median time to action: 3 h (4 alerts handled)",
                 "Open at the end of the week: 2, of which overdue: 1",
                 "Safeguarding referrals: 1", "- critical (within 1 h): 0 of 2 in time (0%)",
                 "- Takedowns verified on the platform: 1", "- Takedowns that failed: 1",
                 "- demo: 2 flags", "parents-fb (facebook): needs re-authorisation since",
                 "Mon 10 Nov to Sun 16 Nov 2025 (Europe/London)",
                 "Dashboard: https://socmon.school.example/"):
        assert line in out.text, line
    assert "Mon 10 Nov to Sun 16 Nov 2025" in out.html
    assert 'href="https://socmon.school.example/"' in out.html
    assert f'src="cid:{out.chart_cid}"' in out.html
    assert f'alt="{out.chart_alt}"' in out.html
    assert "Flags raised: 0, 0, 1, 5" in out.chart_alt
    assert out.chart_alt.endswith("Open at week end: 0, 0, 1, 2.")
    assert 'name="viewport"' in out.html
    assert "max-width:640px" in out.html
    assert "<style" not in out.html  # inline styles only: many clients drop <style> blocks


def test_no_comment_text_or_names_by_default(runtime: Runtime, seeded: dict[str, Any]) -> None:
    out = _render(runtime)
    for secret in (SECRET_TEXT, "stupid", "worrying", AUTHOR_NAME, "parent-7"):
        assert secret not in out.text
        assert secret not in out.html
    assert "An account on demo" in out.html


def test_names_and_quotes_only_when_allowed_and_escaped(runtime: Runtime,
                                                        seeded: dict[str, Any]) -> None:
    with transaction(runtime.factory) as session:
        session.execute(update(Item).where(Item.author_id == "parent-7")
                        .values(author_name="<img src=x onerror=alert(1)>"))
    out = _render(runtime, Options(dashboard_url="http://x", show_account_names=True,
                                   quote_text=True))
    assert "<img src=x" not in out.html
    assert "&lt;img src=x" in out.html
    assert "You are a [abuse] and everyone hates you" in out.text
    assert "stupid" not in out.text
    assert "worrying" not in out.text


def test_chart_is_a_png_of_the_four_weeks(runtime: Runtime, seeded: dict[str, Any]) -> None:
    out = _render(runtime)
    assert out.chart_png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", out.chart_png[16:24])
    assert (width, height) == (600, 260)
    page = standalone_html(out)
    assert "cid:" not in page
    assert "data:image/png;base64," in page


def test_quiet_week_says_so(runtime: Runtime) -> None:
    with runtime.factory() as session:
        stats = compute(session, WEEK.shift(-40), LONDON, now=LATER)
    out = render(stats, OPTIONS)
    assert "A quiet week" in out.text
    assert "A quiet week" in out.html
    assert "Deadlines met: — of 0 due (no comparison)" in out.text
    png, alt = chart(stats.trend)
    assert png.startswith(b"\x89PNG")
    assert "Flags raised: 0, 0, 0, 0" in alt


def test_durations_read_naturally() -> None:
    assert duration(None) == "—"
    assert duration(timedelta(minutes=45)) == "45 min"
    assert duration(timedelta(hours=3)) == "3 h"
    assert duration(timedelta(hours=3, minutes=10)) == "3 h 10 min"
    assert duration(timedelta(hours=52)) == "2 d 4 h"
