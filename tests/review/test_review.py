"""The annual review pack on a year of generated data: its figures match independent queries,
it renders to PDF (read back with pdftotext) and HTML, and it names no child and quotes no
safeguarding text."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from monitor import review
from monitor.models import Alert, AuditEvent, Item
from monitor.runtime import Runtime
from tests.monitor.test_cli import _socmon
from tests.review.seed_year import SG_TEXT, YEAR, SeededYear

NOW = datetime(2026, 3, 1, tzinfo=UTC)
START, END = datetime(YEAR, 1, 1, tzinfo=UTC), datetime(YEAR + 1, 1, 1, tzinfo=UTC)
ACTED = ("alert.hide", "alert.delete", "alert.dismiss")


def _expected(runtime: Runtime) -> dict[str, object]:
    """The figures, computed in Python from the rows (not with the code under test)."""
    with runtime.factory() as session:
        items = session.execute(select(Item.fetched_at)).scalars().all()
        alerts = session.execute(select(Alert)).scalars().all()
        events = session.execute(select(AuditEvent)).scalars().all()
    in_year = [a for a in alerts if START <= a.created_at < END]
    first_act: dict[int, datetime] = {}
    for e in events:
        if e.target_type == "alert" and e.action in ACTED:
            aid = int(e.target_id)
            first_act[aid] = min(first_act.get(aid, e.at), e.at)
    due = [a for a in alerts if START <= a.due_at < END]
    deadlines: dict[str, tuple[int, int]] = {}
    for a in due:
        acted = first_act.get(a.id, a.resolved_at)
        n, ok = deadlines.get(a.severity, (0, 0))
        deadlines[a.severity] = (n + 1, ok + (acted is not None and acted <= a.due_at))
    referred = {e.target_id for e in events if START <= e.at < END and (
        e.action == "alert.acknowledge" or (e.action == "alert.escalate"
                                            and e.details.get("to") in ("safeguarding_lead",
                                                                        "police")))}
    decided = [a for a in alerts if a.state in ("actioned", "dismissed")
               and a.resolved_at is not None and START <= a.resolved_at < END]
    outcomes: dict[str, Counter[str]] = {}
    for a in in_year:
        outcome = {"actioned": "deleted" if a.resolution == "delete" else "hidden",
                   "dismissed": "dismissed", "escalated": "escalated"}.get(a.state, "open")
        outcomes.setdefault(a.primary_label, Counter())[outcome] += 1
    months = Counter(t.month for t in items if START <= t <= END and t < END)
    return {
        "scanned": sum(1 for t in items if START <= t < END),
        "months": [months.get(m, 0) for m in range(1, 13)],
        "flags": len(in_year),
        "outcomes": {k: dict(v) for k, v in outcomes.items()},
        "deadlines": deadlines,
        "referrals": len(referred),
        "verified": len({e.target_id for e in events
                         if e.action == "takedown.verified" and START <= e.at < END}),
        "decided": len(decided),
        "false": sum(1 for a in decided if a.state == "dismissed"
                     and a.resolution in ("false_positive", "not_a_breach")),
    }


def test_figures_match_independent_queries(runtime: Runtime, year: SeededYear) -> None:
    want = _expected(runtime)
    with runtime.factory() as session:
        got = review.figures_for(session, runtime.settings, YEAR, now=NOW)
    assert not got.period.partial
    assert got.scanned == want["scanned"] > 365
    assert [m.scanned for m in got.months] == want["months"]
    assert got.flags == want["flags"] > 150
    assert {r.label: {k: v for k, v in r.outcomes.items() if v} for r in got.by_label} \
        == want["outcomes"]
    assert {d.severity: (d.due, d.in_time) for d in got.deadlines} == want["deadlines"]
    assert got.referrals == want["referrals"] == 18  # every disclosure referred once
    assert got.takedowns_verified == want["verified"] > 0
    assert (got.decided, got.false_alarms) == (want["decided"], want["false"])
    assert 0 < (got.false_alarm_rate or 0) < 1
    # leads: the active DSL and admins, not the disabled admin
    names = {lead.name for lead in got.leads}
    assert set(year.lead_names) <= names
    assert "Former Admin" not in names
    assert "Moe Moderator" not in names
    # every change of the year with its reason; the one without says so
    assert [c.kind for c in got.changes] == ["configuration", "configuration",
                                             "names register", "model promoted"]
    assert [c.reason for c in got.changes][:3] == [year.change_reasons[0], "not given",
                                                  year.change_reasons[1]]
    assert got.changes[0].keys == {"classifier.sensitivity": (0.5, 0.65)}
    # outages: 48 h on school-fb; school-x down from 30 Dec to the year's end; 1 h is short
    spells = {(o.channel, round(o.hours), o.ongoing) for o in got.outages}
    assert spells == {("school-fb", 48, False), ("school-x", 36, True)}
    assert got.short_interruptions == 1


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "review.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout


def _assert_private(text: str, year: SeededYear) -> None:
    for name in year.child_names:
        assert name not in text
        assert name.split()[1] not in text
    assert SG_TEXT not in text
    assert "frightened" not in text
    assert not any(t in text for t in year.texts)
    assert "Seeded" not in text
    assert "clown" not in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_pack_renders_to_pdf_and_html_with_no_child_and_no_safeguarding_text(
        runtime: Runtime, year: SeededYear, tmp_path: Path) -> None:
    with runtime.factory() as session:
        figures = review.figures_for(session, runtime.settings, YEAR, now=NOW)
        pack = review.produce(session, runtime.settings, YEAR, now=NOW)
    text = _pdf_text(pack.pdf, tmp_path)
    flat = " ".join(text.split())
    for heading in ("Named leads", "Channels watched", "Volumes by month",
                    "Flags and outcomes by label", "Response times against deadlines",
                    "Safeguarding referrals", "Takedowns", "False alarms",
                    "Changes to rules and thresholds", "Channel outages", "Removal requests",
                    "Retention applied"):
        assert heading in text
        assert heading in pack.html
    assert f"read {figures.scanned:,} comments" in flat
    assert f"{figures.referrals} alert(s) were referred" in flat
    assert f"{figures.takedowns_verified} takedown(s) were verified" in flat
    rate = f"{100 * figures.false_alarms / figures.decided:.0f}%"
    assert f"a false-alarm rate of {rate}" in flat
    assert rate in pack.html
    for reason in year.change_reasons:
        assert " ".join(reason.split()[:3]) in flat
        assert reason in pack.html
    assert "Dana Lead" in text
    assert "Alex Admin" in pack.html
    assert "school-fb" in text
    assert "still down" in text
    _assert_private(text, year)
    _assert_private(pack.html, year)


def test_cli_writes_the_pack_and_refuses_a_year_not_begun(
        runtime: Runtime, year: SeededYear, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "pack"
    done = _socmon(["review", "--year", str(YEAR), "--out", str(out)], settings)
    assert done.returncode == 0, done.stderr
    html = (out / f"socmon-review-{YEAR}.html").read_text(encoding="utf-8")
    assert (out / f"socmon-review-{YEAR}.pdf").read_bytes().startswith(b"%PDF")
    assert "Changes to rules and thresholds" in html
    _assert_private(html, year)
    with runtime.factory() as session:
        exported = session.execute(select(AuditEvent).where(
            AuditEvent.action == "review.export")).scalar_one()
    assert exported.target_id == str(YEAR)
    assert len(exported.details["pdf_sha256"]) == 64

    bad = _socmon(["review", "--year", str(datetime.now(UTC).year + 1)], settings)
    assert bad.returncode == 1
    assert "has not begun yet" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_partial_year_ends_now(runtime: Runtime) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    period = review.Period.of(2026, "Europe/London", now=now)
    assert period.partial
    assert period.end == now
    assert period.start == datetime(2026, 1, 1, tzinfo=UTC)
    assert len(period.months()) == 6
    assert period.months()[-1][2] - period.months()[-1][1] < timedelta(days=1)


def test_the_button_serves_the_pack_audited_and_refuses_a_bad_year(
        runtime: Runtime, year: SeededYear) -> None:
    from fastapi.testclient import TestClient

    from monitor.db import transaction
    from monitor.users import seed_demo_users
    from monitor.web import create_app
    from tests.web.conftest import login

    with transaction(runtime.factory) as session:
        creds = {role: (name, pw) for name, pw, role in seed_demo_users(session)}
    with TestClient(create_app(runtime)) as client:
        login(client, *creds["admin"])
        page = client.get("/admin/review")
        assert page.status_code == 200
        assert 'id="review-pdf"' in page.text
        pdf = client.get("/admin/review/report", params={"year": YEAR, "format": "pdf"})
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        html = client.get("/admin/review/report", params={"year": YEAR})
        assert html.status_code == 200
        assert "style-src 'unsafe-inline'" in html.headers["content-security-policy"]
        assert "script-src" not in html.headers["content-security-policy"]
        _assert_private(html.text, year)
        for bad in ("2999", "1999", "next"):
            refused = client.get("/admin/review/report", params={"year": bad})
            assert refused.status_code == 422
    with runtime.factory() as session:
        exports = session.execute(select(AuditEvent).where(
            AuditEvent.action == "review.export")).scalars().all()
    assert [(e.actor, e.details["formats"]) for e in exports] == [
        (creds["admin"][0], ["pdf"]), (creds["admin"][0], ["html"])]
