"""The review pack's removal requests and retention applied: their figures match independent
queries over seeded requests, purge runs, holds and sign-offs, and they name no requester."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from config.settings import Retention
from monitor import removals, review
from monitor.db import transaction
from monitor.models import AuditEvent, Redaction, RemovalRequest
from monitor.people.roles import Role
from monitor.records import holds, redact, reviews
from monitor.records.purge import PURGE_ACTION, purge
from monitor.review import records_sections
from monitor.runtime import Runtime
from tests.records.conftest import seed_item

YEAR = 2025
NOW = datetime(2026, 3, 1, tzinfo=UTC)
START, END = datetime(YEAR, 1, 1, tzinfo=UTC), datetime(YEAR + 1, 1, 1, tzinfo=UTC)
ASKER = removals.Requester(name="Rhona Requesterly", role="parent",
                           what="the class photo naming Zed Protectedchild",
                           reason="photo consent withdrawn in writing")
URL = "https://gossip.example/secret-page-about-zed"
RETENTION = Retention(clean=timedelta(days=1), flagged=timedelta(days=2),
                      safeguarding=timedelta(days=3), notes=timedelta(days=2),
                      audit_details=timedelta(days=3000))


def _at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=UTC)


def _seed(runtime: Runtime) -> None:
    """Requests in and around the year, and purges, holds and a sign-off over it."""
    cfg = runtime.settings.removals
    _, on_channel = seed_item(runtime, external_id="p1", text="Class photo", at=_at(4, 1, 8),
                              labels=["identifying"])
    _, still_up = seed_item(runtime, external_id="p2", text="Team photo", at=_at(5, 1, 8),
                            labels=["identifying"])
    _, sg = seed_item(runtime, external_id="s1", text="Not safe at home", at=_at(1, 5),
                      labels=["safeguarding"], queue="safeguarding")
    seed_item(runtime, external_id="c1", text="Lovely concert", at=_at(1, 2))
    seed_item(runtime, external_id="c2", text="Happy new year", at=_at(12, 31))
    assert on_channel is not None
    assert still_up is not None
    assert sg is not None
    with transaction(runtime.factory) as session:
        def outside(at: datetime, closed: datetime | None) -> None:
            request = removals.add(session, config=cfg, actor="mo", requester=ASKER, url=URL,
                                   now=at)
            if closed is not None:
                removals.confirm(session, request_id=request.id, actor="mo",
                                 note="page gone", now=closed)

        outside(_at(2, 1, 10), _at(2, 1, 20))            # in time, 10 h
        outside(_at(3, 1), _at(3, 3))                    # late, 48 h
        outside(_at(12, 30), None)                       # open, overdue at the year's end
        outside(datetime(YEAR - 1, 12, 1, tzinfo=UTC), datetime(YEAR - 1, 12, 1, 12,
                                                                tzinfo=UTC))  # last year
        removals.add(session, config=cfg, actor="mo", requester=ASKER, alert_id=on_channel,
                     now=_at(4, 1))
        removals.takedown_verified(session, alert_id=on_channel, now=_at(4, 1, 11))  # 2 h
        removals.add(session, config=cfg, actor="mo", requester=ASKER, alert_id=still_up,
                     now=_at(5, 1))                      # open on a channel, overdue
        hold = holds.set_hold(session, actor="dee", role=Role.SAFEGUARDING_LEAD,
                              reason="police", alert_id=still_up, now=_at(5, 2))
        holds.set_hold(session, actor="dee", role=Role.SAFEGUARDING_LEAD, reason="claim",
                       platform="demo", author_id="a9", now=datetime(YEAR - 1, 6, 1,
                                                                     tzinfo=UTC))
        holds.release_hold(session, hold_id=hold.id, actor="dee", role=Role.SAFEGUARDING_LEAD,
                           reason="closed", now=_at(6, 1))
    for when in (_at(1, 10), _at(1, 12), _at(3, 10), _at(7, 1), NOW - timedelta(days=1)):
        with transaction(runtime.factory) as session:
            if when == _at(1, 12):
                reviews.sign_off(session, alert_id=sg, actor="dee",
                                 role=Role.SAFEGUARDING_LEAD, reason="case closed", now=when)
            purge(session, RETENTION, now=when)


def test_removal_requests_section_matches_independent_counts(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.factory() as session:
        period = review.Period.of(YEAR, runtime.settings.digest.timezone, now=NOW)
        rows = {r.where: r for r in records_sections.removal_rows(session, period)}
        section = records_sections.removal_requests(session, period)
        made = [r for r in session.execute(select(RemovalRequest)).scalars()
                if START <= r.created_at < END]
    assert len(made) == 5
    closed = [r for r in made if r.status == "done"]
    times = [r.resolved_at - r.created_at for r in closed if r.resolved_at]
    met = [r for r in closed if r.resolved_at and r.resolved_at <= r.due_at]
    overdue = [r for r in made if r.status == "open" and r.due_at < END]
    total = rows["total"]
    assert (total.requests, total.verified, total.confirmed, total.open, total.open_overdue) \
        == (len(made), 1, 2, 2, len(overdue)) == (5, 1, 2, 2, 2)
    assert (total.met, total.decided) == (len(met), len(closed) + len(overdue)) == (2, 5)
    assert total.median_to_close == statistics.median(times) == timedelta(hours=10)
    channel, elsewhere = rows["watched channels"], rows["elsewhere"]
    assert (channel.requests, channel.verified, channel.open, channel.met) == (2, 1, 1, 1)
    assert (elsewhere.requests, elsewhere.confirmed, elsewhere.open, elsewhere.met) \
        == (3, 2, 1, 1)
    assert elsewhere.median_to_close == timedelta(hours=29)
    assert section.rows[-1] == ["total", "5", "1", "2", "2", "2", "2", "40%", "10 h 00 min"]
    assert "2 of 5 met their deadline (40%)" in section.paragraphs[0]


def test_retention_section_sums_the_years_purges_holds_and_sign_offs(
        runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.factory() as session:
        period = review.Period.of(YEAR, runtime.settings.digest.timezone, now=NOW)
        figures = records_sections.retention_figures(session, period)
        section = records_sections.retention(session, period)
        runs = [e for e in session.execute(select(AuditEvent).where(
            AuditEvent.action == PURGE_ACTION)).scalars() if START <= e.at < END]
        in_year = {e.details["run"] for e in runs}
        # independent of the events' counts: the redactions rows the runs wrote
        rows = Counter(r.kind for r in session.execute(select(Redaction)).scalars()
                       if r.run in in_year)
        later = Counter(r.kind for r in session.execute(select(Redaction)).scalars()
                        if r.run not in in_year)
        actions = Counter(e.action for e in session.execute(select(AuditEvent)).scalars()
                          if START <= e.at < END)
    assert figures.runs == len(runs) == 4
    assert figures.removed == {kind: rows.get(kind, 0) for kind in redact.KINDS}
    assert rows[redact.ITEM] >= 3  # the clean comment, the safeguarding record, a flagged one
    # the four closed requests (one from the year before); open ones are never purged
    assert rows[redact.REMOVAL] == 4
    assert later[redact.ITEM] == 1  # read on 31 December, purged in the next year: not counted
    assert (figures.holds_set, figures.holds_lifted) == (
        actions["records.hold"], actions["records.release_hold"]) == (1, 1)
    assert figures.signed_off == actions["records.sign_off"] == 1
    assert figures.due_for_review == 1
    assert "The daily purge ran 4 time(s) in the year" in section.paragraphs[0]
    assert [redact.KIND_TITLES[redact.REMOVAL], "4"] in section.rows
    assert set(redact.KIND_TITLES) == set(redact.KINDS)


def test_the_pack_shows_both_sections_and_no_requester(runtime: Runtime) -> None:
    _seed(runtime)
    with runtime.factory() as session:
        pack = review.produce(session, runtime.settings, YEAR, now=NOW)
    assert "Removal requests" in pack.html
    assert "Retention applied" in pack.html
    assert "not recorded by this installation" not in pack.html
    for secret in ("Requesterly", "Protectedchild", "gossip.example", "consent withdrawn",
                   "parent"):
        assert secret not in pack.html
