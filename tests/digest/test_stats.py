"""The digest's figures against a database seeded with known alerts and actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.db import transaction
from monitor.digest.stats import IsoWeek, WeekError, compute, redact
from monitor.models import Channel, ChannelHealth, ChannelState
from monitor.runtime import Runtime
from tests.digest.seed import AUTHOR_NAME, WEEK, Seeder, at

LONDON = ZoneInfo("Europe/London")
LATER = datetime(2030, 1, 7, tzinfo=UTC)


def test_parse_iso_weeks() -> None:
    assert IsoWeek.parse("2026-W46") == IsoWeek(2026, 46)
    assert str(IsoWeek.parse("2026w5")) == "2026-W05"
    assert IsoWeek.parse("2026-W53") == IsoWeek(2026, 53)  # 2026 has 53 ISO weeks
    for bad in ("2025-W53", "2026-46", "W46", "", "2026-W00", "２０２６-W01"):
        with pytest.raises(WeekError):
            IsoWeek.parse(bad)
    assert IsoWeek(2026, 1).shift(-1) == IsoWeek(2025, 52)
    assert IsoWeek(2026, 53).shift(1) == IsoWeek(2027, 1)


def test_week_bounds_follow_daylight_saving() -> None:
    # Clocks go forward on Sun 29 Mar 2026 and back on Sun 25 Oct 2026 in London.
    spring_start, spring_end = IsoWeek(2026, 13).bounds(LONDON)
    assert spring_start == datetime(2026, 3, 23, 0, tzinfo=UTC)
    assert spring_end == datetime(2026, 3, 29, 23, tzinfo=UTC)  # Monday 00:00 BST
    assert spring_end - spring_start == timedelta(hours=167)
    autumn_start, autumn_end = IsoWeek(2026, 43).bounds(LONDON)
    assert autumn_start == datetime(2026, 10, 18, 23, tzinfo=UTC)  # Monday 00:00 BST
    assert autumn_end - autumn_start == timedelta(hours=169)
    # A moment is placed in its local week, not its UTC one.
    assert IsoWeek.containing(datetime(2026, 10, 18, 23, 30, tzinfo=UTC), LONDON) == \
        IsoWeek(2026, 43)
    assert IsoWeek.containing(datetime(2026, 10, 18, 23, 30, tzinfo=UTC), ZoneInfo("UTC")) == \
        IsoWeek(2026, 42)


def test_figures_match_the_seeded_week(runtime: Runtime, seeded: dict[str, Any]) -> None:
    with runtime.factory() as session:
        stats = compute(session, WEEK, LONDON, now=LATER)
    assert not stats.partial
    assert {c.name: c.items for c in stats.scanned} == seeded["scanned"]
    assert stats.flags_by_label == seeded["flags"]
    assert list(stats.flags_by_label) == ["safeguarding", "threat", "abuse", "profanity"]
    assert stats.actions == seeded["actions"]
    assert {d.severity: (d.due, d.in_time) for d in stats.deadlines} == seeded["deadlines"]
    assert stats.current.due == 4
    assert stats.current.in_time == 2
    assert stats.handled == seeded["handled"]
    assert stats.median_time_to_action == seeded["median"]
    assert stats.open_at_end == seeded["open_at_end"]
    assert stats.overdue_at_end == seeded["overdue_at_end"]
    assert stats.escalated_open == seeded["escalated_open"]
    assert stats.takedowns_verified == seeded["verified"]
    assert stats.takedowns_failed == seeded["failed"]
    assert stats.safeguarding_referrals == seeded["referrals"]
    prev = seeded["previous"]
    assert (stats.previous.scanned, stats.previous.flags, stats.previous.actions) == \
        (prev["scanned"], prev["flags"], prev["actions"])
    assert [h.week for h in stats.trend] == [WEEK.shift(-3), WEEK.shift(-2), WEEK.shift(-1), WEEK]
    assert stats.current.flags == sum(seeded["flags"].values())
    assert stats.examples == []  # quoting is off unless the config allows it


def test_repeat_accounts_hide_names_unless_allowed(runtime: Runtime,
                                                   seeded: dict[str, Any]) -> None:
    with runtime.factory() as session:
        hidden = compute(session, WEEK, LONDON, now=LATER)
        named = compute(session, WEEK, LONDON, now=LATER, with_names=True)
    assert hidden.repeat_accounts_total == 1
    assert [(a.platform, a.alerts, a.name) for a in hidden.repeat_accounts] == [("demo", 2, None)]
    assert [(a.platform, a.alerts, a.name) for a in named.repeat_accounts] == \
        [("demo", 2, AUTHOR_NAME)]


def test_accounts_flagged_for_safeguarding_are_never_named(runtime: Runtime,
                                                           seeded: dict[str, Any]) -> None:
    with transaction(runtime.factory) as session:
        s = Seeder(session)
        s.n = 1000  # past the seeded week's external ids
        demo = session.query(Channel).filter_by(name="demo").one()
        for day in (1, 2):  # only safeguarding flags: a child who may be at risk
            s.alert(demo, at(day, 15), label="safeguarding", severity="critical",
                    deadline=timedelta(hours=1), author="child-1", name="Lily Pupil")
        # One other flag beside a disclosure (safeguarding as a secondary label counts too).
        s.alert(demo, at(3, 15), label="profanity", severity="low", deadline=timedelta(days=3),
                author="child-2", name="Sam Pupil")
        s.alert(demo, at(4, 15), label="threat", severity="critical",
                deadline=timedelta(hours=1), labels=["threat", "safeguarding"],
                author="child-2", name="Sam Pupil")
    with runtime.factory() as session:
        named = compute(session, WEEK, LONDON, now=LATER, with_names=True)
    assert named.repeat_accounts_total == 3
    assert sorted((a.alerts, a.name or "") for a in named.repeat_accounts) == [
        (2, ""), (2, ""), (2, AUTHOR_NAME)]


def test_channel_broken_all_week_is_reported(runtime: Runtime, seeded: dict[str, Any]) -> None:
    with runtime.factory() as session:
        stats = compute(session, WEEK, LONDON, now=LATER)
    problems = {(p.channel, p.kind) for p in stats.channel_problems}
    assert problems == {("parents-fb", "needs re-authorisation"), ("parents-fb", "outage"),
                        ("parents-fb", "nothing collected")}
    outage = next(p for p in stats.channel_problems if p.kind == "outage")
    assert "168 hours" in outage.detail


def test_examples_are_redacted_and_never_safeguarding(runtime: Runtime,
                                                      seeded: dict[str, Any]) -> None:
    with runtime.factory() as session:
        stats = compute(session, WEEK, LONDON, now=LATER, with_examples=True)
    # Only a1 has spans to redact; the safeguarding alert is never quoted.
    assert [e.label for e in stats.examples] == ["abuse"]
    assert stats.examples[0].text == "You are a [abuse] and everyone hates you"
    assert "stupid" not in stats.examples[0].text


def test_redact_masks_contacts_and_survives_odd_input() -> None:
    text = "call 07700 900123 or mail a@b.co.uk @kid99 https://x.y/z \u200b🙂 ﻣﺮﺣﺒﺎ"
    out = redact(text, [{"start": 0, "end": 4, "label": "abuse"}, {"bad": 1}, {"start": 99}])
    assert "07700" not in out
    assert "a@b" not in out
    assert "@kid99" not in out
    assert "https" not in out
    assert out.startswith("[abuse]")
    assert redact("x" * 500, []).endswith("…")
    assert len(redact("x" * 500, [])) == 160


def test_empty_week_is_all_zero(runtime: Runtime) -> None:
    with runtime.factory() as session:
        stats = compute(session, IsoWeek(2024, 10), LONDON, now=LATER)
    assert stats.quiet
    assert stats.scanned_total == 0
    assert stats.flags_by_label == {}
    assert stats.actions == {}
    assert stats.median_time_to_action is None
    assert stats.deadlines == []
    assert stats.current.in_time_share is None
    assert stats.repeat_accounts == []
    assert stats.repeat_accounts_total == 0


def test_dst_week_assigns_items_by_local_midnight(runtime: Runtime) -> None:
    week = IsoWeek(2026, 13)  # clocks go forward on its Sunday
    start, end = week.bounds(LONDON)
    with transaction(runtime.factory) as session:
        demo = session.query(Channel).filter_by(name="demo").one()
        demo.created_at = datetime(2025, 1, 1, tzinfo=UTC)
        seeder = Seeder(session)
        seeder.item(demo, start)  # Monday 00:00 GMT: in
        seeder.item(demo, start - timedelta(seconds=1))  # Sunday before: out
        seeder.item(demo, end - timedelta(minutes=1))  # Sunday 23:59 BST = 22:59 UTC: in
        seeder.item(demo, end)  # next Monday 00:00 BST = Sunday 23:00 UTC: out
        alert = seeder.alert(demo, end - timedelta(minutes=30), label="abuse", severity="high",
                             deadline=timedelta(minutes=20))
        seeder.act(alert, "alert.hide", end - timedelta(minutes=5))
    with runtime.factory() as session:
        stats = compute(session, week, LONDON, now=LATER)
        after = compute(session, week.shift(1), LONDON, now=LATER)
    assert stats.scanned_total == 3  # two plain items and the alert's item
    assert stats.current.flags == 1
    assert stats.handled == 1
    assert stats.median_time_to_action == timedelta(minutes=25)
    assert stats.deadlines[0].due == 1
    assert stats.deadlines[0].in_time == 0
    assert after.scanned_total == 1


def test_week_in_progress_ends_now(runtime: Runtime) -> None:
    week = IsoWeek(2026, 2)
    start, _ = week.bounds(LONDON)
    now = start + timedelta(days=2)
    with transaction(runtime.factory) as session:
        demo = session.query(Channel).filter_by(name="demo").one()
        Seeder(session).alert(demo, now - timedelta(hours=1), label="spam", severity="low",
                              deadline=timedelta(hours=72))
    with runtime.factory() as session:
        stats = compute(session, week, LONDON, now=now)
    assert stats.partial
    assert stats.end == now
    assert stats.deadlines == []  # due later this week: not yet missed
    assert stats.open_at_end == 1
    assert stats.overdue_at_end == 0


def test_healthy_channel_has_no_problems(runtime: Runtime) -> None:
    week = IsoWeek(2026, 2)
    start, end = week.bounds(LONDON)
    with transaction(runtime.factory) as session:
        demo = session.query(Channel).filter_by(name="demo").one()
        demo.created_at = datetime(2025, 1, 1, tzinfo=UTC)
        state = session.get_one(ChannelState, demo.id)
        state.health = ChannelHealth.OK
        state.last_success_at = end - timedelta(minutes=5)
        Seeder(session).item(demo, start + timedelta(days=1))
    with runtime.factory() as session:
        stats = compute(session, week, LONDON, now=LATER)
    assert stats.channel_problems == []
